"""Footnote's Matrix log at shutdown, against the real Synapse the other end-to-end tests use."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.synapse.fixtures import BotRunner


pytestmark = pytest.mark.e2e


async def test_a_clean_shutdown_does_not_promise_a_reconnect(matrix_bot: BotRunner,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """Stopping the bot logs 'disconnected (shutting down)', never 'will reconnect'."""
    caplog.set_level(logging.INFO, logger="bot.adapters.matrix_bot")
    await matrix_bot.start()
    assert "matrix: connected" in caplog.text
    await matrix_bot.stop()
    assert "matrix: disconnected (shutting down)" in caplog.text
    assert "will reconnect" not in caplog.text
