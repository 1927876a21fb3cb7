"""What people do in the fake Discord: post, edit, react, run slash commands, click buttons.

Each action builds the gateway event Discord would send and dispatches it to the shard that owns the guild.
Interactions only work for commands the bot registered (synced) first, as on the real service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .payloads import FakeChannel, FakeUser, channel_payload, iso, member_payload

if TYPE_CHECKING:
    from .server import FakeDiscord, WireRequest

__all__ = ["UserActions"]

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
BUTTON = 2


class UserActions:
    """Mixed into :class:`FakeDiscord`: the test's side of the conversation."""

    async def post_message(
        self: FakeDiscord, channel: FakeChannel, author: FakeUser, content: str, *,
        mention_bot: bool = False, webhook: bool = False, reply_to: int | None = None,
    ) -> dict[str, Any]:
        """``author`` posts ``content`` in ``channel``; returns the message payload."""
        if mention_bot:
            content = f"<@{self.me.id}> {content}"
        data = self.store_message(
            channel, author, content, mentions=[self.me] if mention_bot else None,
            webhook_id=self.ids.next() if webhook else None, reference_id=reply_to,
        )
        await self.dispatch("MESSAGE_CREATE", dict(data), guild_id=channel.guild_id)
        return data

    async def edit_message(self: FakeDiscord, message: dict[str, Any], content: str) -> dict[str, Any]:
        """Edit a message (MESSAGE_UPDATE with the whole new message)."""
        message.update(content=content, edited_timestamp=iso())
        channel = self.channel(message["channel_id"])
        await self.dispatch("MESSAGE_UPDATE", dict(message), guild_id=channel.guild_id)
        return message

    async def react(self: FakeDiscord, message: dict[str, Any] | int | str, user: FakeUser, emoji: str) -> None:
        """``user`` adds a unicode ``emoji`` to a message."""
        data = message if isinstance(message, dict) else self.messages[int(message)]
        channel = self.channel(data["channel_id"])
        await self.dispatch("MESSAGE_REACTION_ADD", {
            "user_id": str(user.id), "channel_id": str(channel.id), "message_id": data["id"],
            "guild_id": str(channel.guild_id), "emoji": {"id": None, "name": emoji},
            "member": member_payload(user), "burst": False, "type": 0,
            "message_author_id": data["author"]["id"],
        }, guild_id=channel.guild_id)

    # ---------------------------------------------------------------------------------------- interactions

    def registered_command(self: FakeDiscord, guild_id: int, name: str, kind: int = 1) -> dict[str, Any]:
        """The command as the bot synced it (guild commands first, then global ones)."""
        for scope in (guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == kind:
                    return command
        raise AssertionError(f"the bot never synced a command {name!r} (type {kind}) for guild {guild_id}")

    async def _interact(self: FakeDiscord, kind: int, channel: FakeChannel, user: FakeUser,
                        data: dict[str, Any], message: dict[str, Any] | None = None) -> dict[str, Any]:
        guild = self.guilds[channel.guild_id]
        token = self.new_token()
        interaction: dict[str, Any] = {
            "id": str(self.ids.next()), "application_id": str(self.application_id), "type": kind,
            "data": data, "guild_id": str(guild.id), "channel_id": str(channel.id),
            "channel": channel_payload(channel), "member": member_payload(user, permissions=True),
            "token": token, "version": 1, "app_permissions": str((1 << 41) - 1), "locale": "en-US",
            "guild_locale": "en-US", "entitlements": [], "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0, "attachment_size_limit": 8 * 1024 * 1024,
        }
        if message is not None:
            interaction["message"] = message
        self.interactions[token] = interaction
        await self.dispatch("INTERACTION_CREATE", interaction, guild_id=guild.id)
        return interaction

    async def slash(self: FakeDiscord, channel: FakeChannel, user: FakeUser, name: str,
                    options: dict[str, Any] | None = None, *, subcommand: str | None = None) -> dict[str, Any]:
        """``user`` runs ``/name [subcommand] option:value...``; returns the interaction."""
        command = self.registered_command(channel.guild_id, name)
        opts = _options(command, subcommand, options or {})
        if subcommand:
            opts = [{"type": 1, "name": subcommand, "options": opts}]
        return await self._interact(APPLICATION_COMMAND, channel, user, _command_data(command, opts))

    async def autocomplete(self: FakeDiscord, channel: FakeChannel, user: FakeUser, name: str,
                           option: str, typed: str) -> dict[str, Any]:
        """``user`` types ``typed`` into option ``option`` of ``/name``."""
        command = self.registered_command(channel.guild_id, name)
        opts = _options(command, None, {option: typed})
        opts[0]["focused"] = True
        return await self._interact(AUTOCOMPLETE, channel, user, _command_data(command, opts))

    async def message_command(self: FakeDiscord, channel: FakeChannel, user: FakeUser, name: str,
                              target: dict[str, Any]) -> dict[str, Any]:
        """``user`` picks the message context-menu command ``name`` on ``target``."""
        command = self.registered_command(channel.guild_id, name, kind=3)
        data = _command_data(command, [])
        data.update(target_id=target["id"], resolved={"messages": {target["id"]: target}})
        return await self._interact(APPLICATION_COMMAND, channel, user, data)

    async def click(self: FakeDiscord, message: dict[str, Any] | int | str, user: FakeUser,
                    custom_id: str) -> dict[str, Any]:
        """``user`` clicks the button ``custom_id`` on a message the bot sent."""
        data = message if isinstance(message, dict) else self.messages[int(message)]
        buttons = [c["custom_id"] for row in data.get("components", []) for c in row.get("components", [])]
        assert custom_id in buttons, f"no button {custom_id!r} on message {data['id']} (has {buttons})"
        channel = self.channel(data["channel_id"])
        return await self._interact(MESSAGE_COMPONENT, channel, user,
                                    {"custom_id": custom_id, "component_type": BUTTON}, message=dict(data))

    async def response_to(self: FakeDiscord, interaction: dict[str, Any], *, timeout: float = 5.0) -> Any:
        """The JSON body of the bot's callback for ``interaction``."""
        path = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
        found: list[WireRequest] = await self.wait_for(lambda: self.find("POST", path),
                                                       timeout=timeout, what=f"a response to {path}")
        return found[0].body

    async def followups_to(self: FakeDiscord, interaction: dict[str, Any], *, count: int = 1,
                           timeout: float = 5.0) -> list[Any]:
        """The bodies of the bot's follow-up messages (``POST /webhooks/{app}/{token}``) or original edits."""
        prefix = f"/webhooks/{self.application_id}/{interaction['token']}"

        def sent() -> list[Any]:
            found = [r.body for r in self.requests if r.path.startswith(prefix) and r.method in ("POST", "PATCH")]
            return found if len(found) >= count else []

        return await self.wait_for(sent, timeout=timeout, what=f"follow-ups on {prefix}")


def _command_data(command: dict[str, Any], options: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": command.get("type", 1),
                            "options": options}
    if command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    return data


def _options(command: dict[str, Any], subcommand: str | None, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Typed options the way Discord sends them, checked against what the bot registered."""
    declared = command.get("options", [])
    if subcommand:
        sub = next((o for o in declared if o["name"] == subcommand and o["type"] == 1), None)
        assert sub is not None, f"/{command['name']} has no subcommand {subcommand!r}"
        declared = sub.get("options", [])
    types = {o["name"]: o["type"] for o in declared}
    for name in values:
        assert name in types, f"/{command['name']} {subcommand or ''} has no option {name!r} (has {list(types)})"
    return [{"name": name, "type": types[name], "value": value} for name, value in values.items()]
