"""The database, on both backends: migrations, state across restarts, concurrent processes, backups."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from pathlib import Path

import asyncpg
import pytest

from bot.errors import StorageError
from bot.storage import ChannelSettings, ReplyRecord, Storage, open_storage
from bot.storage import postgres as pg_backend
from bot.storage import sqlite as sqlite_backend


@pytest.fixture
def database(any_database: Path | str) -> Path | str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_database


def _reply(message_id: str, ts: float, *, channel: str = "c1", author: str = "u1", sent: str | None = None,
           action: str = "reply") -> ReplyRecord:
    return ReplyRecord("d", channel, message_id, author, "meme-points", action, "confident", 0.8, sent, ts)


async def test_restart_keeps_all_state(database):
    """Settings, replies, feedback, dedupe ids and platform state survive a restart."""
    storage = await open_storage(database)
    await storage.set_channel_settings("d", "c1", ChannelSettings(mode="react", cooldown_minutes=5))
    await storage.log_reply(_reply("m1", 1.0, sent="s1"), {"combined": 0.8}, None)
    await storage.add_feedback("d", "s1", "u2", "meme-points", True, 2.0)
    assert await storage.mark_processed("d", "m1", 1.0)
    await storage.set_state("matrix.next_batch", "s72_1")
    await storage.close()

    storage = await open_storage(database)
    assert await storage.channel_settings("d", "c1") == ChannelSettings("react", 5)
    assert (await storage.reply_by_sent_id("d", "s1")).claim_id == "meme-points"
    assert await storage.feedback_rows() == [("d", "s1", "u2", "meme-points", True)]
    assert not await storage.mark_processed("d", "m1", 1.0)
    assert await storage.get_state("matrix.next_batch") == "s72_1"
    assert (await storage.decision("d", "m1"))["action"] == "reply"  # the reply is the message's decision too
    assert await storage.integrity_ok()
    await storage.close()


async def test_two_processes_writing_at_once_lose_nothing(database):
    """Two connections (as two processes would) writing at once keep every row, each exactly once."""
    first, second = await open_storage(database), await open_storage(database)

    async def write(storage: Storage, prefix: str) -> None:
        for i in range(100):
            assert await storage.mark_processed("d", f"{prefix}{i}", float(i))

    await asyncio.gather(write(first, "a"), write(second, "b"))
    assert await first.integrity_ok()
    assert not any([await second.mark_processed("d", f"{p}{i}", 0.0) for p in "ab" for i in range(100)])
    await first.close()
    await second.close()


async def test_processes_starting_together_migrate_once(database):
    """Five processes opening a new database at the same moment all start, on one copy of the schema."""
    storages = await asyncio.gather(*(open_storage(database) for _ in range(5)))
    for storage in storages:
        assert await storage.integrity_ok()
    await storages[0].set_state("k", "v")
    assert await storages[4].get_state("k") == "v"
    for storage in storages:
        await storage.close()


async def test_a_decision_is_atomic_across_processes(database):
    """Twenty decisions racing through two connections never pass a cap of three: count-then-write is one step."""
    first, second = await open_storage(database), await open_storage(database)
    answered: list[str] = []

    async def decide(storage: Storage, n: int) -> None:
        async with storage.deciding("d", "busy", f"user{n}") as tx:
            _, _, channel_replies, _, _ = await tx.policy_facts("d", "busy", f"user{n}", "meme-points", 0.0)
            await asyncio.sleep(0.005)  # another process deciding now must wait, not read the old count
            if channel_replies < 3:
                await tx.log_reply(_reply(f"race{n}", 10.0 + n, channel="busy", author=f"user{n}"), {}, None)
                answered.append(f"race{n}")

    await asyncio.gather(*(decide(first if n % 2 else second, n) for n in range(20)))
    assert len(answered) == 3
    _, _, channel_replies, _, _ = await first.policy_facts("d", "busy", "x", "meme-points", 0.0)
    assert channel_replies == 3
    await first.close()
    await second.close()


async def test_a_failed_decision_keeps_nothing(database):
    """If a decision fails half-way, its dedupe mark is rolled back too, so the message can be decided again."""
    storage = await open_storage(database)
    with pytest.raises(RuntimeError):
        async with storage.deciding("d", "c1", "u1") as tx:
            assert await tx.mark_processed("d", "half", 1.0)
            raise RuntimeError("the process died here")
    assert await storage.mark_processed("d", "half", 1.0)
    await storage.close()


async def test_prune_forgets_old_dedupe_ids_and_decisions_but_keeps_replies(database):
    """Old dedupe ids and decisions go; replies and feedback stay for stats."""
    storage = await open_storage(database)
    await storage.mark_processed("d", "old", 1.0)
    await storage.mark_processed("d", "new", 100.0)
    await storage.log_decision("d", "old", "c", None, None, "nothing", "x", {}, 1.0)
    await storage.log_reply(_reply("old", 1.0), {}, None)
    await storage.prune(before_ts=50.0)
    assert await storage.mark_processed("d", "old", 200.0)  # forgotten, so new again
    assert not await storage.mark_processed("d", "new", 200.0)
    assert await storage.decision("d", "old") is None
    assert await storage.replies_for_message("d", "old")
    await storage.close()


async def test_stats_queries_agree_on_both_backends(database):
    """Near misses, claim stats and top channels read the same rows the same way."""
    storage = await open_storage(database)
    await storage.log_decision("d", "n1", "c1", "meme-points", "suggest", "nothing", "cap", {"combined": 0.5}, 10.0)
    await storage.log_decision("d", "n2", "c1", "sesame-credit", None, "nothing", "low", {"combined": 0.3}, 10.0)
    await storage.log_reply(_reply("r1", 10.0, sent="s1"), {"combined": 0.9}, None)
    await storage.add_feedback("d", "s1", "u9", "meme-points", False, 11.0)
    assert await storage.near_misses(0.0) == [("meme-points", 0.5, "cap"), ("sesame-credit", 0.3, "low")]
    assert await storage.claim_stats(0.0) == [("meme-points", 1, 0, 1)]
    assert await storage.top_channels(0.0) == [("d", "c1", 1)]
    await storage.close()


async def test_backup_is_a_working_copy(database, tmp_path):
    """`db backup` writes a copy holding the rows: SQLite's online backup, or a pg_dump archive."""
    storage = await open_storage(database)
    await storage.set_state("k", "backed-up-value")
    target = tmp_path / "copy.backup"
    await storage.backup(target)
    await storage.close()
    if isinstance(database, Path):
        copy = await open_storage(target)
        assert await copy.get_state("k") == "backed-up-value"
        await copy.close()
    else:
        listing = subprocess.run(["pg_restore", "--list", str(target)], capture_output=True, text=True, check=True)
        assert "TABLE DATA public state" in listing.stdout
        data = subprocess.run(["pg_restore", "--data-only", "--table=state", "-f", "-", str(target)],
                              capture_output=True, text=True, check=True)
        assert "backed-up-value" in data.stdout


