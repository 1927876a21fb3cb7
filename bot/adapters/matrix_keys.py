"""End-to-end key upkeep for the Matrix adapter, and the events that could not be decrypted yet.

* :meth:`KeyKeeper.maintain` does what matrix-nio's ``sync_forever`` does between syncs: send queued
  to-device messages, upload our device and one-time keys, query the devices of the people we share
  encrypted rooms with, and claim one-time keys for new Olm sessions. The adapter runs it *before* it
  reports itself connected, so "connected" means "others can encrypt for this device and it can encrypt
  for them" (a new device right after a logout included).
* A message can arrive before the room key that opens it (the key is a to-device message, and under load
  it can come a sync later). :meth:`KeyKeeper.defer` keeps such an event and :meth:`KeyKeeper.opened`
  hands it back once its key arrived, for up to ``patience`` seconds, whatever the number of syncs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from nio import AsyncClient, MegolmEvent
from nio.exceptions import EncryptionError, LocalProtocolError

__all__ = ["KeyKeeper"]

log = logging.getLogger(__name__)

#: At most this many events wait for their keys: a room flooded with unreadable events must not grow memory.
MAX_WAITING = 1000


@dataclass
class _Locked:
    room_id: str
    event: MegolmEvent
    since: float


class KeyKeeper:
    """Keeps ``client``'s end-to-end keys current and retries events whose room key has not arrived."""

    def __init__(self, client: AsyncClient, *, patience: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.patience = patience
        self._clock = clock
        self._locked: dict[str, _Locked] = {}

    async def maintain(self) -> None:
        """Upload, query and claim keys and send queued to-device messages (a failure is logged and retried
        after the next sync)."""
        client = self.client
        if client.olm is None:
            return
        try:
            await client.send_to_device_messages()
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
        except (aiohttp.ClientError, TimeoutError, LocalProtocolError) as exc:
            log.warning("matrix: key maintenance failed (%s); will retry after the next sync", exc)

    def defer(self, room_id: str, event: MegolmEvent) -> None:
        """Keep ``event`` until its room key arrives (or ``patience`` runs out)."""
        if event.event_id in self._locked:
            return
        if len(self._locked) >= MAX_WAITING:  # drop the oldest (dicts keep insertion order)
            del self._locked[next(iter(self._locked))]
        log.warning("matrix: cannot decrypt %s in %s yet (session %s from %s); waiting up to %.0f s for its key",
                    event.event_id, room_id, event.session_id, event.device_id, self.patience)
        self._locked[event.event_id] = _Locked(room_id, event, self._clock())

    def opened(self) -> list[tuple[str, Any]]:
        """(room id, decrypted event) for every kept event whose key has arrived since; drops expired ones."""
        now = self._clock()
        opened: list[tuple[str, Any]] = []
        for event_id, item in list(self._locked.items()):
            try:
                decrypted = self.client.decrypt_event(item.event)
            except (EncryptionError, LocalProtocolError):
                if now - item.since > self.patience:
                    del self._locked[event_id]
                    log.warning("matrix: gave up decrypting %s in %s after %.0f s (session %s): its room key "
                                "never reached device %s", event_id, item.room_id, now - item.since,
                                item.event.session_id, self.client.device_id)
                continue
            del self._locked[event_id]
            log.info("matrix: decrypted %s in %s after %.1f s", event_id, item.room_id, now - item.since)
            opened.append((item.room_id, decrypted))
        return opened
