"""Flood through the Matrix adapter: two people flood one room on the real Synapse the bot is in.

A homeserver on two cores cannot take 10,000 events in ten seconds, so the flood is as large as fits in
about twenty seconds: Alice and Bob send 1,000 messages through real matrix-nio clients, at most 16
requests in flight. One message in ten states a claim (an example from the knowledge base; Alice posts two
thirds of them). Twenty claims are sent twice with one transaction id, as a client retrying a request does,
and twenty others are edited right after they are sent. The bot runs with Footnote's default caps (the
shared fixture relaxes them for the other Matrix tests).

Measured on the 2-core test machine: Synapse accepted the 1,040 requests (1,020 events) in about 16 s,
about 60 events a second; a probe command sent after each fifth was answered within 0.1 to 0.3 s. What the
bot holds (everything reachable from the adapter and the app) grew by about 11 KB from the end of the first
fifth to the end. The module takes about 22 s, Synapse start-up included.

This flood found a real bug: the bot once took in only 944 of the 1,020 events, because its syncs asked for
no timeline limit (Synapse's default is ten events per room) and never paged back over a limited timeline's
gap. The adapter now asks for 100 events per room and fetches any gap with /messages; the test that every
event reaches the adapter guards it.

Assertions are about the room's history as the server returns it (/messages, not a client's sync stream,
which has the same gaps), plus the bot's own tables. The bot sends each answer with a transaction id
derived from the event it answers, so the homeserver would swallow a second identical send; the replies
table shows whether the bot ever decided to answer twice.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import sqlite3
import sys
import time
import types
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from nio import MessageDirection, RoomMessagesResponse, RoomSendResponse

from bot.config import Config, PolicyConfig
from tests.synapse.fixtures import BotRunner
from tests.synapse.matrix_user import MatrixUser, Received

if TYPE_CHECKING:
    from tests.synapse.server import RegisteredUser, SynapseServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

FLOOD_SENDS = 1000
CONCURRENCY = 16
FIFTH = FLOOD_SENDS // 5
CLAIM_EVERY = 10
RETRY_EVERY = 50  # message 0, 50, 100... (a claim) is sent twice with one transaction id
EDIT_EVERY, EDIT_AT = 50, 20  # message 20, 70, 120... (a claim) is edited right after it is sent
#: Bytes the bot may gain between the end of the first fifth and the end. Keeping every event it sees would
#: add about 1.2 KB an event (1 MB over this flood); a flat bot gains a few KB.
MEMORY_BUDGET = 256 * 1024
CHATTER = (  # as in tests/test_flood.py
    "lol", "anyone up for ranked tonight?", "brb coffee", "did you see the match yesterday",
    "my cat just knocked over my monitor", "what time is the meeting", "good morning everyone",
    "ok that's hilarious", "can someone review my PR", "the new patch notes are out",
    "who wants pizza", "that build is broken again", "gg", "see you all tomorrow", "nice one",
)


class DefaultCapsBot(BotRunner):
    """The shared bot runner, but with Footnote's default caps and cooldown."""

    def config(self) -> Config:
        return super().config().model_copy(update={"policy": PolicyConfig()})


@dataclass
class MatrixFlood:
    """What happened: who sent which event, what the bot sent back, the bot's records and memory."""

    bot: str = ""
    room_id: str = ""
    sender_of: dict[str, str] = field(default_factory=dict)  # event id -> user id
    claims: set[str] = field(default_factory=set)  # event ids of claim messages
    edited: set[str] = field(default_factory=set)
    retried: set[str] = field(default_factory=set)
    probes: set[str] = field(default_factory=set)
    send_calls: int = 0
    send_seconds: float = 0.0
    catch_up_seconds: float = 0.0
    in_room: set[str] = field(default_factory=set)  # event ids of the people's messages in the room history
    notices: list[Received] = field(default_factory=list)
    reactions: list[Received] = field(default_factory=list)
    reply_rows: list[tuple[str, str, str]] = field(default_factory=list)  # (message id, author, action)
    processed: set[str] = field(default_factory=set)  # event ids the adapter took in (its dedupe table)
    memory_at: dict[int, int] = field(default_factory=dict)  # sends so far -> bytes the bot holds

    def claim_of(self, notice: Received) -> str:
        """The claim a notice answers, from its "More: !source <id>" line."""
        return notice.content["body"].rsplit("!source ", 1)[-1].split()[0]


async def _send(user: MatrixUser, room_id: str, content: dict[str, Any], txn: str | None = None) -> str:
    resp = await user.client.room_send(room_id, "m.room.message", content, tx_id=txn)
    assert isinstance(resp, RoomSendResponse), f"send failed: {resp}"
    return str(resp.event_id)