async def test_postgres_backup_without_pg_dump_says_what_to_do(postgres_url, tmp_path, monkeypatch):
    """With no pg_dump installed, `db backup` explains what to install or run instead (no traceback)."""
    storage = await open_storage(postgres_url)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no pg_dump to be found
    with pytest.raises(StorageError, match="pg_dump.*pg_restore"):
        await storage.backup(tmp_path / "x.dump")
    await storage.close()


async def test_an_unreachable_postgres_is_a_clear_error(postgres_server):
    """A wrong database name is one readable line naming the database, never the password."""
    url = postgres_server.dsn("no_such_db").replace("@", ":s3cret-pw@", 1)
    with pytest.raises(StorageError, match="no_such_db") as caught:
        await open_storage(url)
    assert "s3cret-pw" not in str(caught.value)


async def test_both_backends_have_the_same_schema(tmp_path, postgres_url):
    """The two dialects' migrations build the same tables with the same columns, at the same version."""
    assert len(sqlite_backend.MIGRATIONS) == len(pg_backend.MIGRATIONS)
    lite = await open_storage(tmp_path / "schema.sqlite3")
    await lite.close()
    with sqlite3.connect(tmp_path / "schema.sqlite3") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        lite_columns = {(t, r[1]) for t in tables for r in db.execute(f"PRAGMA table_info({t})")}
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(sqlite_backend.MIGRATIONS)
    storage = await open_storage(postgres_url)
    await storage.close()
    conn = await asyncpg.connect(postgres_url)
    rows = await conn.fetch("SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = 'public' AND table_name <> 'footnote_schema'")
    await conn.close()
    assert {(r[0], r[1]) for r in rows} == lite_columns


async def test_an_older_sqlite_database_is_upgraded_in_place(tmp_path):
    """A SQLite database from the first release gains the new columns and keeps its rows."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for statement in sqlite_backend._statements(sqlite_backend.MIGRATIONS[0]):
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO channel_settings (platform, channel_id, mode) VALUES ('d', 'c', 'react')")
    storage = await open_storage(path)
    assert await storage.channel_settings("d", "c") == ChannelSettings("react", None, None)
    await storage.set_channel_settings("d", "c", ChannelSettings("react", None, True))
    assert (await storage.channel_settings("d", "c")).thread is True
    await storage.close()


async def test_an_older_postgres_database_is_upgraded_in_place(postgres_url):
    """A PostgreSQL database at version 1 gains the new columns and keeps its rows."""
    conn = await asyncpg.connect(postgres_url)
    await conn.execute(pg_backend.MIGRATIONS[0])
    await conn.execute("CREATE TABLE footnote_schema (version INTEGER NOT NULL); INSERT INTO footnote_schema VALUES (1);"
                       "INSERT INTO channel_settings (platform, channel_id, mode) VALUES ('d', 'c', 'react')")
    await conn.close()
    storage = await open_storage(postgres_url)
    assert await storage.channel_settings("d", "c") == ChannelSettings("react", None, None)
    await storage.set_channel_settings("d", "c", ChannelSettings("react", None, True))
    assert (await storage.channel_settings("d", "c")).thread is True
    assert await storage.integrity_ok()
    await storage.close()
