"""Sending to Matrix without losing answers: bounded retries, honest logs, idempotent transaction ids.

matrix-nio already sleeps ``retry_after_ms`` on a 429 and retries up to ``max_limit_exceeded`` times;
:class:`Sender` adds a few more attempts with back-off across connection errors (a homeserver restart),
and reuses one transaction id per (kind, event), so a retry of a send the server already accepted does
not post a second answer. When every attempt fails, it logs an error naming what was lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from nio import AsyncClient, RoomSendResponse
from nio.exceptions import LocalProtocolError, SendRetryError

__all__ = ["Sender", "txn_id"]

log = logging.getLogger(__name__)


def txn_id(kind: str, room_id: str, event_id: str) -> str:
    """A stable transaction id for ``kind`` (``reply``, ``react``, ``command``) in answer to ``event_id``."""
    return "footnote-" + hashlib.sha256(f"{kind}\x00{room_id}\x00{event_id}".encode()).hexdigest()[:32]


class Sender:
    """Send room events through ``client`` with up to ``attempts`` tries and exponential back-off."""

    def __init__(self, client: AsyncClient, *, attempts: int = 6, first_wait: float = 0.5,
                 max_wait: float = 30.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.client = client
        self.attempts = attempts
        self.first_wait = first_wait
        self.max_wait = max_wait
        self._sleep = sleep

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], *, txn: str,
                   what: str) -> str | None:
        """Send one event; return its event id, or None after logging why it could not be sent.

        ``what`` names the payload for the log ("answer to $event"), never its text.
        """
        wait = self.first_wait
        problem = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            try:
                resp = await self.client.room_send(room_id, event_type, content, tx_id=txn,
                                                   ignore_unverified_devices=True)
            except (aiohttp.ClientError, TimeoutError, SendRetryError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except LocalProtocolError as exc:  # not joined, not logged in: retrying will not help
                log.error("matrix: %s in %s NOT SENT: %s", what, room_id, exc)
                return None
            else:
                if isinstance(resp, RoomSendResponse):
                    return str(resp.event_id)
                problem = str(resp)
                if getattr(resp, "status_code", None) == "M_LIMIT_EXCEEDED":
                    wait = max(wait, (getattr(resp, "retry_after_ms", None) or 0) / 1000)
                elif getattr(resp, "status_code", None) in ("M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN"):
                    break
            if attempt < self.attempts:
                log.warning("matrix: %s in %s failed (attempt %d/%d, retrying in %.1f s): %s",
                            what, room_id, attempt, self.attempts, wait, problem)
                await self._sleep(wait)
                wait = min(wait * 2, self.max_wait)
        log.error("matrix: %s in %s NOT SENT after %d attempt(s): %s", what, room_id, attempt, problem)
        return None
