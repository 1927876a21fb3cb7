"""Persistent state in one PostgreSQL database, through asyncpg: several bot processes act as one bot.

The same versioned migrations as the SQLite backend (the same numbers, written in PostgreSQL's dialect),
applied once under an advisory lock, so processes starting together migrate once. A decision
(:meth:`PostgresStorage.deciding`) is one transaction that first takes ``pg_advisory_xact_lock`` on the
channel and on the author (in a fixed order, so two decisions never wait on each other in a cycle): the
counts it reads cannot change before its own write, whichever process decides. Dedupe is a primary key
(``INSERT ... ON CONFLICT DO NOTHING``), so a message seen by two processes is handled by one. Locks are
released by the commit, or by the server when a process dies mid-decision (its transaction rolls back).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from ..errors import StorageError
from .base import (
    ChannelSettings,
    PolicyFactsRow,
    ReplyRecord,
    Scope,
    decision_from_row,
    redact_url,
    scope_params,
)
from .postgres_schema import MIGRATIONS

__all__ = ["PostgresStorage", "MIGRATIONS", "decision_lock_keys"]

#: The advisory lock that serialises migrations (any fixed 64-bit number unlikely to clash).
_MIGRATION_LOCK = 0x466F6F746E6F7465  # "Footnote"


def _lock_key(kind: str, platform: str, name: str) -> int:
    digest = hashlib.blake2b(f"{kind}\0{platform}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def decision_lock_keys(platform: str, channel_id: str, author_id: str | None) -> list[int]:
    """The advisory lock keys of one decision, sorted: every process takes them in the same order."""
    keys = {_lock_key("channel", platform, channel_id)}
    if author_id is not None:
        keys.add(_lock_key("author", platform, author_id))
    return sorted(keys)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is. The default reset (``RESET ALL; UNLISTEN *; ...``) costs a
    round trip per query and undoes nothing here: no query sets session state, and every lock is a
    transaction lock, released by its commit or rollback."""


def _reply(row: Any) -> ReplyRecord:
    return ReplyRecord(*tuple(row))


