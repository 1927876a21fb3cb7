"""Where Footnote keeps its state: one interface, two backends.

``database: footnote.sqlite3`` (a path) keeps everything in one SQLite file, the embedded default for a
community running one bot. ``database: postgresql://user@host/db`` shares one PostgreSQL between several
bot processes (Discord shards, hosts), which then act as one bot. :func:`open_storage` picks by the value.
"""

from __future__ import annotations

from pathlib import Path

from .base import ChannelSettings, DecisionStore, ReplyRecord, Scope, Storage, is_database_url, redact_url

__all__ = ["ChannelSettings", "DecisionStore", "ReplyRecord", "Scope", "Storage", "open_storage", "is_database_url",
           "redact_url"]


async def open_storage(database: Path | str, **options: object) -> Storage:
    """Open the database ``database`` names and bring its schema up to date.

    Args:
        database: a file path (SQLite) or a ``postgresql://`` URL (PostgreSQL).
        options: backend settings (PostgreSQL: ``min_size``/``max_size`` of the connection pool).

    Raises:
        StorageError: the PostgreSQL server cannot be reached or refuses the login.
    """
    if is_database_url(database):
        from .postgres import PostgresStorage

        return await PostgresStorage.open(str(database), **options)  # type: ignore[arg-type]
    from .sqlite import SqliteStorage

    return await SqliteStorage.open(Path(database))
