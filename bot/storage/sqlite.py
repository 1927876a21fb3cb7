"""Persistent state in one SQLite file, through aiosqlite: the embedded default backend.

Versioned migrations, WAL mode, parameterised SQL only. A second process on the same file waits on
SQLite's lock (``busy_timeout``) instead of corrupting it. A decision (:meth:`SqliteStorage.deciding`) is one
``BEGIN IMMEDIATE`` transaction: SQLite's single writer lock makes it atomic across processes too.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from ..private import private_database, private_file
from .base import ChannelSettings, ReplyRecord, Scope, decision_from_row, scope_params

__all__ = ["SqliteStorage", "MIGRATIONS"]

#: Each entry upgrades the schema by one version. Never edit a released entry; append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE channel_settings (
        platform TEXT NOT NULL, channel_id TEXT NOT NULL,
        mode TEXT, cooldown_minutes REAL,
        PRIMARY KEY (platform, channel_id)
    );
    CREATE TABLE replies (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL, channel_id TEXT NOT NULL, server_id TEXT,
        message_id TEXT NOT NULL, author_id TEXT NOT NULL,
        claim_id TEXT NOT NULL, action TEXT NOT NULL, tier TEXT NOT NULL, score REAL NOT NULL,
        scores TEXT NOT NULL DEFAULT '{}', sent_id TEXT, ts REAL NOT NULL, reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX replies_channel_ts ON replies (platform, channel_id, ts);
    CREATE INDEX replies_author_ts ON replies (platform, author_id, ts);
    CREATE INDEX replies_message ON replies (platform, message_id);
    CREATE INDEX replies_sent ON replies (platform, sent_id);
    CREATE TABLE feedback (
        platform TEXT NOT NULL, reply_message_id TEXT NOT NULL, user_id TEXT NOT NULL,
        claim_id TEXT, helpful INTEGER NOT NULL, ts REAL NOT NULL,
        PRIMARY KEY (platform, reply_message_id, user_id)
    );
    CREATE TABLE processed (
        platform TEXT NOT NULL, event_id TEXT NOT NULL, ts REAL NOT NULL,
        PRIMARY KEY (platform, event_id)
    );
    CREATE TABLE decisions (
        platform TEXT NOT NULL, message_id TEXT NOT NULL, channel_id TEXT NOT NULL,
        claim_id TEXT, tier TEXT, action TEXT NOT NULL, reason TEXT NOT NULL,
        scores TEXT NOT NULL DEFAULT '{}', ts REAL NOT NULL,
        PRIMARY KEY (platform, message_id)
    );
    CREATE INDEX decisions_ts ON decisions (ts);
    CREATE TRIGGER replies_are_decisions AFTER INSERT ON replies BEGIN
        INSERT OR REPLACE INTO decisions (platform, message_id, channel_id, claim_id, tier, action, reason, scores, ts)
        VALUES (NEW.platform, NEW.message_id, NEW.channel_id, NEW.claim_id, NEW.tier, NEW.action, NEW.reason,
                NEW.scores, NEW.ts);
    END;
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: per-channel thread mode (answer in a thread rather than as a reply; Discord).
    """
    ALTER TABLE channel_settings ADD COLUMN thread INTEGER;
    """,
    # 3: tenancy. Every reply and decision belongs to a server (Discord guild; a Matrix room, a DM or the
    # console: the channel itself), so moderator views and per-person caps stay inside one server. The
    # Matrix access token no longer lives here (it moved to an owner-only file next to the key store).
    """
    UPDATE replies SET server_id = channel_id WHERE server_id IS NULL;
    ALTER TABLE decisions ADD COLUMN server_id TEXT;
    UPDATE decisions SET server_id = COALESCE(
        (SELECT r.server_id FROM replies r WHERE r.platform = decisions.platform
         AND r.message_id = decisions.message_id ORDER BY r.id DESC LIMIT 1), channel_id);
    CREATE INDEX replies_server_author_ts ON replies (platform, server_id, author_id, ts);
    CREATE INDEX replies_server_ts ON replies (platform, server_id, ts);
    CREATE INDEX decisions_server_ts ON decisions (platform, server_id, ts);
    DROP TRIGGER replies_are_decisions;
    CREATE TRIGGER replies_are_decisions AFTER INSERT ON replies BEGIN
        INSERT OR REPLACE INTO decisions (platform, message_id, channel_id, server_id, claim_id, tier, action,
                                          reason, scores, ts)
        VALUES (NEW.platform, NEW.message_id, NEW.channel_id, NEW.server_id, NEW.claim_id, NEW.tier, NEW.action,
                NEW.reason, NEW.scores, NEW.ts);
    END;
    DELETE FROM state WHERE key LIKE 'matrix.%.access_token';
    """,
)


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping a trigger's ``BEGIN ... END;`` body whole."""
    out, buffer = [], ""
    for part in script.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                out.append(buffer.strip())
            buffer = ""
    return out