class _Queries:
    """Every query, run on a pool (one statement, autocommit) or on one connection (inside a decision)."""

    def __init__(self, run: asyncpg.Pool | asyncpg.Connection) -> None:
        self._run = run

    # ------------------------------------------------------------------------------------ key/value state

    async def get_state(self, key: str) -> str | None:
        """A small value stored by an adapter (sync token, device id, ...), or None."""
        return await self._run.fetchval("SELECT value FROM state WHERE key = $1", key)

    async def set_state(self, key: str, value: str) -> None:
        await self._run.execute(
            "INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            key, value)

    # ------------------------------------------------------------------------------------ dedupe

    async def mark_processed(self, platform: str, event_id: str, ts: float) -> bool:
        """Record that an event was handled. True the first time, False for a repeat (in any process)."""
        status = await self._run.execute(
            "INSERT INTO processed (platform, event_id, ts) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            platform, event_id, ts)
        return status.endswith(" 1")

    async def checkpoint(self) -> None:
        """Nothing to do: the server checkpoints by itself."""

    async def prune(self, before_ts: float) -> None:
        """Forget dedupe ids and decisions older than ``before_ts`` (replies and feedback stay)."""
        await self._run.execute("DELETE FROM processed WHERE ts < $1", before_ts)
        await self._run.execute("DELETE FROM decisions WHERE ts < $1", before_ts)

    # ------------------------------------------------------------------------------------ settings

    async def channel_settings(self, platform: str, channel_id: str) -> ChannelSettings:
        row = await self._run.fetchrow(
            "SELECT mode, cooldown_minutes, thread FROM channel_settings WHERE platform = $1 AND channel_id = $2",
            platform, channel_id)
        return ChannelSettings.from_row(*row) if row else ChannelSettings()

    async def set_channel_settings(self, platform: str, channel_id: str, settings: ChannelSettings) -> None:
        await self._run.execute(
            "INSERT INTO channel_settings (platform, channel_id, mode, cooldown_minutes, thread) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform, channel_id) DO UPDATE SET mode = EXCLUDED.mode, "
            "cooldown_minutes = EXCLUDED.cooldown_minutes, thread = EXCLUDED.thread",
            platform, channel_id, settings.mode, settings.cooldown_minutes,
            None if settings.thread is None else int(settings.thread))

    # ------------------------------------------------------------------------------------ replies

    async def log_reply(self, record: ReplyRecord, scores: dict[str, float], server_id: str | None,
                        reason: str = "") -> int:
        """Record an answer or 🔎 offer; a trigger records it as the message's decision too (one statement)."""
        return int(await self._run.fetchval(
            "INSERT INTO replies (platform, channel_id, server_id, message_id, author_id, claim_id, action, tier,"
            " score, scores, sent_id, ts, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            " RETURNING id",
            record.platform, record.channel_id, server_id, record.message_id, record.author_id, record.claim_id,
            record.action, record.tier, record.score, json.dumps(scores), record.sent_id, record.ts, reason))

    async def policy_facts(self, platform: str, channel_id: str, author_id: str, claim_id: str,
                           since: float, *, server_id: str) -> PolicyFactsRow:
        """Everything the policy needs, in one query: the channel's settings, when ``claim_id`` was last
        answered here, and since ``since`` the channel's answers, the author's answers in this server
        (``server_id``: caps are per server and person) and the channel's 🔎."""
        row = await self._run.fetchrow(
            "SELECT (SELECT mode FROM channel_settings WHERE platform = $1 AND channel_id = $2),"
            " (SELECT cooldown_minutes FROM channel_settings WHERE platform = $1 AND channel_id = $2),"
            " (SELECT thread FROM channel_settings WHERE platform = $1 AND channel_id = $2),"
            " (SELECT MAX(ts) FROM replies WHERE platform = $1 AND channel_id = $2 AND claim_id = $4),"
            " (SELECT COUNT(*) FROM replies WHERE platform = $1 AND channel_id = $2 AND ts >= $5"
            "  AND action = 'reply'),"
            " (SELECT COUNT(*) FROM replies WHERE platform = $1 AND server_id = $6 AND author_id = $3"
            "  AND ts >= $5 AND action = 'reply'),"
            " (SELECT COUNT(*) FROM replies WHERE platform = $1 AND channel_id = $2 AND ts >= $5"
            "  AND action = 'react')",
            platform, channel_id, author_id, claim_id, since, server_id)
        return ChannelSettings.from_row(row[0], row[1], row[2]), row[3], int(row[4]), int(row[5]), int(row[6])

    async def set_sent_id(self, platform: str, message_id: str, action: str, sent_id: str) -> None:
        await self._run.execute(
            "UPDATE replies SET sent_id = $1 WHERE platform = $2 AND message_id = $3 AND action = $4",
            sent_id, platform, message_id, action)

    async def replies_for_message(self, platform: str, message_id: str) -> list[ReplyRecord]:
        rows = await self._run.fetch(
            "SELECT platform, channel_id, message_id, author_id, claim_id, action, tier, score, sent_id, ts "
            "FROM replies WHERE platform = $1 AND message_id = $2 ORDER BY id",
            platform, message_id)
        return [_reply(r) for r in rows]

    async def reply_by_sent_id(self, platform: str, sent_id: str) -> ReplyRecord | None:
        row = await self._run.fetchrow(
            "SELECT platform, channel_id, message_id, author_id, claim_id, action, tier, score, sent_id, ts "
            "FROM replies WHERE platform = $1 AND sent_id = $2 AND action = 'reply'",
            platform, sent_id)
        return _reply(row) if row else None

    # ------------------------------------------------------------------------------------ decisions

    async def log_decision(self, platform: str, message_id: str, channel_id: str, claim_id: str | None,
                           tier: str | None, action: str, reason: str, scores: dict[str, float],
                           ts: float, *, server_id: str) -> None:
        """Remember why the bot did what it did with a message, for ``explain`` and stats.

        ``tier`` is None when the matcher found no answer; a decision with a tier and action ``nothing``
        was held by a policy rule (cooldown, cap, mode), which is not a near miss.
        """
        await self._run.execute(
            "INSERT INTO decisions (platform, message_id, channel_id, server_id, claim_id, tier, action, reason,"
            " scores, ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (platform, message_id)"
            " DO UPDATE SET channel_id = EXCLUDED.channel_id, server_id = EXCLUDED.server_id,"
            " claim_id = EXCLUDED.claim_id, tier = EXCLUDED.tier, action = EXCLUDED.action,"
            " reason = EXCLUDED.reason, scores = EXCLUDED.scores, ts = EXCLUDED.ts",
            platform, message_id, channel_id, server_id, claim_id, tier, action, reason, json.dumps(scores), ts)

    async def decision(self, platform: str, message_id: str, scope: Scope | None) -> dict[str, Any] | None:
        """Why the bot did what it did with ``message_id``; None if unknown or outside ``scope``."""
        row = await self._run.fetchrow(
            "SELECT claim_id, tier, action, reason, scores FROM decisions WHERE platform = $1 AND message_id = $2"
            " AND ($3::text IS NULL OR (platform = $3 AND server_id = $4))",
            platform, message_id, *scope_params(scope))
        return None if row is None else decision_from_row(row)

    async def near_misses(self, since: float, scope: Scope | None,
                          limit: int = 10) -> list[tuple[str, float, str]]:
        """Messages that came closest to matching without an answer: (claim id, score, reason).

        Only the matcher's misses (no tier): a match held by a cooldown, a cap or a mode is not one.
        """
        rows = await self._run.fetch(
            "SELECT claim_id, (scores::jsonb ->> 'combined')::double precision AS s, reason FROM decisions "
            "WHERE ts >= $1 AND action = 'nothing' AND claim_id IS NOT NULL AND tier IS NULL"
            " AND ($2::text IS NULL OR (platform = $2 AND server_id = $3)) ORDER BY s DESC NULLS LAST LIMIT $4",
            since, *scope_params(scope), limit)
        return [(r[0], float(r[1] or 0), r[2]) for r in rows]

    # ------------------------------------------------------------------------------------ feedback

    async def add_feedback(self, platform: str, reply_message_id: str, user_id: str, claim_id: str | None,
                           helpful: bool, ts: float) -> None:
        """Store (or change) one user's verdict on one answer."""
        await self._run.execute(
            "INSERT INTO feedback (platform, reply_message_id, user_id, claim_id, helpful, ts) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (platform, reply_message_id, user_id) "
            "DO UPDATE SET helpful = EXCLUDED.helpful, ts = EXCLUDED.ts",
            platform, reply_message_id, user_id, claim_id, int(helpful), ts)

    async def feedback_rows(self) -> list[tuple[str, str, str, str | None, bool]]:
        rows = await self._run.fetch("SELECT platform, reply_message_id, user_id, claim_id, helpful FROM feedback")
        return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # ------------------------------------------------------------------------------------ stats

    async def claim_stats(self, since: float, scope: Scope | None) -> list[tuple[str, int, int, int]]:
        """Per claim since ``since``: (claim id, answers, helpful votes, unhelpful votes), in ``scope``.

        A vote counts where the answer it is on was given (its reply row's server).
        """
        rows = await self._run.fetch(
            "SELECT r.claim_id, COUNT(DISTINCT r.id),"
            "  (SELECT COUNT(*) FROM feedback f WHERE f.claim_id = r.claim_id AND f.helpful = 1 AND f.ts >= $1"
            "   AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM replies a WHERE a.platform = f.platform"
            "   AND a.sent_id = f.reply_message_id AND a.action = 'reply' AND a.platform = $2"
            "   AND a.server_id = $3))),"
            "  (SELECT COUNT(*) FROM feedback f WHERE f.claim_id = r.claim_id AND f.helpful = 0 AND f.ts >= $1"
            "   AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM replies a WHERE a.platform = f.platform"
            "   AND a.sent_id = f.reply_message_id AND a.action = 'reply' AND a.platform = $2"
            "   AND a.server_id = $3))) "
            "FROM replies r WHERE r.ts >= $1 AND r.action = 'reply'"
            " AND ($2::text IS NULL OR (r.platform = $2 AND r.server_id = $3)) GROUP BY r.claim_id ORDER BY 2 DESC",
            since, *scope_params(scope))
        return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def top_channels(self, since: float, scope: Scope | None, limit: int = 5) -> list[tuple[str, str, int]]:
        """The channels with most answers since ``since`` in ``scope``: (platform, channel id, answers)."""
        rows = await self._run.fetch(
            "SELECT platform, channel_id, COUNT(*) FROM replies WHERE ts >= $1 AND action = 'reply'"
            " AND ($2::text IS NULL OR (platform = $2 AND server_id = $3))"
            " GROUP BY platform, channel_id ORDER BY 3 DESC LIMIT $4",
            since, *scope_params(scope), limit)
        return [(r[0], r[1], int(r[2])) for r in rows]


class _LockedDecision(_Queries):
    """A decision's queries on its transaction's connection. The dedupe mark comes first and takes no lock:
    a message another process is deciding waits on that process's uncommitted mark (the primary key), then
    reads "already handled" without queueing on the channel. Anything that reads or writes counts takes the
    advisory locks first."""

    def __init__(self, conn: asyncpg.Connection, keys: list[int]) -> None:
        super().__init__(conn)
        self._conn = conn
        self._keys: list[int] | None = keys

    async def _locked(self) -> None:
        if self._keys is not None:
            keys, self._keys = self._keys, None
            await self._conn.execute(
                "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest($1::bigint[]) AS k ORDER BY 1) AS keys", keys)

    async def replies_for_message(self, platform: str, message_id: str) -> list[ReplyRecord]:
        await self._locked()
        return await super().replies_for_message(platform, message_id)

    async def policy_facts(self, platform: str, channel_id: str, author_id: str, claim_id: str,
                           since: float, *, server_id: str) -> PolicyFactsRow:
        await self._locked()
        return await super().policy_facts(platform, channel_id, author_id, claim_id, since, server_id=server_id)

    async def log_reply(self, record: ReplyRecord, scores: dict[str, float], server_id: str | None,
                        reason: str = "") -> int:
        await self._locked()
        return await super().log_reply(record, scores, server_id, reason)

    async def log_decision(self, platform: str, message_id: str, channel_id: str, claim_id: str | None,
                           tier: str | None, action: str, reason: str, scores: dict[str, float],
                           ts: float, *, server_id: str) -> None:
        await self._locked()
        await super().log_decision(platform, message_id, channel_id, claim_id, tier, action, reason, scores, ts,
                                   server_id=server_id)


class PostgresStorage(_Queries):
    """The bot's database on a PostgreSQL server, shared by every process given the same URL."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        super().__init__(pool)
        self._pool = pool
        self._url = url
        self.location = redact_url(url)

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresStorage:
        """Connect a pool to ``url`` and bring the schema up to date.

        Raises:
            StorageError: the server cannot be reached, or refuses the login or the database.
        """
        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, command_timeout=60,
                                             reset=_keep_session)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageError(f"cannot open the PostgreSQL database {redact_url(url)}: "
                               f"{type(exc).__name__}: {exc}. Check the host, port, user, password and that "
                               "the database exists (createdb).") from None
        storage = cls(pool, url)
        try:
            await storage._migrate()
        except BaseException:
            await pool.close()
            raise
        return storage

    async def close(self) -> None:
        """Close every connection of the pool."""
        await self._pool.close()

    async def _migrate(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            # Processes starting together queue here; the first applies the migrations, the rest find them done.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS footnote_schema (version INTEGER NOT NULL)")
            version = await conn.fetchval("SELECT MAX(version) FROM footnote_schema") or 0
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                await conn.execute(script)
                await conn.execute("INSERT INTO footnote_schema (version) VALUES ($1)", number)

    async def schema_version(self) -> int:
        """The number of migrations applied."""
        return int(await self._pool.fetchval("SELECT MAX(version) FROM footnote_schema") or 0)

    @asynccontextmanager
    async def deciding(self, platform: str, channel_id: str,
                       author_id: str | None = None) -> AsyncIterator[_Queries]:
        """One decision's transaction on one pooled connection, holding the channel's and the author's
        advisory locks until it commits (or rolls back, also when this process dies)."""
        async with self._pool.acquire() as conn, conn.transaction():
            yield _LockedDecision(conn, decision_lock_keys(platform, channel_id, author_id))

    async def integrity_ok(self) -> bool:
        """The server answers and the schema is at the version this code expects."""
        return await self.schema_version() == len(MIGRATIONS)

    async def backup(self, target: Path) -> None:
        """Dump the database with ``pg_dump --format=custom`` (restore with ``pg_restore``).

        Raises:
            StorageError: ``pg_dump`` is not installed or failed (its message included).
        """
        how = (f"run on a host with the PostgreSQL client tools: pg_dump --format=custom --file={target} "
               f"'{self.location}' (restore with pg_restore)")
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise StorageError(f"backing up PostgreSQL needs pg_dump, which is not installed here "
                               f"(apt-get install postgresql-client); or {how}")
        parts = urlsplit(self._url)
        env = dict(os.environ)
        netloc = parts.netloc
        if parts.password is not None:  # pass the password in the environment, never on the command line
            env["PGPASSWORD"] = unquote(parts.password)
            netloc = netloc.replace(f":{parts.password}@", "@", 1)
        url = urlunsplit(parts._replace(netloc=netloc))
        proc = await asyncio.create_subprocess_exec(
            pg_dump, "--format=custom", f"--file={target}", f"--dbname={url}", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode != 0:
            detail = err.decode(errors="replace").strip().splitlines()
            raise StorageError(f"pg_dump failed: {detail[-1] if detail else f'exit code {proc.returncode}'}; "
                               f"{how}")
