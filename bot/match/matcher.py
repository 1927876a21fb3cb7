"""Message text -> a :class:`MatchResult`: normalise, gate, score, and decide the tier.

The decision rules are data (:class:`MatchConfig` thresholds) and every result says why, so ``explain``
and ``kb test`` can show the reasoning. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import MatchConfig
from ..kb.loader import KnowledgeBase
from ..messages import Tier
from .embed import StaticEmbedder
from .gate import TopicGate
from .normalise import normalise, tokens, word_count
from .scorer import ClaimIndex, ClaimScore

__all__ = ["Matcher", "MatchResult"]

#: A message with only a weak topic word, or none in an on-topic conversation, needs this much more.
WEAK_EXTRA = 0.08
#: A claim needs a subject and something said about it: fewer content words than this ("from china?", "do
#: you know chinese?") are never matched, however close their vector lands to a claim.
MIN_CONTENT_WORDS = 3


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
    gate_hits: tuple[str, ...] = field(default=())

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


class Matcher:
    """Everything needed to match messages against one knowledge base."""

    def __init__(self, kb: KnowledgeBase, embedder: StaticEmbedder, config: MatchConfig | None = None) -> None:
        self.kb = kb
        self.config = config or MatchConfig()
        self.gate = TopicGate(kb.topic.gate_terms, kb.topic.weak_terms)
        self.index = ClaimIndex(kb, embedder)

    def gate_level(self, raw_text: str) -> int:
        """The fast gate on raw text (microseconds): 2 on topic, 1 a weak hint, 0 off topic."""
        return self.gate.level(raw_text)

    def match(self, raw_text: str, *, context_active: bool = False, gate_level: int | None = None) -> MatchResult:
        """Decide what ``raw_text`` claims.

        ``context_active``: the channel talked about the topic recently, so a message without a gate term
        is still scored, at a stricter bar. ``gate_level`` lets a caller pass the gate result it already has.
        """
        level = self.gate.level(raw_text) if gate_level is None else gate_level
        on_topic = level == TopicGate.STRONG
        if level == TopicGate.NONE and not context_active:
            return MatchResult(text="", on_topic=False, reason="not about social credit (topic gate)")
        text = normalise(raw_text)
        if not text:
            return MatchResult(text=text, on_topic=on_topic, gate_level=level,
                               reason="nothing left to match after cleaning")
        if len(tokens(text)) < MIN_CONTENT_WORDS:
            return MatchResult(text=text, on_topic=on_topic, gate_level=level,
                               reason="too few words to make a claim")
        ranked = self.index.score(text, top=3)
        if not ranked:
            return MatchResult(text=text, on_topic=on_topic, gate_level=level, reason="no claims to match")
        best = ranked[0]
        runner = ranked[1] if len(ranked) > 1 else None
        result = dict(text=text, on_topic=on_topic, gate_level=level, best=best, runner_up=runner, candidates=tuple(ranked))
        cfg = self.config
        claim = self.kb.claims[best.claim_id]
        confident_bar = claim.threshold if claim.threshold is not None else cfg.confident
        suggest_bar = cfg.suggest
        if not on_topic:
            confident_bar += WEAK_EXTRA
            suggest_bar += WEAK_EXTRA
        margin = best.combined - (runner.combined if runner else 0.0)
        if best.combined < suggest_bar:
            return MatchResult(**result, reason=f"best score {best.combined:.2f} below the suggest bar "
                                                f"{suggest_bar:.2f}")
        if margin < cfg.margin / 2:
            return MatchResult(**result, reason=f"too close to call: {best.claim_id} leads {runner.claim_id if runner else ''}"
                                                f" by {margin:.2f}")
        short = word_count(text) < cfg.short_words
        if best.combined >= confident_bar and margin >= cfg.margin and not short:
            return MatchResult(**result, tier=Tier.CONFIDENT,
                               reason=f"score {best.combined:.2f} >= {confident_bar:.2f}, margin {margin:.2f}")
        why = ("short message" if short and best.combined >= confident_bar
               else f"score {best.combined:.2f} between {suggest_bar:.2f} and {confident_bar:.2f}"
               if best.combined < confident_bar else f"margin {margin:.2f} under {cfg.margin:.2f}")
        return MatchResult(**result, tier=Tier.SUGGEST, reason=f"suggest only: {why}")
