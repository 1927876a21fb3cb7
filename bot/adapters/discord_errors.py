"""Discord failures made fit for an operator: an unreachable Discord is one line per retry, never a traceback,
both from Footnote's supervisor (:class:`DiscordConnectionError`) and from discord.py's own reconnect loop."""

from __future__ import annotations

import logging

import aiohttp
import discord

from ..errors import FootnoteError

__all__ = ["CONNECTION_ERRORS", "DiscordConnectionError", "quiet_discord_logs"]

#: What an unreachable or failing Discord raises from login or connect (not a rejected token).
CONNECTION_ERRORS = (OSError, aiohttp.ClientError, TimeoutError, discord.GatewayNotFound, discord.DiscordServerError)


class DiscordConnectionError(FootnoteError):
    """Discord could not be reached (network, DNS, an outage); the runner retries with backoff."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"cannot reach Discord ({type(cause).__name__}: {cause}); the network or Discord is down")


_RETRY_LINES = ("Attempting a reconnect", "Failed to connect for shard")


class _OneLineRetries(logging.Filter):
    """discord.py logs a full traceback on every gateway reconnect attempt; a failing connection is one
    line per retry (what failed and when it retries), which is all an operator can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "voice will NOT be supported" in str(record.msg):  # Footnote never uses voice
            return False
        if record.exc_info and record.exc_info[1] is not None and str(record.msg).startswith(_RETRY_LINES):
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


_FILTER = _OneLineRetries()


def quiet_discord_logs() -> None:
    """Install the filter on discord.py's client and shard loggers (idempotent)."""
    for name in ("discord.client", "discord.shard"):
        logging.getLogger(name).addFilter(_FILTER)
