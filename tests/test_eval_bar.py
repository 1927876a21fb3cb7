"""The matcher meets the bar on the labelled dev set: precision >= 0.95, recall >= 0.85."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config
from bot.evaluate import run_eval

DATA = Path(__file__).parent / "data"


def test_dev_set_precision_and_recall(tmp_path):
    """Precision >= 0.95 and recall >= 0.85 on tests/data/chat_dev.yaml (replies and 🔎 both count)."""
    report = run_eval(DATA / "chat_dev.yaml", Config(database=tmp_path / "db.sqlite3"))
    assert report["n"] >= 400
    assert report["precision"] >= 0.95, report["errors"][:20]
    assert report["recall"] >= 0.85, report["errors"][:20]


def test_dev_set_shape():
    """The dev set covers every catalogue claim with >= 8 positives, >= 200 negatives, >= 40 follow-ups."""
    import yaml

    items = yaml.safe_load((DATA / "chat_dev.yaml").read_text())
    ids = (DATA / "catalogue_ids.txt").read_text().split()
    counts = {i: sum(1 for it in items if it["label"] == i) for i in ids}
    assert min(counts.values()) >= 8, counts
    assert sum(1 for it in items if it["label"] is None) >= 200
    assert sum(1 for it in items if it.get("context")) >= 40
