"""A local Discord (REST + gateway on 127.0.0.1) for end-to-end tests of the real discord.py client."""

from .payloads import MANAGE_GUILD, FakeChannel, FakeGuild, FakeUser
from .server import FakeDiscord, GatewayFrame, WireRequest

__all__ = ["FakeChannel", "FakeDiscord", "FakeGuild", "FakeUser", "GatewayFrame", "MANAGE_GUILD", "WireRequest"]
