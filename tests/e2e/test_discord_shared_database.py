"""Two ``python -m bot run`` processes, one shard each, sharing one PostgreSQL, through the fake gateway.

Before: one process serves both guilds on one shard, and a moderator switches a channel of the second guild
to react mode. After resharding to two shards in two processes, each guild's events reach only the process
that owns its shard, and the second process follows the setting made through the first.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fakediscord.payloads import MANAGE_GUILD, SEND_MESSAGES
from fakediscord.server import FakeDiscord

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "tests" / "fakediscord" / "run_bot.py"
SEARCH = "🔎"
CLAIM = "china gives everyone a single social credit score right?"


class BotProcess:
    """One ``python -m bot run`` child; its log goes to a file so the test can see what it handled."""

    def __init__(self, fake: FakeDiscord, config: Path, log: Path) -> None:
        self.log = log
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(LAUNCHER), fake.base_url, fake.gateway_url, "--",
                 "--config", str(config), "--log-format", "json", "run"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            for _ in range(100):
                if self.proc.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                self.proc.kill()
        assert self.proc.wait(5) is not None


def _config(path: Path, url: str, fake: FakeDiscord, guild_ids: list[int], shard_count: int,
            shard_ids: list[int]) -> Path:
    path.write_text(yaml.safe_dump({
        "database": url, "knowledge": {"watch": False},
        "discord": {"token": fake.token, "guild_ids": guild_ids, "shard_count": shard_count,
                    "shard_ids": shard_ids}}), encoding="utf-8")
    return path


async def _identified(fake: FakeDiscord, shard: tuple[int, int], after: int) -> None:
    await fake.wait_for(lambda: [f for f in fake.gateway_frames[after:]
                                 if f.op == 2 and tuple(f.data.get("shard", [0, 1])) == shard],
                        what=f"shard {shard} to IDENTIFY", timeout=60)


async def test_two_processes_on_two_shards_share_one_database(postgres_url: str, tmp_path: Path) -> None:
    """Each guild is served by its shard's process; a setting made through one process binds the other."""
    async with FakeDiscord() as fake:
        guilds = [fake.add_guild(f"shard {i}", shard=(i, 2)) for i in range(2)]
        people = [fake.add_user(f"person{i}", guild=g) for i, g in enumerate(guilds)]
        moderator = fake.add_user("mod", guild=guilds[1], permissions=MANAGE_GUILD | SEND_MESSAGES)
        ids = [g.id for g in guilds]

        # Before resharding: one process, one shard, both guilds.
        single = BotProcess(fake, _config(tmp_path / "one.yaml", postgres_url, fake, ids, 1, [0]),
                            tmp_path / "one.log")
        try:
            await _identified(fake, (0, 1), 0)
            await fake.wait_for(lambda: [r for r in fake.requests if r.method == "PUT"
                                         and r.path.endswith(f"/guilds/{guilds[1].id}/commands")],
                                what="slash commands synced", timeout=30)
            setting = await fake.slash(guilds[1].channel, moderator, "footnote", {"mode": "react"},
                                       subcommand="settings")
            (changed,) = await fake.followups_to(setting, timeout=15)
            assert "react" in str(changed)
        finally:
            await single.stop()

        # After: two processes, one shard each, the same database.
        frames = len(fake.gateway_frames)
        shard0 = BotProcess(fake, _config(tmp_path / "s0.yaml", postgres_url, fake, ids, 2, [0]), tmp_path / "s0.log")
        shard1 = BotProcess(fake, _config(tmp_path / "s1.yaml", postgres_url, fake, ids, 2, [1]), tmp_path / "s1.log")
        try:
            await _identified(fake, (0, 2), frames)
            await _identified(fake, (1, 2), frames)
            first = await fake.post_message(guilds[0].channel, people[0], CLAIM)
            second = await fake.post_message(guilds[1].channel, people[1], CLAIM)
            await fake.wait_for(lambda: fake.bot_messages(guilds[0].channel.id), what="an answer in guild 0",
                                timeout=15)
            await fake.wait_for(lambda: fake.find("PUT", f"/channels/{guilds[1].channel.id}/messages/{second['id']}"
                                                         f"/reactions/{SEARCH}/@me") or None,
                                what="a 🔎 in guild 1 (react mode, set through the other process)", timeout=15)
            assert fake.bot_messages(guilds[1].channel.id) == []
        finally:
            await asyncio.gather(shard0.stop(), shard1.stop())
        logs = shard0.text(), shard1.text()
        assert first["id"] in logs[0] or str(guilds[0].channel.id) in logs[0], logs[0][-3000:]
        assert str(guilds[1].channel.id) not in logs[0], "shard 0's process saw guild 1's message"
        assert str(guilds[0].channel.id) not in logs[1], "shard 1's process saw guild 0's message"
        assert str(guilds[1].channel.id) in logs[1], logs[1][-3000:]
