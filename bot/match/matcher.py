"""Message text -> a :class:`MatchResult`: normalise, gate, score, and decide the tier.

The decision rules are data (:class:`MatchConfig` thresholds) and every result says why, so ``explain``
and ``kb test`` can show the reasoning. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..config import MatchConfig
from ..kb.loader import KnowledgeBase
from ..kb.models import requires_pattern
from ..messages import Tier
from .embed import Embedder
from .gate import PLACE_TERMS, TopicGate
from .language import is_english
from .normalise import MAX_INPUT_CHARS, normalise, straight_apostrophes, tokens, word_count, word_pieces
from .scorer import ClaimIndex, ClaimScore, Weights
from .segment import segments
from .stance import rebuts

__all__ = ["Matcher", "MatchResult"]

#: A message with only a weak topic word, or none in an on-topic conversation, needs this much more.
WEAK_EXTRA = 0.08
#: ...and a message with no topic word at all, scored only because the channel was just on topic, more again:
#: near misses ("they throttle my internet after 50GB") must not be read as claims because of the channel.
CONTEXT_EXTRA = 0.08
#: A claim needs a subject and something said about it: fewer content words than this ("from china?", "do
#: you know chinese?") are never matched, however close their vector lands to a claim.
MIN_CONTENT_WORDS = 3
#: Messages of at least this many words are also scored sentence by sentence.
SEGMENT_FROM_WORDS = 14
#: A segment must clear the bar by this much more than a whole message (a sentence out of its post is
#: weaker evidence), and a segment with no topic word of its own (topic only in the rest) more again.
SEGMENT_EXTRA = 0.08
SEGMENT_CONTEXT_EXTRA = 0.04
#: Above this many examples the encoder is not used (embedding them all at load would take too long); the
#: static vectors score alone, as they did before the encoder.
ENCODER_MAX_EXAMPLES = 6000
#: The static vectors score a message first (0.2 ms); the encoder runs only when some piece comes within
#: this much of its bar (measured on chat_dev and real_dev tune: 0.25 already cost recall, 0.35 did not).
FAST_SLACK = 0.35
#: ...and for a piece with no topic phrase of its own (a weak word like "score" or "points", a place name): most
#: such chat is not about the topic at all, and the encoder's cost on it is what off-topic throughput pays
#: (on the 50,001 IRC lines: 57 encoder runs at 0.35, 14 at 0.28; real_dev tune recall 0.289 -> 0.265).
FAST_SLACK_WEAK = 0.28
#: With the encoder the classifier separates claims from near misses better than cosine does, so it weighs
#: more (tuned on chat_dev and the tune half of real_dev: same precision, more recall).
ENCODER_WEIGHTS = Weights(classifier=1.0)
#: A claim whose examples use rebuttal words this often is itself a rebuttal ("it's a Western myth").
_REBUTTAL_CLAIM_SHARE = 0.15


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What the matcher made of one message."""

    text: str
    on_topic: bool
    #: 2: a gate term; 1: only a weak topic word; 0: none (scored only when the channel is on topic).
    gate_level: int = 0
    tier: Tier | None = None
    best: ClaimScore | None = None
    runner_up: ClaimScore | None = None
    candidates: tuple[ClaimScore, ...] = ()
    reason: str = ""
    #: The sentence or clause that matched (raw text), when a segment rather than the whole message did.
    segment: str = ""
    #: Which segment (1-based) of how many; 0 when the whole message matched or it was not segmented.
    segment_index: int = 0
    segment_count: int = 0

    @property
    def claim_id(self) -> str | None:
        return self.best.claim_id if self.tier is not None and self.best else None

    @property
    def margin(self) -> float:
        if not self.best:
            return 0.0
        return self.best.combined - (self.runner_up.combined if self.runner_up else 0.0)

    def scores(self) -> dict[str, float]:
        """Numbers for logs and ``explain``."""
        if not self.best:
            return {}
        return {"combined": round(self.best.combined, 4), "lexical": round(self.best.lexical, 4),
                "semantic": round(self.best.semantic, 4), "margin": round(self.margin, 4)}


