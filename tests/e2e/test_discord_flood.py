"""Flood through the Discord adapter: 10,000 MESSAGE_CREATE events into one channel in ten seconds.

The unmodified discord.py client, driven by the real adapter and engine, reads the flood from the local fake
Discord (tests/fakediscord); every assertion is about what reached the fake's REST API. The events are
paced at one per millisecond of wall time: claim messages taken from the knowledge base's own examples
(half of them from one "spammer"), near misses from the dev set, chatter, and gateway re-deliveries of
messages already sent (the same payload and message id again, 1,160 of them). Every claim message arrives
twice more, three events later (racing its own handling) and a thousand events later; every near miss
arrives twice.

Measured on the 2-core test machine, so the full 10,000 fit: the fake sends the flood in 10.0 s (1.7 s
unpaced). Without tracemalloc the bot has decided on the last message 0.7 s after it arrived; with
tracemalloc running, as this module needs for the memory check, decisions lag and finish about 11 s after
the flood ends. The module takes 25 to 31 s (start-up, flood, catching up, two snapshots, shutdown).

The flood runs once per module and each test checks one promise about it, as tests/test_flood.py does for
the engine alone.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import metrics
from bot.app import open_app
from bot.config import Config, DiscordConfig, PolicyConfig
from tests.fakediscord import FakeDiscord, WireRequest
from tests.fakediscord.payloads import FakeUser
from tests.fakediscord.running import RunningBot, point_discord_py_at, start_bot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "chat_dev.yaml"
TOTAL = 10_000
SPACING = 0.001  # seconds of wall time between two gateway events: 10,000 in ten seconds
CLAIM_EVERY = 25  # 400 claim messages
NEAR_MISS_EVERY = 50
SOON, LATER = 3, 1000  # each claim message is delivered again this many events after it first arrived
RANDOM_REPEAT_EVERY = 50  # and now and then any recent message is delivered again
FIRST_FIFTH = TOTAL // 5
MEMORY_BUDGET = 5 * 1024 * 1024  # bytes of growth allowed between the end of the first and the last fifth
CLAIM_AUTHORS = ("spammer", "bob", "spammer", "carol", "spammer", "dave")
CHATTER = (  # as in tests/test_flood.py
    "lol", "anyone up for ranked tonight?", "brb coffee", "did you see the match yesterday",
    "my cat just knocked over my monitor", "what time is the meeting", "good morning everyone",
    "ok that's hilarious", "can someone review my PR", "the new patch notes are out",
    "who wants pizza", "that build is broken again", "gg", "see you all tomorrow", "nice one",
    "is the server down for anyone else", "I finally finished that book", "raining here all week",
)
NO_PINGS = {"parse": [], "replied_user": False}
SEARCH = "🔎"


@dataclass(frozen=True)
class Planned:
    """One gateway event of the flood: a new message (author, text) or a re-delivery of an earlier one."""

    author: str = ""
    text: str = ""
    again: int | None = None  # index of the earlier event whose message is delivered again


@dataclass
class DiscordFlood:
    """What happened: the messages posted, the events dispatched, the wire afterwards, memory snapshots."""

    posted: dict[str, dict[str, Any]] = field(default_factory=dict)  # message id -> payload
    deliveries: Counter[str] = field(default_factory=Counter)  # message id -> MESSAGE_CREATE events sent
    dispatched: int = 0
    reached_engine: int = 0
    dispatch_seconds: float = 0.0  # wall time the fake took to send the flood
    drain_seconds: float = 0.0  # how much longer the bot needed to finish with it
    memory_at: dict[int, int] = field(default_factory=dict)  # events dispatched -> traced bytes
    replies: list[WireRequest] = field(default_factory=list)
    reactions: list[WireRequest] = field(default_factory=list)
    other_requests: list[WireRequest] = field(default_factory=list)

    def replied_to(self, request: WireRequest) -> str:
        return str((request.body.get("message_reference") or {}).get("message_id"))

    def reacted_to(self, request: WireRequest) -> str:
        return request.path.split("/messages/")[1].split("/")[0]


def _plan(examples: list[str], near_misses: list[str], rng: random.Random) -> list[Planned]:
    """10,000 events: claims, near misses, chatter, and re-deliveries of earlier messages."""
    plan: list[Planned] = []
    for i in range(TOTAL):
        if i % CLAIM_EVERY == 0 or (i + 1) % FIRST_FIFTH == 0:  # a fifth ends with a claim (see _drained)
            text = rng.choice(examples)
            author = CLAIM_AUTHORS[(i // CLAIM_EVERY) % len(CLAIM_AUTHORS)]
            plan.append(Planned(author, text))
        elif i % CLAIM_EVERY == SOON:
            plan.append(Planned(again=i - SOON))
        elif i % CLAIM_EVERY == 13 and i - 13 - LATER >= 0:
            plan.append(Planned(again=i - 13 - LATER))
        elif i % RANDOM_REPEAT_EVERY == 7:
            earlier = rng.randrange(max(0, i - 100), i)
            plan.append(Planned(again=plan[earlier].again if plan[earlier].again is not None else earlier))
        elif i % NEAR_MISS_EVERY == 1 + SOON:
            plan.append(Planned(again=i - SOON))
        elif i % NEAR_MISS_EVERY == 1:
            plan.append(Planned(f"user{rng.randrange(40)}", rng.choice(near_misses)))
        else:
            plan.append(Planned(f"user{rng.randrange(40)}", rng.choice(CHATTER)))
    return plan


def _near_misses() -> list[str]:
    data = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))
    return [d["text"] for d in data if not d.get("label") and not d.get("context")]


def _engine_count() -> float:
    """Discord messages the engine has been handed so far (its own Prometheus counter)."""
    return metrics.REGISTRY.get_sample_value("footnote_messages_total", {"platform": "discord"}) or 0.0


def _bot_side_memory() -> int:
    """Traced bytes still held, except by the fake Discord (it keeps every frame for RESUME replays) and by
    this test's own records."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces([
        tracemalloc.Filter(False, "*/tests/fakediscord/*"),
        tracemalloc.Filter(False, __file__),
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
    ])
    return sum(stat.size for stat in snapshot.statistics("filename"))


