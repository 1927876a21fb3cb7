"""Footnote on Matrix: a thin adapter between matrix-nio and the engine.

Theory of operation:

* **One device, while it lives.** :func:`~bot.adapters.matrix_session.login` restores the stored device
  id and access token (or logs in once and stores them); the end-to-end key store and the token
  (``session.json``) live in ``store_dir``, owner-only. If the device is logged out (Element's "Sign
  out", an admin, a password change) the next sync says so: the adapter starts a fresh client, logs in
  as a new device, uploads its keys and carries on, encrypted rooms included.
* **No history replay.** The first start makes an initial sync and answers nothing from it. Every sync's
  ``next_batch`` is saved in Footnote's database after its events are handled, and the next start
  resumes from it with ``full_state=True``, so messages sent while the bot was down are still answered
  if they are at most ``catch_up_seconds`` old. Events from before the bot's own join (a rejoin returns
  history) are skipped, and every event id goes through ``storage.mark_processed`` first, so nothing is
  answered twice, even across restarts.
* **Translate, never decide.** Messages become :class:`~bot.messages.Message` or
  :class:`~bot.messages.Command`, reactions become :class:`~bot.messages.Reaction`; the engine's
  actions become ``m.notice`` replies or ``m.reaction`` annotations (see :mod:`.matrix_events`).
* **Survive.** Sync failures back off (0.5 s doubling to ``max_backoff``) and reconnect; sends are
  retried with a stable transaction id (:mod:`.matrix_send`), and an answer that cannot be sent is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    MegolmEvent,
    MessageDirection,
    RoomMessagesResponse,
    SyncResponse,
)

from ..config import MatrixConfig
from ..messages import Action, React, Reply
from ..private import private_dir
from . import matrix_events as mx
from .matrix_keys import KeyKeeper
from .matrix_rooms import RoomTracker
from .matrix_send import Sender, txn_id
from .matrix_session import LOGGED_OUT, SessionError, SessionFile, login, state_key

if TYPE_CHECKING:
    from ..engine import Engine
    from ..storage import Storage

__all__ = ["MatrixAdapter"]

log = logging.getLogger(__name__)

#: ``mark_processed`` namespace for raw Matrix events (the engine uses ``matrix`` for message ids).
_EVENTS = "matrix-event"
_NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError)
#: Synapse sends 10 timeline events per room per sync by default; a busy room needs more. Beyond this the
#: timeline is "limited" and the gap is fetched with /messages (see _backfill).
SYNC_FILTER = {"room": {"timeline": {"limit": 100}}}
#: At most this many older events are fetched to fill one gap (a very long outage is not replayed in full).
BACKFILL_MAX = 1000


class MatrixAdapter:
    """Runs Footnote on one Matrix account until :meth:`close` is called."""

    def __init__(self, engine: Engine, storage: Storage, config: MatrixConfig, *, store_dir: Path,
                 status: dict[str, Any] | None = None, sync_timeout_ms: int = 30_000,
                 max_backoff: float = 30.0, catch_up_seconds: float = 600.0) -> None:
        """Prepare the adapter; nothing touches the network before :meth:`start`.

        Args:
            engine: decides what to do with each message, command and reaction.
            storage: Footnote's database; the adapter keeps its session and sync token there.
            config: the ``matrix`` section (homeserver, user id, token or password, rooms, allow-list).
            store_dir: directory for the end-to-end encryption key store (created if missing).
            status: a dict the adapter keeps up to date for /healthz: ``state`` (``connected``,
                ``reconnecting``, ``stopped``), ``connected``, ``last_sync``, ``rooms``, ``device_id``.
            sync_timeout_ms: long-poll time of each sync.
            max_backoff: longest wait, in seconds, between reconnection attempts.
            catch_up_seconds: on a restart, answer missed messages up to this old (never on a first start).
        """
        if not config.homeserver or not config.user_id:
            raise SessionError("matrix.homeserver and matrix.user_id are required to run on Matrix")
        nio_log = logging.getLogger("nio")
        if nio_log.level == logging.NOTSET:  # nio logs every room event at INFO; keep ours readable
            nio_log.setLevel(logging.WARNING)
        self.engine = engine
        self.storage = storage
        self.config = config
        self.store_dir = Path(store_dir)
        self.status: dict[str, Any] = status if status is not None else {}
        self.sync_timeout_ms = sync_timeout_ms
        self.max_backoff = max_backoff
        self.catch_up_ms = int(catch_up_seconds * 1000)
        self.user_id = config.user_id
        self._client: AsyncClient | None = None
        self._sender: Sender | None = None
        self._rooms: RoomTracker | None = None
        self._keys: KeyKeeper | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        #: Clear while a sync's events are being answered; close() waits for it so no reply is cut off.
        self._idle = asyncio.Event()
        self._idle.set()
        self._connected = False
        self._started_ms = 0
        self._floor_ms = 0  # events older than this are history, never answered
        self._answer_rooms: set[str] = set()

    @property
    def is_connected(self) -> bool:
        """True after a successful sync, until a sync fails."""
        return self._connected

    def _set_connected(self, value: bool) -> None:
        if value != self._connected:
            log.info("matrix: %s", "connected" if value else (
                "disconnected (shutting down)" if self._closing else "disconnected; will reconnect"))
        self._connected = value
        self.status["connected"] = value
        self.status["state"] = "connected" if value else ("stopped" if self._closing else "reconnecting")

    # ---------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Log in, then sync and answer until :meth:`close` is called.

        Raises:
            SessionError: when the homeserver refuses every configured way to log in.
        """
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="footnote-matrix")
        try:
            await self._task
        except asyncio.CancelledError:
            if not self._closing:
                raise
        finally:
            self._set_connected(False)
            if self._client is not None:
                await self._client.close()

    async def close(self) -> None:
        """Stop syncing, let the events being answered finish, close the connection; :meth:`start` returns."""
        self._closing = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=10)
        except TimeoutError:
            log.warning("matrix: closing while still answering a sync's events")
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _new_client(self) -> AsyncClient:
        private_dir(self.store_dir)
        nio_config = AsyncClientConfig(
            max_limit_exceeded=3,            # nio sleeps retry_after_ms between these; Sender retries more
            max_timeouts=0,                  # connection errors surface at once: we back off ourselves
            store_sync_tokens=False,         # next_batch lives in Footnote's database
            encryption_enabled=self.config.encryption,
            request_timeout=60,
        )
        return AsyncClient(self.config.homeserver or "", self.user_id, store_path=str(self.store_dir),
                           config=nio_config)

    async def _backoff(self, wait: float) -> float:
        await asyncio.sleep(wait)
        return min(wait * 2, self.max_backoff)

    async def _connect(self, *, new_device: bool = False) -> None:
        """A fresh client with its sender and room tracker, logged in, waiting out a homeserver that is
        down; a refusal (SessionError) is final. ``new_device``: the old device was logged out."""
        if self._client is not None:
            await self._client.close()
        client = self._client = self._new_client()
        self._sender = Sender(client, max_wait=self.max_backoff)
        self._rooms = RoomTracker(client, self.config, self.user_id)
        self._keys = KeyKeeper(client)  # a new device cannot decrypt what was sent to the old one
        wait = 0.5
        while True:
            try:
                how = await login(client, self.config, self.storage, SessionFile(self.store_dir),
                                  new_device=new_device)
                break
            except _NETWORK_ERRORS as exc:
                log.warning("matrix: homeserver unreachable at login (%s); retrying in %.1f s",
                            type(exc).__name__, wait)
                wait = await self._backoff(wait)
        for path in self.store_dir.iterdir():  # the key store nio just opened: owner-only like the rest
            if path.is_file():
                os.chmod(path, 0o600)
        self.status.update(user_id=self.user_id, device_id=client.device_id, login=how)

    async def _run(self) -> None:
        self._started_ms = int(time.time() * 1000)
        await self._connect()
        assert self._rooms is not None
        self._answer_rooms = await self._rooms.resolve_rooms()
        since = await self.storage.get_state(state_key(self.user_id, "next_batch"))
        self._floor_ms = self._started_ms - (self.catch_up_ms if since else 0)
        await self._sync_loop(since)

    # ---------------------------------------------------------------------------------- sync

    async def _sync_loop(self, since: str | None) -> None:
        client = self._client
        assert client is not None
        first, full_state, wait = True, since is not None, 0.5
        while not self._closing:
            try:
                resp = await client.sync(timeout=0 if first else self.sync_timeout_ms, since=since,
                                         full_state=full_state or None, sync_filter=SYNC_FILTER)
            except (*_NETWORK_ERRORS, ValueError) as exc:  # ValueError: a proxy's error page instead of JSON
                self._set_connected(False)
                log.warning("matrix: sync failed (%s); reconnecting in %.1f s", type(exc).__name__, wait)
                wait = await self._backoff(wait)
                continue
            if not isinstance(resp, SyncResponse):
                self._set_connected(False)
                if getattr(resp, "status_code", None) == LOGGED_OUT:
                    await self._relogin(soft=bool(getattr(resp, "soft_logout", False)))
                    client = self._client
                    full_state = True  # the new client knows no room yet
                else:
                    log.warning("matrix: sync error (%s); retrying in %.1f s", resp, wait)
                    wait = await self._backoff(wait)
                continue
            wait = 0.5
            self._idle.clear()
            try:
                assert self._keys is not None
                await self._keys.maintain()  # keys up before "connected": others can then encrypt for us
                self._set_connected(True)
                await self._handle_sync(resp, replay=first and since is None)
                since, first, full_state = resp.next_batch, False, False
                await self.storage.set_state(state_key(self.user_id, "next_batch"), since)
            finally:
                self._idle.set()
            self.status.update(last_sync=time.time(), rooms=len(client.rooms))

    async def _relogin(self, *, soft: bool) -> None:
        """The homeserver refused the token: log in again, as a new device unless only the token expired."""
        assert self._client is not None
        device = self._client.device_id
        SessionFile(self.store_dir).forget()
        if soft:
            log.warning("matrix: the access token of device %s expired; logging in again", device)
        else:
            log.warning("matrix: device %s was logged out by the homeserver (a sign-out, an admin or a password "
                        "change); logging in as a new device and uploading its encryption keys", device)
        await self._connect(new_device=not soft)

    async def _handle_sync(self, resp: SyncResponse, *, replay: bool) -> None:
        """Handle invites, leaves and new timeline events; ``replay`` (the initial sync) answers nothing."""
        rooms = self._rooms
        assert rooms is not None
        await rooms.handle_invites(resp)
        await rooms.handle_leaves(resp)
        for room_id, info in resp.rooms.join.items():
            for event in info.state:
                rooms.observe_state(room_id, event)
            floor = max(self._floor_ms, rooms.own_join_ts(info.timeline.events))
            events = list(info.timeline.events)
            if info.timeline.limited and not replay and info.timeline.prev_batch:
                events = await self._backfill(room_id, info.timeline.prev_batch, floor) + events
            for event in events:
                rooms.observe_state(room_id, event)
                if replay or event.server_timestamp < floor:
                    continue
                await self._handle_event(room_id, event)
        await self._retry_undecrypted()

    async def _backfill(self, room_id: str, token: str, floor_ms: int) -> list[Any]:
        """The events a limited sync skipped, oldest first, back to ``floor_ms`` (dedupe drops repeats)."""
        client = self._client
        assert client is not None
        older: list[Any] = []
        while token and len(older) < BACKFILL_MAX:
            resp = await client.room_messages(room_id, start=token, direction=MessageDirection.back, limit=100)
            if not isinstance(resp, RoomMessagesResponse) or not resp.chunk:
                if not isinstance(resp, RoomMessagesResponse):
                    log.warning("matrix: could not fetch the messages a busy sync skipped in %s: %s", room_id, resp)
                break
            fresh = [e for e in resp.chunk if getattr(e, "server_timestamp", 0) >= floor_ms]
            older.extend(fresh)
            if len(fresh) < len(resp.chunk) or resp.end == token:
                break
            token = resp.end
        if older:
            log.info("matrix: fetched %d event(s) a busy sync skipped in %s", len(older), room_id)
        return older[::-1]

    async def _retry_undecrypted(self) -> None:
        assert self._keys is not None
        for room_id, event in self._keys.opened():
            await self._handle_event(room_id, event, retried=True)

    # ---------------------------------------------------------------------------------- events

    async def _handle_event(self, room_id: str, event: Any, *, retried: bool = False) -> None:
        """Translate one timeline event and act on the engine's answer; one bad event never stops the bot."""
        sender = getattr(event, "sender", None)
        if sender == self.user_id or not isinstance(getattr(event, "source", None), dict):
            return
        if isinstance(event, MegolmEvent):
            assert self._keys is not None
            self._keys.defer(room_id, event)
            return
        source: dict[str, Any] = event.source
        kind = source.get("type")
        if kind not in ("m.room.message", "m.reaction"):
            return
        try:
            if not await self.storage.mark_processed(_EVENTS, event.event_id, event.server_timestamp / 1000):
                return
            content = source.get("content")
            if not isinstance(content, dict):
                return
            if kind == "m.reaction":
                await self._on_reaction(room_id, event, content)
            else:
                await self._on_message(room_id, event, content)
        except Exception:  # log and keep syncing
            log.exception("matrix: failed to handle %s in %s", event.event_id, room_id)

    async def _on_message(self, room_id: str, event: Any, content: dict[str, Any]) -> None:
        rooms = self._rooms
        assert rooms is not None
        text = mx.strip_reply_fallback(content.get("body") if isinstance(content.get("body"), str) else "")
        parsed = mx.parse_matrix_command(text) if content.get("msgtype") == "m.text" else None
        if parsed is not None and mx.edit_target(content) is None:
            moderator = await rooms.is_moderator(room_id, event.sender)
            cmd = mx.command_from_text(parsed, room_id=room_id, sender=event.sender,
                                       timestamp_ms=event.server_timestamp, content=content,
                                       is_moderator=moderator)
            answer = await self.engine.handle_command(cmd)
            await self._send(room_id, "m.room.message", mx.notice_content(answer, event.event_id),
                             kind="command", about=event.event_id)
            return
        if self._answer_rooms and room_id not in self._answer_rooms:
            return
        msg = mx.message_from_content(room_id=room_id, sender=event.sender, event_id=event.event_id,
                                      timestamp_ms=event.server_timestamp, content=content,
                                      bot_user_id=self.user_id)
        if msg is not None:
            await self._perform(await self.engine.handle_message(msg))

    async def _on_reaction(self, room_id: str, event: Any, content: dict[str, Any]) -> None:
        rel = content.get("m.relates_to")
        if not isinstance(rel, dict) or rel.get("rel_type") != "m.annotation":
            return
        reacts_to, key = rel.get("event_id"), rel.get("key")
        if not isinstance(reacts_to, str) or not isinstance(key, str):
            return
        reaction = mx.reaction_from_event(room_id=room_id, sender=event.sender, reacts_to=reacts_to, key=key,
                                          timestamp_ms=event.server_timestamp)
        await self._perform(await self.engine.handle_reaction(reaction))

    async def _perform(self, actions: list[Action]) -> None:
        """Post the engine's replies and reactions, and tell the engine what was posted."""
        for action in actions:
            if isinstance(action, Reply):
                msg = action.message
                sent = await self._send(msg.channel_id, "m.room.message",
                                        mx.notice_content(action.answer, msg.message_id),
                                        kind="reply", about=msg.message_id)
                if sent:
                    await self.engine.record_sent(action, sent)
            elif isinstance(action, React):
                msg = action.message
                sent = await self._send(msg.channel_id, "m.reaction",
                                        mx.reaction_content(msg.message_id, action.emoji),
                                        kind="react", about=msg.message_id)
                if sent:
                    await self.engine.record_sent(action, msg.message_id)

    async def _send(self, room_id: str, event_type: str, content: dict[str, Any], *, kind: str,
                    about: str) -> str | None:
        assert self._sender is not None
        return await self._sender.send(room_id, event_type, content, txn=txn_id(kind, room_id, about),
                                       what=f"{kind} to {about}")
