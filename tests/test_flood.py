"""Flood: 10,000 messages into one channel within ten simulated seconds, straight through the engine.

The flood runs once per module (it takes a few seconds) and each test checks one promise about it: the
hourly caps and the per-claim cooldown hold, no message id is answered twice even when it arrives again,
and memory stays flat while the flood goes on. The adapters' own flood tests live in their e2e suites.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from bot.app import open_app
from bot.config import Config
from bot.messages import Message, React, Reply

DEV_SET = Path(__file__).resolve().parent / "data" / "chat_dev.yaml"
T0 = 1_700_000_000.0
TOTAL = 10_000
SPACING = 0.001  # 10,000 messages in ten simulated seconds
#: One message in 25 states a claim (400 in all). Chatter right after a claim is scored too (the channel is
#: on topic), so denser claims mostly cost SQLite time, not coverage.
CLAIM_EVERY = 25
#: One in 50 is a near miss from the dev set (other meanings of "credit", China talk without a claim).
NEAR_MISS_EVERY = 50
CHANNEL = "flood"
#: Claim messages are shared between a few people; "spammer" posts half of them, so the per-person cap binds.
CLAIM_AUTHORS = ("spammer", "bob", "spammer", "carol", "spammer", "dave")
CHATTER = (
    "lol", "anyone up for ranked tonight?", "brb coffee", "did you see the match yesterday",
    "my cat just knocked over my monitor", "what time is the meeting", "good morning everyone",
    "ok that's hilarious", "can someone review my PR", "the new patch notes are out",
    "who wants pizza", "that build is broken again", "gg", "see you all tomorrow", "nice one",
    "is the server down for anyone else", "I finally finished that book", "raining here all week",
)
MEMORY_BUDGET = 5 * 1024 * 1024  # bytes of growth allowed between the 2nd and the 10th thousand


@dataclass
class FloodResult:
    """What came out of the flood: every action with its message, plus memory and database snapshots."""

    actions: list[tuple[Message, Reply | React]] = field(default_factory=list)
    sent: int = 0
    duplicates_sent: int = 0
    memory_at: dict[int, int] = field(default_factory=dict)
    reply_rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    integrity: str = ""

    @property
    def replies(self) -> list[tuple[Message, Reply]]:
        return [(m, a) for m, a in self.actions if isinstance(a, Reply)]


def _dev_texts() -> tuple[list[str], list[str]]:
    """(claim messages, near-miss chatter) from the dev set; follow-ups that need context are left out."""
    data = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))
    claims = [d["text"] for d in data if d.get("label") and not d.get("context")]
    negatives = [d["text"] for d in data if not d.get("label") and not d.get("context")]
    return claims, negatives


def _flood_messages(rng: random.Random) -> list[Message]:
    """10,000 messages, 1 ms apart: claims, near misses and chatter; every 20th repeats an earlier id."""
    claims, negatives = _dev_texts()
    out: list[Message] = []
    for i in range(TOTAL):
        ts = T0 + i * SPACING
        if i % 20 == 19 and out:  # the platform delivers an earlier message again (same id, same text)
            earlier = out[rng.randrange(max(0, len(out) - 50), len(out))]
            out.append(Message(platform="test", channel_id=CHANNEL, author_id=earlier.author_id,
                               message_id=earlier.message_id, text=earlier.text, timestamp=ts))
            continue
        if i % CLAIM_EVERY == 0:
            text, author = rng.choice(claims), CLAIM_AUTHORS[(i // CLAIM_EVERY) % len(CLAIM_AUTHORS)]
        elif i % NEAR_MISS_EVERY == 1:
            text, author = rng.choice(negatives), f"user{rng.randrange(40)}"
        else:
            text, author = rng.choice(CHATTER), f"user{rng.randrange(40)}"
        out.append(Message(platform="test", channel_id=CHANNEL, author_id=author, message_id=f"m{i}",
                           text=text, timestamp=ts))
    return out


async def _run_flood(database: Path) -> FloodResult:
    result = FloodResult()
    messages = _flood_messages(random.Random(7))
    seen: set[str] = set()
    async with open_app(Config(database=database)) as app:
        tracemalloc.start()
        try:
            for n, msg in enumerate(messages, start=1):
                result.duplicates_sent += msg.message_id in seen
                seen.add(msg.message_id)
                for action in await app.engine.handle_message(msg):
                    if isinstance(action, Reply | React):
                        result.actions.append((msg, action))
                result.sent += 1
                if n % 1000 == 0:
                    result.memory_at[n] = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert await app.storage.integrity_ok()
    with sqlite3.connect(database) as db:
        result.reply_rows = db.execute("SELECT message_id, author_id, claim_id, action FROM replies").fetchall()
        result.integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    return result


@pytest.fixture(scope="module")
def flood(tmp_path_factory: pytest.TempPathFactory) -> FloodResult:
    """The flood, run once for every test in this module."""
    return asyncio.run(_run_flood(tmp_path_factory.mktemp("flood") / "db.sqlite3"))


def test_flood_delivers_every_message_including_repeats(flood: FloodResult) -> None:
    """All 10,000 messages reach the engine, hundreds of them repeats of an id already seen."""
    assert flood.sent == TOTAL
    assert flood.duplicates_sent >= 400


def test_flood_gets_answered_at_all(flood: FloodResult) -> None:
    """Claims in the flood still get answers: the caps limit the bot, they do not silence it."""
    assert flood.replies, "not one reply to 400 claim messages"


def test_flood_replies_stay_within_channel_cap(flood: FloodResult) -> None:
    """At most six replies in the channel: the whole flood falls inside one hour."""
    config = Config()
    assert len(flood.replies) <= config.policy.channel_per_hour


def test_flood_replies_stay_within_user_cap(flood: FloodResult) -> None:
    """Nobody gets more than three replies in the hour, not even the person posting half the claims."""
    per_user = Counter(msg.author_id for msg, _ in flood.replies)
    assert max(per_user.values(), default=0) <= Config().policy.user_per_hour, per_user


def test_flood_answers_each_claim_once_per_cooldown(flood: FloodResult) -> None:
    """Each claim is answered or offered (🔎) at most once in the channel within the 30-minute cooldown."""
    claims = Counter(a.answer.claim.id if isinstance(a, Reply) else a.claim_id for _, a in flood.actions)
    assert all(count == 1 for count in claims.values()), claims


def test_flood_answers_no_message_id_twice(flood: FloodResult) -> None:
    """Repeated deliveries of a message id never produce a second reply or 🔎."""
    ids = Counter(msg.message_id for msg, _ in flood.actions)
    assert all(count == 1 for count in ids.values()), [i for i, c in ids.items() if c > 1]
    assert all(action.message.message_id == msg.message_id for msg, action in flood.actions)


def test_flood_database_matches_what_was_said(flood: FloodResult) -> None:
    """The replies table holds exactly the answers and offers the engine returned, and is intact."""
    assert flood.integrity == "ok"
    returned = sorted((m.message_id, m.author_id, "reply" if isinstance(a, Reply) else "react")
                      for m, a in flood.actions)
    stored = sorted((message_id, author, action) for message_id, author, _, action in flood.reply_rows)
    assert stored == returned


def test_flood_memory_stays_flat(flood: FloodResult) -> None:
    """Traced memory grows by less than 5 MB between the 2,000th and the 10,000th message."""
    growth = flood.memory_at[10_000] - flood.memory_at[2_000]
    assert growth < MEMORY_BUDGET, {n: f"{b / 1e6:.1f} MB" for n, b in flood.memory_at.items()}
