"""Choosing the database from the command line: a path keeps SQLite, a postgresql:// URL shares PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=full_env)


def test_a_path_keeps_sqlite_and_a_url_selects_postgres(tmp_path):
    """`database: x.sqlite3` is a file next to the config; a postgresql:// URL (file or env) stays a URL."""
    path = tmp_path / "config.yaml"
    path.write_text("database: data/x.sqlite3\n")
    config = load_config(path, environ={})
    assert config.database == tmp_path / "data" / "x.sqlite3" and not config.uses_postgres
    config = load_config(path, environ={"FOOTNOTE_DATABASE": "postgresql://bot@db.internal/footnote"})
    assert config.database == "postgresql://bot@db.internal/footnote" and config.uses_postgres
    assert Config(database="postgres://bot@db/footnote").uses_postgres


def test_another_database_url_is_one_clear_line(tmp_path):
    """`database: mysql://...` is refused naming the key, with no traceback."""
    path = tmp_path / "config.yaml"
    path.write_text("database: mysql://bot@db/footnote\n")
    result = run("--config", str(path), "config", "check")
    assert result.returncode == 1
    assert "database" in result.stderr and "postgresql://" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_check_hides_the_database_password():
    """A password inside FOOTNOTE_DATABASE is never printed by `config check`."""
    result = run("config", "check", env={"FOOTNOTE_DATABASE": "postgresql://bot:pw-Zq81-secret@db/footnote"})
    assert result.returncode == 0, result.stderr
    assert "pw-Zq81-secret" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["database"] == "postgresql://bot:***@db/footnote"


def test_unreachable_postgres_is_one_clear_line(postgres_server):
    """A database that does not exist stops the command with one line naming it, never the password."""
    url = postgres_server.dsn("missing_db").replace("@", ":pw-Zq81-secret@", 1)
    result = run("stats", env={"FOOTNOTE_DATABASE": url})
    assert result.returncode == 1
    assert "missing_db" in result.stderr and "pw-Zq81-secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_db_backup_on_postgres_writes_a_pg_dump_archive(postgres_url, tmp_path):
    """`db backup` on PostgreSQL writes a custom-format pg_dump archive that pg_restore can read."""
    target = tmp_path / "footnote.dump"
    result = run("db", "backup", str(target), env={"FOOTNOTE_DATABASE": postgres_url})
    assert result.returncode == 0, result.stderr
    listing = subprocess.run(["pg_restore", "--list", str(target)], capture_output=True, text=True, check=True)
    assert "TABLE public replies" in listing.stdout


def test_db_backup_on_postgres_without_pg_dump_says_what_to_run(postgres_url, tmp_path):
    """Without pg_dump installed, `db backup` says to install it or run pg_dump, in one line, exit 1."""
    result = run("db", "backup", str(tmp_path / "x.dump"),
                 env={"FOOTNOTE_DATABASE": postgres_url, "PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "pg_dump" in result.stderr and "pg_restore" in result.stderr
    assert "Traceback" not in result.stderr
