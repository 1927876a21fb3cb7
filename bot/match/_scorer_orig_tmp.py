"""Rank claims for a message: normalised BM25 over each claim's examples + cosine over static embeddings.

Built once per knowledge base (a reload builds a new one). ``score`` is pure and allocation-light: the
lexical part is a scatter-add over an inverted index, the semantic part one matrix-vector product over the
candidate claims' example vectors. Counter-examples (a claim's own and the knowledge base's
``off_topic_examples``) push a claim down when the message is closer to them than to the claim.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from ..kb.loader import KnowledgeBase
from .embed import StaticEmbedder
from .normalise import normalise, tokens

__all__ = ["ClaimIndex", "ClaimScore", "Weights"]

#: Above this many examples, only the best lexical/centroid candidates get example-level cosine.
_PRUNE_ABOVE = 4000
_CANDIDATES = 48


@dataclass(frozen=True, slots=True)
class Weights:
    """How the two scores combine, and how hard counter-examples push."""

    lexical: float = 0.35
    semantic: float = 0.65
    counter_penalty: float = 0.15
    counter_slack: float = 0.03
    center: bool = True
    k1: float = 1.2
    b: float = 0.75


@dataclass(frozen=True, slots=True)
class ClaimScore:
    """One claim's scores for one message. ``evidence`` is the example that matched best."""

    claim_id: str
    combined: float
    lexical: float
    semantic: float
    counter: float
    evidence: str


class ClaimIndex:
    """Examples of every answerable claim, indexed for lexical and semantic scoring."""

    def __init__(self, kb: KnowledgeBase, embedder: StaticEmbedder, weights: Weights | None = None,
                 *, include_topics: bool = False) -> None:
        self.weights = weights or Weights()
        self.embedder = embedder
        claims = [c for c in kb.claims.values() if include_topics or not c.is_topic]
        self.claim_ids: list[str] = [c.id for c in claims]
        texts: list[str] = []
        owner: list[int] = []
        for ci, claim in enumerate(claims):
            for text in (claim.claim, *claim.examples):
                texts.append(text)
                owner.append(ci)
        self.example_texts = texts
        self.example_owner = np.asarray(owner, dtype=np.int64)
        self.claim_start = np.searchsorted(self.example_owner, np.arange(len(claims)))
        self._build_lexical([tokens(normalise(t)) for t in texts])
        raw = embedder.embed_many([normalise(t) for t in texts]) if texts else np.zeros((0, embedder.dim))
        # Every example shares the topic ("social credit", "china"); removing that common direction makes
        # cosine measure what is specific to a claim rather than that a message is on topic at all.
        self.mean_vec = raw.mean(axis=0) if len(raw) and self.weights.center else np.zeros(embedder.dim, np.float32)
        self.example_vecs = self._center(raw)
        centroids = np.zeros((len(claims), embedder.dim), dtype=np.float32)
        np.add.at(centroids, self.example_owner, self.example_vecs)
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        self.centroids = centroids / np.where(norms > 0, norms, 1)
        # Counter-examples: per claim, plus global off-topic lines that count against every claim.
        counter_texts: list[str] = []
        counter_owner: list[int] = []
        for ci, claim in enumerate(claims):
            for text in claim.counter_examples:
                counter_texts.append(text)
                counter_owner.append(ci)
        for text in kb.topic.off_topic_examples:
            counter_texts.append(text)
            counter_owner.append(-1)
        self.counter_texts = counter_texts
        self.counter_owner = np.asarray(counter_owner, dtype=np.int64)
        self.counter_vecs = (self._center(embedder.embed_many([normalise(t) for t in counter_texts]))
                             if counter_texts else np.zeros((0, embedder.dim), dtype=np.float32))

    def _center(self, vecs: np.ndarray) -> np.ndarray:
        if not self.weights.center or len(vecs) == 0:
            return vecs
        out = vecs - self.mean_vec
        norms = np.linalg.norm(out, axis=-1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1)).astype(np.float32)

    # ------------------------------------------------------------------------------------ lexical index

    def _build_lexical(self, docs: list[list[str]]) -> None:
        n = max(len(docs), 1)
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)
        avgdl = sum(len(d) for d in docs) / n or 1.0
        k1, b = self.weights.k1, self.weights.b
        postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        for di, doc in enumerate(docs):
            norm = k1 * (1 - b + b * len(doc) / avgdl)
            for term, tf in Counter(doc).items():
                ids, weights = postings[term]
                ids.append(di)
                weights.append(self.idf[term] * tf * (k1 + 1) / (tf + norm))
        self.postings = {t: (np.asarray(i, dtype=np.int64), np.asarray(w, dtype=np.float32))
                         for t, (i, w) in postings.items()}

    def _lexical(self, terms: list[str], n_docs: int) -> np.ndarray:
        """Normalised BM25 of every example: the share of the message's term weight that the example holds."""
        unique = set(terms)
        total = sum(self.idf.get(t, self.unseen_idf) for t in unique)
        if not unique or total <= 0 or n_docs == 0:
            return np.zeros(n_docs, dtype=np.float32)
        hits = [self.postings[t] for t in unique if t in self.postings]
        if not hits:
            return np.zeros(n_docs, dtype=np.float32)
        ids = np.concatenate([h[0] for h in hits])
        weights = np.concatenate([h[1] for h in hits])
        scores = np.bincount(ids, weights=weights, minlength=n_docs).astype(np.float32)
        return np.minimum(scores / total, 1.0)

    # ------------------------------------------------------------------------------------ scoring

    def score(self, text: str, top: int = 3) -> list[ClaimScore]:
        """The ``top`` claims for normalised ``text``, best first."""
        if not self.claim_ids or not text:
            return []
        w = self.weights
        n_docs = len(self.example_texts)
        lex = self._lexical(tokens(text), n_docs)
        qvec = self._center(self.embedder.embed(text))
        lex_claim = np.maximum.reduceat(lex, self.claim_start) if n_docs else lex
        if n_docs > _PRUNE_ABOVE:
            prior = lex_claim + self.centroids @ qvec
            cand = np.argpartition(-prior, min(_CANDIDATES, len(prior) - 1))[:_CANDIDATES]
        else:
            cand = np.arange(len(self.claim_ids))
        results: list[ClaimScore] = []
        counter_sims = self.counter_vecs @ qvec if len(self.counter_texts) else np.zeros(0, dtype=np.float32)
        global_counter = float(counter_sims[self.counter_owner == -1].max(initial=0.0)) if len(counter_sims) else 0.0
        for ci in cand.tolist():
            start = int(self.claim_start[ci])
            end = int(self.claim_start[ci + 1]) if ci + 1 < len(self.claim_start) else n_docs
            sims = self.example_vecs[start:end] @ qvec
            mixed = w.lexical * lex[start:end] + w.semantic * sims
            best = int(np.argmax(mixed))
            combined = float(mixed[best])
            own = counter_sims[self.counter_owner == ci]
            counter = max(float(own.max(initial=0.0)) if len(own) else 0.0, global_counter)
            if counter > float(sims.max()) - w.counter_slack:
                combined -= w.counter_penalty
            results.append(ClaimScore(self.claim_ids[ci], combined, float(lex[start:end].max()),
                                      float(sims.max()), counter, self.example_texts[start + best]))
        results.sort(key=lambda s: s.combined, reverse=True)
        return results[:top]

