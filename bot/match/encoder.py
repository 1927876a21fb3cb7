"""The transformer encoder: all-MiniLM-L6-v2 as int8 ONNX, run by onnxruntime. No torch, no network.

Slower than the static vectors (about 2-3 ms for a chat line on one core against 0.1 ms) but it reads word
order and context, which is what separates a claim from a sentence that merely shares its words. The matcher
runs it only for messages that pass the topic gate. ``scripts/build_model.py encoder`` builds the files;
``SHA256SUMS`` is checked when they are loaded.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from ..errors import ModelError
from .embed import MODEL_DIR, verify_model_dir

__all__ = ["EncoderEmbedder", "load_encoder", "encoder_available", "EXAMPLE_VECTORS", "example_vectors_key"]

_ENCODER_FILES = ("encoder.onnx", "encoder-tokenizer.json", "encoder-config.json")
#: The bundled knowledge base's example vectors, computed at build time (``scripts/build_model.py vectors``) so
#: a cold start need not run the encoder over every example; texts not in it (a moderator's new examples) are
#: embedded at load as usual. Used only when it was made by this encoder file at this ``MAX_TOKENS``.
EXAMPLE_VECTORS = "encoder-examples.npz"
#: Texts per onnxruntime call when embedding many (sorted by length, so padding stays small).
_BATCH = 32
#: Batches at least this large are knowledge-base examples: their vectors are kept, so a reload (or another
#: knowledge base sharing most examples) embeds only what changed.
_CACHE_FROM = 64
_CACHE_MAX = 200_000
#: Word pieces read per text (the model takes 256; the build checks 128). A claim is made in a sentence or two,
#: long messages are scored sentence by sentence, and the cost grows with length: 64 changed no decision on
#: chat_dev or real_dev's tune half and bounds the worst message to about a quarter of the time of 256.
MAX_TOKENS = 64


class EncoderEmbedder:
    """Turns text into unit-length sentence vectors with the ONNX transformer (same shape as StaticEmbedder)."""

    def __init__(self, session: object, tokenizer: Tokenizer, dim: int) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.dim = dim
        self._cache: dict[str, np.ndarray] = {}

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        out = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]  # type: ignore[attr-defined]
        return np.asarray(out, dtype=np.float32)

    def remember(self, texts: list[str], vectors: np.ndarray) -> None:
        """Take precomputed vectors for ``texts`` (the bundled examples) into the cache."""
        self._cache.update(zip(texts, vectors.astype(np.float32), strict=True))

    def embed(self, text: str) -> np.ndarray:
        """A unit vector for ``text``."""
        return self._run([text])[0]

    def embed_many(self, texts: list[str], chunk: int = _BATCH) -> np.ndarray:
        """One unit row per text: a knowledge base's examples in batches of similar length, a message's texts
        one by one.

        Large batches (knowledge-base examples) are remembered; any text already remembered (a message that
        repeats an example word for word, as spam does) is not run again. Single messages are not stored, so
        memory stays flat however much chat goes by.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        remember = len(texts) >= _CACHE_FROM
        # A message's sentences run one at a time. In a batch each is padded to the longest, which costs long
        # posts more than the extra calls do, and int8 quantisation takes its scale from the whole batch, so a
        # sentence's vector would move with its neighbours.
        batch = chunk if remember else 1
        todo = []
        for i, text in enumerate(texts):
            hit = self._cache.get(text)
            if hit is None:
                todo.append(i)
            else:
                out[i] = hit
        order = sorted(todo, key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            out[rows] = self._run([texts[i] for i in rows])
        if remember:
            if len(self._cache) + len(todo) > _CACHE_MAX:
                self._cache.clear()
            self._cache.update((texts[i], out[i]) for i in todo)
        return out


def encoder_available(model_dir: Path = MODEL_DIR) -> bool:
    """True when the encoder's files and onnxruntime are both installed."""
    if not all((model_dir / name).exists() for name in _ENCODER_FILES):
        return False
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=2)
def load_encoder(model_dir: Path = MODEL_DIR, threads: int = 1) -> EncoderEmbedder:
    """Load (once per process) and verify the ONNX encoder in ``model_dir``."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelError("onnxruntime is not installed: reinstall Footnote (pip install -e .)") from None
    verify_model_dir(model_dir)
    config = json.loads((model_dir / "encoder-config.json").read_text())
    tokenizer = Tokenizer.from_file(str(model_dir / "encoder-tokenizer.json"))
    tokenizer.enable_truncation(min(int(config["max_tokens"]), MAX_TOKENS))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model_dir / "encoder.onnx"), options, providers=["CPUExecutionProvider"])
    embedder = EncoderEmbedder(session, tokenizer, int(config["dim"]))
    cached = model_dir / EXAMPLE_VECTORS
    if cached.exists():
        with np.load(cached, allow_pickle=False) as data:
            if str(data["key"]) == example_vectors_key(model_dir):
                embedder.remember([str(t) for t in data["texts"]], data["vectors"])
    return embedder


def example_vectors_key(model_dir: Path = MODEL_DIR) -> str:
    """What precomputed vectors must have been made with: this encoder file's checksum and ``MAX_TOKENS``."""
    digest = next((line.split()[0] for line in (model_dir / "SHA256SUMS").read_text().splitlines()
                   if line.split()[1:] == ["encoder.onnx"]), "")
    return f"{digest}:{MAX_TOKENS}"