async def _flood_message(flood: MatrixFlood, n: int, user: MatrixUser, text: str, claim: bool) -> None:
    """Send flood message ``n``: once, twice with one transaction id, or followed by its edit."""
    content = {"msgtype": "m.text", "body": text}
    if claim and n % RETRY_EVERY == 0:
        txn = f"flood-retry-{n}-{time.monotonic_ns()}"
        first, again = await asyncio.gather(_send(user, flood.room_id, content, txn),
                                            _send(user, flood.room_id, content, txn))
        assert first == again, "the homeserver made two events of one transaction"
        flood.retried.add(first)
        flood.send_calls += 2
    else:
        first = await _send(user, flood.room_id, content)
        flood.send_calls += 1
    flood.sender_of[first] = user.user_id
    if claim:
        flood.claims.add(first)
    if claim and n % EDIT_EVERY == EDIT_AT:
        edit = {"msgtype": "m.text", "body": f"* {text}!", "m.new_content": {"msgtype": "m.text", "body": f"{text}!"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": first}}
        flood.sender_of[await _send(user, flood.room_id, edit)] = user.user_id
        flood.edited.add(first)
        flood.send_calls += 1


async def _room_history(user: MatrixUser, room_id: str) -> list[Received]:
    """Every event of the room, oldest first, paged back from the server with /messages.

    Not what the user's sync stream delivered: an incremental sync carries at most ten timeline events
    per room (a "limited" timeline), so under a flood a syncing client does not see every event.
    """
    events: list[Received] = []
    token = user.client.next_batch
    while True:
        resp = await user.client.room_messages(room_id, start=token, direction=MessageDirection.back, limit=500)
        assert isinstance(resp, RoomMessagesResponse), f"/messages failed: {resp}"
        events += [Received(room_id, event) for event in resp.chunk]
        if not resp.chunk or not resp.end:
            return events[::-1]
        token = resp.end


async def _probe(flood: MatrixFlood, user: MatrixUser) -> None:
    """``!claims`` and its answer: the bot handles a room in order, so everything before it is handled."""
    event_id = await user.send_text(flood.room_id, "!claims")
    flood.probes.add(event_id)
    await user.wait_reply(event_id, flood.bot, timeout=60)


#: Not followed when measuring what the bot holds: shared code and the event loop, and in-flight work
#: (coroutines, frames, futures), which is not state the bot keeps.
_NOT_STATE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
              types.CodeType, types.FrameType, types.CoroutineType, types.GeneratorType, types.TracebackType,
              asyncio.AbstractEventLoop, asyncio.Future, logging.Logger, logging.Handler)


def _held_by(roots: list[object], outside: list[object]) -> int:
    """Bytes of every object reachable from ``roots`` (sys.getsizeof), not going through ``outside``."""
    seen = {id(vars(module)) for module in list(sys.modules.values()) if hasattr(module, "__dict__")}
    seen.update(id(o) for o in outside)
    total, todo = 0, list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, _NOT_STATE):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        todo.extend(gc.get_referents(obj))
    return total


