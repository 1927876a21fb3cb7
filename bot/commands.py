"""User and moderator commands: ``source``, ``claims``, ``explain``, ``help``, ``settings``, ``reload``,
``test`` and ``stats``. Each returns an :data:`~bot.messages.Answer`; moderator commands refuse others."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from .messages import COMMANDS, MODERATOR_COMMANDS, Answer, ClaimList, Command, Explanation, Notice
from .stats import stats_lines
from .storage import ChannelSettings

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["CommandHandler", "PAGE_SIZE"]

log = logging.getLogger("footnote.commands")

PAGE_SIZE = 10
_ALIASES = {"kb": "reload", "sources": "source", "why": "explain", "list": "claims"}


def help_notice(title: str = "Footnote commands", ok: bool = True) -> Notice:
    return Notice(title=title, lines=tuple(COMMANDS.values()), ok=ok, private=not ok)


class CommandHandler:
    """Dispatches a :class:`Command` to the method of the same name."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def handle(self, cmd: Command) -> Answer:
        name = _ALIASES.get(cmd.name.casefold(), cmd.name.casefold())
        if name not in COMMANDS:
            return help_notice(f"Unknown command '{cmd.name[:40]}'. Try one of these:", ok=False)
        if name in MODERATOR_COMMANDS:
            if not cmd.is_moderator:
                log.info("moderator command refused", extra={"event": "refused", "command": name,
                                                             "user": cmd.author_id, "platform": cmd.platform})
                return Notice("Only moderators can use that command.",
                              ("Moderators: Manage Server on Discord, power level 50 or more on Matrix, "
                               "or listed in the bot's config.",), ok=False, private=True)
            log.info("moderator command", extra={"event": "moderator", "command": name, "user": cmd.author_id,
                                                 "platform": cmd.platform, "channel": cmd.channel_id})
        return await getattr(self, f"cmd_{name}")(cmd)

    async def cmd_help(self, cmd: Command) -> Answer:
        return help_notice()

    async def cmd_source(self, cmd: Command) -> Answer:
        if not cmd.args.strip():
            return Notice("What should I look up?", ("Try: source sesame, source blacklist, or a claim id from "
                                                      "the claims list.",), ok=False, private=True)
        claim = self.engine.find_entry(cmd.args[:300])
        if claim is None:
            ideas = ", ".join(cid for cid, _ in self.engine.autocomplete(cmd.args[:100], limit=3))
            lines = (f"Did you mean: {ideas}?",) if ideas else ("Use the claims command to see every entry.",)
            return Notice(f"Nothing in the knowledge base matches '{cmd.args[:60]}'.", lines, ok=False,
                          private=True)
        return self.engine.answer_for(claim, full=True)

    async def cmd_claims(self, cmd: Command) -> Answer:
        entries = sorted(self.engine.kb.claims.values(), key=lambda c: (c.is_topic, c.id))
        pages = max(1, math.ceil(len(entries) / PAGE_SIZE))
        try:
            page = int(cmd.args.strip() or 1)
        except ValueError:
            return Notice("The page must be a number, e.g. 'claims 2'.", ok=False, private=True)
        page = min(max(page, 1), pages)
        chunk = entries[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        return ClaimList(entries=tuple(chunk), page=page, pages=pages, total=len(entries))

    async def cmd_explain(self, cmd: Command) -> Answer:
        target = cmd.target_message_id or cmd.args.strip()
        if not target:
            return Notice("Which message? Reply to it, or give its id.", ok=False, private=True)
        decision = await self.engine.storage.decision(cmd.platform, target)
        if decision is None:
            return Explanation(message_id=target, found=False,
                               reason="Footnote did not consider this message: it was not about social credit, "
                                      "came from a bot, or arrived before Footnote was watching.")
        return Explanation(message_id=target, found=True, claim_id=decision["claim_id"], tier=decision["tier"],
                           action=decision["action"], reason=decision["reason"], scores=decision["scores"])

    async def cmd_reload(self, cmd: Command) -> Answer:
        result = self.engine.reload()
        if result.ok:
            return Notice(f"Knowledge reloaded: {result.claims} entries.", result.warnings, private=True)
        return Notice(f"The knowledge files have {len(result.problems)} problem(s); still serving the last good "
                      f"knowledge base ({result.claims} entries).", result.problems[:15], ok=False, private=True)

    async def cmd_test(self, cmd: Command) -> Answer:
        if not cmd.args.strip():
            return Notice("Give a message to test, e.g. 'test everyone in china has one score'.", ok=False,
                          private=True)
        result = self.engine.brain.matcher.match(cmd.args, context_active=False)
        lines = [f"on topic: {'yes' if result.on_topic else 'no'}; decision: {result.tier or 'no match'} — "
                 f"{result.reason}"]
        if result.segment:
            lines.append(f"matched sentence {result.segment_index} of {result.segment_count}: "
                         f"“{result.segment[:200]}”")
        for s in result.candidates:
            lines.append(f"{s.claim_id}: combined {s.combined:.2f} (lexical {s.lexical:.2f}, semantic "
                         f"{s.semantic:.2f}, counter {s.counter:.2f}) via “{s.evidence[:80]}”")
        return Notice("How Footnote would match that message", tuple(lines), private=True)

    async def cmd_settings(self, cmd: Command) -> Answer:
        storage = self.engine.storage
        current = await storage.channel_settings(cmd.platform, cmd.channel_id)
        words = cmd.args.split()
        mode, cooldown, thread = current.mode, current.cooldown_minutes, current.thread
        try:
            while words:
                key = words.pop(0).casefold()
                value = words.pop(0).casefold() if words else ""
                if key == "mode" and value in ("reply", "react", "off", "default"):
                    mode = None if value == "default" else value
                elif key == "thread" and value in ("on", "off", "default"):
                    thread = None if value == "default" else value == "on"
                elif key == "cooldown" and value:
                    cooldown = None if value == "default" else float(value)
                    if cooldown is not None and not 0 <= cooldown <= 10080:
                        raise ValueError
                else:
                    raise ValueError
        except ValueError:
            return Notice("Usage: settings [mode reply|react|off|default] [cooldown MINUTES|default] "
                          "[thread on|off|default]", ok=False, private=True)
        if cmd.args.strip():
            await storage.set_channel_settings(cmd.platform, cmd.channel_id, ChannelSettings(mode, cooldown, thread))
            log.info("settings changed", extra={"event": "settings", "user": cmd.author_id, "mode": mode,
                                                "cooldown": cooldown, "in_thread": thread, "channel": cmd.channel_id})
        pcfg = self.engine.config.policy
        return Notice("Settings for this channel", (
            f"mode: {mode or pcfg.default_mode}{'' if mode else ' (default)'}",
            f"cooldown: {cooldown if cooldown is not None else pcfg.cooldown_minutes:g} minutes per claim"
            f"{'' if cooldown is not None else ' (default)'}",
            f"answers in a thread: {'platform default' if thread is None else 'on' if thread else 'off'}",
            f"caps: {pcfg.channel_per_hour} answers per channel and {pcfg.user_per_hour} per person per hour",
        ), private=True)

    async def cmd_stats(self, cmd: Command) -> Answer:
        lines = await stats_lines(self.engine, now=cmd.timestamp)
        return Notice("Footnote stats", tuple(lines), private=True)
