"""Footnote's Matrix log at shutdown, against the real Synapse the other end-to-end tests use."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.synapse.fixtures import BotRunner

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

pytest_plugins = ["tests.synapse.fixtures"]
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
