"""Fine-tune all-MiniLM-L6-v2 on the knowledge base and the labelled tuning data (contrastive, deterministic, CPU).

Each step samples ``claims_per_step`` entries (claims, and topic entries as classes of their own). For each, an
anchor and a positive: two of its phrasings (its ``claim`` line and ``examples``), or, with probability
``labelled_share``, a labelled line or passage that makes the claim as the anchor and one of its phrasings as
the positive. And a hard negative: with probability ``labelled_share`` a labelled line that makes no claim and
lies nearest this entry's phrasings (by the stock model), otherwise one of its ``counter_examples`` (or, for an
entry with none, a ``topic.yaml`` off-topic example). The loss is MultipleNegativesRanking (in-batch softmax over
cosines times ``scale``): an anchor must be nearer its own entry's phrasing than any other entry's positive or
any near miss in the batch.

Labelled data is the data we tune on, never what we measure with: ``tests/data/chat_dev.yaml``,
``chat_voices.yaml``, ``chat_near_misses.yaml`` and the ``tune`` half of ``real_dev.yaml``; never the ``test``
half or ``chat_holdout.yaml``. Lines that need context, rebut their claim, or make two claims are left out.
``--knowledge-only`` trains on ``knowledge/`` alone, as the first version of this step did.
Measured, and why it is the bundled model: ``docs/encoder-finetune.md``.

Run in the build environment (torch; see ``scripts/build_model.py``)::

    .venv-build/bin/python scripts/finetune_encoder.py OUT_DIR [--leave-out ID ...] [--knowledge-only]

``OUT_DIR`` receives a Hugging Face model directory (weights, config, tokenizer) that
``scripts/build_model.py`` can export to ONNX like the stock model.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the bot's own loader and normaliser, imported where used
LABELLED = ROOT / "tests" / "data"
#: The labelled files fine-tuning may read; ``real_dev.yaml`` only its ``tune`` half.
LABELLED_CHAT = ("chat_dev.yaml", "chat_voices.yaml", "chat_near_misses.yaml")
LABELLED_PROSE = "real_dev.yaml"

__all__ = ["FinetuneSettings", "training_texts", "labelled_texts", "finetune"]


@dataclass(frozen=True)
class FinetuneSettings:
    """Hyper-parameters of one fine-tuning run (the defaults are the ones measured in the report)."""

    steps: int = 300
    claims_per_step: int = 16
    learning_rate: float = 3e-5
    warmup_share: float = 0.1
    scale: float = 20.0
    max_tokens: int = 96
    labelled_share: float = 0.5
    seed: int = 20261129


def training_texts(leave_out: frozenset[str] = frozenset()) -> tuple[dict[str, list[str]],
                                                                       dict[str, list[str]], list[str]]:
    """Normalised phrasings per entry, near misses per entry, and the off-topic examples, from ``knowledge/``.

    Claims in ``leave_out`` are left out whole (phrasings and near misses), as a claim added later would be.
    """
    from bot.config import Config
    from bot.kb.loader import load_knowledge
    from bot.match.normalise import normalise

    kb, _ = load_knowledge(Config().knowledge_dirs())
    unknown = leave_out - set(kb.claims)
    if unknown:
        raise SystemExit(f"--leave-out names no claim: {', '.join(sorted(unknown))}")
    phrasings, near_misses = {}, {}
    for cid in sorted(kb.claims):
        if cid in leave_out:
            continue
        claim = kb.claims[cid]
        texts = list(dict.fromkeys(t for t in (normalise(x) for x in (claim.claim, *claim.examples)) if t))
        if len(texts) >= 2:
            phrasings[cid] = texts
            near_misses[cid] = [t for t in (normalise(x) for x in claim.counter_examples) if t]
    off_topic = [t for t in (normalise(x) for x in kb.topic.off_topic_examples) if t]
    return phrasings, near_misses, off_topic


def labelled_texts(leave_out: frozenset[str] = frozenset()) -> tuple[dict[str, list[str]], list[str]]:
    """Normalised labelled texts that make one claim (per claim) and that make none, from the tuning data.

    Claims in ``leave_out`` lose their positives; lines with ``context``, ``none_ok``, ``needs_context`` or
    ``also`` are skipped (what they teach is not one claim or none).
    """
    import yaml

    from bot.match.normalise import normalise

    items: list[dict[str, Any]] = []
    for name in LABELLED_CHAT:
        items += yaml.safe_load((LABELLED / name).read_text(encoding="utf-8"))
    prose = yaml.safe_load((LABELLED / LABELLED_PROSE).read_text(encoding="utf-8"))
    items += [item for item in prose if item["split"] == "tune"]
    positives: dict[str, list[str]] = {}
    negatives: list[str] = []
    for item in items:
        if any(item.get(flag) for flag in ("context", "none_ok", "needs_context", "also")):
            continue
        text = normalise(item["text"])
        if not text:
            continue
        if item["label"] is None:
            negatives.append(text)
        elif item["label"] not in leave_out:
            positives.setdefault(item["label"], []).append(text)
    return positives, negatives


def finetune(source: Path, out: Path, leave_out: frozenset[str] = frozenset(),
             settings: FinetuneSettings = FinetuneSettings()) -> None:
    """Fine-tune the model in ``source`` and save it (weights, config, tokenizer) to ``out``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(settings.seed)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(settings.seed)
    phrasings, near_misses, off_topic = training_texts(leave_out)
    positives, negatives = labelled_texts(leave_out) if settings.labelled_share else ({}, [])
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModel.from_pretrained(str(source))

    def embed(texts: list[str]) -> torch.Tensor:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=settings.max_tokens,
                          return_tensors="pt")
        states = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       token_type_ids=torch.zeros_like(batch["input_ids"])).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    claim_ids = sorted(phrasings)
    hard: dict[str, list[str]] = {cid: [] for cid in claim_ids}
    if negatives:  # each labelled non-claim is a hard negative for the entry it lies nearest to
        model.eval()
        with torch.no_grad():
            centres = torch.nn.functional.normalize(
                torch.stack([embed(phrasings[cid][:24]).mean(0) for cid in claim_ids]), dim=1)
            vectors = torch.cat([embed(negatives[i:i + 64]) for i in range(0, len(negatives), 64)])
            for text, nearest in zip(negatives, (vectors @ centres.T).argmax(1).tolist(), strict=True):
                hard[claim_ids[nearest]].append(text)
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate)
    warmup = max(1, int(settings.steps * settings.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (settings.steps - s) / (settings.steps - warmup))))
    order: list[str] = []
    for step in range(settings.steps):
        if len(order) < settings.claims_per_step:
            shuffled = claim_ids[:]
            rng.shuffle(shuffled)
            order += shuffled
        chosen, order = order[:settings.claims_per_step], order[settings.claims_per_step:]
        anchors, candidates, negs = [], [], []
        for cid in chosen:
            if positives.get(cid) and rng.random() < settings.labelled_share:
                anchors.append(rng.choice(positives[cid]))
                candidates.append(rng.choice(phrasings[cid]))
            else:
                a, p = rng.sample(phrasings[cid], 2)
                anchors.append(a)
                candidates.append(p)
            use_labelled = bool(hard[cid]) and rng.random() < settings.labelled_share
            negs.append(rng.choice(hard[cid] if use_labelled else (near_misses[cid] or off_topic)))
        logits = embed(anchors) @ embed(candidates + negs).T * settings.scale
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(chosen)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 25 == 0 or step == settings.steps - 1:
            print(f"step {step + 1}/{settings.steps}: loss {loss.item():.4f}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    if not (out / "tokenizer.json").exists():  # build_model.py reads the fast tokenizer's file
        shutil.copyfile(source / "tokenizer.json", out / "tokenizer.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="directory for the fine-tuned model")
    parser.add_argument("--leave-out", nargs="*", default=[], help="claim ids to leave out of training")
    parser.add_argument("--knowledge-only", action="store_true", help="train on knowledge/ alone")
    parser.add_argument("--steps", type=int, default=FinetuneSettings.steps)
    parser.add_argument("--lr", type=float, default=FinetuneSettings.learning_rate)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_model import _source_dir

    settings = FinetuneSettings(steps=args.steps, learning_rate=args.lr)
    if args.knowledge_only:
        settings = replace(settings, labelled_share=0.0)
    finetune(_source_dir(), args.out, frozenset(args.leave_out), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
