"""Each platform's texts in its own terms: Matrix gets `!` commands and no thread option, Discord slash ones."""

from __future__ import annotations

from conftest import command

from bot import render
from bot.messages import ClaimList, Notice


async def test_matrix_help_lists_bang_commands(app):
    """On Matrix, help writes every command as typed there: !source, !footnote stats."""
    answer = await app.engine.handle_command(command("help", platform="matrix"))
    text = "\n".join(answer.lines)
    assert "!source <topic or claim id>" in text and "!footnote stats" in text and "!footnote settings" in text
    assert "thread" not in text and "/footnote" not in text


async def test_matrix_refusal_names_matrix_moderators_only(app):
    """A refused Matrix command names power levels, not Discord's Manage Server."""
    answer = await app.engine.handle_command(command("stats", platform="matrix", channel="!r:hs"))
    assert isinstance(answer, Notice) and not answer.ok
    text = " ".join(answer.lines)
    assert "power level 50" in text and "Manage Server" not in text and "Discord" not in text


async def test_discord_refusal_names_manage_server(app):
    """A refused Discord command names Manage Server, not power levels."""
    answer = await app.engine.handle_command(command("stats", platform="discord", server_id="g"))
    text = " ".join(answer.lines)
    assert "Manage Server" in text and "power level" not in text


async def test_matrix_settings_have_no_thread_option(app):
    """Matrix settings neither show nor accept a thread option; Discord's do."""
    shown = await app.engine.handle_command(command("settings", moderator=True, platform="matrix"))
    assert not any("thread" in line for line in shown.lines)
    assert any("per person" in line or "one person" in line for line in shown.lines)
    refused = await app.engine.handle_command(command("settings", "thread on", moderator=True, platform="matrix"))
    assert not refused.ok and "thread" not in refused.title and "!footnote settings" in refused.title
    discord = await app.engine.handle_command(command("settings", moderator=True, platform="discord",
                                                      server_id="g"))
    assert any("thread" in line for line in discord.lines)


async def test_settings_say_the_person_cap_counts_per_server(app):
    """Settings say the per-person cap is counted in each server (room) on its own."""
    shown = await app.engine.handle_command(command("settings", moderator=True, platform="matrix"))
    [caps] = [line for line in shown.lines if line.startswith("caps")]
    assert "in this room" in caps


async def test_next_page_is_written_for_each_platform(app):
    """The claims list's next-page hint is `!claims 2` on Matrix and `/claims page:2` on Discord."""
    on_matrix = await app.engine.handle_command(command("claims", platform="matrix"))
    on_discord = await app.engine.handle_command(command("claims", platform="discord", server_id="g"))
    assert isinstance(on_matrix, ClaimList) and on_matrix.pages > 1
    assert "Next page: !claims 2" in render.matrix_message(on_matrix)[0]
    assert "/claims page:2" in render.discord_markdown(on_discord).replace("\\", "")
