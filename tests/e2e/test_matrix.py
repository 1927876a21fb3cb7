"""Footnote on Matrix, end to end: a real Synapse on 127.0.0.1, the real adapter, real matrix-nio users.

Every assertion is about events another user's client actually received from the homeserver. The bot
handles a room's events in order, so once it has answered a later message, an earlier one it was meant
to ignore has been handled too: tests use a later "probe" message instead of sleeping.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
from nio import RoomSendError, RoomSendResponse

from bot.adapters import matrix_events as mx
from bot.adapters.matrix_send import Sender
from bot.adapters.matrix_session import state_key
from bot.storage import open_storage

if TYPE_CHECKING:
    from tests.synapse.fixtures import BotRunner
    from tests.synapse.matrix_user import MatrixUser, Received
    from tests.synapse.server import SynapseServer


pytestmark = pytest.mark.e2e

#: Messages the bundled knowledge base answers with confidence (reply mode).
CLAIM = "is it true that every chinese citizen has one national social credit score?"
CLAIM_2 = "so china gives every citizen one single social credit score, right?"
#: A message the bot should notice (react mode turns it into a 🔎).
SHORTISH = "china gives everyone a single social credit score right?"
SEARCH, UP = "🔎", "👍️"  # Element sends thumbs up with U+FE0F; the adapter must cope


def is_notice_reply(item: Received, event_id: str, bot: str) -> bool:
    return (item.type == "m.room.message" and item.sender == bot and item.reply_to == event_id
            and item.content.get("msgtype") == "m.notice")


async def room_with_bot(user: MatrixUser, bot: BotRunner, **kwargs: object) -> str:
    room_id = await user.create_room(invite=(bot.account.user_id,), **kwargs)  # type: ignore[arg-type]
    await user.wait_joined(room_id, bot.account.user_id)
    return room_id


async def probe(user: MatrixUser, room_id: str, bot: BotRunner) -> None:
    """Send ``!claims`` and wait for the answer: everything sent before it has been handled."""
    event_id = await user.send_text(room_id, "!claims")
    await user.wait_reply(event_id, bot.account.user_id)


async def test_claim_gets_exactly_one_threaded_notice_reply_with_sources(
        matrix_bot: BotRunner, matrix_alice: MatrixUser) -> None:
    """A claim is answered once, as an m.notice reply with HTML links to sources and no mentions."""
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    room_id = await room_with_bot(matrix_alice, matrix_bot)
    quoted = await matrix_alice.send_text(room_id, "lol no", reply_to="$whatever", quoted=CLAIM)
    event_id = await matrix_alice.send_text(room_id, CLAIM)
    reply = await matrix_alice.wait_reply(event_id, bot)
    content = reply.content
    assert content["msgtype"] == "m.notice"
    assert content["m.mentions"] == {}
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": event_id}}
    assert content["format"] == "org.matrix.custom.html"
    assert "<a href=\"http" in content["formatted_body"]
    assert "Sources" in content["body"] and "http" in content["body"]
    await probe(matrix_alice, room_id, matrix_bot)
    assert len(matrix_alice.replies_to(event_id, bot)) == 1
    assert matrix_alice.replies_to(quoted, bot) == [], "a claim quoted in a reply fallback was answered"


async def test_message_sent_before_first_start_is_not_answered(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, tmp_path: Path) -> None:
    """On a first start (no stored sync token) history is synced but nothing in it is answered."""
    await matrix_bot.start()
    room_id = await room_with_bot(matrix_alice, matrix_bot)
    await matrix_bot.stop()
    old = await matrix_alice.send_text(room_id, CLAIM)
    matrix_bot.workdir = tmp_path / "fresh-bot"  # a new database: no next_batch, no processed events
    matrix_bot.workdir.mkdir()
    await matrix_bot.start()
    new = await matrix_alice.send_text(room_id, CLAIM_2)
    await matrix_alice.wait_for(lambda r: is_notice_reply(r, new, matrix_bot.account.user_id),
                                what="an answer to the claim sent after start-up")
    assert matrix_alice.replies_to(old, matrix_bot.account.user_id) == []


async def test_restart_catches_up_answers_nothing_twice_and_keeps_its_device(
        matrix_bot: BotRunner, matrix_alice: MatrixUser) -> None:
    """A restart resumes the session and device, answers a claim missed while down, and nothing twice.

    The stored sync token is rewound to before the first (answered) claim, so the homeserver delivers
    it again: only the processed-event table and the engine's dedupe stand between it and a second answer.
    """
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    device = matrix_bot.status["device_id"]
    room_id = await room_with_bot(matrix_alice, matrix_bot)
    await probe(matrix_alice, room_id, matrix_bot)
    assert matrix_bot.app is not None
    token_key = state_key(bot, "next_batch")
    rewind_to = await matrix_bot.app.storage.get_state(token_key)
    assert rewind_to
    first = await matrix_alice.send_text(room_id, CLAIM)
    await matrix_alice.wait_reply(first, bot)
    await matrix_bot.stop()
    missed = await matrix_alice.send_text(room_id, CLAIM_2)  # sent while the bot is down
    storage = await open_storage(matrix_bot.config().database)
    await storage.set_state(token_key, rewind_to)
    await storage.close()
    await matrix_bot.start()
    assert matrix_bot.status["login"] == "stored"
    assert matrix_bot.status["device_id"] == device
    await matrix_alice.wait_reply(missed, bot)
    await probe(matrix_alice, room_id, matrix_bot)
    assert len(matrix_alice.replies_to(first, bot)) == 1
    assert len(matrix_alice.replies_to(missed, bot)) == 1


async def test_source_command_answers_with_full_context(matrix_bot: BotRunner, matrix_alice: MatrixUser) -> None:
    """``!source`` replies with the full entry and its sources."""
    await matrix_bot.start()
    room_id = await room_with_bot(matrix_alice, matrix_bot)
    event_id = await matrix_alice.send_text(room_id, "!source single-national-score")
    reply = await matrix_alice.wait_reply(event_id, matrix_bot.account.user_id)
    assert reply.content["msgtype"] == "m.notice"
    assert "<a href=" in reply.content["formatted_body"]
    assert "single-national-score" in reply.content["body"]


async def test_moderator_commands_refused_for_members_accepted_for_v12_creator(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, matrix_bob: MatrixUser) -> None:
    """Bob (power 0) is refused ``!footnote stats``; Alice, the room v12 creator, is answered."""
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    room_id = await matrix_alice.create_room(invite=(bot, matrix_bob.user_id))
    create = await matrix_alice.wait_for(lambda r: r.room_id == room_id and r.type == "m.room.create")
    assert create.content.get("room_version") == "12"
    await matrix_bob.join(room_id)
    await matrix_alice.wait_joined(room_id, bot)
    await matrix_alice.wait_joined(room_id, matrix_bob.user_id)
    refused = await matrix_bob.send_text(room_id, "!footnote stats")
    answer = await matrix_alice.wait_reply(refused, bot)
    assert "Only moderators" in answer.content["body"]
    accepted = await matrix_alice.send_text(room_id, "!footnote stats")
    answer = await matrix_alice.wait_reply(accepted, bot)
    assert "Only moderators" not in answer.content["body"]
    assert "stats" in answer.content["body"].lower()


async def test_invites_follow_the_allowlist_and_a_kick_is_survived(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, matrix_bob: MatrixUser) -> None:
    """Invites from allowed users are joined, others rejected; after a kick and re-invite, no history."""
    matrix_bot.matrix_options = {"invite_allowlist": [matrix_alice.user_id]}
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    rejected = await matrix_bob.create_room(invite=(bot,))
    await matrix_bob.wait_for(lambda r: r.room_id == rejected and r.type == "m.room.member"
                              and r.source.get("state_key") == bot and r.content.get("membership") == "leave",
                              what="the bot rejecting Bob's invite")
    room_id = await room_with_bot(matrix_alice, matrix_bot)
    await matrix_alice.client.room_kick(room_id, bot, reason="test")
    while_out = await matrix_alice.send_text(room_id, CLAIM)
    await asyncio.sleep(0.5)
    await matrix_alice.client.room_invite(room_id, bot)
    def bot_joins() -> list[Received]:
        return matrix_alice.matching(lambda r: r.room_id == room_id and r.type == "m.room.member"
                                     and r.source.get("state_key") == bot
                                     and r.content.get("membership") == "join")

    await matrix_alice.wait_for(lambda r: len(bot_joins()) >= 2, what="the bot rejoining")
    await probe(matrix_alice, room_id, matrix_bot)
    assert matrix_alice.replies_to(while_out, bot) == []


async def test_search_reaction_answers_and_feedback_is_stored(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, matrix_bob: MatrixUser) -> None:
    """In react mode the bot adds 🔎; Bob's 🔎 gets the answer; Alice's 👍 on it is stored as feedback."""
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    room_id = await matrix_alice.create_room(invite=(bot, matrix_bob.user_id))
    await matrix_bob.join(room_id)
    await matrix_alice.wait_joined(room_id, bot)
    settings = await matrix_alice.send_text(room_id, "!footnote settings mode react")
    assert "react" in (await matrix_alice.wait_reply(settings, bot)).content["body"]
    event_id = await matrix_alice.send_text(room_id, SHORTISH)
    await matrix_bob.wait_for(lambda r: r.type == "m.reaction" and r.sender == bot
                              and r.content["m.relates_to"] == {"rel_type": "m.annotation",
                                                                "event_id": event_id, "key": SEARCH},
                              what="the bot's 🔎")
    assert matrix_alice.replies_to(event_id, bot) == []
    await matrix_bob.react(room_id, event_id, SEARCH)
    reply = await matrix_alice.wait_for(lambda r: is_notice_reply(r, event_id, bot), what="the 🔎 answer")
    await matrix_alice.react(room_id, reply.event_id, UP)
    await probe(matrix_alice, room_id, matrix_bot)
    assert matrix_bot.app is not None
    rows = await matrix_bot.app.storage.feedback_rows()
    assert any(reply.event_id in map(str, row) for row in rows), rows


async def test_encrypted_room_gets_an_encrypted_answer(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, synapse_server: SynapseServer,
        caplog: pytest.LogCaptureFixture) -> None:
    """The bot decrypts a claim in an encrypted room and answers it encrypted; an undecryptable event
    before it is logged and skipped."""
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    room_id = await room_with_bot(matrix_alice, matrix_bot, encrypted=True)
    await matrix_alice.ensure_devices(bot)
    bogus = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEnB", "sender_key": "a" * 43,
             "session_id": "b" * 43, "device_id": "NOPE"}
    await asyncio.to_thread(synapse_server.request, "PUT",
                            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.encrypted/bogus-1", bogus,
                            matrix_alice.client.access_token)
    event_id = await matrix_alice.send_text(room_id, CLAIM)
    reply = await matrix_alice.wait_reply(event_id, bot)
    assert reply.encrypted, "the answer arrived unencrypted"
    assert reply.content["msgtype"] == "m.notice"
    assert "Sources" in reply.content["body"]
    assert "cannot decrypt" in caplog.text


async def test_homeserver_restart_is_survived_without_duplicates(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, synapse_server: SynapseServer) -> None:
    """The bot reconnects after Synapse restarts, answers new claims, and answers old ones only once."""
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    room_id = await room_with_bot(matrix_alice, matrix_bot)
    before = await matrix_alice.send_text(room_id, CLAIM)
    await matrix_alice.wait_reply(before, bot)
    await asyncio.to_thread(synapse_server.restart)
    assert matrix_bot.adapter is not None
    for _ in range(200):
        if matrix_bot.adapter.is_connected and matrix_bot.status.get("last_sync", 0) > 0:
            break
        await asyncio.sleep(0.1)
    after = await matrix_alice.send_text(room_id, CLAIM_2)
    await matrix_alice.wait_reply(after, bot, timeout=30)
    await probe(matrix_alice, room_id, matrix_bot)
    assert len(matrix_alice.replies_to(before, bot)) == 1
    assert len(matrix_alice.replies_to(after, bot)) == 1


# ---------------------------------------------------------------------------------- no homeserver needed


class _FakeRoomSend:
    """Stands in for ``AsyncClient.room_send``: returns the queued results in order."""

    def __init__(self, results: list[object]) -> None:
        self.results = results
        self.calls: list[str] = []

    async def room_send(self, room_id: str, event_type: str, content: dict[str, object], *, tx_id: str,
                        ignore_unverified_devices: bool) -> object:
        self.calls.append(tx_id)
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


async def test_sender_honours_retry_after_and_logs_an_answer_it_cannot_send(
        caplog: pytest.LogCaptureFixture) -> None:
    """429s wait retry_after_ms, retries reuse one transaction id, and giving up is logged as NOT SENT."""
    limited = RoomSendError("Too many requests", "M_LIMIT_EXCEEDED", retry_after_ms=1500)
    fake = _FakeRoomSend([limited, aiohttp.ClientConnectionError("down"), RoomSendResponse("$sent", "!r")])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    sender = Sender(fake, attempts=3, first_wait=0.5, sleep=sleep)  # type: ignore[arg-type]
    assert await sender.send("!r", "m.room.message", {}, txn="t1", what="reply to $x") == "$sent"
    assert waits == [1.5, 3.0] and fake.calls == ["t1", "t1", "t1"]

    fake.results = [limited, limited, limited]
    assert await sender.send("!r", "m.room.message", {}, txn="t2", what="reply to $y") is None
    assert "reply to $y in !r NOT SENT after 3 attempt(s)" in caplog.text


def test_reply_fallback_and_mx_reply_are_stripped() -> None:
    """Quoted lines and <mx-reply> blocks never reach the matcher."""
    body = "<mx-reply><blockquote>old</blockquote></mx-reply>> <@bot:x> China gives everyone a score\n>\n\nok"
    assert mx.strip_reply_fallback(body) == "ok"


def test_edit_keeps_the_original_id_and_new_text() -> None:
    """An edit becomes an is_edit Message for the edited event, with the new text."""
    content = {"msgtype": "m.text", "body": "* new", "m.new_content": {"msgtype": "m.text", "body": "new"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"}}
    msg = mx.message_from_content(room_id="!r", sender="@a:x", event_id="$edit", timestamp_ms=1000,
                                  content=content, bot_user_id="@bot:x")
    assert msg is not None and msg.is_edit and msg.message_id == "$orig" and msg.text == "new"


def test_commands_need_the_footnote_prefix_except_source_claims_explain() -> None:
    """``!stats`` may belong to another bot; ``!footnote stats`` and ``!source x`` are ours."""
    assert mx.parse_matrix_command("!stats") is None
    assert mx.parse_matrix_command("!footnote stats") == ("stats", "")
    assert mx.parse_matrix_command("!source sesame") == ("source", "sesame")
    cmd = mx.command_from_text(("explain", ""), room_id="!r", sender="@a:x", timestamp_ms=0,
                               content={"m.relates_to": {"m.in_reply_to": {"event_id": "$target"}}},
                               is_moderator=False)
    assert cmd.target_message_id == "$target"


def test_room_v12_creators_and_allowlist() -> None:
    """Creators (sender + additional_creators) are moderators; the allow-list takes users and servers."""
    creators = mx.room_creators({"sender": "@a:x", "content": {"additional_creators": ["@b:y"]}})
    assert creators == {"@a:x", "@b:y"}
    assert mx.is_moderator("@b:y", 0, creators=creators, admins=[])
    assert not mx.is_moderator("@c:x", 0, creators=creators, admins=[])
    assert mx.is_moderator("@c:x", 50, creators=creators, admins=[])
    assert mx.invite_allowed("@c:example.org", [])
    assert mx.invite_allowed("@c:example.org", [":example.org"])
    assert not mx.invite_allowed("@c:evil.org", ["example.org", "@d:evil.org"])
    assert mx.normalise_emoji("👍️") == "👍"
