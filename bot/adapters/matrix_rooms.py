"""Room membership for the Matrix adapter: invites, kicks and bans, room creators and moderators.

Room version 12 leaves room creators out of ``m.room.power_levels`` (matrix-nio reports them as level
0), so :class:`RoomTracker` remembers each room's ``m.room.create`` sender and ``additional_creators``
and treats them as the highest level.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import aiohttp
from nio import AsyncClient, JoinResponse, RoomGetStateResponse, RoomResolveAliasResponse, SyncResponse

from ..config import MatrixConfig
from . import matrix_events as mx

__all__ = ["RoomTracker"]

log = logging.getLogger(__name__)

_JOIN_ATTEMPTS = 3


def _source(event: Any) -> dict[str, Any]:
    source = getattr(event, "source", None)
    return source if isinstance(source, dict) else {}


class RoomTracker:
    """Joins rooms it is invited to (allow-list permitting), forgets rooms it is removed from, and
    answers "is this user a moderator here?"."""

    def __init__(self, client: AsyncClient, config: MatrixConfig, user_id: str) -> None:
        self.client = client
        self.config = config
        self.user_id = user_id
        self.creators: dict[str, set[str]] = {}
        self._invite_attempts: dict[str, int] = {}

    async def resolve_rooms(self) -> set[str]:
        """The configured ``rooms`` as room ids (aliases resolved); empty = answer in every room."""
        ids: set[str] = set()
        for room in self.config.rooms:
            if not room.startswith("#"):
                ids.add(room)
                continue
            try:
                resp = await self.client.room_resolve_alias(room)
            except (aiohttp.ClientError, TimeoutError) as exc:
                resp = exc
            if isinstance(resp, RoomResolveAliasResponse):
                ids.add(resp.room_id)
            else:
                log.warning("matrix: cannot resolve room alias %s (%s); Footnote will not answer there", room,
                            resp)
        if self.config.rooms and not ids:
            log.warning("matrix: none of the configured rooms could be resolved")
            ids.add("!unresolved")  # keep the restriction: answer nowhere rather than everywhere
        return ids

    # ---------------------------------------------------------------------------------- state

    def observe_state(self, room_id: str, event: Any) -> None:
        """Remember room creators from ``m.room.create`` events seen in sync."""
        source = _source(event)
        if source.get("type") == "m.room.create" and source.get("state_key", "") == "":
            self.creators[room_id] = mx.room_creators(source)

    def own_join_ts(self, events: Iterable[Any]) -> int:
        """The timestamp (ms) of the bot's own join in ``events``, or 0: events before it are history."""
        ts = 0
        for event in events:
            source = _source(event)
            if (source.get("type") == "m.room.member" and source.get("state_key") == self.user_id
                    and (source.get("content") or {}).get("membership") == "join"
                    and ((source.get("unsigned") or {}).get("prev_content") or {}).get("membership") != "join"):
                ts = max(ts, int(source.get("origin_server_ts") or 0))
        return ts

    async def room_creators(self, room_id: str) -> set[str]:
        """The room's creators, fetched from the room state when sync has not shown them yet."""
        if room_id not in self.creators:
            try:
                resp = await self.client.room_get_state(room_id)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("matrix: cannot read the state of %s (%s)", room_id, type(exc).__name__)
                return set()
            if isinstance(resp, RoomGetStateResponse):
                for event in resp.events:
                    if event.get("type") == "m.room.create":
                        self.creators[room_id] = mx.room_creators(event)
        return self.creators.get(room_id, set())

    async def is_moderator(self, room_id: str, user_id: str) -> bool:
        """Power level >= 50 in the room, a room creator, or a configured admin."""
        room = self.client.rooms.get(room_id)
        level = room.power_levels.get_user_level(user_id) if room is not None else 0
        if level >= mx.MODERATOR_LEVEL or user_id in self.config.admin_users:
            return True
        return mx.is_moderator(user_id, level, creators=await self.room_creators(room_id),
                               admins=self.config.admin_users)

    # ---------------------------------------------------------------------------------- membership

    async def handle_invites(self, resp: SyncResponse) -> None:
        """Join rooms we are invited to by an allowed inviter; reject the others."""
        for room_id, info in resp.rooms.invite.items():
            inviter = next((_source(ev).get("sender") for ev in info.invite_state
                            if _source(ev).get("type") == "m.room.member"
                            and _source(ev).get("state_key") == self.user_id), None)
            attempts = self._invite_attempts.get(room_id, 0)
            if attempts >= _JOIN_ATTEMPTS:
                continue
            self._invite_attempts[room_id] = attempts + 1
            if not isinstance(inviter, str) or not mx.invite_allowed(inviter, self.config.invite_allowlist):
                log.info("matrix: rejecting an invite to %s from %s (not in invite_allowlist)", room_id, inviter)
                await self._call(self.client.room_leave(room_id), f"reject the invite to {room_id}")
                continue
            resp_join = await self._call(self.client.join(room_id), f"join {room_id}")
            if resp_join is None:  # the homeserver was unreachable: that attempt does not count
                self._invite_attempts[room_id] = attempts
            elif isinstance(resp_join, JoinResponse):
                log.info("matrix: joined %s (invited by %s)", room_id, inviter)
                self._invite_attempts.pop(room_id, None)

    async def handle_leaves(self, resp: SyncResponse) -> None:
        """Forget rooms we were kicked or banned from (or left), so they vanish from our room list."""
        for room_id, info in resp.rooms.leave.items():
            for event in [*info.state, *info.timeline.events]:
                source = _source(event)
                if source.get("type") != "m.room.member" or source.get("state_key") != self.user_id:
                    continue
                membership = (source.get("content") or {}).get("membership")
                by = source.get("sender")
                if membership == "ban":
                    log.info("matrix: banned from %s by %s", room_id, by)
                elif membership == "leave" and by != self.user_id:
                    log.info("matrix: kicked from %s by %s", room_id, by)
            self.creators.pop(room_id, None)
            self._invite_attempts.pop(room_id, None)
            await self._call(self.client.room_forget(room_id), f"forget {room_id}")

    async def _call(self, coro: Any, what: str) -> Any:
        try:
            resp = await coro
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("matrix: could not %s (%s); will retry", what, type(exc).__name__)
            return None
        if getattr(resp, "status_code", None):
            log.warning("matrix: could not %s: %s", what, resp)
        return resp
