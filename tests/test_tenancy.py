"""Tenancy in the engine: a moderator of one server sees and changes that server only; operators see all."""

from __future__ import annotations

import pytest
from conftest import OPERATOR, command, message

from bot.messages import Explanation, Notice, Reply
from bot.storage import ChannelSettings

CLAIM = "china gives everyone a single social credit score right?"
TRAVEL = "millions of chinese people are banned from flights and trains because their social credit score is low"


async def _answer_in(app, server: str, channel: str, text: str = CLAIM, ts: float = 1_700_000_000.0) -> Reply:
    [reply] = await app.engine.handle_message(message(text, channel=channel, server_id=server, ts=ts,
                                                      platform="discord"))
    assert isinstance(reply, Reply)
    return reply


async def test_stats_of_one_server_leave_out_another_servers_claims_and_channels(app):
    """Server A's moderator sees A's answers and channels, never B's."""
    await _answer_in(app, "guild-a", "chan-a", CLAIM)
    await _answer_in(app, "guild-b", "chan-b-secret", TRAVEL)
    stats = await app.engine.handle_command(command("stats", moderator=True, platform="discord",
                                                    server_id="guild-a", channel="chan-a"))
    text = "\n".join(stats.lines)
    assert "single-national-score" in text and "chan-a" in text
    assert "chan-b-secret" not in text and "travel" not in text


async def test_explain_refuses_a_message_of_another_server(app):
    """Explain with a message id from server B, asked in server A, says nothing about it."""
    reply = await _answer_in(app, "guild-b", "chan-b", CLAIM)
    asked_in_a = await app.engine.handle_command(command(
        "explain", reply.message.message_id, platform="discord", server_id="guild-a", channel="chan-a"))
    assert isinstance(asked_in_a, Explanation) and not asked_in_a.found
    assert asked_in_a.claim_id is None and asked_in_a.scores == {}
    asked_in_b = await app.engine.handle_command(command(
        "explain", reply.message.message_id, platform="discord", server_id="guild-b", channel="chan-b"))
    assert isinstance(asked_in_b, Explanation) and asked_in_b.found
    assert asked_in_b.claim_id == "single-national-score"


async def test_matrix_rooms_are_servers_of_their_own(app):
    """On Matrix each room is its own server: room A's moderator cannot explain room B's messages."""
    [reply] = await app.engine.handle_message(message(CLAIM, channel="!b:hs", platform="matrix"))
    assert isinstance(reply, Reply)
    other = await app.engine.handle_command(command("explain", reply.message.message_id, platform="matrix",
                                                    channel="!a:hs", moderator=True))
    assert isinstance(other, Explanation) and not other.found
    stats = await app.engine.handle_command(command("stats", platform="matrix", channel="!a:hs", moderator=True))
    assert "!b:hs" not in "\n".join(stats.lines) and "No answers" in stats.lines[0]


async def test_settings_change_only_the_askers_channel(app):
    """A moderator's settings change lands on the channel they typed it in, nowhere else."""
    await app.engine.handle_command(command("settings", "mode off", moderator=True, platform="discord",
                                            server_id="guild-a", channel="chan-a"))
    assert (await app.storage.channel_settings("discord", "chan-a")).mode == "off"
    assert await app.storage.channel_settings("discord", "chan-b") == ChannelSettings()


async def test_bot_wide_stats_are_for_operators_only(app):
    """`stats all` is refused to a server's moderator and shows every server to an operator."""
    await _answer_in(app, "guild-a", "chan-a", CLAIM)
    await app.engine.handle_message(message(TRAVEL, channel="!room:hs", platform="matrix"))
    refused = await app.engine.handle_command(command("stats", "all", moderator=True, platform="matrix",
                                                      channel="!room:hs"))
    assert isinstance(refused, Notice) and not refused.ok and "operators" in refused.title
    everything = await app.engine.handle_command(command("stats", "all", platform="matrix", channel="!x:hs",
                                                         author=OPERATOR))
    text = "\n".join(everything.lines)
    assert everything.ok and "chan-a" in text and "!room:hs" in text


async def test_cooldown_held_matches_are_not_near_misses(app):
    """A claim held by the cooldown is not listed under 'consider adding examples'."""
    await _answer_in(app, "g", "c", CLAIM, ts=1_700_000_000.0)
    [held] = await app.engine.handle_message(message(CLAIM, channel="c", server_id="g", platform="discord",
                                                     ts=1_700_000_060.0))
    assert "cooldown" in held.reason
    stats = await app.engine.handle_command(command("stats", moderator=True, platform="discord", server_id="g",
                                                    channel="c", ts=1_700_000_100.0))
    assert not any("consider adding examples" in line for line in stats.lines)


async def test_explain_on_footnotes_own_answer_explains_that_answer(app):
    """Pointing explain at Footnote's answer explains the decision behind it, not 'no record'."""
    reply = await _answer_in(app, "g", "c", CLAIM)
    await app.engine.record_sent(reply, "answer-123")
    answer = await app.engine.handle_command(command("explain", platform="discord", server_id="g", channel="c",
                                                     target_message_id="answer-123"))
    assert isinstance(answer, Explanation) and answer.found
    assert answer.message_id == reply.message.message_id and answer.answer_id == "answer-123"
    assert answer.claim_id == "single-national-score" and answer.action == "reply"
    elsewhere = await app.engine.handle_command(command("explain", platform="discord", server_id="h",
                                                        channel="d", target_message_id="answer-123"))
    assert not elsewhere.found


@pytest.fixture
def database(any_database):
    """The tenancy rules hold on SQLite and on PostgreSQL alike."""
    return any_database
