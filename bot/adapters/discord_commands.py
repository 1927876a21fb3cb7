"""Footnote's application commands: ``/source``, ``/claims``, "Why did Footnote answer?" and the
moderators' ``/footnote settings | test | stats`` (``reload`` and ``stats everywhere:True`` are for the
bot's operators; the engine checks).

Each command only gathers its arguments and hands them to
:meth:`~bot.adapters.discord_bot.DiscordAdapter.run_command`; the engine answers. ``/footnote`` carries
``default_permissions(manage_guild)`` so members without Manage Server do not see it, and the engine
checks again at run time (a server can grant the command to anyone in its Integrations settings).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

if TYPE_CHECKING:
    from .discord_bot import DiscordAdapter

__all__ = ["EXPLAIN_MENU", "build_tree"]

log = logging.getLogger(__name__)

#: The message context-menu command's name, as users see it.
EXPLAIN_MENU = "Why did Footnote answer?"
_CHOICES_MAX = 25
_CHOICE_TEXT_MAX = 100


def build_tree(client: discord.Client, adapter: DiscordAdapter) -> app_commands.CommandTree:
    """A command tree for ``client`` whose commands call ``adapter``."""
    tree = app_commands.CommandTree(client)

    async def source_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        pairs = adapter.engine.autocomplete(current[:_CHOICE_TEXT_MAX], limit=_CHOICES_MAX)
        return [app_commands.Choice(name=label[:_CHOICE_TEXT_MAX] or cid, value=cid[:_CHOICE_TEXT_MAX])
                for cid, label in pairs[:_CHOICES_MAX]]

    @tree.command(name="source", description="The full answer on a claim or topic, with context and sources")
    @app_commands.describe(query="A claim id, a topic (e.g. sesame) or a few words")
    @app_commands.autocomplete(query=source_choices)
    async def source(interaction: discord.Interaction, query: app_commands.Range[str, 1, 300]) -> None:
        await adapter.run_command(interaction, "source", query)

    @tree.command(name="claims", description="Every claim and topic Footnote knows")
    @app_commands.describe(page="Page number")
    async def claims(interaction: discord.Interaction, page: app_commands.Range[int, 1, 100] = 1) -> None:
        await adapter.run_command(interaction, "claims", str(page), ephemeral=True)

    @tree.context_menu(name=EXPLAIN_MENU)
    async def explain(interaction: discord.Interaction, message: discord.Message) -> None:
        await adapter.run_command(interaction, "explain", str(message.id), target=str(message.id),
                                  ephemeral=True)

    tree.add_command(_moderator_group(adapter))

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await adapter.on_command_error(interaction, error)

    return tree


def _moderator_group(adapter: DiscordAdapter) -> app_commands.Group:
    group = app_commands.Group(
        name="footnote", description="Footnote settings and statistics (moderators)",
        default_permissions=discord.Permissions(manage_guild=True), guild_only=True,
    )

    @group.command(name="settings", description="Show or change how Footnote answers in this channel")
    @app_commands.describe(mode="reply: answer; react: add 🔎 and answer on request; off: stay quiet",
                           cooldown="Minutes before the same claim is answered again in this channel",
                           thread="on: answer in a thread started on the message; off: reply in the channel")
    async def settings(interaction: discord.Interaction,
                       mode: Literal["reply", "react", "off", "default"] | None = None,
                       cooldown: app_commands.Range[float, 0, 10080] | None = None,
                       thread: Literal["on", "off", "default"] | None = None) -> None:
        words = []
        if mode is not None:
            words += ["mode", mode]
        if cooldown is not None:
            words += ["cooldown", f"{cooldown:g}"]
        if thread is not None:
            words += ["thread", thread]
        await adapter.run_command(interaction, "settings", " ".join(words), moderator=True)

    @group.command(name="reload", description="Load the knowledge files again")
    async def reload(interaction: discord.Interaction) -> None:
        await adapter.run_command(interaction, "reload", "", moderator=True)

    @group.command(name="test", description="How Footnote would match a message")
    @app_commands.describe(text="The message to test")
    async def test(interaction: discord.Interaction, text: app_commands.Range[str, 1, 1000]) -> None:
        await adapter.run_command(interaction, "test", text, moderator=True)

    @group.command(name="stats", description="Answers per claim, feedback and near misses in this server")
    @app_commands.describe(everywhere="Every server the bot is in (the bot's operators only)")
    async def stats(interaction: discord.Interaction, everywhere: bool = False) -> None:
        await adapter.run_command(interaction, "stats", "all" if everywhere else "", moderator=True)

    return group
