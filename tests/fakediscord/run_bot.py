"""``python tests/fakediscord/run_bot.py BASE_URL GATEWAY_URL -- <python -m bot arguments>``.

Runs ``python -m bot`` (its real CLI, runner and Discord adapter) in a child process with discord.py
pointed at a :class:`~tests.fakediscord.server.FakeDiscord` instead of discord.com, exactly as
:func:`tests.fakediscord.running.point_discord_py_at` does inside the test process.
"""

from __future__ import annotations

import sys

import discord.gateway
import discord.http
import yarl

from bot.cli import main

if __name__ == "__main__":
    base, gateway, separator, *argv = sys.argv[1:]
    assert separator == "--", "usage: run_bot.py BASE_URL GATEWAY_URL -- ARGS..."
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    sys.exit(main(argv))
