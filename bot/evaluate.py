"""``python -m bot eval FILE``: precision and recall of the bot's unprompted decisions on labelled messages.

Each item runs through the real engine in its own channel (context messages first), with cooldowns and
caps off. An item has ``text`` and ``label`` (a claim id or null) and may have:

- ``also``: other claim ids that are right answers too (the passage makes several claims);
- ``none_ok: true``: the passage states the claim only to rebut it. Silence is right; any answer is a false
  positive (answering a rebuttal as if it made the claim is the error we most want to see);
- ``needs_context: true``: the passage makes its claim only with the text around it. A right answer counts
  as a true positive, a wrong one as a false positive, silence as nothing: it is left out of recall;
- ``split``: ``tune`` or ``test`` (``--split`` keeps one half);
- ``context``: earlier messages in the channel, oldest first.

TP: the prediction is the label or in ``also``. FP: any other prediction. FN: silence or a wrong claim on a
positive that makes its claim on its own. Recall counts only those positives ("on their own"), and is also
broken down by length and by topic-gate level.
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

__all__ = ["run_eval", "format_report", "load_items", "LENGTH_BANDS"]

#: Recall is reported for passages of fewer than 15 words, 15 to 30, and more than 30.
LENGTH_BANDS = (("<15", 0, 14), ("15-30", 15, 30), (">30", 31, 10**9))


def load_items(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """The labelled items of ``path`` (only those of ``split`` when given); FootnoteError when malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FootnoteError(f"{path}: cannot read the eval file ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        raise FootnoteError(f"{path}: expected a YAML list of items with 'text' and 'label'")
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or "label" not in item:
            raise FootnoteError(f"{path}: item {i} needs 'text' (a string) and 'label' (a claim id or null)")
    if split is not None:
        data = [item for item in data if item.get("split") == split]
        if not data:
            raise FootnoteError(f"{path}: no items with split: {split}")
    return data


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return p, r, round(2 * p * r / (p + r), 4) if p + r else 0.0


async def _predict(items: list[dict[str, Any]], config: Config) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        policy = config.policy.model_copy(update={"cooldown_minutes": 0, "channel_per_hour": 10**9,
                                                  "user_per_hour": 10**9, "react_per_hour": 10**9,
                                                  "default_mode": "reply"})
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
                out.append({"label": item.get("label"), "predicted": predicted, "tier": tier,
                            "gate_level": app.engine.brain.matcher.gate_level(item["text"])})
        return out


def _right(item: dict[str, Any], predicted: str | None) -> bool:
    return predicted is not None and (predicted == item.get("label") or predicted in (item.get("also") or []))


def _counts_for_recall(item: dict[str, Any]) -> bool:
    """A positive that makes its claim on its own (not a rebuttal, not needing the text around it)."""
    return item.get("label") is not None and not item.get("none_ok") and not item.get("needs_context")


def _score(items: list[dict[str, Any]], predictions: list[dict[str, Any]], *, confident_only: bool = False
           ) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for item, pred in zip(items, predictions, strict=True):
        predicted = pred["predicted"] if not confident_only or pred["tier"] == "confident" else None
        right = _right(item, predicted) and not item.get("none_ok")
        tp += right
        fp += predicted is not None and not right
        fn += _counts_for_recall(item) and not right
    return tp, fp, fn


def _recall_by(items: list[dict[str, Any]], predictions: list[dict[str, Any]], key: Any) -> dict[str, dict]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for item, pred in zip(items, predictions, strict=True):
        if _counts_for_recall(item):
            groups[key(item, pred)].append(_right(item, pred["predicted"]))
    return {k: {"n": len(v), "found": sum(v), "recall": _ratio(sum(v), len(v))} for k, v in groups.items()}


def _band(item: dict[str, Any], _pred: dict[str, Any]) -> str:
    words = len(item["text"].split())
    return next(name for name, low, high in LENGTH_BANDS if low <= words <= high)


def _by_language(items: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Precision and recall per ``lang`` (items without one are left out), largest language first."""
    groups: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for item, pred in zip(items, predictions, strict=True):
        if item.get("lang"):
            groups[str(item["lang"])][0].append(item)
            groups[str(item["lang"])][1].append(pred)
    out = {}
    for lang, (its, preds) in sorted(groups.items(), key=lambda kv: -len(kv[1][0])):
        tp, fp, fn = _score(its, preds)
        p, r, _ = _prf(tp, fp, fn)
        out[lang] = {"n": len(its), "tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r}
    return out


def run_eval(path: Path, config: Config, split: str | None = None) -> dict[str, Any]:
    """Evaluate the labelled items in ``path`` (one ``split`` of them when given); a JSON-ready report."""
    items = load_items(path, split)
    predictions = asyncio.run(_predict(items, config))
    tp, fp, fn = _score(items, predictions)
    ctp, cfp, cfn = _score(items, predictions, confident_only=True)
    per: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    errors = []
    for item, pred in zip(items, predictions, strict=True):
        label, predicted = item.get("label"), pred["predicted"]
        right = _right(item, predicted) and not item.get("none_ok")
        if right:
            per[predicted]["tp"] += 1
            continue
        if predicted is not None:
            per[predicted]["fp"] += 1
        if _counts_for_recall(item):
            per[label]["fn"] += 1
        if predicted is not None or _counts_for_recall(item):
            kind = "rebuttal answered" if item.get("none_ok") else "wrong claim" if predicted and label \
                else "false reply" if predicted else "missed"
            errors.append({"text": item["text"][:240], "label": label, "predicted": predicted, "tier": pred["tier"],
                           "kind": kind, "words": len(item["text"].split())})
    p, r, f1 = _prf(tp, fp, fn)
    cp, cr, _ = _prf(ctp, cfp, cfn)
    per_claim = {}
    for cid, c in sorted(per.items()):
        precision, recall, _ = _prf(c["tp"], c["fp"], c["fn"])
        per_claim[cid] = {**c, "precision": precision, "recall": recall}
    levels = {2: "topic word", 1: "weak word only", 0: "no topic word"}
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "n": len(items),
            "split": split, "positives_on_their_own": sum(_counts_for_recall(i) for i in items),
            "confident_precision": cp, "confident_recall": cr, "per_claim": per_claim,
            "recall_by_length": {name: v for name, _, _ in LENGTH_BANDS
                                 if (v := _recall_by(items, predictions, _band).get(name))},
            "recall_by_gate": _recall_by(items, predictions, lambda _i, p: levels[p["gate_level"]]),
            "by_language": _by_language(items, predictions),
            "errors": errors, "items": predictions}


def format_report(report: dict[str, Any]) -> str:
    """A human-readable table of the report."""
    split = f" (split: {report['split']})" if report.get("split") else ""
    lines = [f"{report['n']} items{split}: precision {report['precision']:.3f}  recall {report['recall']:.3f}  "
             f"F1 {report['f1']:.3f}  (tp {report['tp']}, fp {report['fp']}, fn {report['fn']}; recall over "
             f"{report['positives_on_their_own']} positives that make their claim on their own)",
             f"confident tier alone: precision {report['confident_precision']:.3f}  "
             f"recall {report['confident_recall']:.3f}", ""]
    for title, key in (("recall by length (words)", "recall_by_length"), ("recall by topic gate", "recall_by_gate")):
        lines.append(title + ": " + "; ".join(f"{k} {v['found']}/{v['n']} = {v['recall']:.3f}"
                                              for k, v in report[key].items()))
    if report.get("by_language"):
        lines.append("by language: " + "; ".join(
            f"{k} P {v['precision']:.3f} R {v['recall']:.3f} (tp {v['tp']}, fp {v['fp']}, fn {v['fn']})"
            for k, v in report["by_language"].items()))
    lines += ["", f"{'claim':30} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for cid, c in report["per_claim"].items():
        lines.append(f"{cid:30} {c['tp']:>4} {c['fp']:>4} {c['fn']:>4}")
    if report["errors"]:
        lines += ["", "errors (kind: label -> predicted [tier]: text):"]
        lines += [f"  {e['kind']}: {e['label']} -> {e['predicted']} [{e['tier']}]: {e['text']}"
                  for e in report["errors"]]
    return "\n".join(lines)
