"""Footnote on Discord, end to end: the unmodified discord.py client, driven by the real adapter and engine,
against a local fake Discord (tests/fakediscord) that records everything reaching the wire.

Assertions are about REST requests and gateway frames the fake received. "The bot stayed quiet" is only
asserted after the adapter reports it has finished with that very gateway event (``RunningBot.handled``),
never after a sleep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.discord_bot import DiscordAdapter, DiscordLoginError
from bot.adapters.discord_cli import sync_commands
from bot.adapters.discord_commands import EXPLAIN_MENU
from bot.app import App, open_app
from bot.cli import main as cli_main
from bot.config import Config, DiscordConfig, PolicyConfig
from bot.render import verdict_colour
from tests.fakediscord import FakeDiscord, WireRequest
from tests.fakediscord.payloads import MANAGE_GUILD
from tests.fakediscord.running import DiscordWorld, RunningBot, point_discord_py_at, start_bot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

SINGLE = "single-national-score"
CRITICISM = "criticism-lowers-score"
EPHEMERAL = 1 << 6
SEARCH, UP = "🔎", "👍"


@pytest.fixture
async def discord_app(tmp_path: Path) -> AsyncIterator[App]:
    """The real engine over the bundled knowledge base and a fresh database."""
    async with open_app(Config(database=tmp_path / "footnote.sqlite3")) as app:
        yield app


@pytest.fixture
async def discord_bot(discord_app: App, discord_world: DiscordWorld) -> AsyncIterator[RunningBot]:
    """Footnote connected to the fake Discord, commands synced to the test guild."""
    bot = await start_bot(discord_app.engine, discord_world.config())
    yield bot
    await bot.stop()


def example(app: App, claim_id: str, index: int = 0) -> str:
    """How people say a claim in chat, straight from the knowledge base (so it matches with confidence)."""
    return app.engine.kb.claims[claim_id].examples[index]


async def reply_to(fake: FakeDiscord, message: dict[str, Any]) -> WireRequest:
    """The bot's one reply to ``message`` (waits for it)."""
    def replies() -> list[WireRequest]:
        return [r for r in fake.bot_messages()
                if str((r.body.get("message_reference") or {}).get("message_id")) == message["id"]]
    found = await fake.wait_for(replies, what=f"a reply to message {message['id']}")
    return found[0]


def bot_message_for(fake: FakeDiscord, request: WireRequest) -> dict[str, Any]:
    """The message the fake created for a bot POST (to click its buttons)."""
    ref = str(request.body["message_reference"]["message_id"])
    return next(m for m in fake.messages.values()
                if m["author"]["id"] == str(fake.me.id) and (m.get("message_reference") or {}).get("message_id")
                == ref)


def plain(markdown: str) -> str:
    """Discord Markdown without its escapes (``single\\-national`` -> ``single-national``)."""
    return markdown.replace("\\", "")


def custom_ids(body: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in body.get("components", []) for c in row["components"]]


# ------------------------------------------------------------------------------------------------ answers


