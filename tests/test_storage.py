"""The database: migrations, state across restarts, concurrent processes, backups."""

from __future__ import annotations

import asyncio
import sqlite3

from bot.storage import MIGRATIONS, ChannelSettings, ReplyRecord, Storage


async def test_restart_keeps_all_state(tmp_path):
    """Settings, replies, feedback, dedupe ids and platform state survive a restart."""
    path = tmp_path / "db.sqlite3"
    storage = await Storage.open(path)
    await storage.set_channel_settings("d", "c1", ChannelSettings(mode="react", cooldown_minutes=5))
    await storage.log_reply(ReplyRecord("d", "c1", "m1", "u1", "meme-points", "reply", "confident", 0.8, "s1", 1.0),
                            {"combined": 0.8}, None)
    await storage.add_feedback("d", "s1", "u2", "meme-points", True, 2.0)
    assert await storage.mark_processed("d", "m1", 1.0)
    await storage.set_state("matrix.next_batch", "s72_1")
    await storage.close()

    storage = await Storage.open(path)
    assert await storage.channel_settings("d", "c1") == ChannelSettings("react", 5)
    assert (await storage.reply_by_sent_id("d", "s1")).claim_id == "meme-points"
    assert await storage.feedback_rows() == [("d", "s1", "u2", "meme-points", True)]
    assert not await storage.mark_processed("d", "m1", 1.0)
    assert await storage.get_state("matrix.next_batch") == "s72_1"
    assert await storage.integrity_ok()
    await storage.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_two_connections_on_one_file_do_not_corrupt_it(tmp_path):
    """Two processes (here: connections) writing at once leave a consistent database."""
    path = tmp_path / "db.sqlite3"
    first, second = await Storage.open(path), await Storage.open(path)

    async def write(storage: Storage, prefix: str) -> None:
        for i in range(100):
            await storage.mark_processed("d", f"{prefix}{i}", float(i))

    await asyncio.gather(write(first, "a"), write(second, "b"))
    assert await first.integrity_ok()
    count = sqlite3.connect(path).execute("SELECT COUNT(*) FROM processed").fetchone()[0]
    assert count == 200
    await first.close()
    await second.close()


async def test_backup_is_a_working_copy(tmp_path):
    """`db backup` produces a database that opens with the same rows."""
    storage = await Storage.open(tmp_path / "db.sqlite3")
    await storage.set_state("k", "v")
    await storage.backup(tmp_path / "copy.sqlite3")
    await storage.close()
    copy = await Storage.open(tmp_path / "copy.sqlite3")
    assert await copy.get_state("k") == "v"
    await copy.close()


async def test_prune_forgets_old_dedupe_ids_and_decisions_but_keeps_replies(tmp_path):
    """Old dedupe ids and decisions go; replies and feedback stay for stats."""
    storage = await Storage.open(tmp_path / "db.sqlite3")
    await storage.mark_processed("d", "old", 1.0)
    await storage.mark_processed("d", "new", 100.0)
    await storage.log_decision("d", "old", "c", None, None, "nothing", "x", {}, 1.0)
    await storage.log_reply(ReplyRecord("d", "c", "old", "u", "meme-points", "reply", "confident", 0.8, None, 1.0),
                            {}, None)
    await storage.prune(before_ts=50.0)
    assert await storage.mark_processed("d", "old", 200.0)  # forgotten, so new again
    assert not await storage.mark_processed("d", "new", 200.0)
    assert await storage.decision("d", "old") is None
    assert await storage.replies_for_message("d", "old")
    await storage.close()


async def test_an_older_database_is_upgraded_in_place(tmp_path):
    """A database from the first release gains the new columns and keeps its rows."""
    from bot.storage import _statements

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for statement in _statements(MIGRATIONS[0]):
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO channel_settings (platform, channel_id, mode) VALUES ('d', 'c', 'react')")
    storage = await Storage.open(path)
    assert await storage.channel_settings("d", "c") == ChannelSettings("react", None, None)
    await storage.set_channel_settings("d", "c", ChannelSettings("react", None, True))
    assert (await storage.channel_settings("d", "c")).thread is True
    await storage.close()
