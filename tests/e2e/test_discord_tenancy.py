"""Footnote on Discord keeps each server to itself: the real discord.py client against the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.discord_commands import EXPLAIN_MENU
from bot.app import App, open_app
from bot.config import Config, OperatorsConfig
from tests.fakediscord import FakeDiscord
from tests.fakediscord.payloads import MANAGE_GUILD, SEND_MESSAGES
from tests.fakediscord.running import DiscordWorld, RunningBot, start_bot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

SINGLE = "single-national-score"


@pytest.fixture
async def two_servers(discord_world: DiscordWorld, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """Guild A (the world's, with its moderator) and guild B with its own moderator; an operator in A."""
    fake = discord_world.fake
    guild_b = fake.add_guild("Another community")
    mod_b = fake.add_user("mod-b", guild=guild_b, permissions=MANAGE_GUILD | SEND_MESSAGES)
    member_b = fake.add_user("carol", guild=guild_b)
    operator = fake.add_user("operator", guild=discord_world.guild, permissions=MANAGE_GUILD | SEND_MESSAGES)
    config = Config(database=tmp_path / "footnote.sqlite3", operators=OperatorsConfig(discord=[operator.id]))
    async with open_app(config) as app:
        bot = await start_bot(app.engine, discord_world.config(guild_ids=[discord_world.guild.id, guild_b.id]))
        try:
            yield {"app": app, "bot": bot, "b": guild_b, "mod_b": mod_b, "member_b": member_b,
                   "operator": operator}
        finally:
            await bot.stop()


def plain(markdown: str) -> str:
    return markdown.replace("\\", "")


async def _private_text(fake: FakeDiscord, interaction: dict[str, Any]) -> str:
    (reply,) = await fake.followups_to(interaction)
    return plain(reply["embeds"][0]["description"])


async def _answered_in_b(fake: FakeDiscord, world: DiscordWorld, servers: dict[str, Any]) -> dict[str, Any]:
    app: App = servers["app"]
    bot: RunningBot = servers["bot"]
    message = await fake.post_message(servers["b"].channel, servers["member_b"], app.engine.kb.claims[SINGLE].examples[0])
    await fake.wait_for(lambda: fake.bot_messages(servers["b"].channel.id), what="the answer in guild B")
    await bot.handled("message", message)
    return message


async def test_a_moderator_of_one_server_sees_nothing_of_another(
        discord_world: DiscordWorld, two_servers: dict[str, Any]) -> None:
    """Guild A's moderator: stats without B's answers or channels, explain refuses B's message, no reload."""
    fake, world = discord_world.fake, discord_world
    message_b = await _answered_in_b(fake, world, two_servers)

    stats_a = await _private_text(fake, await fake.slash(world.channel, world.moderator, "footnote",
                                                         subcommand="stats"))
    assert "stats for this server" in stats_a and "No answers" in stats_a
    assert SINGLE not in stats_a and str(two_servers["b"].channel.id) not in stats_a

    why = await fake.response_to(await fake.message_command(world.channel, world.moderator, EXPLAIN_MENU,
                                                            message_b))
    text = plain(why["data"]["embeds"][0]["description"])
    assert "no record of this message here" in text and SINGLE not in text

    reload = await _private_text(fake, await fake.slash(world.channel, world.moderator, "footnote",
                                                        subcommand="reload"))
    assert "Only the bot's operators" in reload
    everywhere = await _private_text(fake, await fake.slash(world.channel, world.moderator, "footnote",
                                                            {"everywhere": True}, subcommand="stats"))
    assert "Only the bot's operators" in everywhere and SINGLE not in everywhere

    stats_b = await _private_text(fake, await fake.slash(two_servers["b"].channel, two_servers["mod_b"], "footnote",
                                                         subcommand="stats"))
    assert SINGLE in stats_b and str(two_servers["b"].channel.id) in stats_b


async def test_an_operator_sees_every_server_and_may_reload(
        discord_world: DiscordWorld, two_servers: dict[str, Any]) -> None:
    """The operator named in the config gets bot-wide stats (B's answer included) and may reload."""
    fake, world = discord_world.fake, discord_world
    await _answered_in_b(fake, world, two_servers)
    operator = two_servers["operator"]
    everywhere = await _private_text(fake, await fake.slash(world.channel, operator, "footnote",
                                                            {"everywhere": True}, subcommand="stats"))
    assert "whole bot" in everywhere and SINGLE in everywhere
    reload = await _private_text(fake, await fake.slash(world.channel, operator, "footnote", subcommand="reload"))
    assert "Knowledge reloaded" in reload


async def test_discord_texts_name_discord_things(discord_world: DiscordWorld, two_servers: dict[str, Any]) -> None:
    """A member's refusal names Manage Server; settings offer the thread option and a per-server cap; "Why
    did Footnote answer?" on Footnote's own answer explains that answer."""
    fake, world = discord_world.fake, discord_world
    app: App = two_servers["app"]
    claim = await fake.post_message(world.channel, world.alice, app.engine.kb.claims[SINGLE].examples[0])

    def answers() -> list[dict[str, Any]]:
        return [m for m in fake.messages.values() if m["author"]["id"] == str(fake.me.id)
                and str((m.get("message_reference") or {}).get("message_id")) == claim["id"]]
    (answer,) = await fake.wait_for(answers, what="Footnote's answer")
    await two_servers["bot"].handled("message", claim)
    why = await fake.response_to(await fake.message_command(world.channel, world.bob, EXPLAIN_MENU, answer))
    text = plain(why["data"]["embeds"][0]["description"])
    assert SINGLE in text and f"about message {claim['id']}" in text and "no record" not in text

    refused = await _private_text(fake, await fake.slash(world.channel, world.alice, "footnote",
                                                         subcommand="settings"))
    assert "Manage Server" in refused and "power level" not in refused
    settings = await _private_text(fake, await fake.slash(world.channel, world.moderator, "footnote",
                                                          subcommand="settings"))
    assert "answers in a thread" in settings and "per hour in this server" in settings
