"""User and moderator commands: ``source``, ``claims``, ``explain``, ``help``, ``settings``, ``reload``,
``test`` and ``stats``. Each returns an :data:`~bot.messages.Answer`; moderator commands refuse others.

Tenancy lives here: what a moderator sees (``stats``, ``explain``) is limited to their own server (see
:mod:`bot.tenancy`); ``reload`` and bot-wide stats are for the operators named in the config. Texts use
the asker's platform's words (:mod:`bot.wording`).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from .messages import COMMANDS, MODERATOR_COMMANDS, Answer, ClaimList, Command, Explanation, Notice
from .stats import stats_lines
from .storage import ChannelSettings
from .tenancy import is_operator, scope_of
from .wording import OPERATOR_COMMANDS, Wording, wording_for

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["CommandHandler", "PAGE_SIZE"]

log = logging.getLogger("footnote.commands")

PAGE_SIZE = 10
_ALIASES = {"kb": "reload", "sources": "source", "why": "explain", "list": "claims"}
#: ``stats`` arguments that ask for the whole bot rather than the asker's server.
_EVERYWHERE = frozenset({"all", "everywhere", "global"})


def help_notice(wording: Wording, title: str = "Footnote commands", ok: bool = True) -> Notice:
    """Every command, as a person types it on the asker's platform."""
    return Notice(title=title, lines=wording.help_lines(), ok=ok, private=not ok)


