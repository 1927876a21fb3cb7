"""Hostile or broken input never crashes the engine, takes bounded time and gets no reply."""

from __future__ import annotations

import time

import pytest
from conftest import message

from bot.match.normalise import MAX_TEXT_CHARS, normalise
from bot.messages import Nothing

BAD_INPUTS = {
    "empty": "",
    "one megabyte": "social credit " * 80_000,
    "binary junk": "\x00\x01\x02\xff\ufffd" * 2000,
    "zero-width": "\u200b\u200c\u200d\ufeff" * 5000,
    "rtl override": "\u202e" * 5000 + "tiderc laicos",
    "10,000 emoji": "😀" * 10_000,
    "only mentions": "<@123> " * 3000,
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
async def test_bad_input_gets_no_reply_in_bounded_time(app, name):
    """No crash, no reply, and well under a tenth of a second per message."""
    text = BAD_INPUTS[name]
    assert len(normalise(text)) <= MAX_TEXT_CHARS
    start = time.perf_counter()
    actions = await app.engine.handle_message(message(text))
    assert time.perf_counter() - start < 0.1
    assert all(isinstance(a, Nothing) for a in actions)
