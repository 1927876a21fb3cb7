"""The console chat: the bot in a terminal, on the bundled knowledge base. The default with no platform.

Each line is a message from "you"; lines starting with ``/`` are commands; Ctrl-D quits. Piped standard
input works, and ``--once TEXT`` answers a single message.

The console is one person's demo, so by default it has no per-person or per-channel hourly cap (a
configured ``policy`` value still applies), and when a claim is recognised but a rule (a cooldown, a
cap) holds the answer back, it says so in one line instead of staying silent.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from ..config import Config
from ..engine import Engine, parse_command
from ..messages import Command, Message, Nothing, React, Reply
from ..render import console_text

__all__ = ["ConsoleChat", "console_config", "held_line"]

PLATFORM = "console"
CHANNEL = "console"
#: The hourly caps a chat community needs but a one-person demo does not, unless the config sets them.
_DEMO_UNCAPPED = ("user_per_hour", "channel_per_hour")
_NO_CAP = 1_000_000


def console_config(config: Config) -> Config:
    """``config`` with the console's own defaults: no hourly caps unless the config file sets them."""
    policy = config.policy
    lifted = {name: _NO_CAP for name in _DEMO_UNCAPPED if name not in policy.model_fields_set}
    return config.model_copy(update={"policy": policy.model_copy(update=lifted)}) if lifted else config


def held_line(action: Nothing) -> str:
    """One line saying which rule held a recognised claim ('' when nothing was recognised)."""
    if action.held_claim is None:
        return ""
    reason = action.reason.removesuffix(f" ({action.held_claim})")
    return f"(Footnote recognised '{action.held_claim}' but stays quiet: {reason}. /explain says more.)"


class ConsoleChat:
    """Reads lines, sends them to the engine as messages or commands, prints what the bot would say."""

    def __init__(self, engine: Engine, out: TextIO = sys.stdout) -> None:
        self.engine = engine
        self.out = out
        self._counter = 0
        self._last_id: str | None = None  # the last message, for a bare /explain

    def _next_id(self) -> str:
        self._counter += 1
        return f"{time.time_ns()}-{self._counter}"

    async def handle_line(self, line: str) -> str:
        """The bot's response to one line ('' when it stays quiet)."""
        line = line.strip()
        if not line:
            return ""
        now = time.time()
        parsed = parse_command(line, prefix="/")
        if parsed is not None:
            name, args = parsed
            target = None
            if name == "explain" and not args:
                target = self._last_id
            answer = await self.engine.handle_command(Command(
                name=name, args=args, platform=PLATFORM, channel_id=CHANNEL, author_id="you", timestamp=now,
                is_moderator=True, target_message_id=target))
            return console_text(answer)
        message_id = self._next_id()
        self._last_id = message_id
        actions = await self.engine.handle_message(Message(
            platform=PLATFORM, channel_id=CHANNEL, author_id="you", message_id=message_id, text=line,
            timestamp=now))
        out = []
        for action in actions:
            if isinstance(action, Reply):
                out.append(console_text(action.answer))
            elif isinstance(action, React):
                out.append(f"(Footnote reacts {action.emoji} — it may be about '{action.claim_id}'; "
                           f"type /source {action.claim_id} to read it)")
            elif isinstance(action, Nothing) and action.held_claim:
                out.append(held_line(action))
        return "\n".join(out)

    async def run(self, stream: TextIO = sys.stdin) -> None:
        """Chat until end of input (Ctrl-D)."""
        interactive = stream.isatty()
        if interactive:
            self.out.write("Footnote console — type a message as if in chat; /help for commands; Ctrl-D quits.\n")
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                self.out.write("you> ")
                self.out.flush()
            line = await loop.run_in_executor(None, stream.readline)
            if not line:
                break
            response = await self.handle_line(line)
            if response:
                self.out.write(response + "\n")
                self.out.flush()
        if interactive:
            self.out.write("\n")
