"""The console chat: the bot in a terminal, on the bundled knowledge base. The default with no platform.

Each line is a message from "you"; lines starting with ``/`` are commands; Ctrl-D quits. Piped standard
input works, and ``--once TEXT`` answers a single message.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from ..engine import Engine, parse_command
from ..messages import Command, Message, React, Reply
from ..render import console_text

__all__ = ["ConsoleChat"]

PLATFORM = "console"
CHANNEL = "console"


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
