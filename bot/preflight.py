"""Checks before Footnote starts, each failing with one message a person can act on: a chat platform is
configured (a server process never falls back to the console without a terminal), and the directories it
writes to (the database, a backup target) are writable by the user it runs as."""

from __future__ import annotations

import os
from pathlib import Path

from .config import Config, unknown_env_names
from .errors import FootnoteError

__all__ = ["check_writable_file", "no_platform_message"]


def no_platform_message(config: Config, config_path: Path | None, environ: dict[str, str]) -> str:
    """Why ``run`` has nothing to connect to: which variables or config keys are missing, and where."""
    lines = ["no chat platform is configured, and there is no terminal to open the console chat on.",
             "  Discord needs FOOTNOTE_DISCORD_TOKEN (or discord.token in the config file).",
             "  Matrix needs FOOTNOTE_MATRIX_HOMESERVER and FOOTNOTE_MATRIX_USER_ID, plus "
             "FOOTNOTE_MATRIX_ACCESS_TOKEN or FOOTNOTE_MATRIX_PASSWORD (or the matrix: section of the config "
             "file)."]
    if config.matrix is not None and (config.matrix.homeserver is None) != (config.matrix.user_id is None):
        missing = "homeserver (FOOTNOTE_MATRIX_HOMESERVER)" if config.matrix.homeserver is None else (
            "user_id (FOOTNOTE_MATRIX_USER_ID)")
        lines.append(f"  Matrix is half configured: matrix.{missing} is missing.")
    empty = sorted(name for name, value in environ.items()
                   if name.startswith("FOOTNOTE_") and not value.strip())
    if empty:
        lines.append(f"  Set but empty: {', '.join(empty)}.")
    unknown = unknown_env_names(environ)
    if unknown:
        lines.append(f"  Not Footnote variables (misspelt?): {', '.join(unknown)}.")
    where = str(config_path) if config_path is not None else "none (defaults and environment only)"
    lines.append(f"  Config file: {where}. In Docker, put the secrets in footnote.env "
                 "(docker run --env-file footnote.env, or env_file: in compose).")
    lines.append("  To chat in a terminal instead: python -m bot console (in Docker: docker run -it ... console).")
    return "\n".join(lines)


def _describe(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return ""
    return f" (owned by uid {st.st_uid}, mode {st.st_mode & 0o777:o})"


def _problem(path: Path) -> str | None:
    """Why ``path`` (a directory) cannot be written, or None."""
    if not path.exists():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"cannot be created ({exc.strerror})"
        return None
    if not path.is_dir():
        return "is not a directory"
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "is on a read-only filesystem"
    except OSError:
        pass
    if not os.access(path, os.W_OK | os.X_OK):
        return f"is not writable by uid {os.getuid()}{_describe(path)}"
    return None


def check_writable_file(path: Path, what: str) -> None:
    """Raise a one-line :class:`FootnoteError` when ``path`` (a file Footnote creates or updates, ``what``
    names it) cannot be written: its directory is missing, read-only or owned by another user."""
    directory = path.parent if str(path.parent) else Path(".")
    problem = _problem(directory)
    if problem is None and path.exists() and not os.access(path, os.W_OK):
        directory, problem = path, f"is not writable by uid {os.getuid()}{_describe(path)}"
    if problem is not None:
        raise FootnoteError(f"cannot write {what}: {directory} {problem}. Make it writable for uid "
                            f"{os.getuid()} (e.g. chown {os.getuid()} on the host folder) or choose another "
                            "path.")

