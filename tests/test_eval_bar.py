"""The matcher meets the bar on the labelled dev sets: chat lines and real prose (a floor for the latter)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config import BUNDLED_KNOWLEDGE, Config
from bot.evaluate import run_eval
from bot.kb.loader import load_knowledge

DATA = Path(__file__).parent / "data"


def _answerable(path: Path, out: Path) -> Path:
    """``path`` without positives for catalogue ids the bundled knowledge base has no entry for yet.

    New catalogue ids (the 2026 claims) get their chat lines before their knowledge entries land; until
    then the bot cannot answer them, so they are left out of this bar rather than counted as misses.
    """
    kb, _ = load_knowledge([BUNDLED_KNOWLEDGE])
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    kept = [item for item in items if item["label"] is None or item["label"] in kb.claims]
    out.write_text(yaml.safe_dump(kept, allow_unicode=True), encoding="utf-8")
    return out


def test_dev_set_precision_and_recall(tmp_path):
    """Precision >= 0.95 and recall >= 0.90 on tests/data/chat_dev.yaml (replies and 🔎 both count).

    Recall was 0.85 before the transformer encoder; measured 0.946 with it (precision 0.971, 652 items,
    all 45 claims, suggest bar 0.56, 2026-11-29), 0.956 (precision 0.979) after the fourth session's examples,
    0.970 (precision 0.988) after the fifth's and 0.972 (precision 0.993) after the sixth's; 0.965 (precision
    0.986) with the fine-tuned encoder at bars 0.60 / 0.64 (seventh session).
    """
    dev = _answerable(DATA / "chat_dev.yaml", tmp_path / "dev.yaml")
    report = run_eval(dev, Config(database=tmp_path / "db.sqlite3"))
    assert report["n"] >= 400
    assert report["precision"] >= 0.95, report["errors"][:20]
    assert report["recall"] >= 0.90, report["errors"][:20]


def test_chat_in_the_voices_users_write_in(tmp_path):
    """Lowercase and typos, Reddit register, non-native English, long rambling messages
    (tests/data/chat_voices.yaml): precision >= 0.95, recall >= 0.88.

    Measured 2026-11-29: 0.967 / 0.775 when the first 295 lines were written, 0.983 / 0.890 after two rounds of
    examples in those voices; a second batch of 185 lines scored 0.991 / 0.845 on its own before anything was
    tuned on it (0.986 / 0.871 for the whole set), and 0.993 / 0.899 after a third round. A third batch (255 lines)
    scored 0.994 / 0.870 and a fourth (199) 0.973 / 0.807 untouched; the whole set 0.992 / 0.907 after two more
    rounds, and 0.988 / 0.922 with the fine-tuned encoder (trained on this set; with the fourth batch left out of
    training that batch scored 0.983 / 0.881, against 0.982 / 0.822 for the stock encoder at the same bars). A
    fifth batch (143 lines, not in the encoder's training) scored 1.000 / 0.856 untouched (stock: 0.986 / 0.800).
    """
    report = run_eval(DATA / "chat_voices.yaml", Config(database=tmp_path / "db.sqlite3"))
    assert report["n"] >= 900
    assert report["precision"] >= 0.95, report["errors"][:20]
    assert report["recall"] >= 0.88, report["errors"][:20]


def test_near_miss_chat_is_left_alone(tmp_path):
    """Chat that uses a claim's words but makes no claim (tests/data/chat_near_misses.yaml: credit bureaus, game
    bans, China travel, Black Mirror as a show) gets at most 6 answers or 🔎 in 158 lines.

    Measured 2026-11-29: 6 when the lines were written (4 at the start of that session), 4 after six
    counter-examples, 3 with the fine-tuned encoder. Every answer here is a false one, so this is a ceiling on embarrassment, not a goal.
    """
    report = run_eval(DATA / "chat_near_misses.yaml", Config(database=tmp_path / "db.sqlite3"))
    assert report["n"] >= 150
    assert report["fp"] <= 6, report["errors"]


def test_chat_nobody_tuned_on_meets_the_bar(tmp_path):
    """Precision >= 0.95 and recall >= 0.90 on tests/data/chat_holdout.yaml, the chat set never tuned on.

    No example, counter-example, bar or training step was chosen by looking at this file; it is read as a final
    figure only. Measured 2026-11-29: 0.975 / 0.848 (third session), 0.981 / 0.887 (fifth), 0.972 / 0.887
    (sixth), 0.995 / 0.918 with the fine-tuned encoder at bars 0.60 / 0.64 (seventh). If this fails after a
    change, the change generalises worse than the tuned sets say: do not tune on this file to fix it.
    """
    report = run_eval(DATA / "chat_holdout.yaml", Config(database=tmp_path / "db.sqlite3"))
    assert report["n"] >= 300
    assert report["precision"] >= 0.95, report["precision"]
    assert report["recall"] >= 0.90, report["recall"]


def test_real_text_does_not_fall_below_what_was_measured(tmp_path):
    """Real prose (the test half of real_dev.yaml) keeps at least the precision and recall measured for it.

    A floor, not the goal: measured 2026-11-29 (fourth session, 721 + 257 new passages, labels audited) precision
    0.740, recall 0.394 on passages that make their claim on their own (English alone 0.743 / 0.528), and 0.729 /
    0.387 after the fifth session (0.727 / 0.517). The sixth added 436 passages of new pages to the half (1,279 in
    all; 0.710 / 0.385 before its changes) and left it at 0.728 / 0.395 (English 0.728 / 0.515). The seventh added
    285 passages of new pages (1,564 in all; 0.724 / 0.389 before) and, with the fine-tuned encoder at the higher
    bars, left it at 0.771 / 0.369: more precise, slightly less recall. On the third
    session's 506 passages and labels it was 0.672 / 0.300. The target is precision >= 0.95 with recall
    >= 0.75; the README says where it stands. The floor leaves room for int8 arithmetic differing slightly
    between processors.
    """
    report = run_eval(DATA / "real_dev.yaml", Config(database=tmp_path / "db.sqlite3"), split="test")
    assert report["n"] >= 400
    assert report["precision"] >= 0.74, report["errors"][:20]
    assert report["recall"] >= 0.35, report["errors"][:20]


def test_dev_set_shape():
    """The dev set covers every catalogue claim with >= 8 positives, >= 200 negatives, >= 40 follow-ups."""
    items = yaml.safe_load((DATA / "chat_dev.yaml").read_text())
    ids = (DATA / "catalogue_ids.txt").read_text().split()
    counts = {i: sum(1 for it in items if it["label"] == i) for i in ids}
    assert min(counts.values()) >= 8, counts
    assert sum(1 for it in items if it["label"] is None) >= 200
    assert sum(1 for it in items if it.get("context")) >= 40
