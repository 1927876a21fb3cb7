"""A local Discord for tests: REST routes and a gateway on 127.0.0.1, recording everything on the wire.

The unmodified discord.py client talks to it once ``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` point here (see :func:`fakediscord.fixtures.point_discord_py_at`).
Every REST request the bot makes is kept in :attr:`FakeDiscord.requests` and every gateway frame it sends
in :attr:`FakeDiscord.gateway_frames`, so tests assert on real wire payloads.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .actions import UserActions
from .gateway import GatewaySession, close_socket, handle_gateway
from .payloads import (
    FakeChannel,
    FakeGuild,
    FakeUser,
    Snowflakes,
    channel_payload,
    guild_payload,
    message_payload,
    shard_of,
    user_payload,
)
from .routes import add_rest_routes, json_response

__all__ = ["FakeDiscord", "WireRequest", "GatewayFrame"]

API_PREFIX = "/api/v10"


@dataclass(frozen=True)
class WireRequest:
    """One REST request as it reached the server."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str] = field(repr=False, default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class GatewayFrame:
    """One frame the client sent on the gateway (IDENTIFY, RESUME, HEARTBEAT...)."""

    op: int
    data: Any
    session_id: str | None


class FakeDiscord(UserActions):
    """The fake service. Use as ``async with FakeDiscord() as fake`` or call :meth:`start`/:meth:`stop`."""

    def __init__(self, *, token: str = "fake-discord-token-7f3a9c", message_content_enabled: bool = True,
                 shards_recommended: int = 1) -> None:
        from conftest import register_test_secret

        register_test_secret(token)  # the suite fails if this ever appears in a log line
        self.token = token
        self.message_content_enabled = message_content_enabled
        self.shards_recommended = shards_recommended
        self.heartbeat_interval_ms = 41250
        self.ids = Snowflakes()
        self.application_id = self.ids.next()
        self.me = FakeUser(self.application_id, "Footnote", bot=True)
        self.guilds: dict[int, FakeGuild] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, dict[str, Any]] = {}
        self.requests: list[WireRequest] = []
        self.gateway_frames: list[GatewayFrame] = []
        self.sessions: list[GatewaySession] = []
        self.sockets: set[web.WebSocketResponse] = set()
        self.unknown_routes: list[WireRequest] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.gateway_url = ""

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeDiscord:
        """Bind a free port on 127.0.0.1 and serve."""
        app = web.Application(middlewares=[self._record_middleware])
        app.router.add_get("/gateway", self._gateway)
        add_rest_routes(app, self, API_PREFIX)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}{API_PREFIX}"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"
        return self

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        return await handle_gateway(self, request)

    async def stop(self) -> None:
        """Close every socket and the server."""
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------------------------------ world

    def add_guild(self, name: str = "Test server", *, shard: tuple[int, int] | None = None) -> FakeGuild:
        """A guild with one text channel (#general); ``shard=(id, count)`` picks an id that shard owns."""
        at_ms = int(time.time() * 1000) - 10_000_000
        while True:
            guild_id = self.ids.next(at_ms=at_ms)
            if shard is None or shard_of(guild_id, shard[1]) == shard[0]:
                break
            at_ms += 1
        owner = self.add_user("owner", guild=None)
        guild = FakeGuild(guild_id, name, owner.id)
        channel = FakeChannel(self.ids.next(), guild_id, "general")
        guild.channels[channel.id] = channel
        self.guilds[guild_id] = guild
        return guild

    def add_user(self, name: str, *, guild: FakeGuild | None = None, bot: bool = False,
                 permissions: int | None = None, role_ids: list[int] | None = None) -> FakeUser:
        """A user; with ``guild`` also a member of it."""
        user = FakeUser(self.ids.next(), name, bot=bot, role_ids=list(role_ids or []))
        if permissions is not None:
            user.permissions = permissions
        if guild is not None:
            guild.members[user.id] = user
        return user

    def add_role(self, guild: FakeGuild, name: str) -> int:
        """A role in ``guild``; returns its id."""
        role_id = self.ids.next()
        guild.roles[role_id] = name
        return role_id

    def channel(self, channel_id: int | str) -> FakeChannel:
        """Find a channel (or thread) by id in any guild."""
        for guild in self.guilds.values():
            if int(channel_id) in guild.channels:
                return guild.channels[int(channel_id)]
        raise KeyError(f"no channel {channel_id}")

    def guilds_of_shard(self, shard_id: int, shard_count: int) -> list[FakeGuild]:
        """The guilds whose events go to ``shard_id``."""
        return [g for g in self.guilds.values() if shard_of(g.id, shard_count) == shard_id]

    def user_json(self, user: FakeUser) -> dict[str, Any]:
        """A user object (used by the gateway's READY)."""
        return user_payload(user)

    def guild_json(self, guild: FakeGuild) -> dict[str, Any]:
        """A GUILD_CREATE payload (used by the gateway)."""
        return guild_payload(guild, self.me)

    def channel_json(self, channel: FakeChannel) -> dict[str, Any]:
        """A channel object."""
        return channel_payload(channel)

    def store_message(self, channel: FakeChannel, author: FakeUser, content: str, **extra: Any) -> dict[str, Any]:
        """Create and remember a message; returns its payload."""
        data = message_payload(message_id=self.ids.next(), channel=channel, author=author, content=content, **extra)
        self.messages[int(data["id"])] = data
        return data

    @property
    def application_flags(self) -> int:
        """GATEWAY_MESSAGE_CONTENT (1 << 18) is set when the intent is enabled in the portal."""
        return (1 << 18) if self.message_content_enabled else 0

    # ------------------------------------------------------------------------------------------ gateway

    async def dispatch(self, event: str, data: dict[str, Any], *, guild_id: int | None = None) -> int:
        """Send ``event`` to every live session that owns ``guild_id``; returns how many got it."""
        sent = 0
        for session in self.sessions:
            if guild_id is not None and shard_of(guild_id, session.shard_count) != session.shard_id:
                continue
            if not session.wants(event) or session is not self._latest_session(session.shard_id):
                continue
            await session.dispatch(event, session.visible(event, data, str(self.me.id)))
            sent += 1
        return sent

    def _latest_session(self, shard_id: int) -> GatewaySession | None:
        owned = [s for s in self.sessions if s.shard_id == shard_id]
        return owned[-1] if owned else None

    async def drop_connection(self, *, shard_id: int = 0, code: int = 4000) -> GatewaySession:
        """Close the shard's websocket from the server side; the session stays resumable."""
        session = self._latest_session(shard_id)
        assert session is not None and session.ws is not None, f"shard {shard_id} is not connected"
        await close_socket(session.ws, code)
        return session

    def record_gateway(self, frame: dict[str, Any], session: GatewaySession | None) -> None:
        """Keep a frame the client sent."""
        self.gateway_frames.append(GatewayFrame(frame.get("op", -1), frame.get("d"),
                                                session.session_id if session else None))
        self.notify()

    # ------------------------------------------------------------------------------------------ records

    @web.middleware
    async def _record_middleware(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.path.startswith(API_PREFIX):
            body: Any = None
            if request.can_read_body:
                raw = await request.read()
                body = json.loads(raw) if raw and request.content_type == "application/json" else raw or None
            path = request.path[len(API_PREFIX):]
            self.requests.append(WireRequest(request.method, path, dict(request.query), body, dict(request.headers)))
            self.notify()
            if request.headers.get("Authorization") not in (f"Bot {self.token}", None):
                return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return await handler(request)

    def notify(self) -> None:
        """Wake everything waiting in :meth:`wait_for`."""
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], Any], *, timeout: float = 5.0, what: str = "") -> Any:
        """Wait until ``predicate()`` returns something truthy, and return it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
            except TimeoutError:
                pass

    def find(self, method: str, path_prefix: str, *, since: int = 0) -> list[WireRequest]:
        """Recorded requests with ``method`` whose path starts with ``path_prefix``."""
        return [r for r in self.requests[since:] if r.method == method and r.path.startswith(path_prefix)]

    def bot_messages(self, channel_id: int | None = None, *, since: int = 0) -> list[WireRequest]:
        """Messages the bot posted (``POST /channels/{id}/messages``), optionally in one channel."""
        prefix = f"/channels/{channel_id}/messages" if channel_id else "/channels/"
        return [r for r in self.find("POST", prefix, since=since) if r.path.endswith("/messages")]

    def new_token(self) -> str:
        """An interaction token."""
        return secrets.token_urlsafe(24)
