"""``python -m bot discord sync``: register Footnote's slash commands now, without starting the bot.

Logs in over HTTP only (no gateway connection), registers the commands in each ``discord.guild_ids`` guild
(instant) or globally (can take up to an hour to appear), and exits.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ..config import Config, DiscordConfig
from ..errors import ConfigError

__all__ = ["add_cli", "sync_commands"]


def _discord_section(config: Config | DiscordConfig) -> DiscordConfig:
    section = config if isinstance(config, DiscordConfig) else config.discord
    if section is None or section.token is None:
        raise ConfigError("discord.token is not set: put the bot token in FOOTNOTE_DISCORD_TOKEN "
                          "(or discord.token in the config file).")
    return section


async def sync_commands(config: Config | DiscordConfig) -> int:
    """Log in with the configured token, sync the commands and log out. Returns how many were registered.

    Raises:
        ConfigError: no token is configured.
        DiscordLoginError: Discord rejected the token.
    """
    import discord

    from .discord_bot import DiscordAdapter, DiscordLoginError

    section = _discord_section(config)
    # The engine is never called: only the command definitions are needed to register them.
    adapter = DiscordAdapter(engine=None, config=section)  # type: ignore[arg-type]
    adapter.message_content = False
    client = adapter.build_client(message_content=False)
    adapter._synced = True  # login() runs setup_hook; sync once, explicitly, below
    try:
        async with client:
            try:
                await client.login(section.token.get_secret_value().strip())  # type: ignore[union-attr]
            except discord.LoginFailure:
                raise DiscordLoginError("Discord rejected the bot token (401 Unauthorized). Copy a fresh token "
                                        "from the Developer Portal (Bot -> Reset Token) into "
                                        "FOOTNOTE_DISCORD_TOKEN.") from None
            return await adapter.sync_commands()
    finally:
        adapter.client = None


def _run_sync(args: argparse.Namespace) -> int:
    from ..cli import _load

    config = _load(args)
    count = asyncio.run(sync_commands(config))
    where = (f"{len(config.discord.guild_ids)} guild(s)" if config.discord and config.discord.guild_ids
             else "all guilds (global commands can take up to an hour to appear)")
    print(f"synced {count} commands to {where}")
    return 0 if count else 1


def add_cli(subparsers: Any) -> None:
    """Add ``discord sync`` to the ``python -m bot`` command line (``subparsers`` from ``add_subparsers``)."""
    discord_parser = subparsers.add_parser("discord", help="Discord tools")
    commands = discord_parser.add_subparsers(dest="discord_command", metavar="DISCORD_COMMAND", required=True)
    sync = commands.add_parser("sync", help="register the slash commands now (configured guilds, else global)")
    sync.set_defaults(func=_run_sync)
