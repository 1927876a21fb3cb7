"""The console as a newcomer meets it: it answers what they type and says why when it stays quiet."""

from __future__ import annotations

import io

from conftest import ROOT

from bot.adapters.console import ConsoleChat, console_config
from bot.app import open_app
from bot.config import Config, PolicyConfig

CLAIMS = [
    "china gives everyone a single social credit score right?",
    "millions of chinese people are banned from flights and trains because their social credit score is low",
    "in china if your friends have a low social credit score then your own score goes down too",
    "sesame credit is just the chinese government's social credit system",
    "the social credit system mostly targets companies, not individuals",
]


async def test_a_newcomer_gets_more_than_three_answers(tmp_path, brain):
    """Five different claims in a row are all answered: no per-person cap in the console by default."""
    config = console_config(Config(database=tmp_path / "c.sqlite3"))
    async with open_app(config, brain) as app:
        chat = ConsoleChat(app.engine, out=io.StringIO())
        answers = [await chat.handle_line(text) for text in CLAIMS]
    assert sum(a.startswith("[") for a in answers) == len(CLAIMS), answers


async def test_a_held_claim_gets_one_line_naming_the_rule(tmp_path, brain):
    """The same claim twice: the second time one line says it was recognised and held by the cooldown."""
    async with open_app(console_config(Config(database=tmp_path / "c.sqlite3")), brain) as app:
        chat = ConsoleChat(app.engine, out=io.StringIO())
        first = await chat.handle_line(CLAIMS[0])
        second = await chat.handle_line(CLAIMS[0])
        explained = await chat.handle_line("/explain")
    assert first.startswith("[")
    assert second.count("\n") == 0 and "recognised 'single-national-score'" in second and "cooldown" in second
    assert "cooldown" in explained  # the same reason explain gives


async def test_a_configured_cap_still_applies_in_the_console(tmp_path, brain):
    """A user_per_hour set in the config file holds in the console too, and says so."""
    config = console_config(Config(database=tmp_path / "c.sqlite3", policy=PolicyConfig(user_per_hour=1)))
    async with open_app(config, brain) as app:
        chat = ConsoleChat(app.engine, out=io.StringIO())
        first, second = [await chat.handle_line(text) for text in CLAIMS[:2]]
    assert first.startswith("[") and "hourly answer cap for this person" in second


def test_console_once_is_not_affected_by_an_earlier_run(tmp_path):
    """`console --once` twice with the same claim answers both times (no cooldown carried over)."""
    import subprocess
    import sys

    config = tmp_path / "config.yaml"
    config.write_text(f"database: {tmp_path / 'console.sqlite3'}\n")
    outputs = [subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "console", "--once",
                               CLAIMS[0]], cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
               for _ in range(2)]
    assert all(out.startswith("[False] ") for out in outputs), outputs
