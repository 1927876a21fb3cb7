"""Rank claims for a message: lexical + semantic similarity to each claim's examples, plus a linear classifier.

Built once per knowledge base (a reload builds a new one). Three signals, all derived from the knowledge files:

- lexical: normalised BM25 of the message against every example (a scatter-add over an inverted index);
- semantic: cosine between mean-centred static embeddings of the message and every example;
- classifier: a ridge-regression classifier over the same embeddings, trained in closed form at load time on
  every claim's examples against every other claim's and against counter-examples (a "none" class). It knows
  which directions *separate* claims, where cosine only knows which examples are near.

A claim's similarity is the mean of its two best-matching examples (one lucky example is weaker evidence
than two), the classifier's output is added, and counter-examples (a claim's own and the knowledge base's
``off_topic_examples``) push a claim down when the message is closer to them than to the claim, the harder
the closer. ``score`` is
vectorised over claims: a handful of numpy calls whatever the number of claims.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..kb.loader import KnowledgeBase
from ..kb.models import Claim
from .embed import Embedder
from .normalise import normalise, tokens

__all__ = ["ClaimIndex", "ClaimScore", "Weights"]

#: Above this many examples, only the best lexical/classifier candidates get example-level cosine.
_PRUNE_ABOVE = 4000
_CANDIDATES = 48
#: The classifier's Gram matrix is estimated from at most this many rows (exact below it).
_GRAM_ROWS = 20000


@dataclass(frozen=True, slots=True)
class Weights:
    """How the scores combine, and how hard counter-examples push."""

    lexical: float = 0.5
    semantic: float = 0.5
    #: Weight of the load-time classifier's output in the combined score.
    classifier: float = 0.5
    #: Ridge penalty of the classifier: larger is smoother, smaller fits the examples harder.
    ridge: float = 0.5
    #: A claim's similarity is the mean of its ``top_k`` best examples.
    top_k: int = 2
    counter_penalty: float = 0.15
    counter_slack: float = 0.03
    #: Beyond the flat penalty, how hard a counter-example pushes per unit it is nearer than the claim's examples.
    counter_gain: float = 0.5
    #: A message this close to a counter-example (cosine) is that counter-example: its claim is ruled out.
    counter_same: float = 0.95
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
    classifier: float = 0.0


def _slots(sizes: np.ndarray, k: int, pad: int) -> np.ndarray:
    """A (groups, width) matrix of the row indices of consecutive groups of ``sizes`` rows, padded with ``pad``.

    A group with fewer than ``k`` rows (but at least one) repeats its rows instead, so a top-k mean over it is
    a mean over what it has.
    """
    counts = sizes.tolist()
    out = np.full((len(counts), max(k, *counts, 1) if counts else k), pad, dtype=np.int64)
    start = 0
    for group, count in enumerate(counts):
        rows = np.arange(start, start + count)
        if 0 < count < k:
            out[group] = np.resize(rows, out.shape[1])
        else:
            out[group, :count] = rows
        start += count
    return out


def _starts(sizes: np.ndarray) -> np.ndarray:
    """Where each of consecutive groups of ``sizes`` rows begins."""
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Groups:
    """Rows stored group after group (a claim's examples, a claim's counter-examples): reductions per group
    over a flat array of per-row values, a few numpy calls whatever the number of groups."""

    starts: np.ndarray
    sizes: np.ndarray

    @classmethod
    def of(cls, owner: np.ndarray, n_groups: int) -> _Groups:
        """The groups of rows owned by 0 .. n_groups - 1 (``owner`` sorted)."""
        sizes = np.bincount(owner, minlength=n_groups).astype(np.int64)
        return cls(_starts(sizes), sizes)

    def take(self, groups: np.ndarray) -> tuple[np.ndarray, _Groups]:
        """The rows of ``groups`` in that order, and how they group."""
        sizes = self.sizes[groups]
        starts = _starts(sizes)
        return np.repeat(self.starts[groups] - starts, sizes) + np.arange(int(sizes.sum())), _Groups(starts, sizes)

    def max(self, values: np.ndarray, empty: float = -np.inf) -> np.ndarray:
        """Each group's largest value (of each column, for a matrix); ``empty`` for a group without rows."""
        full = self.sizes > 0
        if full.all():
            return np.maximum.reduceat(values, self.starts)
        out = np.full((len(self.sizes), *values.shape[1:]), empty, dtype=values.dtype)
        if full.any():
            out[full] = np.maximum.reduceat(values, self.starts[full])
        return out

    def top_mean(self, values: np.ndarray, k: int) -> np.ndarray:
        """The mean of each group's ``k`` largest values. A group with fewer than ``k`` rows counts its rows
        again (a claim with one example scores that example); a group without rows scores minus infinity."""
        first = self.max(values)
        if k == 1:
            return first
        if k == 2 and (self.sizes > 0).all():
            at_first = values == np.repeat(first, self.sizes)
            second = np.maximum.reduceat(np.where(at_first, -np.inf, values), self.starts).astype(values.dtype)
            ties = np.add.reduceat(at_first, self.starts, dtype=np.int64) > 1
            return (first + np.where(ties | (self.sizes == 1), first, second)) / 2
        padded = np.append(values, values.dtype.type(-np.inf))[_slots(self.sizes, k, len(values))]
        return -np.partition(-padded, k - 1, axis=1)[:, :k].mean(axis=1)


