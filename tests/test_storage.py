"""The database: migrations, state across restarts, concurrent processes, backups."""

from __future__ import annotations

import asyncio
import sqlite3

from bot.storage import MIGRATIONS, ChannelSettings, ReplyRecord, Scope, Storage


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
    await storage.log_decision("d", "old", "c", None, None, "nothing", "x", {}, 1.0, server_id="g")
    await storage.log_reply(ReplyRecord("d", "c", "old", "u", "meme-points", "reply", "confident", 0.8, None, 1.0),
                            {}, None)
    await storage.prune(before_ts=50.0)
    assert await storage.mark_processed("d", "old", 200.0)  # forgotten, so new again
    assert not await storage.mark_processed("d", "new", 200.0)
    assert await storage.decision("d", "old", None) is None
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


def _reply(message_id: str, *, channel: str = "c1", author: str = "u1", claim: str = "meme-points",
           ts: float = 100.0, sent: str | None = None, action: str = "reply") -> ReplyRecord:
    return ReplyRecord("d", channel, message_id, author, claim, action, "confident", 0.8, sent, ts)


async def test_views_of_one_server_leave_out_every_other_server(tmp_path):
    """Stats, near misses, top channels and explain of server A show nothing of server B."""
    storage = await Storage.open(tmp_path / "db.sqlite3")
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


async def test_the_whole_bot_view_sees_every_server(tmp_path):
    """Without a scope (operators, the command line) stats cover every server."""
    storage = await Storage.open(tmp_path / "db.sqlite3")
    await storage.log_reply(_reply("a1", channel="ca"), {}, "guild-a")
    await storage.log_reply(_reply("b1", channel="cb"), {}, "guild-b")
    assert await storage.claim_stats(0, None) == [("meme-points", 2, 0, 0)]
    assert sorted(await storage.top_channels(0, None)) == [("d", "ca", 1), ("d", "cb", 1)]
    assert await storage.decision("d", "a1", None) is not None
    await storage.close()


async def test_a_vote_counts_only_in_the_server_of_the_answer_it_is_on(tmp_path):
    """A 👍 on server B's answer does not show up in server A's helpfulness figures."""
    storage = await Storage.open(tmp_path / "db.sqlite3")
    await storage.log_reply(_reply("a1", channel="ca", sent="sa"), {}, "guild-a")
    await storage.log_reply(_reply("b1", channel="cb", sent="sb"), {}, "guild-b")
    await storage.add_feedback("d", "sb", "u9", "meme-points", False, 101.0)
    assert await storage.claim_stats(0, Scope("d", "guild-a")) == [("meme-points", 1, 0, 0)]
    assert await storage.claim_stats(0, Scope("d", "guild-b")) == [("meme-points", 1, 0, 1)]
    await storage.close()


async def test_the_per_person_count_is_per_server(tmp_path):
    """Answers to one person in server A do not count against their cap in server B."""
    storage = await Storage.open(tmp_path / "db.sqlite3")
    for i in range(3):
        await storage.log_reply(_reply(f"a{i}", channel="ca", claim=f"c{i}"), {}, "room-a")
    facts_a = await storage.policy_facts("d", "ca", "u1", "x", since=0, server_id="room-a")
    facts_b = await storage.policy_facts("d", "cb", "u1", "x", since=0, server_id="room-b")
    assert facts_a[3] == 3
    assert facts_b[3] == 0
    await storage.close()


async def test_held_matches_are_not_near_misses(tmp_path):
    """A match held by a cooldown or cap (it has a tier) is not listed as a near miss."""
    storage = await Storage.open(tmp_path / "db.sqlite3")
    await storage.log_decision("d", "m1", "c", "meme-points", "confident", "nothing",
                               "already answered this claim here recently (cooldown)", {"combined": 0.9}, 1.0,
                               server_id="g")
    await storage.log_decision("d", "m2", "c", "meme-points", None, "nothing", "below the answer threshold",
                               {"combined": 0.5}, 1.0, server_id="g")
    assert await storage.near_misses(0, Scope("d", "g")) == [("meme-points", 0.5, "below the answer threshold")]
    await storage.close()


async def test_database_wal_and_backup_are_owner_only(tmp_path):
    """The database, its WAL files, a directory it creates and a backup are readable by the owner only."""
    import os
    old = os.umask(0o022)
    try:
        path = tmp_path / "new-dir" / "db.sqlite3"
        storage = await Storage.open(path)
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
    storage = await Storage.open(path)
    await storage.close()
    assert (path.stat().st_mode & 0o777) == 0o600


async def test_upgrade_scopes_old_rows_and_drops_the_stored_matrix_token(tmp_path):
    """Upgrading from release 2: old replies get a server, and a Matrix token stored in plain text is erased."""
    from bot.storage import _statements

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:2]:
            for statement in _statements(script):
                db.execute(statement)
        db.execute("PRAGMA user_version = 2")
        db.execute("INSERT INTO state VALUES ('matrix.@bot:hs.access_token', 'syt_secret_token')")
        db.execute("INSERT INTO state VALUES ('matrix.@bot:hs.device_id', 'DEV')")
        db.execute("INSERT INTO replies (platform, channel_id, server_id, message_id, author_id, claim_id, action,"
                   " tier, score, ts) VALUES ('matrix', '!room', NULL, '$e', '@u:hs', 'meme-points', 'reply',"
                   " 'confident', 0.8, 5)")
    storage = await Storage.open(path)
    assert await storage.get_state("matrix.@bot:hs.access_token") is None
    assert await storage.get_state("matrix.@bot:hs.device_id") == "DEV"
    assert await storage.decision("matrix", "$e", Scope("matrix", "!room")) is not None
    assert await storage.claim_stats(0, Scope("matrix", "!room")) == [("meme-points", 1, 0, 0)]
    await storage.close()
    await asyncio.sleep(0)
    assert b"syt_secret_token" not in path.read_bytes()
