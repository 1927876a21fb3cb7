"""Fine-tune all-MiniLM-L6-v2 on the bundled knowledge base's claims (contrastive, deterministic, CPU).

Each step samples ``claims_per_step`` entries (claims, and topic entries as classes of their own); for each,
two of its phrasings (its ``claim`` line and ``examples``) are an anchor and a positive, and one of its
``counter_examples`` (or, for an entry with none, a ``topic.yaml`` off-topic example) is a hard negative. The
loss is MultipleNegativesRanking (in-batch softmax over cosines times ``scale``): an anchor must be nearer its
own entry's phrasing than any other entry's positive or any near miss in the batch. Only ``knowledge/`` is
read, never ``tests/data``. Measured, and why it is not the bundled model: ``docs/encoder-finetune.md``.

Run in the build environment (torch; see ``scripts/build_model.py``)::

    .venv-build/bin/python scripts/finetune_encoder.py OUT_DIR [--leave-out ID ...] [--steps N]

``OUT_DIR`` receives a Hugging Face model directory (weights, config, tokenizer) that
``scripts/build_model.py`` can export to ONNX like the stock model.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["FinetuneSettings", "training_texts", "finetune"]


@dataclass(frozen=True)
class FinetuneSettings:
    """Hyper-parameters of one fine-tuning run (the defaults are the ones measured in the report)."""

    steps: int = 160
    claims_per_step: int = 16
    learning_rate: float = 5e-5
    warmup_share: float = 0.1
    scale: float = 20.0
    max_tokens: int = 64
    seed: int = 20261129


def training_texts(leave_out: frozenset[str] = frozenset()) -> tuple[dict[str, list[str]],
                                                                       dict[str, list[str]], list[str]]:
    """Normalised phrasings per claim, near misses per claim, and the off-topic examples, from ``knowledge/``.

    Claims in ``leave_out`` are left out whole (phrasings and near misses), as a claim added later would be.
    """
    sys.path.insert(0, str(ROOT))
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


def finetune(source: Path, out: Path, leave_out: frozenset[str] = frozenset(),
             settings: FinetuneSettings = FinetuneSettings()) -> None:
    """Fine-tune the model in ``source`` and save it (weights, config, tokenizer) to ``out``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(settings.seed)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(settings.seed)
    phrasings, near_misses, off_topic = training_texts(leave_out)
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModel.from_pretrained(str(source))
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate)
    warmup = max(1, int(settings.steps * settings.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (settings.steps - s) / (settings.steps - warmup))))

    def embed(texts: list[str]) -> torch.Tensor:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=settings.max_tokens,
                          return_tensors="pt")
        states = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       token_type_ids=torch.zeros_like(batch["input_ids"])).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    claim_ids = sorted(phrasings)
    order: list[str] = []
    for step in range(settings.steps):
        if len(order) < settings.claims_per_step:
            shuffled = claim_ids[:]
            rng.shuffle(shuffled)
            order += shuffled
        chosen, order = order[:settings.claims_per_step], order[settings.claims_per_step:]
        anchors, positives, negatives = [], [], []
        for cid in chosen:
            a, p = rng.sample(phrasings[cid], 2)
            anchors.append(a)
            positives.append(p)
            negatives.append(rng.choice(near_misses[cid] or off_topic))
        a, candidates = embed(anchors), embed(positives + negatives)
        logits = a @ candidates.T * settings.scale
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(chosen)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 20 == 0 or step == settings.steps - 1:
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
    parser.add_argument("--steps", type=int, default=FinetuneSettings.steps)
    parser.add_argument("--lr", type=float, default=FinetuneSettings.learning_rate)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_model import _source_dir

    settings = FinetuneSettings(steps=args.steps, learning_rate=args.lr)
    finetune(_source_dir(), args.out, frozenset(args.leave_out), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
