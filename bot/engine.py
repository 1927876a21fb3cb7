"""The engine: messages in, actions out; commands in, answers out. Platform-neutral.

Adapters call :meth:`Engine.handle_message`, :meth:`Engine.handle_command` and
:meth:`Engine.handle_reaction`. The engine never reads the clock (events carry their timestamp) and
reaches the database only through the :class:`~bot.storage.Storage` interface; each decision that reads
counts and then writes runs inside ``storage.deciding(...)``, which makes it atomic across processes.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from . import metrics
from .brain import Brain, build_brain
from .commands import CommandHandler
from .config import Config
from .errors import KnowledgeError
from .kb.loader import KnowledgeBase
from .kb.models import Claim
from .match.embed import StaticEmbedder
from .match.matcher import MatchResult
from .match.normalise import MAX_INPUT_CHARS
from .messages import (
    HELPFUL_EMOJI,
    SEARCH_EMOJI,
    UNHELPFUL_EMOJI,
    Action,
    Answer,
    ClaimAnswer,
    Command,
    Feedback,
    Message,
    Nothing,
    React,
    Reaction,
    Reply,
    Tier,
)
from .policy import PolicyFacts, decide
from .storage import DecisionStore, ReplyRecord, Storage
from .tenancy import scope_of

__all__ = ["Engine", "parse_command", "ReloadResult"]

log = logging.getLogger("footnote.engine")

_MAX_CHANNELS_REMEMBERED = 10_000


def parse_command(text: str, prefix: str = "!") -> tuple[str, str] | None:
    """``"!source sesame"`` -> ``("source", "sesame")``; ``"!footnote stats"`` -> ``("stats", "")``.

    Returns None when ``text`` is not a command.
    """
    text = text.strip()
    if not text.startswith(prefix) or len(text) <= len(prefix):
        return None
    parts = text[len(prefix):].split(maxsplit=1)
    name = parts[0].casefold()
    args = parts[1].strip() if len(parts) > 1 else ""
    if name == "footnote":
        sub = args.split(maxsplit=1)
        if not sub:
            return ("help", "")
        name, args = sub[0].casefold(), (sub[1] if len(sub) > 1 else "")
        if name == "kb":  # "!footnote kb reload" / "kb test ..."
            sub = args.split(maxsplit=1)
            name, args = (sub[0].casefold(), sub[1] if len(sub) > 1 else "") if sub else ("help", "")
    return (name, args)


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What a reload did: ``ok`` with counts, or the errors that kept the last good knowledge base."""

    ok: bool
    claims: int
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass
class _ChannelContext:
    last_on_topic: float
    messages_since: int