async def _run_flood(server: SynapseServer, accounts: dict[str, RegisteredUser], workdir: Path) -> MatrixFlood:
    runner = DefaultCapsBot(server, accounts["bot"], workdir / "bot")
    runner.workdir.mkdir()
    flood = MatrixFlood(bot=accounts["bot"].user_id)
    alice = MatrixUser(server.url, accounts["alice"].user_id, accounts["alice"].password, workdir / "alice")
    bob = MatrixUser(server.url, accounts["bob"].user_id, accounts["bob"].password, workdir / "bob")
    try:
        await runner.start()
        await alice.start()
        await bob.start()
        flood.room_id = await alice.create_room(invite=(flood.bot, bob.user_id), name="flood")
        await bob.join(flood.room_id)
        await alice.wait_joined(flood.room_id, flood.bot)
        assert runner.app is not None
        claims = [c for c in runner.app.engine.kb.claims.values() if c.auto_reply == "reply"]
        examples = [text for claim in claims for text in claim.examples]
        rng = random.Random(7)
        plan = [(alice if (n // CLAIM_EVERY) % 3 else bob, rng.choice(examples), True) if n % CLAIM_EVERY == 0
                else (rng.choice((alice, bob)), rng.choice(CHATTER), False) for n in range(FLOOD_SENDS)]
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(n: int) -> None:
            async with gate:
                await _flood_message(flood, n, *plan[n])

        for fifth in range(5):
            started = time.monotonic()
            await asyncio.gather(*(one(n) for n in range(fifth * FIFTH, (fifth + 1) * FIFTH)))
            flood.send_seconds += time.monotonic() - started
            started = time.monotonic()
            await _probe(flood, alice)
            flood.catch_up_seconds = time.monotonic() - started
            if fifth in (0, 4):
                gc.collect()
                held = _held_by([runner.adapter, runner.app], outside=[alice, bob, flood])
                flood.memory_at[(fifth + 1) * FIFTH] = held
        history = await _room_history(alice, flood.room_id)
        people = (alice.user_id, bob.user_id)
        flood.in_room = {r.event_id for r in history if r.sender in people and r.type == "m.room.message"}
        from_bot = [r for r in history if r.sender == flood.bot]
        flood.notices = [r for r in from_bot if r.type == "m.room.message" and r.reply_to not in flood.probes]
        flood.reactions = [r for r in from_bot if r.type == "m.reaction"]
    finally:
        for user in (alice, bob):
            await user.stop()
        await runner.stop()
    with sqlite3.connect(runner.config().database) as db:
        flood.reply_rows = db.execute("SELECT message_id, author_id, action FROM replies").fetchall()
        flood.processed = {row[0] for row in db.execute(
            "SELECT event_id FROM processed WHERE platform = 'matrix-event'")}
    return flood


@pytest.fixture(scope="module")
def flood(synapse_server: SynapseServer, synapse_accounts: dict[str, RegisteredUser],
          tmp_path_factory: pytest.TempPathFactory) -> MatrixFlood:
    """The flood, run once for every test in this module."""
    return asyncio.run(_run_flood(synapse_server, synapse_accounts, tmp_path_factory.mktemp("matrix-flood")))


def test_every_message_of_the_flood_reaches_the_room(flood: MatrixFlood) -> None:
    """All 1,000 flood messages and their edits are in the room; retried sends made one event each."""
    assert len(flood.sender_of) == FLOOD_SENDS + len(flood.edited)
    assert set(flood.sender_of) <= flood.in_room
    assert len(flood.claims) == FLOOD_SENDS // CLAIM_EVERY
    assert flood.retried and flood.edited
    assert flood.send_calls == len(flood.sender_of) + len(flood.retried)


def test_the_bot_takes_in_every_message_of_the_flood(flood: MatrixFlood) -> None:
    """Every message and edit of the flood goes through the adapter (its processed-event table)."""
    missed = set(flood.sender_of) - flood.processed
    assert not missed, f"{len(missed)} of {len(flood.sender_of)} events never reached the adapter, " \
                       f"{len(missed & flood.claims)} of them claims"


def test_notices_stay_within_the_room_cap(flood: MatrixFlood) -> None:
    """At most six answers in the room, all of them m.notice replies that mention nobody."""
    assert 0 < len(flood.notices) <= PolicyConfig().channel_per_hour
    assert all(n.content["msgtype"] == "m.notice" and n.content["m.mentions"] == {} for n in flood.notices)


def test_notices_stay_within_the_user_cap_and_each_person_gets_theirs(flood: MatrixFlood) -> None:
    """Each of the two people gets exactly three answers: the cap binds, and the flood does not starve anyone."""
    per_user = Counter(flood.sender_of[n.reply_to or ""] for n in flood.notices)
    cap = PolicyConfig().user_per_hour
    assert per_user == Counter(dict.fromkeys(set(flood.sender_of.values()), cap)), per_user


def test_each_claim_is_answered_once_within_the_cooldown(flood: MatrixFlood) -> None:
    """No claim is answered twice in the room within the 30-minute cooldown."""
    claims = Counter(flood.claim_of(n) for n in flood.notices)
    assert all(count == 1 for count in claims.values()), claims


def test_no_event_is_answered_twice(flood: MatrixFlood) -> None:
    """Every answered event has one notice or 🔎 in the room and one row in the bot's replies table."""
    answered = Counter([n.reply_to for n in flood.notices]
                       + [r.content["m.relates_to"]["event_id"] for r in flood.reactions])
    assert all(count == 1 for count in answered.values()), answered
    assert set(answered) <= flood.claims, "an answer to something that was not a claim"
    rows = Counter(message_id for message_id, _, _ in flood.reply_rows)
    assert all(count == 1 for count in rows.values()), rows
    assert set(rows) == set(answered)


def test_bot_memory_stays_bounded(flood: MatrixFlood) -> None:
    """What the bot holds grows by less than 256 KB between the first fifth of the flood and its end."""
    growth = flood.memory_at[FLOOD_SENDS] - flood.memory_at[FIFTH]
    assert growth < MEMORY_BUDGET, {n: f"{b / 1e6:.2f} MB" for n, b in flood.memory_at.items()}
