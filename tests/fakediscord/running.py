"""Running Footnote's Discord adapter against :class:`~tests.fakediscord.server.FakeDiscord`: point discord.py
at the fake, start the adapter with fast test timings, wait for it to finish with an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from bot.adapters.discord_bot import DiscordAdapter
from bot.config import DiscordConfig

from .payloads import FakeChannel, FakeGuild, FakeUser
from .server import FakeDiscord

__all__ = ["DiscordWorld", "RunningBot", "point_discord_py_at", "start_bot"]


@contextlib.contextmanager
def point_discord_py_at(fake: FakeDiscord) -> Iterator[None]:
    """Send discord.py's REST calls and gateway connections to ``fake`` instead of discord.com."""
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@dataclass
class DiscordWorld:
    """A fake Discord with one guild and the people tests need."""

    fake: FakeDiscord
    guild: FakeGuild
    channel: FakeChannel
    alice: FakeUser
    bob: FakeUser
    moderator: FakeUser
    other_bot: FakeUser

    def config(self, **overrides: Any) -> DiscordConfig:
        """A Discord config for this world: the fake's token, commands synced to the guild."""
        values: dict[str, Any] = {"token": self.fake.token, "guild_ids": [self.guild.id]}
        values.update(overrides)
        return DiscordConfig(**values)


@dataclass
class RunningBot:
    """An adapter running in a task; :meth:`stop` closes it and surfaces any crash."""

    adapter: DiscordAdapter
    task: asyncio.Task[None]

    async def stop(self) -> None:
        """Close the client and wait for :meth:`DiscordAdapter.start` to return."""
        await self.adapter.close()
        await asyncio.wait_for(self.task, 5)

    async def handled(self, kind: str, message: dict[str, Any] | int, *, timeout: float = 5.0) -> None:
        """Wait until the adapter has finished with a gateway event (so "nothing happened" is a fact)."""
        message_id = int(message["id"]) if isinstance(message, dict) else int(message)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (kind, message_id) not in self.adapter.handled:
            if self.task.done():
                self.task.result()
            assert loop.time() < deadline, f"the bot never finished handling {kind} {message_id}"
            await asyncio.sleep(0.01)


async def start_bot(engine: Any, config: DiscordConfig, *, ready: bool = True, **options: Any) -> RunningBot:
    """Start a :class:`DiscordAdapter` with fast test timings; wait for READY unless ``ready=False``."""
    options.setdefault("guild_ready_timeout", 0.05)
    options.setdefault("identify_delay", 0.01)
    adapter = DiscordAdapter(engine, config, status={}, **options)
    task = asyncio.create_task(adapter.start(), name="footnote-discord")
    bot = RunningBot(adapter, task)
    if ready:
        waiter = asyncio.create_task(adapter.wait_until_ready())
        done, _ = await asyncio.wait({waiter, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            task.result()
            raise AssertionError("the Discord adapter stopped before it was ready")
        assert waiter in done, "the Discord adapter was not ready within 10 s"
    return bot
