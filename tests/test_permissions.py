"""Permissions: every moderator command is refused to everyone else, and moderator actions are logged.

The adapters decide who is a moderator (Manage Server on Discord, power level 50 on Matrix, the config's
lists) and set ``Command.is_moderator``; these tests hold the engine to its side. The platform checks
themselves are tested in the adapters' e2e suites.
"""

from __future__ import annotations

import logging

import pytest
from conftest import OPERATOR

from bot.app import App
from bot.messages import MODERATOR_COMMANDS, Command, Notice
from bot.storage import ChannelSettings
from bot.wording import OPERATOR_COMMANDS

#: Arguments that make each moderator command do its work.
ARGS = {"settings": "mode react cooldown 5", "reload": "", "test": "everyone in china has one social credit score",
        "stats": ""}
REFUSAL = "Only moderators can use that command."
OPERATOR_REFUSAL = "Only the bot's operators can use that command."


def command(name: str, *, moderator: bool, user: str = "mallory", platform: str = "test") -> Command:
    return Command(name=name, args=ARGS.get(name.casefold(), ""), platform=platform, channel_id="general",
                   author_id=user, timestamp=1_700_000_000.0, is_moderator=moderator)


def refusal_for(name: str) -> str:
    return OPERATOR_REFUSAL if name.casefold() in (*OPERATOR_COMMANDS, "kb") else REFUSAL


def records(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


def test_every_moderator_command_has_arguments_here() -> None:
    """This file covers every moderator command there is (a new one must be added to ARGS)."""
    assert set(ARGS) == set(MODERATOR_COMMANDS)


@pytest.mark.parametrize("name", sorted(MODERATOR_COMMANDS))
async def test_moderator_command_is_refused_to_non_moderators(app: App, name: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """A non-moderator gets a private refusal (ok=False), and the refusal is logged with who asked."""
    caplog.set_level(logging.INFO, logger="footnote")
    answer = await app.engine.handle_command(command(name, moderator=False, user="mallory"))
    assert isinstance(answer, Notice)
    assert answer.ok is False and answer.private and answer.title == refusal_for(name)
    refused = records(caplog, "refused")
    assert [(r.user, r.command) for r in refused] == [("mallory", name)]  # type: ignore[attr-defined]
    assert not records(caplog, "moderator")


@pytest.mark.parametrize("name", ["RELOAD", "kb", "Settings", "STATS"])
async def test_aliases_and_capitals_do_not_bypass_the_check(app: App, name: str) -> None:
    """`kb` (an alias of reload) and upper-case names are refused to non-moderators too."""
    answer = await app.engine.handle_command(command(name, moderator=False))
    assert isinstance(answer, Notice) and answer.ok is False and answer.title == refusal_for(name)


@pytest.mark.parametrize("name", sorted(MODERATOR_COMMANDS - OPERATOR_COMMANDS))
async def test_moderator_command_is_accepted_from_moderators(app: App, name: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """A moderator's command runs (ok=True), and the action is logged with who did it."""
    caplog.set_level(logging.INFO, logger="footnote")
    answer = await app.engine.handle_command(command(name, moderator=True, user="mod-ann"))
    assert isinstance(answer, Notice)
    assert answer.ok is True and answer.title != REFUSAL, answer
    done = records(caplog, "moderator")
    assert [(r.user, r.command) for r in done] == [("mod-ann", name)]  # type: ignore[attr-defined]
    assert not records(caplog, "refused")


async def test_refused_settings_change_nothing(app: App) -> None:
    """A non-moderator's `settings mode off` leaves the channel's settings as they were."""
    before = await app.storage.channel_settings("test", "general")
    off = Command(name="settings", args="mode off", platform="test", channel_id="general", author_id="mallory",
                  timestamp=1_700_000_000.0, is_moderator=False)
    await app.engine.handle_command(off)
    assert await app.storage.channel_settings("test", "general") == before == ChannelSettings()


async def test_moderator_settings_change_is_stored_and_logged_with_who(app: App,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A moderator's settings change is stored, and logged with the moderator, the channel and the values."""
    caplog.set_level(logging.INFO, logger="footnote")
    await app.engine.handle_command(command("settings", moderator=True, user="mod-ann"))
    assert await app.storage.channel_settings("test", "general") == ChannelSettings("react", 5.0)
    [changed] = records(caplog, "settings")
    assert (changed.user, changed.channel, changed.mode, changed.cooldown) == (  # type: ignore[attr-defined]
        "mod-ann", "general", "react", 5.0)


async def test_refused_reload_keeps_the_knowledge_base(app: App) -> None:
    """Neither a member's nor a server moderator's reload rebuilds anything; an operator's does."""
    brain = app.engine.brain
    await app.engine.handle_command(command("reload", moderator=False))
    await app.engine.handle_command(command("reload", moderator=True, user="mod-ann", platform="matrix"))
    assert app.engine.brain is brain
    answer = await app.engine.handle_command(command("reload", moderator=False, user=OPERATOR, platform="matrix"))
    assert answer.ok and app.engine.brain is not brain  # the check above can fail: an operator's reload rebuilds


async def test_operator_reload_is_logged_with_who(app: App, caplog: pytest.LogCaptureFixture) -> None:
    """An operator's reload runs and is logged with who did it."""
    caplog.set_level(logging.INFO, logger="footnote")
    await app.engine.handle_command(command("reload", moderator=False, user=OPERATOR, platform="matrix"))
    assert [(r.user, r.command) for r in records(caplog, "moderator")] == [  # type: ignore[attr-defined]
        (OPERATOR, "reload")]
