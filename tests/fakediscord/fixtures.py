"""Pytest fixtures for the fake Discord, registered for the whole suite in ``tests/conftest.py`` (import
helpers from :mod:`tests.fakediscord.running`, not from here, so pytest can rewrite asserts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .payloads import MANAGE_GUILD, SEND_MESSAGES
from .running import DiscordWorld, point_discord_py_at
from .server import FakeDiscord

__all__ = ["discord_fake", "discord_world"]


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    """A running fake Discord that discord.py talks to."""
    async with FakeDiscord() as fake:
        with point_discord_py_at(fake):
            yield fake


@pytest.fixture
def discord_world(discord_fake: FakeDiscord) -> DiscordWorld:
    """One guild, two members, a moderator (Manage Server) and another bot."""
    fake = discord_fake
    guild = fake.add_guild("Footnote test server")
    return DiscordWorld(
        fake=fake, guild=guild, channel=guild.channel,
        alice=fake.add_user("alice", guild=guild), bob=fake.add_user("bob", guild=guild),
        moderator=fake.add_user("mod", guild=guild, permissions=MANAGE_GUILD | SEND_MESSAGES),
        other_bot=fake.add_user("otherbot", guild=guild, bot=True),
    )