class CommandHandler:
    """Dispatches a :class:`Command` to the method of the same name."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _operator(self, cmd: Command) -> bool:
        return is_operator(self.engine.config.operators, cmd.platform, cmd.author_id)

    async def handle(self, cmd: Command) -> Answer:
        """Run ``cmd`` if the asker may, else a private refusal that says who may."""
        name = _ALIASES.get(cmd.name.casefold(), cmd.name.casefold())
        wording = wording_for(cmd.platform)
        if name not in COMMANDS:
            return help_notice(wording, f"Unknown command '{cmd.name[:40]}'. Try one of these:", ok=False)
        if name in MODERATOR_COMMANDS:
            operator = self._operator(cmd)
            refusal = None
            if name in OPERATOR_COMMANDS and not operator:
                refusal = Notice("Only the bot's operators can use that command.", (
                    "It changes Footnote in every community it is in. Operators are named in the bot's config "
                    "(operators:); ask whoever runs Footnote.",), ok=False, private=True)
            elif not (cmd.is_moderator or operator):
                refusal = Notice("Only moderators can use that command.",
                                 (f"Moderators here: {wording.moderators}.",), ok=False, private=True)
            if refusal is not None:
                log.info("moderator command refused", extra={"event": "refused", "command": name,
                                                             "user": cmd.author_id, "platform": cmd.platform})
                return refusal
            log.info("moderator command", extra={"event": "moderator", "command": name, "user": cmd.author_id,
                                                 "platform": cmd.platform, "channel": cmd.channel_id,
                                                 "server": scope_of(cmd).server_id})
        return await getattr(self, f"cmd_{name}")(cmd)

    async def cmd_help(self, cmd: Command) -> Answer:
        return help_notice(wording_for(cmd.platform))

    async def cmd_source(self, cmd: Command) -> Answer:
        if not cmd.args.strip():
            w = wording_for(cmd.platform)
            return Notice("What should I look up?", (f"Try: {w.command('source', 'sesame')}, "
                                                      f"{w.command('source', 'blacklist')}, or a claim id from "
                                                      f"{w.command('claims')}.",), ok=False, private=True)
        claim = self.engine.find_entry(cmd.args[:300])
        if claim is None:
            ideas = ", ".join(cid for cid, _ in self.engine.autocomplete(cmd.args[:100], limit=3))
            lines = (f"Did you mean: {ideas}?",) if ideas else (
                f"Use {wording_for(cmd.platform).command('claims')} to see every entry.",)
            return Notice(f"Nothing in the knowledge base matches '{cmd.args[:60]}'.", lines, ok=False,
                          private=True)
        return self.engine.answer_for(claim, full=True)

    async def cmd_claims(self, cmd: Command) -> Answer:
        entries = sorted(self.engine.kb.claims.values(), key=lambda c: (c.is_topic, c.id))
        pages = max(1, math.ceil(len(entries) / PAGE_SIZE))
        try:
            page = int(cmd.args.strip() or 1)
        except ValueError:
            example = wording_for(cmd.platform).command("claims", "2")
            return Notice(f"The page must be a number, e.g. '{example}'.", ok=False, private=True)
        page = min(max(page, 1), pages)
        chunk = entries[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        wording = wording_for(cmd.platform)
        return ClaimList(entries=tuple(chunk), page=page, pages=pages, total=len(entries),
                         next_page=wording.command("claims", f"{wording.page_arg}{page + 1}"))

    async def cmd_explain(self, cmd: Command) -> Answer:
        """Why Footnote did what it did with a message of the asker's server, or with its own answer there."""
        target = cmd.target_message_id or cmd.args.strip()
        wording = wording_for(cmd.platform)
        if not target:
            return Notice("Which message?", (f"Use {wording.explain or wording.command('explain', '<id>')}.",),
                          ok=False, private=True)
        storage, scope = self.engine.storage, scope_of(cmd)
        decision = await storage.decision(cmd.platform, target, scope)
        answer_id = None
        if decision is None:  # the target may be Footnote's own answer: explain the message it answered
            answer = await storage.reply_by_sent_id(cmd.platform, target)
            if answer is not None:
                decision = await storage.decision(cmd.platform, answer.message_id, scope)
                if decision is not None:
                    answer_id, target = target, answer.message_id
        if decision is None:  # the same words whether unknown or another server's: nothing leaks
            return Explanation(message_id=target, found=False,
                               reason="Footnote has no record of this message here: it was not about social "
                                      "credit, came from a bot, arrived before Footnote was watching, or was "
                                      f"sent in another {wording.server}.")
        return Explanation(message_id=target, found=True, claim_id=decision["claim_id"], tier=decision["tier"],
                           action=decision["action"], reason=decision["reason"], scores=decision["scores"],
                           answer_id=answer_id)

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
        """Show or change the settings of the channel the command was sent in (so always the asker's own)."""
        wording = wording_for(cmd.platform)
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
                elif key == "thread" and wording.threads and value in ("on", "off", "default"):
                    thread = None if value == "default" else value == "on"
                elif key == "cooldown" and value:
                    cooldown = None if value == "default" else float(value)
                    if cooldown is not None and not 0 <= cooldown <= 10080:
                        raise ValueError
                else:
                    raise ValueError
        except ValueError:
            return Notice(f"Usage: {wording.command('settings', wording.settings_usage)}", ok=False, private=True)
        if cmd.args.strip():
            await storage.set_channel_settings(cmd.platform, cmd.channel_id, ChannelSettings(mode, cooldown, thread))
            log.info("settings changed", extra={"event": "settings", "user": cmd.author_id, "mode": mode,
                                                "cooldown": cooldown, "in_thread": thread, "channel": cmd.channel_id})
        pcfg = self.engine.config.policy
        lines = [
            f"mode: {mode or pcfg.default_mode}{'' if mode else ' (default)'}",
            f"cooldown: {cooldown if cooldown is not None else pcfg.cooldown_minutes:g} minutes per claim"
            f"{'' if cooldown is not None else ' (default)'}",
        ]
        if wording.threads:
            lines.append(f"answers in a thread: {'platform default' if thread is None else 'on' if thread else 'off'}")
        lines.append(f"caps: {pcfg.channel_per_hour} answers per channel per hour; {pcfg.user_per_hour} answers "
                     f"to one person per hour in this {wording.server} (each {wording.server} counts on its own)")
        return Notice("Settings for this channel", tuple(lines), private=True)

    async def cmd_stats(self, cmd: Command) -> Answer:
        """The asker's server's stats; ``stats all`` gives operators the whole bot's."""
        wording = wording_for(cmd.platform)
        if cmd.args.strip().casefold() in _EVERYWHERE:
            if not self._operator(cmd):
                return Notice("Only the bot's operators can see stats for every community.",
                              (f"{wording.command('stats')} shows this {wording.server}'s.",), ok=False,
                              private=True)
            lines = await stats_lines(self.engine, now=cmd.timestamp, scope=None)
            return Notice("Footnote stats for the whole bot (every server and room)", tuple(lines), private=True)
        lines = await stats_lines(self.engine, now=cmd.timestamp, scope=scope_of(cmd))
        return Notice(f"Footnote stats for this {wording.server}", tuple(lines), private=True)