async def test_claim_message_gets_one_reply_with_claim_sources_and_no_pings(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """A claim in a channel gets exactly one reply: an embed with claim, verdict colour, sources, buttons."""
    fake, world = discord_world.fake, discord_world
    message = await fake.post_message(world.channel, world.alice, example(discord_app, SINGLE))
    sent = await reply_to(fake, message)
    await discord_bot.handled("message", int(bot_message_for(fake, sent)["id"]))  # its own echo, ignored
    claim = discord_app.engine.kb.claims[SINGLE]

    assert len(fake.bot_messages(world.channel.id)) == 1
    body = sent.body
    assert body["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert str(body["message_reference"]["message_id"]) == message["id"]
    (embed,) = body["embeds"]
    assert embed["title"] == claim.claim
    assert embed["color"] == verdict_colour(claim.verdict)
    assert claim.verdict.label in embed["description"]
    assert embed["footer"]["text"] == f"/source {SINGLE}"
    links = embed["fields"][0]["value"]
    sources = discord_app.engine.kb.sources_for(claim)
    assert 2 <= links.count("](") <= 3
    assert str(sources[0].url) in links and str(sources[1].url) in links
    assert custom_ids(body) == [f"footnote:more:{SINGLE}", "footnote:vote:up", "footnote:vote:down"]


async def test_repeat_within_cooldown_gets_no_reply(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """The same claim again in the same channel, even from someone else, is not answered twice."""
    fake, world = discord_world.fake, discord_world
    first = await fake.post_message(world.channel, world.alice, example(discord_app, SINGLE, 0))
    await reply_to(fake, first)
    again = await fake.post_message(world.channel, world.bob, example(discord_app, SINGLE, 1))
    await discord_bot.handled("message", again)
    assert len(fake.bot_messages(world.channel.id)) == 1


async def test_caps_hold_under_a_burst(discord_world: DiscordWorld, tmp_path: Path) -> None:
    """Many different claims at once from many people: no more answers than the channel's hourly cap."""
    fake, world = discord_world.fake, discord_world
    config = Config(database=tmp_path / "db.sqlite3", policy=PolicyConfig(channel_per_hour=2))
    async with open_app(config) as app:
        bot = await start_bot(app.engine, world.config())
        try:
            claims = [c.id for c in app.engine.kb.claims.values() if c.auto_reply == "reply"][:6]
            people = [fake.add_user(f"user{i}", guild=world.guild) for i in range(len(claims))]
            posted = await asyncio.gather(*(fake.post_message(world.channel, person, example(app, cid))
                                            for person, cid in zip(people, claims, strict=True)))
            for message in posted:
                await bot.handled("message", message)
            assert len(fake.bot_messages(world.channel.id)) == 2
        finally:
            await bot.stop()


async def test_bot_ignores_bots_webhooks_and_itself(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """Claims from another bot or a webhook get no answer; neither do the bot's own messages."""
    fake, world = discord_world.fake, discord_world
    from_bot = await fake.post_message(world.channel, world.other_bot, example(discord_app, SINGLE))
    from_hook = await fake.post_message(world.channel, world.bob, example(discord_app, CRITICISM), webhook=True)
    await discord_bot.handled("message", from_bot)
    await discord_bot.handled("message", from_hook)
    assert fake.bot_messages() == []
    assert fake.find("PUT", "/channels/") == []


async def test_edit_of_answered_message_is_ignored(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """Editing an answered message into another claim does not make the bot answer again."""
    fake, world = discord_world.fake, discord_world
    message = await fake.post_message(world.channel, world.alice, example(discord_app, SINGLE))
    await reply_to(fake, message)
    await fake.edit_message(message, example(discord_app, CRITICISM))
    await discord_bot.handled("edit", message)
    assert len(fake.bot_messages()) == 1


async def test_thread_mode_answers_in_a_thread(discord_app: App, discord_world: DiscordWorld) -> None:
    """With thread_mode the answer goes into a new thread started on the claim's message."""
    fake, world = discord_world.fake, discord_world
    bot = await start_bot(discord_app.engine, world.config(thread_mode=True))
    try:
        message = await fake.post_message(world.channel, world.alice, example(discord_app, SINGLE))
        thread_id = message["id"]  # Discord gives a thread started on a message that message's id
        (sent,) = await fake.wait_for(lambda: fake.bot_messages(int(thread_id)), what="an answer in the thread")
        (created,) = fake.find("POST", f"/channels/{world.channel.id}/messages/{message['id']}/threads")
        assert created.body["name"] == discord_app.engine.kb.claims[SINGLE].claim[:100]
        assert sent.body["embeds"][0]["footer"]["text"] == f"/source {SINGLE}"
    finally:
        await bot.stop()


async def test_thread_mode_per_channel_from_the_settings_command(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """A moderator's `/footnote settings thread:on` sends that channel's answers into threads."""
    fake, world = discord_world.fake, discord_world
    settings = await fake.slash(world.channel, world.moderator, "footnote", subcommand="settings",
                                options={"thread": "on"})
    (shown,) = await fake.followups_to(settings)
    assert "thread: on" in plain(shown["embeds"][0]["description"])
    message = await fake.post_message(world.channel, world.alice, example(discord_app, SINGLE))
    (sent,) = await fake.wait_for(lambda: fake.bot_messages(int(message["id"])), what="an answer in the thread")
    assert fake.find("POST", f"/channels/{world.channel.id}/messages/{message['id']}/threads")
    assert sent.body["embeds"][0]["footer"]["text"] == f"/source {SINGLE}"


# ------------------------------------------------------------------------------------------------ commands


async def test_commands_sync_to_configured_guild_with_moderator_defaults(
        discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """Commands go to the configured guild at start-up; /footnote is hidden from non-moderators by default."""
    fake, world = discord_world.fake, discord_world
    (put,) = fake.find("PUT", f"/applications/{fake.application_id}/guilds/{world.guild.id}/commands")
    by_name = {c["name"]: c for c in put.body}
    assert set(by_name) == {"source", "claims", "footnote", EXPLAIN_MENU}
    assert by_name[EXPLAIN_MENU]["type"] == 3
    assert by_name["source"]["options"][0]["autocomplete"] is True
    assert str(by_name["footnote"]["default_member_permissions"]) == str(MANAGE_GUILD)
    assert {o["name"] for o in by_name["footnote"]["options"]} == {"settings", "reload", "test", "stats"}
    assert fake.find("PUT", f"/applications/{fake.application_id}/commands") == []


async def test_source_autocomplete_and_answer(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """Typing in /source offers at most 25 entries; running it answers with the full entry in public."""
    fake, world = discord_world.fake, discord_world
    typing = await fake.autocomplete(world.channel, world.alice, "source", "query", "sesame")
    choices = (await fake.response_to(typing))
    assert choices["type"] == 8
    values = [c["value"] for c in choices["data"]["choices"]]
    assert 1 <= len(values) <= 25 and "sesame-credit" in values

    run = await fake.slash(world.channel, world.alice, "source", {"query": "sesame-credit"})
    answer = await fake.response_to(run)
    claim = discord_app.engine.kb.claims["sesame-credit"]
    assert answer["type"] == 4 and not answer["data"].get("flags", 0) & EPHEMERAL
    (embed,) = answer["data"]["embeds"]
    assert embed["title"] == claim.claim and embed["footer"]["text"] == "/source sesame-credit"
    shown = "\n".join(f["value"] for f in embed["fields"])
    assert all(str(s.url) in shown for s in discord_app.engine.kb.sources_for(claim))
    assert answer["data"]["allowed_mentions"] == {"parse": []}


async def test_claims_lists_entries_privately(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """/claims answers with a private, paged list of the knowledge base."""
    fake, world = discord_world.fake, discord_world
    answer = await fake.response_to(await fake.slash(world.channel, world.alice, "claims", {"page": 2}))
    assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL
    listed = plain(answer["data"]["embeds"][0]["description"])
    assert "page 2 of" in listed
    second_page = sorted(discord_app.engine.kb.claims.values(), key=lambda c: (c.is_topic, c.id))[10]
    assert second_page.id in listed


async def test_non_moderator_is_refused_moderator_commands(
        discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """/footnote stats from a member without Manage Server is refused privately; a moderator gets stats."""
    fake, world = discord_world.fake, discord_world
    refused = await fake.slash(world.channel, world.alice, "footnote", subcommand="stats")
    deferred = await fake.response_to(refused)
    assert deferred["type"] == 5 and deferred["data"]["flags"] & EPHEMERAL
    (reply,) = await fake.followups_to(refused)
    assert reply["flags"] & EPHEMERAL
    assert "Only moderators" in plain(reply["embeds"][0]["description"])

    allowed = await fake.slash(world.channel, world.moderator, "footnote", subcommand="stats")
    (stats,) = await fake.followups_to(allowed)
    assert "Footnote stats" in plain(stats["embeds"][0]["description"]) and stats["flags"] & EPHEMERAL


async def test_configured_moderator_role_may_use_moderator_commands(
        discord_app: App, discord_world: DiscordWorld) -> None:
    """A member with a role listed in moderator_role_ids counts as a moderator without Manage Server."""
    fake, world = discord_world.fake, discord_world
    role = fake.add_role(world.guild, "fact-checkers")
    checker = fake.add_user("checker", guild=world.guild, role_ids=[role])
    bot = await start_bot(discord_app.engine, world.config(moderator_role_ids=[role]))
    try:
        run = await fake.slash(world.channel, checker, "footnote", subcommand="settings")
        (reply,) = await fake.followups_to(run)
        assert "Settings for this channel" in plain(reply["embeds"][0]["description"])
    finally:
        await bot.stop()


async def test_explain_context_menu_says_why(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """"Why did Footnote answer?" on an answered message names the claim, privately."""
    fake, world = discord_world.fake, discord_world
    message = await fake.post_message(world.channel, world.alice, example(discord_app, SINGLE))
    await reply_to(fake, message)
    why = await fake.response_to(await fake.message_command(world.channel, world.bob, EXPLAIN_MENU, message))
    assert why["data"]["flags"] & EPHEMERAL
    assert SINGLE in plain(why["data"]["embeds"][0]["description"])


# ------------------------------------------------------------------------------------------------ react mode


async def test_react_mode_and_search_reaction_flow(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """In react mode a claim gets 🔎; another bot's 🔎 does nothing; a person's 🔎 brings the answer."""
    fake, world = discord_world.fake, discord_world
    setting = await fake.slash(world.channel, world.moderator, "footnote", {"mode": "react"}, subcommand="settings")
    (changed,) = await fake.followups_to(setting)
    assert "mode: react" in plain(changed["embeds"][0]["description"])

    message = await fake.post_message(world.channel, world.alice, example(discord_app, SINGLE))
    await fake.wait_for(lambda: fake.find("PUT", f"/channels/{world.channel.id}/messages/{message['id']}"
                                                 f"/reactions/{SEARCH}/@me"), what="a 🔎 reaction")
    await discord_bot.handled("message", message)
    assert fake.bot_messages() == []

    await fake.react(message, world.other_bot, SEARCH)
    await discord_bot.handled("reaction", message)
    assert fake.bot_messages() == []

    await fake.react(message, world.bob, SEARCH)
    sent = await reply_to(fake, message)
    assert sent.body["embeds"][0]["footer"]["text"] == f"/source {SINGLE}"
    assert sent.body["allowed_mentions"] == {"parse": [], "replied_user": False}


# ------------------------------------------------------------------------------------------------ buttons


async def test_more_context_button_answers_privately(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """"More context" shows the full context and every source to the clicker only."""
    fake, world = discord_world.fake, discord_world
    message = await fake.post_message(world.channel, world.alice, example(discord_app, SINGLE))
    answer = bot_message_for(fake, await reply_to(fake, message))
    more = await fake.response_to(await fake.click(answer, world.bob, f"footnote:more:{SINGLE}"))
    assert more["type"] == 4 and more["data"]["flags"] & EPHEMERAL
    claim = discord_app.engine.kb.claims[SINGLE]
    embed = more["data"]["embeds"][0]
    shown = "\n".join(f["value"] for f in embed["fields"])
    assert all(str(s.url) in shown for s in discord_app.engine.kb.sources_for(claim))
    assert claim.context.split()[0] in embed["description"]


async def test_feedback_click_is_stored_and_survives_a_restart(
        discord_world: DiscordWorld, tmp_path: Path) -> None:
    """A 👍 click on an answer sent before a full restart (new process state, same database) is stored."""
    fake, world = discord_world.fake, discord_world
    config = Config(database=tmp_path / "footnote.sqlite3")
    async with open_app(config) as app:
        bot = await start_bot(app.engine, world.config())
        message = await fake.post_message(world.channel, world.alice, example(app, SINGLE))
        answer = bot_message_for(fake, await reply_to(fake, message))
        await bot.stop()

    async with open_app(config) as app:
        bot = await start_bot(app.engine, world.config())
        try:
            thanks = await fake.response_to(await fake.click(answer, world.bob, "footnote:vote:up"))
            assert thanks["type"] == 4 and thanks["data"]["flags"] & EPHEMERAL
            assert "recorded" in thanks["data"]["content"]
            rows = await app.storage.feedback_rows()
            assert len(rows) == 1 and str(world.bob.id) in rows[0] and SINGLE in rows[0]
            stats = await fake.slash(world.channel, world.moderator, "footnote", subcommand="stats")
            (shown,) = await fake.followups_to(stats)
            assert "100% helpful of 1" in plain(shown["embeds"][0]["description"])
        finally:
            await bot.stop()


# ------------------------------------------------------------------------------------------------ gateway


async def test_gateway_disconnect_is_followed_by_resume_and_answers(
        discord_app: App, discord_world: DiscordWorld, discord_bot: RunningBot) -> None:
    """When Discord drops the connection the client RESUMEs its session and keeps answering, missing nothing."""
    fake, world = discord_world.fake, discord_world
    session = await fake.drop_connection(code=4000)
    message = await fake.post_message(world.channel, world.alice, example(discord_app, SINGLE))
    await reply_to(fake, message)
    resumes = [f for f in fake.gateway_frames if f.op == 6]
    identifies = [f for f in fake.gateway_frames if f.op == 2]
    assert len(identifies) == 1 and len(resumes) == 1
    assert resumes[0].data["session_id"] == session.session_id and resumes[0].data["seq"] >= 2
    assert session.resumes == 1
    await fake.wait_for(lambda: discord_bot.adapter.is_connected, what="the adapter to report connected")


async def test_sharded_client_answers_in_both_shards(discord_app: App, discord_fake: FakeDiscord) -> None:
    """With shard_count 2, two shards IDENTIFY and the bot answers in a guild on each."""
    fake = discord_fake
    guilds = [fake.add_guild(f"shard {i}", shard=(i, 2)) for i in range(2)]
    people = [fake.add_user(f"person{i}", guild=g) for i, g in enumerate(guilds)]
    config = DiscordConfig(token=fake.token, guild_ids=[g.id for g in guilds], shard_count=2)
    bot = await start_bot(discord_app.engine, config)
    try:
        shards = sorted(tuple(f.data["shard"]) for f in fake.gateway_frames if f.op == 2)
        assert shards == [(0, 2), (1, 2)]
        for guild, person in zip(guilds, people, strict=True):
            message = await fake.post_message(guild.channel, person, example(discord_app, SINGLE))
            await reply_to(fake, message)
        assert bot.adapter.status["shards"] == [0, 1]
    finally:
        await bot.stop()


async def test_automatic_shard_count_follows_discords_recommendation(
        discord_app: App, discord_fake: FakeDiscord) -> None:
    """With shard_count "auto" the client asks GET /gateway/bot and opens as many shards as recommended."""
    fake = discord_fake
    fake.shards_recommended = 2
    guilds = [fake.add_guild(f"auto {i}", shard=(i, 2)) for i in range(2)]
    config = DiscordConfig(token=fake.token, guild_ids=[g.id for g in guilds], shard_count="auto")
    bot = await start_bot(discord_app.engine, config)
    try:
        shards = sorted(tuple(f.data["shard"]) for f in fake.gateway_frames if f.op == 2)
        assert shards == [(0, 2), (1, 2)]
        assert bot.adapter.status["shards"] == [0, 1]
    finally:
        await bot.stop()


async def test_without_message_content_intent_mentions_still_work(
        discord_app: App, discord_world: DiscordWorld, caplog: pytest.LogCaptureFixture) -> None:
    """Without the privileged intent the bot says so at start-up, reconnects without it, answers mentions."""
    fake, world = discord_world.fake, discord_world
    fake.message_content_enabled = False
    with caplog.at_level(logging.WARNING, logger="bot.adapters.discord_bot"):
        bot = await start_bot(discord_app.engine, world.config())
    try:
        assert any("Message Content intent" in r.getMessage() for r in caplog.records)
        assert bot.adapter.status["message_content"] is False
        plain = await fake.post_message(world.channel, world.alice, example(discord_app, CRITICISM))
        await bot.handled("message", plain)
        assert fake.bot_messages() == []
        asked = await fake.post_message(world.channel, world.bob, example(discord_app, SINGLE), mention_bot=True)
        sent = await reply_to(fake, asked)
        assert sent.body["embeds"][0]["footer"]["text"] == f"/source {SINGLE}"
    finally:
        await bot.stop()


async def test_bad_token_is_one_clear_error(discord_app: App, discord_world: DiscordWorld) -> None:
    """A token Discord rejects ends start() with one plain DiscordLoginError that never shows the token."""
    adapter = DiscordAdapter(discord_app.engine, discord_world.config(token="not-the-token"))
    with pytest.raises(DiscordLoginError) as caught:
        await asyncio.wait_for(adapter.start(), 10)
    assert "rejected the bot token" in str(caught.value)
    assert "not-the-token" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_global_sync_without_configured_guilds(discord_app: App) -> None:
    """Without guild_ids the commands are registered globally."""
    async with FakeDiscord() as fake:
        with point_discord_py_at(fake):
            fake.add_guild()
            bot = await start_bot(discord_app.engine, DiscordConfig(token=fake.token))
            try:
                (put,) = fake.find("PUT", f"/applications/{fake.application_id}/commands")
                assert {c["name"] for c in put.body} >= {"source", "claims", "footnote"}
            finally:
                await bot.stop()


async def test_sync_commands_registers_without_connecting(discord_world: DiscordWorld) -> None:
    """``discord sync`` logs in over HTTP, registers the commands in the configured guild, and never connects."""
    fake, world = discord_world.fake, discord_world
    count = await sync_commands(Config(discord=world.config()))
    (put,) = fake.find("PUT", f"/applications/{fake.application_id}/guilds/{world.guild.id}/commands")
    assert count == len(put.body) == 4
    assert fake.gateway_frames == []


def test_sync_cli_without_token_is_one_plain_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m bot discord sync`` without a token prints one line and exits 1."""
    monkeypatch.delenv("FOOTNOTE_DISCORD_TOKEN", raising=False)
    config = tmp_path / "config.yaml"
    config.write_text("discord:\n  guild_ids: [1]\n", encoding="utf-8")
    assert cli_main(["--config", str(config), "discord", "sync"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: discord.token is not set") and "Traceback" not in err
