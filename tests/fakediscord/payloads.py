"""Discord API payloads as the real service sends them, built from a few plain values.

Only the fields discord.py reads are filled in; everything else keeps Discord's defaults. The shapes
follow the public API documentation (https://discord.com/developers/docs), version 10.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DISCORD_EPOCH_MS",
    "FakeChannel",
    "FakeGuild",
    "FakeUser",
    "MANAGE_GUILD",
    "SEND_MESSAGES",
    "Snowflakes",
    "channel_payload",
    "guild_payload",
    "member_payload",
    "message_payload",
    "shard_of",
    "user_payload",
]

DISCORD_EPOCH_MS = 1420070400000
MANAGE_GUILD = 1 << 5
SEND_MESSAGES = 1 << 11
VIEW_CHANNEL = 1 << 10
READ_HISTORY = 1 << 16
EVERYONE_PERMISSIONS = SEND_MESSAGES | VIEW_CHANNEL | READ_HISTORY | (1 << 6)  # + add reactions


class Snowflakes:
    """Unique, time-ordered ids shaped like Discord's: milliseconds since 2015 shifted left by 22 bits."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self, *, at_ms: int | None = None) -> int:
        """A new id; ``at_ms`` fixes the timestamp part (it decides which shard owns a guild)."""
        ms = at_ms if at_ms is not None else int(time.time() * 1000)
        return ((ms - DISCORD_EPOCH_MS) << 22) | (next(self._counter) & 0xFFF)


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events (Discord's documented formula)."""
    return (guild_id >> 22) % shard_count


def iso(ts: float | None = None) -> str:
    """An ISO 8601 timestamp as Discord writes them."""
    return dt.datetime.fromtimestamp(ts if ts is not None else time.time(), tz=dt.UTC).isoformat()


@dataclass
class FakeUser:
    """A Discord account: a person, another bot, or Footnote itself."""

    id: int
    name: str
    bot: bool = False
    #: Guild-wide permission bits the member has (sent with interactions).
    permissions: int = EVERYONE_PERMISSIONS
    role_ids: list[int] = field(default_factory=list)


@dataclass
class FakeChannel:
    """A guild text channel (type 0) or a public thread (type 11)."""

    id: int
    guild_id: int
    name: str
    type: int = 0
    parent_id: int | None = None
    owner_id: int | None = None


@dataclass
class FakeGuild:
    """A server with its channels, roles and members."""

    id: int
    name: str
    owner_id: int
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)
    members: dict[int, FakeUser] = field(default_factory=dict)

    @property
    def channel(self) -> FakeChannel:
        """The first text channel (every fake guild has one: #general)."""
        return next(c for c in self.channels.values() if c.type == 0)


def user_payload(user: FakeUser) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user.id),
        "username": user.name,
        "global_name": user.name,
        "discriminator": "0",
        "avatar": None,
        "bot": user.bot,
        "public_flags": 0,
        "flags": 0,
    }


def member_payload(user: FakeUser, *, with_user: bool = True, permissions: bool = False) -> dict[str, Any]:
    """A guild member object; interactions add the resolved ``permissions``."""
    data: dict[str, Any] = {
        "roles": [str(r) for r in user.role_ids],
        "joined_at": iso(0),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
    }
    if with_user:
        data["user"] = user_payload(user)
    if permissions:
        data["permissions"] = str(user.permissions)
    return data


def channel_payload(channel: FakeChannel) -> dict[str, Any]:
    """A channel object (text channel or thread)."""
    data: dict[str, Any] = {
        "id": str(channel.id),
        "guild_id": str(channel.guild_id),
        "type": channel.type,
        "name": channel.name,
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "parent_id": str(channel.parent_id) if channel.parent_id else None,
    }
    if channel.type == 11:
        data.update(
            owner_id=str(channel.owner_id),
            message_count=0,
            member_count=1,
            thread_metadata={
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": iso(),
                "locked": False,
            },
        )
    return data


def guild_payload(guild: FakeGuild, me: FakeUser) -> dict[str, Any]:
    """A GUILD_CREATE payload: the guild with its channels, roles and the bot's own member."""
    roles = [{"id": str(guild.id), "name": "@everyone", "permissions": str(EVERYONE_PERMISSIONS), "position": 0}]
    roles += [{"id": str(rid), "name": name, "permissions": "0", "position": 1} for rid, name in guild.roles.items()]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "owner_id": str(guild.owner_id),
        "unavailable": False,
        "member_count": len(guild.members) + 1,
        "large": False,
        "features": [],
        "roles": roles,
        "emojis": [],
        "stickers": [],
        "channels": [channel_payload(c) for c in guild.channels.values() if c.type == 0],
        "threads": [channel_payload(c) for c in guild.channels.values() if c.type == 11],
        "members": [member_payload(me)],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "joined_at": iso(0),
        "preferred_locale": "en-US",
        "premium_tier": 0,
        "system_channel_flags": 0,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "afk_timeout": 300,
    }


def message_payload(
    *,
    message_id: int,
    channel: FakeChannel,
    author: FakeUser,
    content: str,
    mentions: list[FakeUser] | None = None,
    reference_id: int | None = None,
    webhook_id: int | None = None,
    embeds: list[dict[str, Any]] | None = None,
    components: list[dict[str, Any]] | None = None,
    flags: int = 0,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """A message object as MESSAGE_CREATE and the REST API return it."""
    data: dict[str, Any] = {
        "id": str(message_id),
        "channel_id": str(channel.id),
        "guild_id": str(channel.guild_id),
        "author": user_payload(author),
        "content": content,
        "timestamp": iso(timestamp),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [user_payload(u) for u in mentions or []],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds or [],
        "components": components or [],
        "pinned": False,
        "type": 19 if reference_id else 0,
        "flags": flags,
    }
    if webhook_id is None:
        data["member"] = member_payload(author, with_user=False)
    else:
        data["webhook_id"] = str(webhook_id)
    if reference_id:
        data["message_reference"] = {
            "type": 0,
            "message_id": str(reference_id),
            "channel_id": str(channel.id),
            "guild_id": str(channel.guild_id),
        }
    return data
