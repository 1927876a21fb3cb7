"""Footnote on Matrix keeps each room to itself, and speaks Matrix: a real Synapse, the real adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.synapse.fixtures import BotRunner
    from tests.synapse.matrix_user import MatrixUser


pytestmark = pytest.mark.e2e

CLAIM = "is it true that every chinese citizen has one national social credit score?"


async def _room(user: MatrixUser, bot: BotRunner) -> str:
    room_id = await user.create_room(invite=(bot.account.user_id,))
    await user.wait_joined(room_id, bot.account.user_id)
    return room_id


async def _ask(user: MatrixUser, room_id: str, text: str, bot: BotRunner, **kw: str) -> str:
    event_id = await user.send_text(room_id, text, **kw)
    return str((await user.wait_reply(event_id, bot.account.user_id)).content["body"])


async def test_a_room_moderator_cannot_see_or_touch_another_room(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, matrix_bob: MatrixUser) -> None:
    """Alice moderates room A, Bob room B: Alice's stats and explain show nothing of B, and she cannot
    reload for everyone; an operator named in the config can see every room."""
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    room_a = await _room(matrix_alice, matrix_bot)
    room_b = await _room(matrix_bob, matrix_bot)
    claim_b = await matrix_bob.send_text(room_b, CLAIM)
    await matrix_bob.wait_reply(claim_b, bot)

    stats = await _ask(matrix_alice, room_a, "!footnote stats", matrix_bot)
    assert "stats for this room" in stats and "No answers" in stats
    assert room_b not in stats and "single-national-score" not in stats
    explained = await _ask(matrix_alice, room_a, f"!explain {claim_b}", matrix_bot)
    assert "no record of this message here" in explained and "single-national-score" not in explained
    reload = await _ask(matrix_alice, room_a, "!footnote reload", matrix_bot)
    assert "Only the bot's operators" in reload
    everywhere = await _ask(matrix_alice, room_a, "!footnote stats all", matrix_bot)
    assert "Only the bot's operators" in everywhere and room_b not in everywhere

    own = await _ask(matrix_bob, room_b, "!footnote stats", matrix_bot)
    assert "single-national-score" in own and room_a not in own


async def test_an_operator_sees_every_room_and_may_reload(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, matrix_bob: MatrixUser) -> None:
    """A user listed under operators.matrix gets bot-wide stats and may reload."""
    matrix_bot.operators = [matrix_alice.user_id]
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    room_a = await _room(matrix_alice, matrix_bot)
    room_b = await _room(matrix_bob, matrix_bot)
    claim_b = await matrix_bob.send_text(room_b, CLAIM)
    await matrix_bob.wait_reply(claim_b, bot)
    everywhere = await _ask(matrix_alice, room_a, "!footnote stats all", matrix_bot)
    assert "whole bot" in everywhere and room_b in everywhere
    assert "Knowledge reloaded" in await _ask(matrix_alice, room_a, "!footnote reload", matrix_bot)


async def test_matrix_texts_are_written_for_matrix(matrix_bot: BotRunner, matrix_alice: MatrixUser,
                                                   matrix_bob: MatrixUser) -> None:
    """Help lists `!` commands, a refusal names power levels, settings offer no thread option, and
    `!explain` sent as a reply to Footnote's answer explains that answer."""
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    room = await matrix_alice.create_room(invite=(bot, matrix_bob.user_id))
    await matrix_alice.wait_joined(room, bot)
    await matrix_bob.join(room)
    help_text = await _ask(matrix_alice, room, "!footnote help", matrix_bot)
    assert "!source <topic or claim id>" in help_text and "!footnote stats" in help_text
    assert "/footnote" not in help_text and "thread" not in help_text
    claims = await _ask(matrix_alice, room, "!claims", matrix_bot)
    assert "Next page: !claims 2" in claims
    refused = await _ask(matrix_bob, room, "!footnote settings", matrix_bot)
    assert "power level 50" in refused and "Manage Server" not in refused and "Discord" not in refused
    settings = await _ask(matrix_alice, room, "!footnote settings", matrix_bot)
    assert "thread" not in settings and "per hour in this room" in settings

    claim = await matrix_alice.send_text(room, CLAIM)
    answer = await matrix_alice.wait_reply(claim, bot)
    why = await _ask(matrix_alice, room, "!explain", matrix_bot, reply_to=answer.event_id)
    assert "single-national-score" in why and "reply" in why and "no record" not in why
