"""Owner-only files and directories, for everything that holds a secret or people's messages.

The database, its backups, the Matrix session file and the end-to-end key store are created with these:
files 0600, directories 0700, whatever the process umask.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["private_database", "private_dir", "private_file"]


def private_file(path: Path) -> None:
    """Create ``path`` if missing and make it readable and writable by its owner only (0600)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) and make the directory itself owner-only (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def private_database(path: Path) -> None:
    """Make a SQLite database and its WAL files owner-only before SQLite opens them.

    SQLite gives the ``-wal`` and ``-shm`` files the database file's permissions. A directory Footnote
    creates is owner-only; an existing one (the operator's choice) is left as it is.
    """
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    private_file(path)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)
