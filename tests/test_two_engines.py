"""Two engines on one database, as two bot processes would be, deciding at the same moment (both backends)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
from conftest import message, reaction

from bot.app import open_app
from bot.messages import SEARCH_EMOJI, Nothing, React, Reply

MEME = "lmao -1000 social credit for you, comrade, the party is watching"
CLAIMS = ["china gives everyone a single social credit score right?",
          "millions of chinese people are banned from flights and trains because their social credit score is low",
          "in china if your friends have a low social credit score then your own score goes down too",
          "sesame credit is just the chinese government's social credit system",
          "a chinese city confiscates your dog if you lose all your dog points",
          "the social credit system mostly targets companies, not individuals",
          "china already has a national social credit law",
          "rongcheng gives every resident 1000 points in its social credit pilot"]


@pytest.fixture
def database(any_database):
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_database


@pytest.fixture
async def engines(config, brain):
    """Two engines, each with its own connection(s) to the same database."""
    async with AsyncExitStack() as stack:
        apps = [await stack.enter_async_context(open_app(config, brain)) for _ in range(2)]
        yield [app.engine for app in apps]


async def test_a_message_both_see_is_answered_once(engines):
    """The same message delivered to both at once gets one answer between them."""
    for n in range(5):
        msg = message(CLAIMS[n], channel=f"both{n}", message_id=f"shared-{n}")
        results = await asyncio.gather(*(engine.handle_message(msg) for engine in engines))
        actions = [a for [a] in results]
        assert sum(isinstance(a, Reply) for a in actions) == 1, actions
        assert Nothing("message already handled") in actions


async def test_one_search_reaction_becomes_one_answer(engines):
    """Readers clicking 🔎 through both processes at once get the answer posted once."""
    [offer] = await engines[0].handle_message(message(MEME, message_id="meme-shared"))
    assert isinstance(offer, React)
    clicks = [engine.handle_reaction(reaction("meme-shared", SEARCH_EMOJI, user=f"reader{i}"))
              for i in range(3) for engine in engines]
    answers = [a for result in await asyncio.gather(*clicks) for a in result]
    assert len(answers) == 1 and isinstance(answers[0], Reply)


async def test_the_channel_cap_holds_when_both_decide(engines):
    """Eight claims in one channel, decided by two processes at once, get at most six answers."""
    msgs = [message(text, author=f"user{i}", channel="capped", ts=5000.0 + i) for i, text in enumerate(CLAIMS)]
    results = await asyncio.gather(*(engines[i % 2].handle_message(m) for i, m in enumerate(msgs)))
    replies = sum(isinstance(a, Reply) for [a] in results)
    assert 0 < replies <= 6