class Engine:
    """Decides what Footnote does with each message, command and reaction."""

    def __init__(self, brain: Brain, storage: Storage, config: Config,
                 embedder: StaticEmbedder | None = None) -> None:
        self._brain = brain
        self.storage = storage
        self.config = config
        self._embedder = embedder
        self._context: OrderedDict[tuple[str, str], _ChannelContext] = OrderedDict()
        self.last_reload: ReloadResult = ReloadResult(ok=True, claims=len(brain.kb.claims))
        self.commands = CommandHandler(self)

    # ---------------------------------------------------------------------------------- knowledge

    @property
    def brain(self) -> Brain:
        """The current knowledge base and indexes (read it once per message; reloads swap it)."""
        return self._brain

    @property
    def kb(self) -> KnowledgeBase:
        return self._brain.kb

    def reload(self, dirs: list[Path] | None = None) -> ReloadResult:
        """Load the knowledge files again. On errors the last good knowledge base stays in service."""
        try:
            brain, report = build_brain(dirs or self.config.knowledge_dirs(), self.config.match, self._embedder)
        except KnowledgeError as exc:
            self.last_reload = ReloadResult(ok=False, claims=len(self.kb.claims), problems=tuple(exc.problems))
            log.warning("knowledge reload failed; keeping the last good knowledge base (%d entries):\n%s",
                        len(self.kb.claims), "\n".join(exc.problems))
            return self.last_reload
        self._brain = brain  # one assignment: in-flight messages keep the brain they started with
        self.last_reload = ReloadResult(ok=True, claims=len(brain.kb.claims), warnings=tuple(report.warnings))
        log.info("knowledge reloaded: %d entries", len(brain.kb.claims))
        return self.last_reload

    def autocomplete(self, query: str, limit: int = 25) -> list[tuple[str, str]]:
        """(id, label) choices for a partly typed ``/source`` query."""
        return self._brain.search.autocomplete(query, limit)

    def find_entry(self, query: str) -> Claim | None:
        """The knowledge entry a ``/source`` query means, or None."""
        return self._brain.find_entry(query)

    def answer_for(self, claim: Claim, *, full: bool = False) -> ClaimAnswer:
        """The answer for ``claim``: short for chat, ``full`` for ``/source``."""
        return ClaimAnswer(claim=claim, sources=self.kb.sources_for(claim), full=full,
                           page_url=self.config.site.page_url(claim.id))

    # ---------------------------------------------------------------------------------- messages

    def _channel_context(self, msg: Message, on_topic: bool) -> bool:
        """Update and read the channel's recent-topic memory. True if the topic came up recently."""
        key = (msg.platform, msg.channel_id)
        cfg = self.config.match
        ctx = self._context.get(key)
        active = ctx is not None and (
            msg.timestamp - ctx.last_on_topic <= cfg.context_minutes * 60
            and ctx.messages_since < cfg.context_messages)
        if on_topic:
            self._context[key] = _ChannelContext(msg.timestamp, 0)
            self._context.move_to_end(key)
            if len(self._context) > _MAX_CHANNELS_REMEMBERED:
                self._context.popitem(last=False)
        elif ctx is not None:
            ctx.messages_since += 1
        return active

    async def handle_message(self, msg: Message) -> list[Action]:
        """Decide what to do with one chat message: reply, react with 🔎, or nothing (with a reason)."""
        started = time.perf_counter()  # for the latency metric only; decisions use msg.timestamp
        metrics.MESSAGES.labels(msg.platform).inc()
        actions = await self._handle_message(msg)
        metrics.LATENCY.observe(time.perf_counter() - started)
        return actions

    async def _handle_message(self, msg: Message) -> list[Action]:
        if msg.author_is_bot:
            return [Nothing("the author is a bot")]
        if len(msg.text) > MAX_INPUT_CHARS:
            return [Nothing("too long to be a chat message (a paste or spam)")]
        brain = self._brain
        level = 2 if msg.addressed_to_bot else brain.matcher.gate_level(msg.text)
        context_active = self._channel_context(msg, level == 2)
        if level == 0 and not context_active:
            return [Nothing("not about social credit")]
        # Matching is pure and runs outside the transaction, so the channel's lock is held for storage only.
        result = brain.matcher.match(msg.text, context_active=context_active, gate_level=level)
        # Policy reads counts and then writes a reply row: concurrent events (discord.py runs each in its own
        # task; other processes share the database) must not both pass a cap or both answer one message, so
        # the dedupe mark, the counts and the decision commit together, one decision per channel and author.
        async with self.storage.deciding(msg.platform, msg.channel_id, msg.author_id) as tx:
            return await self._decide(tx, msg, result, brain)

    async def _decide(self, tx: DecisionStore, msg: Message, result: MatchResult, brain: Brain) -> list[Action]:
        if msg.is_edit:
            if await tx.replies_for_message(msg.platform, msg.message_id):
                return [Nothing("edit of a message already answered")]
            dedupe_key = f"{msg.message_id}#edit"
        else:
            dedupe_key = msg.message_id
        if not await tx.mark_processed(msg.platform, dedupe_key, msg.timestamp):
            return [Nothing("message already handled")]
        metrics.GATED.labels(msg.platform).inc()
        if result.tier is not None:
            metrics.MATCHED.labels(msg.platform, result.tier.value).inc()
        action = await self._act(tx, msg, result, brain)
        kind = type(action).__name__.lower()
        if kind != "nothing":
            metrics.ACTIONS.labels(msg.platform, kind).inc()
        reason = action.reason if isinstance(action, Nothing) else result.reason
        claim_id = result.best.claim_id if result.best else None
        tier = result.tier.value if result.tier else None
        if isinstance(action, Nothing):  # an answer's decision row is written with its reply row (one write)
            await tx.log_decision(msg.platform, msg.message_id, msg.channel_id, claim_id, tier, kind,
                                  reason, result.scores(), msg.timestamp, server_id=scope_of(msg).server_id)
        log.info("decision", extra={"event": "decision", "platform": msg.platform, "channel": msg.channel_id,
                                    "claim": claim_id, "tier": tier, "action": kind, "reason": reason,
                                    **result.scores()})
        return [action]

    async def _act(self, tx: DecisionStore, msg: Message, result: MatchResult, brain: Brain) -> Action:
        if result.tier is None or result.best is None:
            return Nothing(result.reason)
        claim = brain.kb.claims[result.best.claim_id]
        tier = result.tier
        if msg.addressed_to_bot and tier == Tier.SUGGEST:
            tier = Tier.CONFIDENT  # they asked the bot directly: answer rather than hint
        settings, last, channel_replies, user_replies, channel_reacts = await tx.policy_facts(
            msg.platform, msg.channel_id, msg.author_id, claim.id, since=msg.timestamp - 3600,
            server_id=scope_of(msg).server_id)
        pcfg = self.config.policy
        cooldown = settings.cooldown_minutes if settings.cooldown_minutes is not None else pcfg.cooldown_minutes
        facts = PolicyFacts(
            tier=tier,
            auto_reply=claim.auto_reply,
            channel_mode=settings.mode or pcfg.default_mode,
            cooldown_minutes=cooldown,
            minutes_since_last=None if last is None else (msg.timestamp - last) / 60,
            channel_replies_last_hour=channel_replies,
            user_replies_last_hour=user_replies,
            channel_reacts_last_hour=channel_reacts,
        )
        decision = decide(facts, pcfg)
        if decision.action == "nothing":
            metrics.SUPPRESSED.labels(msg.platform, decision.rule).inc()
            return Nothing(f"{decision.reason} ({claim.id})", held_claim=claim.id, rule=decision.rule)
        record = ReplyRecord(msg.platform, msg.channel_id, msg.message_id, msg.author_id, claim.id,
                             decision.action, tier.value, result.best.combined, None, msg.timestamp)
        await tx.log_reply(record, result.scores(), scope_of(msg).server_id, reason=result.reason)
        if decision.action == "react":
            return React(message=msg, claim_id=claim.id, tier=tier, score=result.best.combined)
        return Reply(message=msg, answer=self.answer_for(claim), tier=tier, score=result.best.combined,
                     in_thread=settings.thread)

    async def record_sent(self, action: Reply | React, sent_message_id: str) -> None:
        """Link the platform id of what the adapter posted to the answer, for feedback and 🔎."""
        kind = "reply" if isinstance(action, Reply) else "react"
        await self.storage.set_sent_id(action.message.platform, action.message.message_id, kind, sent_message_id)

    # ---------------------------------------------------------------------------------- reactions

    async def handle_reaction(self, reaction: Reaction) -> list[Action]:
        """🔎 on a message the bot offered to answer -> the answer; 👍/👎 on an answer -> stored feedback."""
        if reaction.user_is_bot:
            return []
        if reaction.emoji == SEARCH_EMOJI:
            # One 🔎 answer per message, however many readers click at once in however many processes.
            async with self.storage.deciding(reaction.platform, reaction.channel_id) as tx:
                return await self._search_reaction(tx, reaction)
        if reaction.emoji in (HELPFUL_EMOJI, UNHELPFUL_EMOJI):
            await self.record_feedback(Feedback(reaction.platform, reaction.message_id, reaction.user_id,
                                                reaction.emoji == HELPFUL_EMOJI, reaction.timestamp))
        return []

    async def _search_reaction(self, tx: DecisionStore, reaction: Reaction) -> list[Action]:
        records = await tx.replies_for_message(reaction.platform, reaction.message_id)
        offered = [r for r in records if r.action == "react"]
        if not offered or any(r.action == "reply" for r in records):
            return []
        offer = offered[-1]
        claim = self.kb.claims.get(offer.claim_id)
        if claim is None:
            return []
        original = Message(platform=reaction.platform, channel_id=reaction.channel_id,
                           author_id=offer.author_id, message_id=offer.message_id, text="",
                           timestamp=reaction.timestamp, server_id=reaction.server_id)
        record = ReplyRecord(reaction.platform, reaction.channel_id, offer.message_id, offer.author_id,
                             claim.id, "reply", offer.tier, offer.score, None, reaction.timestamp)
        await tx.log_reply(record, {"combined": offer.score}, scope_of(reaction).server_id)
        return [Reply(message=original, answer=self.answer_for(claim), tier=Tier(offer.tier),
                      score=offer.score)]

    async def record_feedback(self, feedback: Feedback) -> bool:
        """Store a reader's 👍/👎 on one of the bot's answers. False if the message is not an answer."""
        reply = await self.storage.reply_by_sent_id(feedback.platform, feedback.reply_message_id)
        if reply is None:
            return False
        await self.storage.add_feedback(feedback.platform, feedback.reply_message_id, feedback.user_id,
                                        reply.claim_id, feedback.helpful, feedback.timestamp)
        metrics.FEEDBACK.labels(feedback.platform, "yes" if feedback.helpful else "no").inc()
        log.info("feedback", extra={"event": "feedback", "platform": feedback.platform,
                                    "claim": reply.claim_id, "helpful": feedback.helpful})
        return True

    # ---------------------------------------------------------------------------------- commands

    async def handle_command(self, cmd: Command) -> Answer:
        """Answer a user command (see :data:`bot.messages.COMMANDS`)."""
        return await self.commands.handle(cmd)