#: What almost every message gets (one shared, immutable result: building one per message showed in throughput).
_OFF_TOPIC = MatchResult(text="", on_topic=False, reason="not about social credit (topic gate)")


def _level_extra(level: int) -> float:
    """How much higher the bar is for a piece at this gate level (see WEAK_EXTRA and CONTEXT_EXTRA)."""
    if level == TopicGate.STRONG:
        return 0.0
    return WEAK_EXTRA + (CONTEXT_EXTRA if level == TopicGate.NONE else 0.0)


@dataclass(frozen=True, slots=True)
class _Piece:
    """A text to score: the whole message (index 0) or one of its segments."""

    raw: str
    text: str
    level: int
    extra: float
    index: int


class Matcher:
    """Everything needed to match messages against one knowledge base.

    ``embedder`` (the static vectors) always builds an index: it serves ``/source`` look-ups and knowledge
    bases too large for the encoder. ``encoder`` (the ONNX transformer), when given, scores the messages that
    pass the topic gate.
    """

    def __init__(self, kb: KnowledgeBase, embedder: Embedder, config: MatchConfig | None = None,
                 encoder: Embedder | None = None) -> None:
        self.kb = kb
        self.config = config or MatchConfig()
        places = kb.topic.place_terms
        self.gate = TopicGate([*kb.topic.gate_terms, *places], kb.topic.weak_terms, PLACE_TERMS | set(places))
        examples = sum(1 + len(c.examples) for c in kb.claims.values())
        scoring = encoder if examples <= ENCODER_MAX_EXAMPLES else None
        # Examples in other languages would move every English score (see language.py): English messages
        # are scored against the English examples alone; other messages against all examples, counting pieces
        # of long words as well as whole words.
        lines = {*kb.topic.off_topic_examples, *(t for c in kb.claims.values()
                                                 for t in (*c.examples, *c.counter_examples))}
        english = frozenset(filter(is_english, lines))
        if english != lines:
            self._english = self._indexes(kb, embedder, scoring, keep=english.__contains__)
            self._all = self._indexes(kb, embedder, scoring, terms=word_pieces)
        else:
            self._english = self._all = self._indexes(kb, embedder, scoring)
        self._requires = [(i, requires_pattern(c.requires))
                          for i, c in enumerate(kb.claims[cid] for cid in self.index.claim_ids) if c.requires]
        self._rebuttal_claims = frozenset(
            c.id for c in kb.claims.values()
            if c.examples and sum(rebuts(normalise(e)) for e in c.examples) / len(c.examples) >= _REBUTTAL_CLAIM_SHARE)

    @staticmethod
    def _indexes(kb: KnowledgeBase, embedder: Embedder, encoder: Embedder | None,
                 **options: Any) -> tuple[ClaimIndex, ClaimIndex]:
        """A static index and its encoder twin (the static one again without an encoder), sharing one lexical
        index."""
        static = ClaimIndex(kb, embedder, **options)
        return static, (ClaimIndex(kb, encoder, ENCODER_WEIGHTS, lexical=static, **options)
                        if encoder is not None else static)

    @property
    def index(self) -> ClaimIndex:
        """The static-vector index of the English examples."""
        return self._english[0]

    @property
    def scorer(self) -> ClaimIndex:
        """The index English messages are scored with: the encoder's, or the static one without an encoder."""
        return self._english[1]

    @property
    def uses_encoder(self) -> bool:
        """True when messages are scored with the transformer encoder."""
        return self.scorer is not self.index

    def static_index(self, text: str) -> ClaimIndex:
        """The static-vector index for ``text``: English examples for English, all examples otherwise."""
        return (self._english if is_english(text) else self._all)[0]

    def gate_level(self, raw_text: str) -> int:
        """The fast gate on raw text (microseconds): 2 on topic, 1 a weak hint, 0 off topic."""
        return self.gate.level(raw_text)

    def _pieces(self, raw_text: str, text: str, level: int) -> list[_Piece]:
        """The whole message, then (for a long one) each sentence or clause that may be scored on its own."""
        pieces = [_Piece(raw_text, text, level, 0.0, 0)]
        if word_count(text) < SEGMENT_FROM_WORDS:
            return pieces
        parts = segments(raw_text[:MAX_INPUT_CHARS])
        if len(parts) < 2:
            return pieces
        for i, part in enumerate(parts, start=1):
            seg_text = normalise(part)
            if len(tokens(seg_text)) < MIN_CONTENT_WORDS or seg_text == text:
                continue
            seg_level = self.gate.level(part)
            if seg_level == TopicGate.NONE and level == TopicGate.NONE:
                continue
            extra = SEGMENT_EXTRA + (SEGMENT_CONTEXT_EXTRA if seg_level == TopicGate.NONE else 0.0)
            pieces.append(_Piece(part, seg_text, max(seg_level, min(level, TopicGate.WEAK)), extra, i))
        return pieces

    def _excluded(self, raw_text: str) -> np.ndarray | None:
        """Claims the message cannot make: it holds none of their ``requires`` words (None when none is missing)."""
        if not self._requires:
            return None
        low = straight_apostrophes(raw_text[:MAX_INPUT_CHARS].casefold())
        missing = [i for i, pattern in self._requires if not pattern.search(low)]
        if not missing:
            return None
        out = np.zeros(len(self.index.claim_ids), dtype=bool)
        out[missing] = True
        return out

    def _quick_check(self, index: ClaimIndex, pieces: list[_Piece],
                     excluded: np.ndarray | None) -> list[ClaimScore] | None:
        """The static vectors' ranking when no piece comes within ``FAST_SLACK`` of its bar (the encoder is not
        worth running: chat in an on-topic channel, near misses); None when the encoder should decide."""
        first: list[ClaimScore] = []
        for piece, ranked in zip(pieces, index.score_many([p.text for p in pieces], excluded=excluded), strict=True):
            first = first or ranked
            bar = self.config.suggest + piece.extra + _level_extra(piece.level)
            slack = FAST_SLACK if piece.level == TopicGate.STRONG else FAST_SLACK_WEAK
            if ranked and ranked[0].combined >= bar - slack:
                return None
        return first

    def _embed(self, pieces: list[_Piece]) -> np.ndarray:
        """Vectors for the pieces. With segments, the whole message's vector is their length-weighted mean
        rather than a second, longer encoder pass (nearly the same vector, for half the cost)."""
        embedder = self.scorer.embedder
        if len(pieces) == 1:
            return embedder.embed_many([p.text for p in pieces])
        vecs = embedder.embed_many([p.text for p in pieces[1:]])
        weights = np.asarray([word_count(p.text) for p in pieces[1:]], dtype=np.float32)
        whole = (vecs * weights[:, None]).sum(axis=0)
        norm = float(np.linalg.norm(whole))
        return np.vstack([whole / norm if norm > 0 else whole, vecs])

    def match(self, raw_text: str, *, context_active: bool = False, gate_level: int | None = None) -> MatchResult:
        """Decide what ``raw_text`` claims.

        ``context_active``: the channel talked about the topic recently, so a message without a gate term
        is still scored, at a stricter bar. ``gate_level`` lets a caller pass the gate result it already has.
        A long message is scored whole and sentence by sentence; the piece that clears its bar by most wins.
        """
        level = self.gate.level(raw_text) if gate_level is None else gate_level
        on_topic = level == TopicGate.STRONG
        if level == TopicGate.NONE and not context_active:
            return _OFF_TOPIC
        text = normalise(raw_text)
        if not text:
            return MatchResult(text=text, on_topic=on_topic, gate_level=level,
                               reason="nothing left to match after cleaning")
        if len(tokens(text)) < MIN_CONTENT_WORDS:
            return MatchResult(text=text, on_topic=on_topic, gate_level=level,
                               reason="too few words to make a claim")
        pieces = self._pieces(raw_text, text, level)
        excluded = self._excluded(raw_text)
        english = is_english(text)
        index, scorer = self._english if english else self._all
        if self.uses_encoder:
            quick = self._quick_check(index, pieces, excluded)
            if quick is not None:
                return MatchResult(text=text, on_topic=on_topic, gate_level=level, best=quick[0] if quick else None,
                                   candidates=tuple(quick), reason="far below the bar on the fast static check")
        vecs = self._embed(pieces)
        count = max(p.index for p in pieces)
        best: tuple[float, MatchResult] | None = None
        for piece, ranked in zip(pieces, scorer.score_many([p.text for p in pieces], vecs=vecs, excluded=excluded),
                                 strict=True):
            decided = self._decide(piece, text, on_topic, level, ranked, count)
            if decided is None:
                return MatchResult(text=text, on_topic=on_topic, gate_level=level, reason="no claims to match")
            if best is None or decided[0] > best[0]:
                best = decided
        assert best is not None
        result = best[1]
        if result.tier is not None and result.best is not None and rebuts(text) \
                and result.best.claim_id not in self._rebuttal_claims:
            return replace(result, tier=None,
                           reason=f"states {result.best.claim_id} only to rebut it (a myth, not true...)")
        if result.tier == Tier.CONFIDENT and not english:
            # The encoder reads English only; elsewhere a match rests on shared words, and an English reply in
            # a German channel is loud: a quiet 🔎 that a reader can open is the most it earns.
            return replace(result, tier=Tier.SUGGEST, reason=f"suggest only: not English; {result.reason}")
        return result

    def _decide(self, piece: _Piece, text: str, on_topic: bool, level: int, ranked: list[ClaimScore],
                count: int) -> tuple[float, MatchResult] | None:
        """The tier for one piece and how far it cleared its bar (tier first, then that distance)."""
        if not ranked:
            return None
        best = ranked[0]
        runner = ranked[1] if len(ranked) > 1 else None
        where = f" (sentence {piece.index} of {count})" if piece.index else ""
        result = dict(text=text, on_topic=on_topic, gate_level=level, best=best, runner_up=runner,
                      candidates=tuple(ranked), segment=piece.raw if piece.index else "",
                      segment_index=piece.index, segment_count=count if piece.index else 0)
        cfg = self.config
        claim = self.kb.claims[best.claim_id]
        confident_bar = (claim.threshold if claim.threshold is not None else cfg.confident) + piece.extra
        suggest_bar = cfg.suggest + piece.extra
        confident_bar += _level_extra(piece.level)
        suggest_bar += _level_extra(piece.level)
        margin = best.combined - (runner.combined if runner else 0.0)
        cleared = best.combined - suggest_bar
        if best.combined < suggest_bar:
            return cleared - 10, MatchResult(**result, reason=f"best score {best.combined:.2f} below the suggest "
                                                              f"bar {suggest_bar:.2f}{where}")
        if margin < cfg.margin / 2:
            return cleared - 10, MatchResult(**result, reason=f"too close to call: {best.claim_id} leads "
                                                              f"{runner.claim_id if runner else ''} by {margin:.2f}{where}")
        short = word_count(piece.text) < cfg.short_words
        if best.combined >= confident_bar and margin >= cfg.margin and not short:
            return best.combined - confident_bar + 10, MatchResult(
                **result, tier=Tier.CONFIDENT,
                reason=f"score {best.combined:.2f} >= {confident_bar:.2f}, margin {margin:.2f}{where}")
        why = ("short message" if short and best.combined >= confident_bar
               else f"score {best.combined:.2f} between {suggest_bar:.2f} and {confident_bar:.2f}"
               if best.combined < confident_bar else f"margin {margin:.2f} under {cfg.margin:.2f}")
        return cleared, MatchResult(**result, tier=Tier.SUGGEST, reason=f"suggest only: {why}{where}")
