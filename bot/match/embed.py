"""Static sentence embeddings: a model2vec table of token vectors, averaged. numpy only, no torch, no network.

The files in ``bot/model/`` are distilled from all-MiniLM-L6-v2 by ``scripts/build_model.py`` and checked
against ``SHA256SUMS`` when loaded (see ``bot/model/NOTICE.md`` for the licence).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from ..errors import ModelError

__all__ = ["MODEL_DIR", "Embedder", "StaticEmbedder", "load_embedder", "verify_model_dir"]

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
_MAX_TOKENS = 128
#: Words whose token ids are remembered (about 3 MB when full; then it starts again, so memory stays flat).
_WORD_CACHE_MAX = 20_000
#: Tokenizer parts that treat each space-separated word on its own (a byte-level BPE, by contrast, spells a
#: word differently after a space): only with these are a text's ids its words' ids in order.
_WORDWISE = {"pre_tokenizer": {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"},
             "normalizer": {"BertNormalizer", "Lowercase", "NFC", "NFD", "NFKC", "NFKD", "StripAccents", "NoneType"},
             "model": {"WordPiece"}}


class Embedder(Protocol):
    """What the scorer needs from a sentence embedder: unit-length rows of ``dim`` floats."""

    dim: int

    def embed(self, text: str) -> np.ndarray: ...

    def embed_many(self, texts: list[str]) -> np.ndarray: ...


class StaticEmbedder:
    """Turns text into unit-length vectors by averaging the token vectors of a static model."""

    def __init__(self, vectors: np.ndarray, tokenizer: Tokenizer, unk_id: int | None) -> None:
        # Kept in the file's float16 (15 MB rather than 30); rows are averaged in float32.
        self.vectors = vectors
        self.dim = int(vectors.shape[1])
        self._tokenizer = tokenizer
        self._unk = unk_id
        self._word_ids: dict[str, list[int]] = {}
        self._wordwise = all(type(getattr(tokenizer, part)).__name__ in kinds for part, kinds in _WORDWISE.items())

    def _token_ids(self, text: str) -> list[int]:
        """The tokenizer's ids for ``text``, from remembered words when every word has been seen before.

        The tokenizer splits at spaces before anything else and treats each piece alone, so a text's ids are
        its words' ids in order; looking words up is several times faster than running the tokenizer (it is
        most of the cost of a weak-topic chat line). A text with a new word runs the tokenizer once and
        remembers all its words.
        """
        if not self._wordwise:
            return self._tokenizer.encode(text, add_special_tokens=False).ids
        words = text.split(" ")
        cache = self._word_ids
        out: list[int] = []
        for word in words:
            ids = cache.get(word)
            if ids is None:
                return self._learn_words(text, words)
            out += ids
            if len(out) >= _MAX_TOKENS:
                break
        return out

    def _learn_words(self, text: str, words: list[str]) -> list[int]:
        """Run the tokenizer over ``text`` and remember the ids of each of its space-separated ``words``."""
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        if len(self._word_ids) + len(words) > _WORD_CACHE_MAX:
            self._word_ids.clear()
        ids, offsets = encoding.ids, encoding.offsets
        start, t = 0, 0
        for word in words:
            end = start + len(word)
            mine = []
            while t < len(ids) and offsets[t][0] < end:
                mine.append(ids[t])
                t += 1
            self._word_ids[word] = mine
            start = end + 1
        return ids

    def _pool(self, ids: list[int]) -> np.ndarray:
        ids = [i for i in ids[:_MAX_TOKENS] if i != self._unk]
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        vec = self.vectors[ids].mean(axis=0, dtype=np.float32)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec

    def embed(self, text: str) -> np.ndarray:
        """A unit vector for ``text`` (all zeros when no token is known)."""
        return self._pool(self._token_ids(text))

    def embed_many(self, texts: list[str], chunk: int = 512) -> np.ndarray:
        """One unit row per text (vectorised: one gather and one segment sum per chunk of texts)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), chunk):
            encodings = self._tokenizer.encode_batch(texts[start:start + chunk], add_special_tokens=False)
            ids = [[i for i in enc.ids[:_MAX_TOKENS] if i != self._unk] for enc in encodings]
            lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
            flat = np.fromiter((i for x in ids for i in x), dtype=np.int64, count=int(lengths.sum()))
            if not len(flat):
                continue
            present = np.flatnonzero(lengths)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[present]
            sums = np.add.reduceat(self.vectors[flat], starts, axis=0, dtype=np.float32)
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            out[start + present] = sums / np.where(norms > 0, norms, 1)
        return out


def verify_model_dir(model_dir: Path) -> None:
    """Check every file listed in ``SHA256SUMS``; raises ModelError naming a missing or damaged file."""
    sums = model_dir / "SHA256SUMS"
    if not sums.exists():
        raise ModelError(f"{sums} is missing: rebuild the model with scripts/build_model.py")
    for line in sums.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        path = model_dir / name.strip()
        if not path.exists():
            raise ModelError(f"{path} is missing: reinstall Footnote or rebuild with scripts/build_model.py")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise ModelError(f"{path} does not match its checksum in SHA256SUMS: the file is damaged or was "
                             "replaced; reinstall Footnote or rebuild with scripts/build_model.py")


@lru_cache(maxsize=2)
def load_embedder(model_dir: Path = MODEL_DIR) -> StaticEmbedder:
    """Load (once per process) and verify the static model in ``model_dir``."""
    verify_model_dir(model_dir)
    vectors = load_file(str(model_dir / "model.safetensors"))["embeddings"]
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    config = json.loads((model_dir / "config.json").read_text())
    unk = tokenizer.token_to_id("[UNK]")
    if config.get("normalize") is False:
        raise ModelError(f"{model_dir}/config.json: expected a normalised model2vec model")
    return StaticEmbedder(vectors, tokenizer, unk)
