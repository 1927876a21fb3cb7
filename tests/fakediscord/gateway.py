"""The fake gateway: one websocket per shard, with sessions that survive a dropped connection.

The protocol (https://discord.com/developers/docs/events/gateway): the server sends HELLO; the client
answers IDENTIFY (new session) or RESUME (same session, replay what it missed); the server sends READY
(or RESUMED) and one GUILD_CREATE per guild of the shard; heartbeats get HEARTBEAT_ACKs. Every frame is
plain JSON text: discord.py decompresses only binary frames.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .server import FakeDiscord

__all__ = ["GatewaySession", "Op", "Intent", "handle_gateway"]


class Op:
    """Gateway opcodes."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    RESUME = 6
    RECONNECT = 7
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intent:
    """The intent bits the fake honours."""

    GUILDS = 1 << 0
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    MESSAGE_CONTENT = 1 << 15


#: Which intent a dispatch needs to reach a session (events not listed always arrive).
EVENT_INTENTS = {
    "MESSAGE_CREATE": Intent.GUILD_MESSAGES,
    "MESSAGE_UPDATE": Intent.GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": Intent.GUILD_MESSAGE_REACTIONS,
    "GUILD_CREATE": Intent.GUILDS,
    "THREAD_CREATE": Intent.GUILDS,
}


@dataclass
class GatewaySession:
    """One IDENTIFYed session of one shard. Events sent while disconnected wait here for a RESUME."""

    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    resumes: int = 0

    def wants(self, event: str) -> bool:
        """True when the session's intents let ``event`` through."""
        needed = EVENT_INTENTS.get(event)
        return needed is None or bool(self.intents & needed)

    def visible(self, event: str, data: dict[str, Any], me_id: str) -> dict[str, Any]:
        """Without the message-content intent Discord blanks content, except where the bot is mentioned."""
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or self.intents & Intent.MESSAGE_CONTENT:
            return data
        if data["author"]["id"] == me_id or any(u["id"] == me_id for u in data.get("mentions", [])):
            return data
        return dict(data, content="", embeds=[], attachments=[], components=[])

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Number the event, keep it for replay, and send it now if the socket is open."""
        self.seq += 1
        frame = {"op": Op.DISPATCH, "t": event, "s": self.seq, "d": data}
        self.history.append(frame)
        if self.ws is not None and not self.ws.closed:
            await self.ws.send_str(json.dumps(frame))


async def handle_gateway(fake: FakeDiscord, request: web.Request) -> web.WebSocketResponse:
    """Serve one gateway connection until the client or the test closes it."""
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    fake.sockets.add(ws)
    session: GatewaySession | None = None
    await ws.send_str(json.dumps({"op": Op.HELLO, "d": {"heartbeat_interval": fake.heartbeat_interval_ms}}))
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            fake.record_gateway(frame, session)
            op = frame.get("op")
            if op == Op.HEARTBEAT:
                await ws.send_str(json.dumps({"op": Op.HEARTBEAT_ACK}))
            elif op == Op.IDENTIFY:
                session = await _identify(fake, ws, frame["d"])
            elif op == Op.RESUME:
                session = await _resume(fake, ws, frame["d"])
    finally:
        fake.sockets.discard(ws)
        if session is not None and session.ws is ws:
            session.ws = None
    return ws


async def _identify(fake: FakeDiscord, ws: web.WebSocketResponse, data: dict[str, Any]) -> GatewaySession | None:
    if data.get("token") != fake.token:
        await ws.close(code=4004, message=b"Authentication failed.")
        return None
    intents = int(data.get("intents", 0))
    if intents & Intent.MESSAGE_CONTENT and not fake.message_content_enabled:
        await ws.close(code=4014, message=b"Disallowed intent(s).")
        return None
    shard_id, shard_count = data.get("shard", [0, 1])
    session = GatewaySession(secrets.token_hex(8), shard_id, shard_count, intents, ws=ws)
    fake.sessions.append(session)
    guilds = fake.guilds_of_shard(shard_id, shard_count)
    ready: dict[str, Any] = {
        "v": 10,
        "user": fake.user_json(fake.me),
        "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
        "session_id": session.session_id,
        "resume_gateway_url": fake.gateway_url,
        "application": {"id": str(fake.application_id), "flags": fake.application_flags},
        "private_channels": [],
        "relationships": [],
    }
    if "shard" in data:
        ready["shard"] = [shard_id, shard_count]
    await session.dispatch("READY", ready)
    for guild in guilds:
        if session.wants("GUILD_CREATE"):
            await session.dispatch("GUILD_CREATE", fake.guild_json(guild))
    fake.notify()
    return session


async def _resume(fake: FakeDiscord, ws: web.WebSocketResponse, data: dict[str, Any]) -> GatewaySession | None:
    session = next((s for s in fake.sessions if s.session_id == data.get("session_id")), None)
    if data.get("token") != fake.token or session is None:
        await ws.send_str(json.dumps({"op": Op.INVALID_SESSION, "d": False}))
        return None
    session.ws = ws
    session.resumes += 1
    seq = int(data.get("seq") or 0)
    for frame in session.history:
        if frame["s"] > seq:
            await ws.send_str(json.dumps(frame))
    await session.dispatch("RESUMED", {})
    fake.notify()
    return session


async def close_socket(ws: web.WebSocketResponse, code: int) -> None:
    """Drop a connection the way Discord does when it restarts a gateway node."""
    await ws.close(code=code, message=b"Fake Discord dropped the connection.")
    await asyncio.sleep(0)