async def _drained(bot: RunningBot, last_claim: dict[str, Any]) -> None:
    """Wait until the bot has finished with every event so far.

    Chatter the gate rejects is done at once; everything else queues, in gateway order, for the engine's
    decision lock. ``last_claim`` was the last event sent and queued last, so once the adapter reports it
    handled, every decision before it has been made.
    """
    await bot.handled("message", last_claim, timeout=60)


async def _run_flood(database: Path) -> DiscordFlood:
    flood = DiscordFlood()
    async with FakeDiscord() as fake, open_app(Config(database=database, policy=PolicyConfig())) as app:
        with point_discord_py_at(fake):
            guild = fake.add_guild("Flood server")
            channel = guild.channel.id
            claims = [c for c in app.engine.kb.claims.values() if c.auto_reply == "reply"]
            # Claims that open the topic gate: _drained relies on a claim queueing behind every decision before
            # it, which a message the gate turns away at once (an example with no topic word) does not.
            examples = [text for claim in claims for text in claim.examples
                        if app.engine.brain.matcher.gate_level(text) == 2]
            plan = _plan(examples, _near_misses(), random.Random(7))
            people: dict[str, FakeUser] = {}
            bot = await start_bot(app.engine, DiscordConfig(token=fake.token, guild_ids=[guild.id]))
            try:
                baseline = _engine_count()
                payloads: list[dict[str, Any]] = []
                tracemalloc.start()
                started, paused = time.monotonic(), 0.0
                for i, event in enumerate(plan):
                    due = started + paused + i * SPACING
                    if (wait := due - time.monotonic()) > 0:
                        await asyncio.sleep(wait)
                    if event.again is not None:
                        data = payloads[event.again]
                        await fake.dispatch("MESSAGE_CREATE", dict(data), guild_id=guild.id)
                    else:
                        author = people.get(event.author) or people.setdefault(
                            event.author, fake.add_user(event.author, guild=guild))
                        data = await fake.post_message(guild.channel, author, event.text)
                        flood.posted[data["id"]] = data
                    payloads.append(data)
                    flood.deliveries[data["id"]] += 1
                    flood.dispatched += 1
                    if flood.dispatched == FIRST_FIFTH:  # the client's message cache (1,000) is full by now
                        pause = time.monotonic()
                        await _drained(bot, data)
                        flood.memory_at[FIRST_FIFTH] = _bot_side_memory()
                        paused += time.monotonic() - pause
                flood.dispatch_seconds = time.monotonic() - started - paused
                await _drained(bot, payloads[-1])
                flood.drain_seconds = time.monotonic() - started - paused - flood.dispatch_seconds
                flood.memory_at[TOTAL] = _bot_side_memory()
                tracemalloc.stop()
                flood.reached_engine = int(_engine_count() - baseline)
            finally:
                tracemalloc.stop()
                await bot.stop()  # lets replies still in flight finish first
        messages = f"/channels/{channel}/messages"
        for request in fake.requests:
            if request.method == "POST" and request.path == messages:
                flood.replies.append(request)
            elif request.method == "PUT" and request.path.startswith(messages + "/"):
                flood.reactions.append(request)
            elif request.path.startswith("/channels/"):
                flood.other_requests.append(request)
    return flood


