"""The database, on both backends: migrations, state across restarts, concurrent processes, backups."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from pathlib import Path

import asyncpg
import pytest

from bot.errors import StorageError
from bot.storage import ChannelSettings, ReplyRecord, Scope, Storage, open_storage
from bot.storage import postgres as pg_backend
from bot.storage import sqlite as sqlite_backend


@pytest.fixture
def database(any_database: Path | str) -> Path | str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_database


def _reply(message_id: str, *, channel: str = "c1", author: str = "u1", claim: str = "meme-points",
           ts: float = 100.0, sent: str | None = None, action: str = "reply") -> ReplyRecord:
    return ReplyRecord("d", channel, message_id, author, claim, action, "confident", 0.8, sent, ts)


async def test_restart_keeps_all_state(database):
    """Settings, replies, feedback, dedupe ids and platform state survive a restart."""
    storage = await open_storage(database)
    await storage.set_channel_settings("d", "c1", ChannelSettings(mode="react", cooldown_minutes=5))
    await storage.log_reply(_reply("m1", ts=1.0, sent="s1"), {"combined": 0.8}, None)
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
    assert (await storage.decision("d", "m1", None))["action"] == "reply"  # the reply is the message's decision too
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
            _, _, channel_replies, _, _ = await tx.policy_facts("d", "busy", f"user{n}", "meme-points", 0.0,
                                                                server_id="g")
            await asyncio.sleep(0.005)  # another process deciding now must wait, not read the old count
            if channel_replies < 3:
                await tx.log_reply(_reply(f"race{n}", ts=10.0 + n, channel="busy", author=f"user{n}"), {}, None)
                answered.append(f"race{n}")

    await asyncio.gather(*(decide(first if n % 2 else second, n) for n in range(20)))
    assert len(answered) == 3
    _, _, channel_replies, _, _ = await first.policy_facts("d", "busy", "x", "meme-points", 0.0, server_id="g")
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
    await storage.log_decision("d", "old", "c", None, None, "nothing", "x", {}, 1.0, server_id="g")
    await storage.log_reply(_reply("old", ts=1.0), {}, None)
    await storage.prune(before_ts=50.0)
    assert await storage.mark_processed("d", "old", 200.0)  # forgotten, so new again
    assert not await storage.mark_processed("d", "new", 200.0)
    assert await storage.decision("d", "old", None) is None
    assert await storage.replies_for_message("d", "old")
    await storage.close()


async def test_stats_queries_agree_on_both_backends(database):
    """Near misses, claim stats and top channels read the same rows the same way."""
    storage = await open_storage(database)
    await storage.log_decision("d", "n1", "c1", "meme-points", None, "nothing", "low", {"combined": 0.5}, 10.0,
                               server_id="g")
    await storage.log_decision("d", "n2", "c1", "sesame-credit", None, "nothing", "low", {}, 10.0, server_id="g")
    await storage.log_reply(_reply("r1", ts=10.0, sent="s1"), {"combined": 0.9}, "g")
    await storage.add_feedback("d", "s1", "u9", "meme-points", False, 11.0)
    assert await storage.near_misses(0.0, None) == [("meme-points", 0.5, "low"), ("sesame-credit", 0.0, "low")]
    assert await storage.claim_stats(0.0, None) == [("meme-points", 1, 0, 1)]
    assert await storage.top_channels(0.0, Scope("d", "g")) == [("d", "c1", 1)]
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


async def test_views_of_one_server_leave_out_every_other_server(database):
    """Stats, near misses, top channels and explain of server A show nothing of server B."""
    storage = await open_storage(database)
    await storage.log_reply(_reply("a1", channel="ca", sent="sa"), {"combined": 0.8}, "guild-a")
    await storage.log_reply(_reply("b1", channel="cb", sent="sb", claim="travel-bans-low-score"),
                            {"combined": 0.9}, "guild-b")
    await storage.add_feedback("d", "sb", "u9", "travel-bans-low-score", True, 101.0)
    await storage.log_decision("d", "b2", "cb", "single-national-score", None, "nothing", "below threshold",
                               {"combined": 0.5}, 100.0, server_id="guild-b")
    a, b = Scope("d", "guild-a"), Scope("d", "guild-b")

    assert await storage.claim_stats(0, a) == [("meme-points", 1, 0, 0)]
    assert await storage.claim_stats(0, b) == [("travel-bans-low-score", 1, 1, 0)]
    assert await storage.top_channels(0, a) == [("d", "ca", 1)]
    assert await storage.near_misses(0, a) == []
    assert await storage.near_misses(0, b) == [("single-national-score", 0.5, "below threshold")]
    assert await storage.decision("d", "b1", a) is None
    assert await storage.decision("d", "b2", a) is None
    assert (await storage.decision("d", "b1", b))["claim_id"] == "travel-bans-low-score"
    assert await storage.decision("d", "b1", Scope("m", "guild-b")) is None  # same id on another platform
    await storage.close()


async def test_the_whole_bot_view_sees_every_server(database):
    """Without a scope (operators, the command line) stats cover every server."""
    storage = await open_storage(database)
    await storage.log_reply(_reply("a1", channel="ca"), {}, "guild-a")
    await storage.log_reply(_reply("b1", channel="cb"), {}, "guild-b")
    assert await storage.claim_stats(0, None) == [("meme-points", 2, 0, 0)]
    assert sorted(await storage.top_channels(0, None)) == [("d", "ca", 1), ("d", "cb", 1)]
    assert await storage.decision("d", "a1", None) is not None
    await storage.close()


async def test_a_vote_counts_only_in_the_server_of_the_answer_it_is_on(database):
    """A 👍 on server B's answer does not show up in server A's helpfulness figures."""
    storage = await open_storage(database)
    await storage.log_reply(_reply("a1", channel="ca", sent="sa"), {}, "guild-a")
    await storage.log_reply(_reply("b1", channel="cb", sent="sb"), {}, "guild-b")
    await storage.add_feedback("d", "sb", "u9", "meme-points", False, 101.0)
    assert await storage.claim_stats(0, Scope("d", "guild-a")) == [("meme-points", 1, 0, 0)]
    assert await storage.claim_stats(0, Scope("d", "guild-b")) == [("meme-points", 1, 0, 1)]
    await storage.close()


async def test_the_per_person_count_is_per_server(database):
    """Answers to one person in server A do not count against their cap in server B."""
    storage = await open_storage(database)
    for i in range(3):
        await storage.log_reply(_reply(f"a{i}", channel="ca", claim=f"c{i}"), {}, "room-a")
    facts_a = await storage.policy_facts("d", "ca", "u1", "x", since=0, server_id="room-a")
    facts_b = await storage.policy_facts("d", "cb", "u1", "x", since=0, server_id="room-b")
    assert facts_a[3] == 3
    assert facts_b[3] == 0
    await storage.close()


async def test_held_matches_are_not_near_misses(database):
    """A match held by a cooldown or cap (it has a tier) is not listed as a near miss."""
    storage = await open_storage(database)
    await storage.log_decision("d", "m1", "c", "meme-points", "confident", "nothing",
                               "already answered this claim here recently (cooldown)", {"combined": 0.9}, 1.0,
                               server_id="g")
    await storage.log_decision("d", "m2", "c", "meme-points", None, "nothing", "below the answer threshold",
                               {"combined": 0.5}, 1.0, server_id="g")
    assert await storage.near_misses(0, Scope("d", "g")) == [("meme-points", 0.5, "below the answer threshold")]
    await storage.close()


async def test_database_wal_and_backup_are_owner_only(tmp_path):
    """A SQLite database, its WAL files, a directory it creates and a backup are readable by the owner only."""
    import os
    old = os.umask(0o022)
    try:
        path = tmp_path / "new-dir" / "db.sqlite3"
        storage = await open_storage(path)
        await storage.set_state("k", "v")
        await storage.backup(tmp_path / "copy.sqlite3")
        await storage.close()
    finally:
        os.umask(old)
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    for file in [path, tmp_path / "copy.sqlite3", *path.parent.glob("db.sqlite3-*")]:
        assert (file.stat().st_mode & 0o777) == 0o600, file


async def test_an_existing_world_readable_database_is_made_owner_only(tmp_path):
    """A database from an earlier release (0644) is tightened to 0600 when opened."""
    import os
    path = tmp_path / "db.sqlite3"
    sqlite3.connect(path).close()
    os.chmod(path, 0o644)
    storage = await open_storage(path)
    await storage.close()
    assert (path.stat().st_mode & 0o777) == 0o600


async def test_upgrade_scopes_old_rows_and_drops_the_stored_matrix_token(tmp_path):
    """Upgrading from release 2: old replies get a server, and a Matrix token stored in plain text is erased."""
    _statements = sqlite_backend._statements
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for script in sqlite_backend.MIGRATIONS[:2]:
            for statement in _statements(script):
                db.execute(statement)
        db.execute("PRAGMA user_version = 2")
        db.execute("INSERT INTO state VALUES ('matrix.@bot:hs.access_token', 'syt_secret_token')")
        db.execute("INSERT INTO state VALUES ('matrix.@bot:hs.device_id', 'DEV')")
        db.execute("INSERT INTO replies (platform, channel_id, server_id, message_id, author_id, claim_id, action,"
                   " tier, score, ts) VALUES ('matrix', '!room', NULL, '$e', '@u:hs', 'meme-points', 'reply',"
                   " 'confident', 0.8, 5)")
    storage = await open_storage(path)
    assert await storage.get_state("matrix.@bot:hs.access_token") is None
    assert await storage.get_state("matrix.@bot:hs.device_id") == "DEV"
    assert await storage.decision("matrix", "$e", Scope("matrix", "!room")) is not None
    assert await storage.claim_stats(0, Scope("matrix", "!room")) == [("meme-points", 1, 0, 0)]
    await storage.close()
    await asyncio.sleep(0)
    assert b"syt_secret_token" not in path.read_bytes()


async def test_postgres_upgrade_from_release_2_scopes_old_rows_and_drops_the_matrix_token(postgres_url):
    """On PostgreSQL too, upgrading from version 2 gives old replies a server and erases a stored Matrix token."""
    conn = await asyncpg.connect(postgres_url)
    for script in pg_backend.MIGRATIONS[:2]:
        await conn.execute(script)
    await conn.execute("CREATE TABLE footnote_schema (version INTEGER NOT NULL); INSERT INTO footnote_schema VALUES (1);"
                       "INSERT INTO footnote_schema VALUES (2);"
                       "INSERT INTO state VALUES ('matrix.@bot:hs.access_token', 'syt_secret_token');"
                       "INSERT INTO replies (platform, channel_id, server_id, message_id, author_id, claim_id, action,"
                       " tier, score, ts) VALUES ('matrix', '!room', NULL, '$e', '@u:hs', 'meme-points', 'reply',"
                       " 'confident', 0.8, 5)")
    await conn.close()
    storage = await open_storage(postgres_url)
    assert await storage.get_state("matrix.@bot:hs.access_token") is None
    assert await storage.decision("matrix", "$e", Scope("matrix", "!room")) is not None
    assert await storage.claim_stats(0, Scope("matrix", "!room")) == [("meme-points", 1, 0, 0)]
    assert await storage.integrity_ok()
    await storage.close()


async def test_maintenance_waits_for_a_decision_in_progress(database, tmp_path):
    """A checkpoint, a prune or a backup started during a decision waits for it instead of failing."""
    storage = await open_storage(database)
    async with storage.deciding("d", "c1", "u1") as tx:
        assert await tx.mark_processed("d", "busy-1", 1.0)
        pending = asyncio.gather(storage.checkpoint(), storage.prune(0.0), storage.backup(tmp_path / "b.copy"))
        await asyncio.sleep(0.05)
        await tx.log_decision("d", "busy-1", "c1", None, None, "nothing", "x", {}, 1.0, server_id="g")
    await pending
    assert (await storage.decision("d", "busy-1", None))["action"] == "nothing"
    await storage.close()