async def _use_wal(db: aiosqlite.Connection, wait_s: float = 30.0) -> None:
    """Switch to WAL mode. On a new database opened by several processes at once this can fail at once with
    "database is locked" (SQLite does not always call the busy handler for it), so it waits and tries again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)


class SqliteStorage:
    """The bot's database in one file. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self.location = str(path)
        # One connection: decisions in this process take turns; other processes wait on SQLite's write lock.
        self._decision_turn = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> SqliteStorage:
        """Open (creating if needed) the database at ``path`` and bring its schema up to date."""
        path = Path(path)
        if str(path) != ":memory:":
            private_database(path)
        # Autocommit: each statement is its own transaction, one thread hop per write instead of two.
        db = await aiosqlite.connect(str(path), timeout=30, isolation_level=None)
        await _use_wal(db)
        await db.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints (which fsync) are run by the bot's maintenance task, off the per-message path; SQLite
        # only checkpoints by itself if the log reaches ~40 MB (in the console or eval, say).
        await db.execute("PRAGMA wal_autocheckpoint=10000")
        await db.execute("PRAGMA busy_timeout=30000")
        await db.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (a moved secret, pruned decisions) are overwritten, not left in free pages.
        await db.execute("PRAGMA secure_delete=ON")
        storage = cls(db, path)
        await storage._migrate()
        return storage

    async def close(self) -> None:
        """Flush and close the database."""
        await self._db.close()

    async def _migrate(self) -> None:
        # BEGIN IMMEDIATE takes the write lock first, so two processes starting together migrate once.
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            row = await (await self._db.execute("PRAGMA user_version")).fetchone()
            version = row[0] if row else 0
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    await self._db.execute(statement)
                await self._db.execute(f"PRAGMA user_version = {int(number)}")
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise

    @asynccontextmanager
    async def deciding(self, platform: str, channel_id: str,
                       author_id: str | None = None) -> AsyncIterator[SqliteStorage]:
        """One decision's transaction. ``BEGIN IMMEDIATE`` takes the database's write lock at once, so counts
        read inside cannot change before the decision's own write, in this process or another."""
        async with self._decision_turn:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        cursor = await self._db.execute(sql, params)
        return cursor.rowcount

    async def _one(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | tuple | None:
        return await (await self._db.execute(sql, params)).fetchone()

    async def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return list(await (await self._db.execute(sql, params)).fetchall())

    # ------------------------------------------------------------------------------------ key/value state

    async def get_state(self, key: str) -> str | None:
        """A small value stored by an adapter (sync token, device id, ...), or None."""
        row = await self._one("SELECT value FROM state WHERE key = ?", (key,))
        return row[0] if row else None

    async def set_state(self, key: str, value: str) -> None:
        await self._write(
            "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # ------------------------------------------------------------------------------------ dedupe

    async def mark_processed(self, platform: str, event_id: str, ts: float) -> bool:
        """Record that an event was handled. True the first time, False for a repeat."""
        changed = await self._write(
            "INSERT OR IGNORE INTO processed (platform, event_id, ts) VALUES (?, ?, ?)", (platform, event_id, ts)
        )
        return changed == 1

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file without blocking readers or writers."""
        async with self._decision_turn:  # SQLite refuses a checkpoint inside this connection's open decision
            await self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def prune(self, before_ts: float) -> None:
        """Forget dedupe ids and decisions older than ``before_ts`` (replies and feedback stay)."""
        async with self._decision_turn:  # its own statements, not part of a decision's transaction
            await self._db.execute("DELETE FROM processed WHERE ts < ?", (before_ts,))
            await self._db.execute("DELETE FROM decisions WHERE ts < ?", (before_ts,))

    # ------------------------------------------------------------------------------------ settings

    async def channel_settings(self, platform: str, channel_id: str) -> ChannelSettings:
        row = await self._one(
            "SELECT mode, cooldown_minutes, thread FROM channel_settings WHERE platform = ? AND channel_id = ?",
            (platform, channel_id),
        )
        return ChannelSettings.from_row(*row) if row else ChannelSettings()

    async def set_channel_settings(self, platform: str, channel_id: str, settings: ChannelSettings) -> None:
        await self._write(
            "INSERT INTO channel_settings (platform, channel_id, mode, cooldown_minutes, thread) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(platform, channel_id) DO UPDATE SET mode = excluded.mode, "
            "cooldown_minutes = excluded.cooldown_minutes, thread = excluded.thread",
            (platform, channel_id, settings.mode, settings.cooldown_minutes,
             None if settings.thread is None else int(settings.thread)),
        )

    # ------------------------------------------------------------------------------------ replies

    async def log_reply(self, record: ReplyRecord, scores: dict[str, float], server_id: str | None,
                        reason: str = "") -> int:
        """Record an answer or 🔎 offer; a trigger records it as the message's decision too (one write)."""
        cursor = await self._db.execute(
            "INSERT INTO replies (platform, channel_id, server_id, message_id, author_id, claim_id, action, tier,"
            " score, scores, sent_id, ts, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.platform, record.channel_id, server_id, record.message_id, record.author_id, record.claim_id,
             record.action, record.tier, record.score, json.dumps(scores), record.sent_id, record.ts, reason),
        )
        return int(cursor.lastrowid or 0)

    async def policy_facts(self, platform: str, channel_id: str, author_id: str, claim_id: str,
                           since: float, *, server_id: str) -> tuple[ChannelSettings, float | None, int, int, int]:
        """Everything the policy needs, in one query: the channel's settings, when ``claim_id`` was last
        answered here, and since ``since`` the channel's answers, the author's answers in this server
        (``server_id``: caps are per server and person) and the channel's 🔎."""
        row = await self._one(
            "SELECT (SELECT mode FROM channel_settings WHERE platform = ?1 AND channel_id = ?2),"
            " (SELECT cooldown_minutes FROM channel_settings WHERE platform = ?1 AND channel_id = ?2),"
            " (SELECT thread FROM channel_settings WHERE platform = ?1 AND channel_id = ?2),"
            " (SELECT MAX(ts) FROM replies WHERE platform = ?1 AND channel_id = ?2 AND claim_id = ?4),"
            " (SELECT COUNT(*) FROM replies WHERE platform = ?1 AND channel_id = ?2 AND ts >= ?5"
            "  AND action = 'reply'),"
            " (SELECT COUNT(*) FROM replies WHERE platform = ?1 AND server_id = ?6 AND author_id = ?3"
            "  AND ts >= ?5 AND action = 'reply'),"
            " (SELECT COUNT(*) FROM replies WHERE platform = ?1 AND channel_id = ?2 AND ts >= ?5"
            "  AND action = 'react')",
            (platform, channel_id, author_id, claim_id, since, server_id),
        )
        assert row is not None
        return ChannelSettings.from_row(*row[:3]), row[3], int(row[4]), int(row[5]), int(row[6])

    async def set_sent_id(self, platform: str, message_id: str, action: str, sent_id: str) -> None:
        await self._write(
            "UPDATE replies SET sent_id = ? WHERE platform = ? AND message_id = ? AND action = ?",
            (sent_id, platform, message_id, action),
        )

    async def replies_for_message(self, platform: str, message_id: str) -> list[ReplyRecord]:
        rows = await self._all(
            "SELECT platform, channel_id, message_id, author_id, claim_id, action, tier, score, sent_id, ts "
            "FROM replies WHERE platform = ? AND message_id = ? ORDER BY id",
            (platform, message_id),
        )
        return [ReplyRecord(*r) for r in rows]

    async def reply_by_sent_id(self, platform: str, sent_id: str) -> ReplyRecord | None:
        row = await self._one(
            "SELECT platform, channel_id, message_id, author_id, claim_id, action, tier, score, sent_id, ts "
            "FROM replies WHERE platform = ? AND sent_id = ? AND action = 'reply'",
            (platform, sent_id),
        )
        return ReplyRecord(*row) if row else None

    # ------------------------------------------------------------------------------------ decisions

    async def log_decision(self, platform: str, message_id: str, channel_id: str, claim_id: str | None,
                           tier: str | None, action: str, reason: str, scores: dict[str, float],
                           ts: float, *, server_id: str) -> None:
        """Remember why the bot did what it did with a message, for ``explain`` and stats.

        ``tier`` is None when the matcher found no answer; a decision with a tier and action ``nothing``
        was held by a policy rule (cooldown, cap, mode), which is not a near miss.
        """
        await self._write(
            "INSERT OR REPLACE INTO decisions (platform, message_id, channel_id, server_id, claim_id, tier, action,"
            " reason, scores, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (platform, message_id, channel_id, server_id, claim_id, tier, action, reason, json.dumps(scores), ts),
        )

    async def decision(self, platform: str, message_id: str, scope: Scope | None) -> dict[str, Any] | None:
        """Why the bot did what it did with ``message_id``; None if unknown or outside ``scope``."""
        row = await self._one(
            "SELECT claim_id, tier, action, reason, scores FROM decisions WHERE platform = ?1 AND message_id = ?2"
            " AND (?3 IS NULL OR (platform = ?3 AND server_id = ?4))",
            (platform, message_id, *scope_params(scope)),
        )
        return None if row is None else decision_from_row(row)

    async def near_misses(self, since: float, scope: Scope | None,
                          limit: int = 10) -> list[tuple[str, float, str]]:
        """Messages that came closest to matching without an answer: (claim id, score, reason).

        Only the matcher's misses (no tier): a match held by a cooldown, a cap or a mode is not one.
        """
        rows = await self._all(
            "SELECT claim_id, json_extract(scores, '$.combined') AS s, reason FROM decisions "
            "WHERE ts >= ?1 AND action = 'nothing' AND claim_id IS NOT NULL AND tier IS NULL"
            " AND (?2 IS NULL OR (platform = ?2 AND server_id = ?3)) ORDER BY s DESC LIMIT ?4",
            (since, *scope_params(scope), limit),
        )
        return [(r[0], float(r[1] or 0), r[2]) for r in rows]

    # ------------------------------------------------------------------------------------ feedback

    async def add_feedback(self, platform: str, reply_message_id: str, user_id: str, claim_id: str | None,
                           helpful: bool, ts: float) -> None:
        """Store (or change) one user's verdict on one answer."""
        await self._write(
            "INSERT INTO feedback (platform, reply_message_id, user_id, claim_id, helpful, ts) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(platform, reply_message_id, user_id) "
            "DO UPDATE SET helpful = excluded.helpful, ts = excluded.ts",
            (platform, reply_message_id, user_id, claim_id, int(helpful), ts),
        )

    async def feedback_rows(self) -> list[tuple[str, str, str, str | None, bool]]:
        rows = await self._all("SELECT platform, reply_message_id, user_id, claim_id, helpful FROM feedback")
        return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # ------------------------------------------------------------------------------------ stats

    async def claim_stats(self, since: float, scope: Scope | None) -> list[tuple[str, int, int, int]]:
        """Per claim since ``since``: (claim id, answers, helpful votes, unhelpful votes), in ``scope``.

        A vote counts where the answer it is on was given (its reply row's server).
        """
        rows = await self._all(
            "SELECT r.claim_id, COUNT(DISTINCT r.id),"
            "  (SELECT COUNT(*) FROM feedback f WHERE f.claim_id = r.claim_id AND f.helpful = 1 AND f.ts >= ?1"
            "   AND (?2 IS NULL OR EXISTS (SELECT 1 FROM replies a WHERE a.platform = f.platform"
            "   AND a.sent_id = f.reply_message_id AND a.action = 'reply' AND a.platform = ?2"
            "   AND a.server_id = ?3))),"
            "  (SELECT COUNT(*) FROM feedback f WHERE f.claim_id = r.claim_id AND f.helpful = 0 AND f.ts >= ?1"
            "   AND (?2 IS NULL OR EXISTS (SELECT 1 FROM replies a WHERE a.platform = f.platform"
            "   AND a.sent_id = f.reply_message_id AND a.action = 'reply' AND a.platform = ?2"
            "   AND a.server_id = ?3))) "
            "FROM replies r WHERE r.ts >= ?1 AND r.action = 'reply'"
            " AND (?2 IS NULL OR (r.platform = ?2 AND r.server_id = ?3)) GROUP BY r.claim_id ORDER BY 2 DESC",
            (since, *scope_params(scope)),
        )
        return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def top_channels(self, since: float, scope: Scope | None, limit: int = 5) -> list[tuple[str, str, int]]:
        """The channels with most answers since ``since`` in ``scope``: (platform, channel id, answers)."""
        rows = await self._all(
            "SELECT platform, channel_id, COUNT(*) FROM replies WHERE ts >= ?1 AND action = 'reply'"
            " AND (?2 IS NULL OR (platform = ?2 AND server_id = ?3))"
            " GROUP BY platform, channel_id ORDER BY 3 DESC LIMIT ?4",
            (since, *scope_params(scope), limit),
        )
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def backup(self, target: Path) -> None:
        """Copy the database to ``target`` with SQLite's online backup API (safe while running).

        The copy holds the same data as the database, so it is created owner-only (0600).
        """
        target = Path(target)
        private_file(target)
        target_db = await aiosqlite.connect(str(target))
        try:
            async with self._decision_turn:  # a consistent copy: no decision half-way
                await self._db.backup(target_db)
        finally:
            await target_db.close()

    async def integrity_ok(self) -> bool:
        row = await self._one("PRAGMA integrity_check", ())
        return bool(row and row[0] == "ok")
