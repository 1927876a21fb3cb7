"""``eval`` helps: only errors are listed, halves can be chosen, and also/none_ok/needs_context count as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import Config
from bot.errors import FootnoteError
from bot.evaluate import format_report, load_items, run_eval

CLAIM = "china gives every single citizen one national social credit score, it follows you for life"
REBUTTAL = "People say China gives every citizen a single social credit score, but that's a myth."


def _write(tmp_path: Path, items: list[dict]) -> Path:
    path = tmp_path / "items.yaml"
    path.write_text(yaml.safe_dump(items))
    return path


def test_correct_silence_is_not_listed_as_an_error(tmp_path: Path, config: Config):
    """A negative the bot rightly ignores is no error: the list holds only mistakes."""
    path = _write(tmp_path, [{"text": "my credit score dropped after a late payment", "label": None},
                             {"text": CLAIM, "label": "single-national-score"}])
    report = run_eval(path, config)
    assert report["precision"] == 1.0 and report["recall"] == 1.0
    assert report["errors"] == []
    assert "None -> None" not in format_report(report)


def test_also_none_ok_and_needs_context_count_as_documented(tmp_path: Path, config: Config):
    """'also' makes another claim right; a rebuttal left alone is fine; needs_context is out of recall."""
    path = _write(tmp_path, [
        {"text": CLAIM, "label": "nationwide-by-2020", "also": ["single-national-score"]},
        {"text": REBUTTAL, "label": "single-national-score", "none_ok": True},
        {"text": "it follows you around for years, they said", "label": "single-national-score",
         "needs_context": True},
    ])
    report = run_eval(path, config)
    assert (report["tp"], report["fp"], report["fn"]) == (1, 0, 0)
    assert report["positives_on_their_own"] == 1
    assert report["recall_by_length"] == {"15-30": {"n": 1, "found": 1, "recall": 1.0}}
    assert report["recall_by_gate"] == {"topic word": {"n": 1, "found": 1, "recall": 1.0}}


def test_a_split_keeps_only_its_half(tmp_path: Path):
    """--split tune reads only the tune items; a split with no items is an error saying so."""
    path = _write(tmp_path, [{"text": "a", "label": None, "split": "tune"},
                             {"text": "b", "label": None, "split": "test"}])
    assert [i["text"] for i in load_items(path, "tune")] == ["a"]
    with pytest.raises(FootnoteError, match="no items with split: test"):
        load_items(_write(tmp_path, [{"text": "a", "label": None, "split": "tune"}]), "test")


def test_items_with_a_language_are_also_counted_per_language(tmp_path: Path, config: Config):
    """Precision and recall per 'lang', so English prose and other languages can be told apart."""
    path = _write(tmp_path, [
        {"text": CLAIM, "label": "single-national-score", "lang": "en"},
        {"text": "my credit score dropped after a late payment", "label": None, "lang": "en"},
        {"text": "China gibt jedem Bürger eine einzige Sozialkreditpunktzahl.", "label": "single-national-score",
         "lang": "de"},
    ])
    report = run_eval(path, config)
    assert report["by_language"]["en"] == {"n": 2, "tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0}
    assert report["by_language"]["de"]["n"] == 1 and report["by_language"]["de"]["tp"] + report["by_language"]["de"]["fn"] == 1
    assert "by language: en P 1.000 R 1.000" in format_report(report)
