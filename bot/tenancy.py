"""Whose data is whose: every moderator view is limited to the asker's own server.

A *server* is a Discord guild; where there is no guild (a Matrix room, a direct message, the console) it
is the channel itself, so a Matrix room's moderators see that room only. *Operators*, named in the
config by platform user id, and the command line may see and do things for the whole bot.
"""

from __future__ import annotations

from .config import OperatorsConfig
from .messages import Command, Message, Reaction
from .storage import Scope

__all__ = ["is_operator", "scope_of"]


def scope_of(event: Message | Command | Reaction) -> Scope:
    """The server an event belongs to: its guild, or its channel where the platform has no guilds."""
    return Scope(event.platform, event.server_id or event.channel_id)


def is_operator(operators: OperatorsConfig, platform: str, user_id: str) -> bool:
    """Whether ``user_id`` on ``platform`` is one of the bot's operators (the console user always is)."""
    if platform == "console":
        return True
    return user_id in operators.for_platform(platform)
