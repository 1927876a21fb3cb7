"""When to speak: cooldowns, caps and reply modes, as a table of rules checked in order.

Pure: the engine gathers the facts (from storage) and :func:`decide` applies the rules, so ``explain``
can say exactly which rule kept the bot quiet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .config import PolicyConfig
from .kb.models import AutoReply
from .messages import Tier

__all__ = ["PolicyFacts", "Decision", "decide", "RULES"]


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """What the policy needs to know about one candidate answer."""

    tier: Tier
    auto_reply: AutoReply
    channel_mode: str
    cooldown_minutes: float
    minutes_since_last: float | None
    channel_replies_last_hour: int
    user_replies_last_hour: int
    channel_reacts_last_hour: int = 0
    explicitly_asked: bool = False

    @property
    def would_react(self) -> bool:
        """Whether the answer would be a 🔎 rather than a reply (unless something else stops it)."""
        return not self.explicitly_asked and (
            self.tier == Tier.SUGGEST or self.auto_reply == AutoReply.REACT or self.channel_mode == "react")


@dataclass(frozen=True, slots=True)
class Decision:
    """``action`` is ``reply``, ``react`` or ``nothing``; ``rule`` names the rule that decided."""

    action: str
    rule: str
    reason: str


Rule = tuple[str, Callable[[PolicyFacts, PolicyConfig], bool], str, str]

#: (name, applies?, action, reason). The first rule that applies decides; the last always applies.
RULES: tuple[Rule, ...] = (
    ("channel-off", lambda f, c: f.channel_mode == "off" and not f.explicitly_asked, "nothing",
     "Footnote is switched off in this channel"),
    ("claim-off", lambda f, c: f.auto_reply == AutoReply.OFF and not f.explicitly_asked, "nothing",
     "this entry is never answered unprompted"),
    ("cooldown", lambda f, c: f.minutes_since_last is not None and f.minutes_since_last < f.cooldown_minutes,
     "nothing", "already answered this claim here recently (cooldown)"),
    ("react-cap", lambda f, c: f.would_react and f.channel_reacts_last_hour >= c.react_per_hour, "nothing",
     "hourly 🔎 cap for this channel reached"),
    ("react-suggest", lambda f, c: f.tier == Tier.SUGGEST and not f.explicitly_asked, "react",
     "not sure enough to answer, so a 🔎 a reader can click"),
    ("react-claim", lambda f, c: f.auto_reply == AutoReply.REACT and not f.explicitly_asked, "react",
     "this claim is only ever answered with a 🔎 (auto_reply: react)"),
    ("react-channel", lambda f, c: f.channel_mode == "react" and not f.explicitly_asked, "react",
     "this channel is in react mode"),
    ("channel-cap", lambda f, c: f.channel_replies_last_hour >= c.channel_per_hour, "nothing",
     "hourly answer cap for this channel reached"),
    ("user-cap", lambda f, c: f.user_replies_last_hour >= c.user_per_hour, "nothing",
     "hourly answer cap for this person reached"),
    ("reply", lambda f, c: True, "reply", "confident match"),
)


def decide(facts: PolicyFacts, config: PolicyConfig) -> Decision:
    """Apply :data:`RULES` in order and return the first that applies."""
    for name, applies, action, reason in RULES:
        if applies(facts, config):
            return Decision(action, name, reason)
    raise AssertionError("the last rule always applies")  # pragma: no cover
