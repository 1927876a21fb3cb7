"""The REST routes of the fake Discord: just the ones Footnote's client uses, answering as Discord does."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .payloads import FakeChannel, iso, member_payload

if TYPE_CHECKING:
    from .server import FakeDiscord

__all__ = ["add_rest_routes", "json_response"]

EPHEMERAL = 1 << 6


def add_rest_routes(app: web.Application, fake: FakeDiscord, prefix: str) -> None:
    """Register every route on ``app`` under ``prefix`` (``/api/v10``)."""
    routes = Routes(fake)
    add = app.router.add_route
    add("GET", prefix + "/users/@me", routes.me)
    add("GET", prefix + "/oauth2/applications/@me", routes.application)
    add("GET", prefix + "/gateway", routes.gateway)
    add("GET", prefix + "/gateway/bot", routes.gateway_bot)
    add("PUT", prefix + "/applications/{app}/commands", routes.put_commands)
    add("PUT", prefix + "/applications/{app}/guilds/{guild}/commands", routes.put_commands)
    add("GET", prefix + "/applications/{app}/commands", routes.get_commands)
    add("GET", prefix + "/applications/{app}/guilds/{guild}/commands", routes.get_commands)
    add("POST", prefix + "/channels/{channel}/messages", routes.create_message)
    add("GET", prefix + "/channels/{channel}/messages/{message}", routes.get_message)
    add("PUT", prefix + "/channels/{channel}/messages/{message}/reactions/{emoji}/@me", routes.add_reaction)
    add("POST", prefix + "/channels/{channel}/messages/{message}/threads", routes.create_thread)
    add("POST", prefix + "/interactions/{id}/{token}/callback", routes.interaction_callback)
    add("POST", prefix + "/webhooks/{app}/{token}", routes.followup)
    add("PATCH", prefix + "/webhooks/{app}/{token}/messages/{message}", routes.edit_original)
    add("*", prefix + "/{tail:.*}", routes.unknown)


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON with exactly ``Content-Type: application/json``, as Discord sends (discord.py compares it exactly)."""
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _error(status: int, message: str, code: int = 0) -> web.Response:
    return json_response({"message": message, "code": code}, status=status)


class Routes:
    """Route handlers bound to one :class:`FakeDiscord`."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    async def me(self, request: web.Request) -> web.Response:
        return json_response(self.fake.user_json(self.fake.me))

    async def application(self, request: web.Request) -> web.Response:
        fake = self.fake
        owner = {"id": str(fake.ids.next()), "username": "owner", "discriminator": "0", "avatar": None}
        return json_response({
            "id": str(fake.application_id), "name": "Footnote", "description": "", "icon": None,
            "bot_public": True, "bot_require_code_grant": False, "owner": owner, "verify_key": "0" * 64,
            "flags": fake.application_flags, "team": None, "summary": "",
        })

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.fake.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        return json_response({
            "url": self.fake.gateway_url,
            "shards": self.fake.shards_recommended,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        })

    async def put_commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        guild_id = int(guild) if guild else None
        registered = []
        for command in await request.json():
            command = dict({"description": "", "options": [], "type": 1}, **command)
            command = dict(command, id=str(self.fake.ids.next()), application_id=str(self.fake.application_id),
                           version="1")
            if guild_id is not None:
                command["guild_id"] = str(guild_id)
            registered.append(command)
        self.fake.commands[guild_id] = registered
        return json_response(registered)

    async def get_commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        return json_response(self.fake.commands.get(int(guild) if guild else None, []))

    async def create_message(self, request: web.Request) -> web.Response:
        try:
            channel = self.fake.channel(request.match_info["channel"])
        except KeyError:
            return _error(404, "Unknown Channel", 10003)
        body = await request.json()
        reference = (body.get("message_reference") or {}).get("message_id")
        data = self.fake.store_message(
            channel, self.fake.me, body.get("content") or "", embeds=body.get("embeds"),
            components=body.get("components"), reference_id=int(reference) if reference else None,
            flags=body.get("flags") or 0,
        )
        await self.fake.dispatch("MESSAGE_CREATE", data, guild_id=channel.guild_id)
        return json_response(data)

    async def get_message(self, request: web.Request) -> web.Response:
        data = self.fake.messages.get(int(request.match_info["message"]))
        return json_response(data) if data else _error(404, "Unknown Message", 10008)

    async def add_reaction(self, request: web.Request) -> web.Response:
        message = self.fake.messages.get(int(request.match_info["message"]))
        if message is None:
            return _error(404, "Unknown Message", 10008)
        channel = self.fake.channel(request.match_info["channel"])
        await self.fake.dispatch("MESSAGE_REACTION_ADD", {
            "user_id": str(self.fake.me.id), "channel_id": str(channel.id), "message_id": message["id"],
            "guild_id": str(channel.guild_id), "emoji": {"id": None, "name": request.match_info["emoji"]},
            "member": member_payload(self.fake.me), "burst": False, "type": 0,
            "message_author_id": message["author"]["id"],
        }, guild_id=channel.guild_id)
        return web.Response(status=204)

    async def create_thread(self, request: web.Request) -> web.Response:
        parent = self.fake.channel(request.match_info["channel"])
        body = await request.json()
        thread = FakeChannel(int(request.match_info["message"]), parent.guild_id, body.get("name", "thread"),
                             type=11, parent_id=parent.id, owner_id=self.fake.me.id)
        self.fake.guilds[parent.guild_id].channels[thread.id] = thread
        data = self.fake.channel_json(thread)
        await self.fake.dispatch("THREAD_CREATE", dict(data, newly_created=True), guild_id=parent.guild_id)
        return json_response(data, status=201)

    async def interaction_callback(self, request: web.Request) -> web.Response:
        interaction = self.fake.interactions.get(request.match_info["token"])
        if interaction is None or interaction["id"] != request.match_info["id"]:
            return _error(404, "Unknown interaction", 10062)
        if interaction.get("responded"):
            return _error(400, "Interaction has already been acknowledged.", 40060)
        interaction["responded"] = True
        body = await request.json()
        kind = body["type"]
        answer: dict[str, Any] = {"interaction": {
            "id": interaction["id"], "type": interaction["type"],
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & EPHEMERAL),
        }}
        if kind in (4, 5, 7):
            message = self._interaction_message(interaction, body.get("data") or {})
            answer["interaction"]["response_message_id"] = message["id"]
            answer["resource"] = {"type": kind, "message": message}
        return json_response(answer)

    async def followup(self, request: web.Request) -> web.Response:
        interaction = self.fake.interactions.get(request.match_info["token"])
        if interaction is None:
            return _error(404, "Unknown Webhook", 10015)
        return json_response(self._interaction_message(interaction, await request.json()))

    async def edit_original(self, request: web.Request) -> web.Response:
        interaction = self.fake.interactions.get(request.match_info["token"])
        if interaction is None:
            return _error(404, "Unknown Webhook", 10015)
        return json_response(self._interaction_message(interaction, await request.json()))

    def _interaction_message(self, interaction: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        channel = self.fake.channel(interaction["channel_id"])
        message = self.fake.store_message(channel, self.fake.me, data.get("content") or "",
                                          embeds=data.get("embeds"), components=data.get("components"),
                                          flags=data.get("flags") or 0)
        message["webhook_id"] = str(self.fake.application_id)
        message["timestamp"] = iso()
        return message

    async def unknown(self, request: web.Request) -> web.Response:
        self.fake.unknown_routes.append(self.fake.requests[-1])
        return _error(404, f"The fake Discord has no route {request.method} {request.path}")