@pytest.fixture(scope="module")
def flood(tmp_path_factory: pytest.TempPathFactory) -> DiscordFlood:
    """The flood, run once for every test in this module."""
    return asyncio.run(_run_flood(tmp_path_factory.mktemp("discord-flood") / "footnote.sqlite3"))


def test_every_event_reaches_the_engine_including_redeliveries(flood: DiscordFlood) -> None:
    """All 10,000 gateway events, over a thousand of them re-deliveries, reach the engine through the client."""
    assert flood.dispatched == TOTAL
    assert flood.reached_engine == TOTAL, f"sent in {flood.dispatch_seconds:.1f} s, +{flood.drain_seconds:.1f} s"
    assert sum(flood.deliveries.values()) - len(flood.deliveries) >= 1000


def test_flood_gets_answered_at_all(flood: DiscordFlood) -> None:
    """The caps limit the bot, they do not silence it: claims in the flood still get replies."""
    assert flood.replies, "not one reply to 400 claim messages"


def test_replies_stay_within_the_channel_cap(flood: DiscordFlood) -> None:
    """At most six replies reach the channel (the flood falls inside one hour), and nothing else is written."""
    assert len(flood.replies) <= PolicyConfig().channel_per_hour
    assert flood.other_requests == [], "the bot wrote to Discord in a way this test does not know"


def test_replies_stay_within_the_user_cap(flood: DiscordFlood) -> None:
    """Nobody gets more than three replies, not even the spammer posting half the claims."""
    per_user = Counter(flood.posted[flood.replied_to(r)]["author"]["username"] for r in flood.replies)
    assert max(per_user.values(), default=0) <= PolicyConfig().user_per_hour, per_user


def test_each_claim_is_answered_once_within_the_cooldown(flood: DiscordFlood) -> None:
    """Every reply names a different claim: the 30-minute cooldown holds through the flood."""
    claims = Counter(r.body["embeds"][0]["footer"]["text"] for r in flood.replies)
    assert all(count == 1 for count in claims.values()), claims


def test_no_message_is_answered_twice_even_when_delivered_again(flood: DiscordFlood) -> None:
    """Each message gets at most one reply or 🔎, although every message answered arrived at least twice."""
    answered = Counter([flood.replied_to(r) for r in flood.replies] + [flood.reacted_to(r) for r in flood.reactions])
    assert all(count == 1 for count in answered.values()), [m for m, c in answered.items() if c > 1]
    assert set(answered) <= set(flood.posted), "an answer to a message nobody posted"
    assert all(flood.deliveries[mid] >= 2 for mid in answered), "the re-deliveries missed the answered messages"
    assert all(SEARCH in r.path for r in flood.reactions)


def test_replies_ping_nobody(flood: DiscordFlood) -> None:
    """Every reply carries allowed_mentions that ping no one, not even the person it answers."""
    assert [r.body.get("allowed_mentions") for r in flood.replies] == [NO_PINGS] * len(flood.replies)


def test_memory_stays_flat(flood: DiscordFlood) -> None:
    """The bot's traced memory grows by less than 5 MB between the first fifth of the flood and its end."""
    growth = flood.memory_at[TOTAL] - flood.memory_at[FIRST_FIFTH]
    assert growth < MEMORY_BUDGET, {n: f"{b / 1e6:.1f} MB" for n, b in flood.memory_at.items()}
