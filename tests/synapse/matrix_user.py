"""A real matrix-nio user for end-to-end tests: logs in, syncs in the background, records every event.

Tests act through it (create rooms, send messages and reactions) and assert on what it *received*
from the homeserver, so a bot that never answers, answers twice or answers unencrypted fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomSendResponse,
    ShareGroupSessionResponse,
    SyncResponse,
)
from nio.api import Api
from nio.exceptions import EncryptionError

__all__ = ["MatrixUser", "Received"]


@dataclass(frozen=True)
class Received:
    """One timeline event as this user's client saw it (decrypted when it could be)."""

    room_id: str
    event: Any

    @property
    def source(self) -> dict[str, Any]:
        return self.event.source if isinstance(getattr(self.event, "source", None), dict) else {}

    @property
    def content(self) -> dict[str, Any]:
        content = self.source.get("content")
        return content if isinstance(content, dict) else {}

    @property
    def type(self) -> str:
        return str(self.source.get("type", ""))

    @property
    def sender(self) -> str:
        return str(getattr(self.event, "sender", ""))

    @property
    def event_id(self) -> str:
        return str(getattr(self.event, "event_id", ""))

    @property
    def reply_to(self) -> str | None:
        rel = self.content.get("m.relates_to") or {}
        return (rel.get("m.in_reply_to") or {}).get("event_id")

    @property
    def encrypted(self) -> bool:
        """True when the event reached this client encrypted (and was decrypted here)."""
        return bool(getattr(self.event, "decrypted", False))


