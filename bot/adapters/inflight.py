"""Counts event handlers in progress, so an adapter's ``close`` lets them finish before the database closes."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["InFlight"]


class InFlight:
    """``with inflight:`` around a handler; ``await inflight.wait(timeout)`` until none is running."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def __enter__(self) -> InFlight:
        self._count += 1
        self._idle.clear()
        return self

    def __exit__(self, *exc: object) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    async def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every handler to finish; False if some are still running."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        return self._count == 0