def _group_sums(rows: np.ndarray, owner: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum of ``rows`` per group (``owner`` sorted): one row per group, zeros for an empty group."""
    out = np.zeros((n_groups, rows.shape[1]), dtype=rows.dtype)
    if len(rows):
        present, starts = np.unique(owner, return_index=True)
        out[present] = np.add.reduceat(rows, starts, axis=0)
    return out


@dataclass(frozen=True, slots=True)
class _Bm25:
    """BM25 over the examples: idf, and an inverted index in which each term is a span of one flat pair of
    arrays (example ids, precomputed per-example term weights). A pair of small arrays per term cost more in
    headers than in data once long words add their pieces (tens of thousands of terms)."""

    idf: dict[str, float]
    unseen_idf: float
    spans: dict[str, tuple[int, int]]
    ids: np.ndarray
    weights: np.ndarray
    k1: float
    b: float


def _bm25(docs: list[list[str]], k1: float, b: float) -> _Bm25:
    """The BM25 index of ``docs`` (each a list of terms)."""
    n = max(len(docs), 1)
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc))
    idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
    avgdl = sum(len(d) for d in docs) / n or 1.0
    postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for di, doc in enumerate(docs):
        norm = k1 * (1 - b + b * len(doc) / avgdl)
        for term, tf in Counter(doc).items():
            ids, weights = postings[term]
            ids.append(di)
            weights.append(idf[term] * tf * (k1 + 1) / (tf + norm))
    spans: dict[str, tuple[int, int]] = {}
    flat_ids: list[int] = []
    flat_weights: list[float] = []
    for term, (ids, weights) in postings.items():
        spans[term] = (len(flat_ids), len(flat_ids) + len(ids))
        flat_ids.extend(ids)
        flat_weights.extend(weights)
    return _Bm25(idf, math.log(1 + (n + 0.5) / 0.5), spans, np.asarray(flat_ids, dtype=np.int64),
                 np.asarray(flat_weights, dtype=np.float32), k1, b)


class ClaimIndex:
    """Examples of every entry (claims and topics), indexed for lexical, semantic and classifier scoring."""

    def __init__(self, kb: KnowledgeBase, embedder: Embedder, weights: Weights | None = None,
                 keep: Callable[[str], bool] | None = None,
                 terms: Callable[[str], list[str]] = tokens, lexical: ClaimIndex | None = None) -> None:
        """``keep``: when given, only the examples and counter-examples it accepts are indexed (the matcher's
        English index); a claim's own statement is always kept. ``terms``: what the lexical score counts.
        ``lexical``: an index of the same examples and terms (the static twin of an encoder index) whose
        lexical index is shared rather than built again."""
        self.weights = weights or Weights()
        self._keep = keep or (lambda text: True)
        self._terms = terms
        self.embedder = embedder
        claims = list(kb.claims.values())  # topics too: /source searches them; score() masks them otherwise
        self.claim_ids: list[str] = [c.id for c in claims]
        #: Topic entries (verdict: topic) are scored for /source but never matched unprompted.
        self.is_topic = np.asarray([c.is_topic for c in claims], dtype=bool)
        texts: list[str] = []
        owner: list[int] = []
        for ci, claim in enumerate(claims):
            for text in (claim.claim, *filter(self._keep, claim.examples)):
                texts.append(text)
                owner.append(ci)
        self.example_texts = texts
        self.example_owner = np.asarray(owner, dtype=np.int64)
        self._example_groups = _Groups.of(self.example_owner, len(claims))
        cleaned = [normalise(t) for t in texts]
        k1, b = self.weights.k1, self.weights.b
        if lexical is not None and lexical.example_texts == texts and (lexical._bm25.k1, lexical._bm25.b) == (k1, b):
            self._bm25 = lexical._bm25
        else:
            self._bm25 = _bm25([terms(t) for t in cleaned], k1, b)
        raw = embedder.embed_many(cleaned) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
        # Every example shares the topic ("social credit", "china"); removing that common direction makes
        # cosine measure what is specific to a claim rather than that a message is on topic at all.
        self.mean_vec = (raw.mean(axis=0).astype(np.float32) if len(raw) and self.weights.center
                         else np.zeros(embedder.dim, np.float32))
        self.example_vecs = self._center(raw)
        self._build_counters(kb, claims)
        self.classifier = self._train_classifier()

    def _center(self, vecs: np.ndarray) -> np.ndarray:
        """Remove the knowledge base's mean direction and re-normalise (a no-op with ``center`` off)."""
        if not self.weights.center or len(vecs) == 0:
            return vecs.astype(np.float32)
        out = vecs - self.mean_vec
        norms = np.linalg.norm(out, axis=-1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1)).astype(np.float32)

    def _build_counters(self, kb: KnowledgeBase, claims: list[Claim]) -> None:
        """Counter-examples: per claim, plus global off-topic lines that count against every claim."""
        counter_texts: list[str] = []
        counter_owner: list[int] = []
        for ci, claim in enumerate(claims):
            for text in filter(self._keep, claim.counter_examples):
                counter_texts.append(text)
                counter_owner.append(ci)
        own = len(counter_texts)
        counter_texts.extend(filter(self._keep, kb.topic.off_topic_examples))
        counter_owner.extend([-1] * (len(counter_texts) - own))
        self.counter_texts = counter_texts
        self.counter_owner = np.asarray(counter_owner, dtype=np.int64)
        self.counter_vecs = (self._center(self.embedder.embed_many([normalise(t) for t in counter_texts]))
                             if counter_texts else np.zeros((0, self.embedder.dim), dtype=np.float32))
        self._own_counter_vecs = self.counter_vecs[:own]
        self._off_topic_vecs = self.counter_vecs[own:]
        self._counter_groups = _Groups.of(self.counter_owner[:own], len(claims))

    def _train_classifier(self) -> np.ndarray:
        """Ridge-regression weights ((dim + 1) x (claims + 1)); also what picks candidates in a large base.

        One-hot targets: each example is its claim's class, each counter-example the extra "none" class. Closed
        form, so training is one (dim + 1)-square solve however many claims there are; in a very large knowledge
        base the Gram matrix is estimated from an even sample of rows, which keeps loading well under a second.
        """
        n_claims = len(self.claim_ids)
        x = np.vstack([self.example_vecs, self.counter_vecs])
        x = np.hstack([x, np.ones((len(x), 1), dtype=np.float32)])
        labels = np.concatenate([self.example_owner, np.full(len(self.counter_vecs), n_claims, dtype=np.int64)])
        if len(x) == 0:
            return np.zeros((x.shape[1], n_claims + 1), dtype=np.float32)
        step = -(-len(x) // _GRAM_ROWS)
        sample = x[::step]
        gram = (sample.T @ sample).astype(np.float64) * (len(x) / len(sample))
        gram += self.weights.ridge * np.eye(x.shape[1])
        targets = _group_sums(x, labels, n_claims + 1).T.astype(np.float64)
        return np.linalg.solve(gram, targets).astype(np.float32)

    # ------------------------------------------------------------------------------------ lexical index

    def _lexical(self, terms: list[str], n_docs: int) -> np.ndarray:
        """Normalised BM25 of the first ``n_docs`` examples: the share of the message's term weight each holds."""
        bm25 = self._bm25
        unique = set(terms)
        total = sum(bm25.idf.get(t, bm25.unseen_idf) for t in unique)
        spans = [bm25.spans[t] for t in unique if t in bm25.spans]
        if not spans or total <= 0:
            return np.zeros(n_docs, dtype=np.float32)
        ids = np.concatenate([bm25.ids[a:b] for a, b in spans])
        weights = np.concatenate([bm25.weights[a:b] for a, b in spans])
        scores = np.bincount(ids, weights=weights, minlength=n_docs).astype(np.float32)
        return np.minimum(scores / total, 1.0)

    # ------------------------------------------------------------------------------------ scoring

    def _classify(self, qvec: np.ndarray) -> np.ndarray:
        """The classifier's output for every claim."""
        return (qvec @ self.classifier[:-1] + self.classifier[-1])[:-1]

    @property
    def _prunes(self) -> bool:
        """True for a knowledge base large enough that only the best few claims are scored in full."""
        return len(self.example_texts) > _PRUNE_ABOVE and len(self.claim_ids) > _CANDIDATES

    def _candidates(self, lex: np.ndarray, clf: np.ndarray) -> np.ndarray:
        """Claim indices worth scoring in full: all of them, or the best few in a large knowledge base."""
        if not self._prunes:
            return np.arange(len(self.claim_ids))
        prior = self._example_groups.max(lex) + clf
        return np.argpartition(-prior, _CANDIDATES)[:_CANDIDATES]

    def score(self, text: str, top: int = 3, *, topics: bool = False, vec: np.ndarray | None = None,
              excluded: np.ndarray | None = None) -> list[ClaimScore]:
        """The ``top`` claims for normalised ``text``, best first; topic entries too when ``topics``.

        ``vec``: the text's embedding when the caller already has it (a batch of segments is embedded at once).
        ``excluded``: a boolean per claim (in ``claim_ids`` order); those claims are never returned.
        """
        return self.score_many([text], top, topics=topics, vecs=None if vec is None else vec[None, :],
                               excluded=excluded)[0]

    def score_many(self, texts: list[str], top: int = 3, *, topics: bool = False, vecs: np.ndarray | None = None,
                   excluded: np.ndarray | None = None) -> list[list[ClaimScore]]:
        """``score`` for each of several texts (a message and its sentences), with ``vecs`` one row per text.

        Reading the examples' vectors from memory is most of the cost of scoring, and one matrix product reads
        them once for every text.
        """
        if not self.claim_ids or not texts:
            return [[] for _ in texts]
        if vecs is None:
            vecs = np.vstack([self.embedder.embed(text) for text in texts])
        queries = self._center(vecs)
        sims = own = None
        if not self._prunes:
            sims = self.example_vecs @ queries.T
            own = self._counter_groups.max(self._own_counter_vecs @ queries.T, empty=0.0)
        near_off_topic = (self._off_topic_vecs @ queries.T).max(axis=0, initial=0.0)
        return [self._rank(text, queries[i], None if sims is None else sims[:, i], None if own is None else own[:, i],
                           float(near_off_topic[i]), top, topics, excluded) if text else []
                for i, text in enumerate(texts)]

    def _rank(self, text: str, qvec: np.ndarray, sims: np.ndarray | None, own_counter: np.ndarray | None,
              near_off_topic: float, top: int, topics: bool, excluded: np.ndarray | None) -> list[ClaimScore]:
        """One text's ranking from its centred vector; ``sims`` and ``own_counter`` (its cosine with every
        example, its nearest own counter-example per claim) are computed here when None (a pruned base)."""
        w = self.weights
        lex = self._lexical(self._terms(text), len(self.example_texts))
        clf = self._classify(qvec)
        cand = self._candidates(lex, clf)
        if sims is None or own_counter is None:
            rows, groups = self._example_groups.take(cand)
            sims, lex = self.example_vecs[rows] @ qvec, lex[rows]
            counter_rows, counter_groups = self._counter_groups.take(cand)
            own_counter = counter_groups.max(self._own_counter_vecs[counter_rows] @ qvec, empty=0.0)
        else:
            rows, groups = None, self._example_groups
        mixed = w.lexical * lex + w.semantic * sims
        combined = groups.top_mean(mixed, w.top_k) + w.classifier * clf[cand]
        sem_max = groups.max(sims)
        counter = np.maximum(own_counter, near_off_topic)
        nearer = counter - sem_max  # how much nearer the closest counter-example is than the closest example
        combined -= w.counter_penalty * (nearer > -w.counter_slack)
        combined -= w.counter_gain * np.clip(nearer - w.counter_slack, 0.0, None)
        combined[counter >= w.counter_same] = -np.inf
        if not topics:
            combined[self.is_topic[cand]] = -np.inf
        if excluded is not None:
            combined[excluded[cand]] = -np.inf
        results = []
        for row in np.argsort(-combined, kind="stable")[:top].tolist():
            if not np.isfinite(combined[row]):
                break
            first, size = int(groups.starts[row]), int(groups.sizes[row])
            best = first + int(np.argmax(mixed[first:first + size]))
            best = best if rows is None else int(rows[best])
            results.append(ClaimScore(self.claim_ids[int(cand[row])], float(combined[row]), float(lex[first:first + size].max()),
                                      float(sem_max[row]), float(counter[row]), self.example_texts[best],
                                      float(clf[cand[row]])))
        return results
