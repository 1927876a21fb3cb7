"""``python -m bot eval FILE``: precision and recall of the bot's unprompted decisions on labelled messages.

Each item runs through the real engine in its own channel (context messages first), with cooldowns and
caps off. TP: predicted == label != null; FP: predicted != null and != label; FN: label != null and
predicted != label.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from .app import open_app
from .config import Config
from .errors import FootnoteError
from .messages import Message, React, Reply

__all__ = ["run_eval", "format_report", "load_items"]


def load_items(path: Path) -> list[dict[str, Any]]:
    """The labelled items of ``path``; raises FootnoteError with the problem when the file is malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FootnoteError(f"{path}: cannot read the eval file ({exc})") from None
    if not isinstance(data, list):
        raise FootnoteError(f"{path}: expected a YAML list of items with 'text' and 'label'")
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or "label" not in item:
            raise FootnoteError(f"{path}: item {i} needs 'text' (a string) and 'label' (a claim id or null)")
    return data


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return p, r, round(2 * p * r / (p + r), 4) if p + r else 0.0


async def _predict(items: list[dict[str, Any]], config: Config) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        policy = config.policy.model_copy(update={"cooldown_minutes": 0, "channel_per_hour": 10**9,
                                                  "user_per_hour": 10**9, "default_mode": "reply"})
        config = config.model_copy(update={"database": Path(tmp) / "eval.sqlite3", "policy": policy})
        out = []
        async with open_app(config) as app:
            for i, item in enumerate(items):
                channel = f"eval-{i}"
                ts = 1_700_000_000.0 + i * 10_000
                for j, earlier in enumerate(item.get("context") or []):
                    await app.engine.handle_message(Message("eval", channel, "someone", f"{i}-c{j}", str(earlier),
                                                            ts + j))
                actions = await app.engine.handle_message(Message("eval", channel, "user", f"{i}", item["text"],
                                                                  ts + 100))
                predicted, tier = None, None
                for action in actions:
                    if isinstance(action, Reply):
                        predicted, tier = action.answer.claim.id, action.tier.value
                    elif isinstance(action, React):
                        predicted, tier = action.claim_id, action.tier.value
                out.append({"label": item.get("label"), "predicted": predicted, "tier": tier})
        return out


def run_eval(path: Path, config: Config) -> dict[str, Any]:
    """Evaluate the labelled items in ``path``; returns the report as a JSON-ready dict."""
    items = load_items(path)
    predictions = asyncio.run(_predict(items, config))
    tp = fp = fn = 0
    ctp = cfp = cfn = 0
    per: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    errors = []
    for item, pred in zip(items, predictions, strict=True):
        label, predicted = pred["label"], pred["predicted"]
        confident = predicted if pred["tier"] == "confident" else None
        if predicted is not None and predicted == label:
            tp += 1
            per[label]["tp"] += 1
        else:
            if predicted is not None:
                fp += 1
                per[predicted]["fp"] += 1
            if label is not None:
                fn += 1
                per[label]["fn"] += 1
            errors.append({"text": item["text"][:200], "label": label, "predicted": predicted, "tier": pred["tier"]})
        if confident is not None and confident == label:
            ctp += 1
        else:
            cfp += confident is not None
            cfn += label is not None
    p, r, f1 = _prf(tp, fp, fn)
    cp, cr, _ = _prf(ctp, cfp, cfn)
    per_claim = {}
    for cid, c in sorted(per.items()):
        precision, recall, _ = _prf(c["tp"], c["fp"], c["fn"])
        per_claim[cid] = {**c, "precision": precision, "recall": recall}
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "n": len(items),
            "confident_precision": cp, "confident_recall": cr, "per_claim": per_claim, "errors": errors,
            "items": predictions}


def format_report(report: dict[str, Any]) -> str:
    """A human-readable table of the report."""
    lines = [f"{report['n']} items: precision {report['precision']:.3f}  recall {report['recall']:.3f}  "
             f"F1 {report['f1']:.3f}  (tp {report['tp']}, fp {report['fp']}, fn {report['fn']})",
             f"confident tier alone: precision {report['confident_precision']:.3f}  "
             f"recall {report['confident_recall']:.3f}", "", f"{'claim':30} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for cid, c in report["per_claim"].items():
        lines.append(f"{cid:30} {c['tp']:>4} {c['fp']:>4} {c['fn']:>4}")
    if report["errors"]:
        lines += ["", "errors (label -> predicted [tier]: text):"]
        lines += [f"  {e['label']} -> {e['predicted']} [{e['tier']}]: {e['text']}" for e in report["errors"]]
    return "\n".join(lines)