class MatrixUser:
    """One logged-in, end-to-end-capable test user with its own key store under ``store_dir``."""

    def __init__(self, homeserver: str, user_id: str, password: str, store_dir: Path) -> None:
        self.user_id = user_id
        self.password = password
        store_dir.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False, max_timeouts=None,
                                   backoff_factor=0.2, max_timeout_retry_wait_time=2)
        self.client = AsyncClient(homeserver, user_id, store_path=str(store_dir), config=config)
        self.received: list[Received] = []
        #: Encrypted events whose room key had not arrived yet, retried after every sync (as Element does).
        self.locked: dict[str, Received] = {}
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in (a new device), make a first sync and keep syncing in the background."""
        resp = await self.client.login(self.password, device_name="footnote-test")
        assert isinstance(resp, LoginResponse), f"login failed for {self.user_id}: {resp}"
        self.client.add_event_callback(self._on_event, Event)
        self.client.add_response_callback(self._on_sync, SyncResponse)
        await self.client.sync(timeout=0, full_state=True)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        self._task = asyncio.create_task(self.client.sync_forever(timeout=5_000))

    async def stop(self) -> None:
        """Stop syncing and close the HTTP session."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()

    async def _on_event(self, room: Any, event: Any) -> None:
        async with self._changed:
            self.received.append(Received(room.room_id, event))
            if isinstance(event, MegolmEvent):
                self.locked[event.event_id] = Received(room.room_id, event)
            self._changed.notify_all()

    async def _on_sync(self, _response: SyncResponse) -> None:
        """Decrypt the events whose room key came in a later sync than the event."""
        for event_id, item in list(self.locked.items()):
            try:
                decrypted = self.client.decrypt_event(item.event)
            except EncryptionError:
                continue
            del self.locked[event_id]
            async with self._changed:
                self.received.append(Received(item.room_id, decrypted))
                self._changed.notify_all()

    # ---------------------------------------------------------------------------------- waiting

    async def wait_for(self, match: Callable[[Received], bool], timeout: float = 20.0,
                       what: str = "an event") -> Received:
        """The first received event that ``match``es (waiting up to ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for item in self.received:
                    if match(item):
                        return item
                if self._task is not None and self._task.done():  # fail now, with the reason, not at the timeout
                    problem = self._task.exception() if not self._task.cancelled() else "cancelled"
                    raise AssertionError(f"{self.user_id} stopped syncing ({problem!r}) while waiting for {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    locked = ", ".join(f"{r.event_id} (session {r.event.session_id})" for r in self.locked.values())
                    raise AssertionError(f"{self.user_id} did not receive {what} within {timeout:.0f} s"
                                         + (f"; still unable to decrypt {locked}" if locked else ""))
                try:
                    await asyncio.wait_for(self._changed.wait(), min(left, 1.0))
                except TimeoutError:
                    pass

    def matching(self, match: Callable[[Received], bool]) -> list[Received]:
        """Every received event that ``match``es so far."""
        return [item for item in self.received if match(item)]

    def replies_to(self, event_id: str, sender: str) -> list[Received]:
        """Messages from ``sender`` that reply to ``event_id``."""
        return self.matching(lambda r: r.type == "m.room.message" and r.sender == sender
                             and r.reply_to == event_id)

    async def wait_reply(self, event_id: str, sender: str, timeout: float = 20.0) -> Received:
        """Wait for a message from ``sender`` replying to ``event_id``."""
        return await self.wait_for(lambda r: r.type == "m.room.message" and r.sender == sender
                                   and r.reply_to == event_id, timeout, f"a reply to {event_id}")

    async def wait_joined(self, room_id: str, user_id: str, timeout: float = 20.0) -> None:
        """Wait until ``user_id`` has joined ``room_id``."""
        await self.wait_for(lambda r: r.room_id == room_id and r.type == "m.room.member"
                            and r.source.get("state_key") == user_id
                            and r.content.get("membership") == "join", timeout, f"{user_id} joining {room_id}")

    # ---------------------------------------------------------------------------------- acting

    async def create_room(self, *, invite: tuple[str, ...] = (), encrypted: bool = False,
                          name: str = "footnote test") -> str:
        """Create a private room (the server's default room version), inviting ``invite``."""
        state = [{"type": "m.room.encryption", "state_key": "",
                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []
        resp = await self.client.room_create(name=name, invite=list(invite), initial_state=state)
        assert isinstance(resp, RoomCreateResponse), f"room_create failed: {resp}"
        await self.wait_joined(resp.room_id, self.user_id)
        return resp.room_id

    async def join(self, room_id: str) -> None:
        """Join ``room_id`` and wait until this client has synced the join."""
        await self.client.join(room_id)
        await self.wait_joined(room_id, self.user_id)

    async def send(self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message") -> str:
        """Send an event (encrypted if the room is); return its event id."""
        resp = await self.client.room_send(room_id, event_type, content, ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), f"send failed: {resp}"
        return str(resp.event_id)

    async def send_text(self, room_id: str, text: str, *, reply_to: str | None = None,
                        quoted: str | None = None) -> str:
        """Send ``m.text``; as a reply (with the classic ``> `` fallback quoting ``quoted``) if asked."""
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
            if quoted:
                content["body"] = f"> <someone> {quoted}\n\n{text}"
        return await self.send(room_id, content)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """Annotate ``event_id`` with ``key``."""
        return await self.send(room_id, {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id,
                                                          "key": key}}, "m.reaction")

    def rotate_room_key(self, room_id: str) -> None:
        """Start a new megolm session for ``room_id`` on the next send, shared with every device known now.

        Element does this when a member's devices change; matrix-nio keeps its session, which a device that
        appeared after it was shared can never decrypt."""
        assert self.client.olm is not None
        self.client.olm.outbound_group_sessions.pop(room_id, None)

    async def hold_room_key(self, room_id: str, user_id: str) -> list[dict[str, Any]]:
        """Start a new room key for ``room_id`` and encrypt it for ``user_id``'s devices without sending it.

        Messages sent next use that key; ``release_room_key`` delivers it later, as a slow homeserver or a
        client that shares keys late would. Returns the held to-device batches."""
        olm = self.client.olm
        assert olm is not None
        missing = self.client.get_missing_sessions(room_id)
        if missing:
            await self.client.keys_claim(missing)
        olm.create_outbound_group_session(room_id)
        held = [batch for _users, batch in olm.share_group_session_parallel(room_id, [user_id],
                                                                            ignore_unverified_devices=True)]
        olm.outbound_group_sessions[room_id].shared = True  # room_send must not share it now
        return held

    async def release_room_key(self, room_id: str, held: list[dict[str, Any]]) -> None:
        """Send the to-device batches ``hold_room_key`` kept back (as nio's own share_group_session does)."""
        for batch in held:
            method, path, data = Api.to_device(self.client.access_token, "m.room.encrypted", batch, uuid4())
            sent = await self.client._send(ShareGroupSessionResponse, method, path, data,
                                           response_data=(room_id, {(u, d) for u, devs in batch.items() for d in devs}))
            assert isinstance(sent, ShareGroupSessionResponse), f"sending the held room key failed: {sent}"

    async def ensure_devices(self, user_id: str, timeout: float = 20.0, device_id: str | None = None) -> None:
        """Query keys until ``user_id`` has a known device (``device_id`` if given), so encrypted messages
        reach it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            known = [d.id for d in self.client.device_store.active_user_devices(user_id)]
            if known and (device_id is None or device_id in known):
                return
            assert self.client.olm is not None
            self.client.olm.users_for_key_query.add(user_id)
            await self.client.keys_query()
            await asyncio.sleep(0.2)
        raise AssertionError(f"{self.user_id} never learned the devices of {user_id} ({device_id or 'any'})")
