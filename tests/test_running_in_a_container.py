"""What a container (no terminal, env-only secrets, a mounted /data) needs from the command line and the bot,
tested without Docker: `make docker-check` runs the same behaviour in real containers."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import discord.http
import pytest

from bot.app import open_app
from bot.config import BUNDLED_KNOWLEDGE, Config, DiscordConfig, KnowledgeConfig
from bot.health import HealthServer
from bot.healthcheck import health_url
from bot.runner import Supervisor

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m bot ARGS`` with no terminal on stdin, as in a container, and no FOOTNOTE_* from outside."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, env=full_env)


def _config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"database: {tmp_path / 'footnote.sqlite3'}\n{text}")
    return path


def test_options_work_after_the_verb(tmp_path):
    """`run --config FILE` and `config check --config FILE --log-format json` read that file."""
    path = _config(tmp_path, "policy:\n  user_per_hour: 7\n")
    checked = run("config", "check", "--config", str(path), "--log-format", "json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["policy"]["user_per_hour"] == 7
    started = run("run", "--config", str(path))
    assert "unrecognized arguments" not in started.stderr
    assert str(path) in started.stderr  # it read the file: the no-platform message names it


def test_option_before_the_verb_still_wins_when_only_given_there(tmp_path):
    """`--config FILE config check` keeps working: a sub-command's unset option does not erase it."""
    path = _config(tmp_path, "policy:\n  user_per_hour: 5\n")
    checked = run("--config", str(path), "config", "check")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["policy"]["user_per_hour"] == 5


def test_run_without_platform_or_terminal_says_what_is_missing(tmp_path):
    """No platform and no terminal: exit 1 naming the variables and the config file, never a silent console."""
    path = _config(tmp_path)
    result = run("--config", str(path), env={"FOOTNOTE_DISCORD_TOKN": "x", "FOOTNOTE_MATRIX_PASSWORD": ""})
    assert result.returncode == 1
    assert result.stderr.startswith("error: no chat platform is configured")
    for expected in ("FOOTNOTE_DISCORD_TOKEN", "FOOTNOTE_MATRIX_HOMESERVER", "FOOTNOTE_MATRIX_USER_ID",
                     str(path), "FOOTNOTE_DISCORD_TOKN (did you mean FOOTNOTE_DISCORD_TOKEN?)",
                     "Set but empty: FOOTNOTE_MATRIX_PASSWORD", "footnote.env"):
        assert expected in result.stderr, expected
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_run_with_half_a_matrix_config_names_the_missing_half(tmp_path):
    """A homeserver without a user id is named as the missing piece."""
    result = run("--config", str(_config(tmp_path)), env={"FOOTNOTE_MATRIX_HOMESERVER": "https://m.example"})
    assert result.returncode == 1
    assert "Matrix is half configured: matrix.user_id (FOOTNOTE_MATRIX_USER_ID) is missing" in result.stderr


def test_a_config_path_that_is_a_directory_is_one_clear_error(tmp_path):
    """What Docker leaves when a bind-mounted file is missing: a directory; the bot says so."""
    folder = tmp_path / "config.yaml"
    folder.mkdir()
    for result in (run("--config", str(folder), "config", "check"),
                   run("config", "check", env={"FOOTNOTE_CONFIG": str(folder)})):
        assert result.returncode == 1
        assert f"error: {folder}: the config path is a directory, not a file" in result.stderr
        assert "Traceback" not in result.stderr


def test_config_check_shows_where_each_value_came_from(tmp_path):
    """The environment beats the file, and `config check` says which keys came from which."""
    path = _config(tmp_path, "metrics:\n  enabled: false\npolicy:\n  user_per_hour: 7\nmatrix:\n"
                             "  homeserver: https://m.example\n  user_id: '@bot:m.example'\n")
    env_db = tmp_path / "data" / "env.sqlite3"
    result = run("--config", str(path), "config", "check",
                 env={"FOOTNOTE_DATABASE": str(env_db), "FOOTNOTE_METRICS_ENABLED": "true",
                      "FOOTNOTE_METRICS_PORT": "9999", "FOOTNOTE_MATRIX_ACCESS_TOKEN": "secret-value-42"})
    assert result.returncode == 0, result.stderr
    effective = json.loads(result.stdout)
    assert effective["database"] == str(env_db) and effective["metrics"]["enabled"] is True
    assert effective["metrics"]["port"] == 9999
    assert effective["matrix"]["store_path"] == str(env_db.parent / "matrix-store")
    sources = effective["sources"]
    assert sources["config_file"] == str(path)
    assert sources["precedence"].startswith("environment")
    assert sources["from_environment"] == {"database": "FOOTNOTE_DATABASE", "metrics.enabled":
                                           "FOOTNOTE_METRICS_ENABLED", "metrics.port": "FOOTNOTE_METRICS_PORT",
                                           "matrix.access_token": "FOOTNOTE_MATRIX_ACCESS_TOKEN"}
    assert sources["environment_overrides_file"] == ["database", "metrics.enabled"]
    assert "policy.user_per_hour" in sources["from_file"] and "database" not in sources["from_file"]
    assert "secret-value-42" not in result.stdout


def _as_another_user(action: Callable[[], int], unwritable: Path) -> tuple[int, str]:
    """Run ``action`` in a forked child that cannot write ``unwritable`` (as uid 65534 when we are root, since
    root writes anywhere; else with the folder made read-only) and return its exit code and output."""
    if os.getuid() != 0:
        unwritable.chmod(0o555)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.close(read)
            sys.stdout = sys.stderr = os.fdopen(write, "w", buffering=1)
            if os.getuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            code = action()
        except BaseException as exc:
            print(f"child crashed: {exc!r}")
        finally:
            sys.stdout.flush()
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        out = pipe.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


@pytest.fixture
def root_owned_folder():
    """A folder like a root-owned host folder mounted on /data: readable by everyone, writable by its owner."""
    folder = Path(tempfile.mkdtemp(prefix="footnote-readonly-"))
    folder.chmod(0o755)
    yield folder
    folder.chmod(0o755)
    folder.rmdir()


def test_an_unwritable_data_folder_is_one_line(root_owned_folder, monkeypatch):
    """A database folder the bot's user cannot write ends in one line naming the uid, not a traceback."""
    from bot.cli import main

    monkeypatch.setenv("FOOTNOTE_DATABASE", str(root_owned_folder / "footnote.sqlite3"))
    monkeypatch.delenv("FOOTNOTE_CONFIG", raising=False)
    code, out = _as_another_user(lambda: main(["stats"]), root_owned_folder)
    uid = 65534 if os.getuid() == 0 else os.getuid()
    assert code == 1, out
    assert out.startswith(f"error: cannot write the database: {root_owned_folder} is not writable by uid {uid}")
    assert out.count("\n") == 1 and "Traceback" not in out


def test_an_unwritable_backup_target_is_one_line(root_owned_folder, monkeypatch, tmp_path):
    """`db backup` into a folder it cannot create says so in one line."""
    from bot.cli import main

    monkeypatch.setenv("FOOTNOTE_DATABASE", str(tmp_path / "footnote.sqlite3"))
    target = root_owned_folder / "backups" / "footnote.sqlite3"
    code, out = _as_another_user(lambda: main(["db", "backup", str(target)]), root_owned_folder)
    assert code == 1, out
    assert out == f"error: cannot write the backup: {target.parent} cannot be created (Permission denied). " \
                  f"Make it writable for uid {65534 if os.getuid() == 0 else os.getuid()} (e.g. chown " \
                  f"{65534 if os.getuid() == 0 else os.getuid()} on the host folder) or choose another path.\n"


def test_console_ends_on_sigterm_like_ctrl_d(tmp_path):
    """`docker stop` sends SIGTERM to the console (PID 1 ignores it unless handled): it exits 0 at once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
    env["FOOTNOTE_DATABASE"] = str(tmp_path / "console.sqlite3")
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "bot", "console"], env)
    seen, deadline = b"", time.monotonic() + 60
    while b"you>" not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            seen += os.read(fd, 4096)
    assert b"you>" in seen
    sent = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0  # handled, not killed by the signal
    assert time.monotonic() - sent < 3


async def test_health_without_platforms_is_not_healthy(tmp_path):
    """/healthz with no platform answers 503 'no platform configured' instead of a cheerful 200."""
    import aiohttp

    config = Config(database=tmp_path / "h.sqlite3", knowledge=KnowledgeConfig(watch=False))
    async with open_app(config) as app:
        server = HealthServer(app, {})
        port = await server.start("127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as http, http.get(health_url("0.0.0.0", port)) as resp:
                body = json.loads(await resp.text())
        finally:
            await server.stop()
    assert resp.status == 503 and body["state"] == "no platform configured" and body["ok"] is False
    assert BUNDLED_KNOWLEDGE.exists()


def test_healthcheck_asks_the_configured_port(tmp_path):
    """`python -m bot.healthcheck` reads FOOTNOTE_METRICS_PORT and fails plainly when nothing answers."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
    env.update(FOOTNOTE_METRICS_ENABLED="true", FOOTNOTE_METRICS_HOST="0.0.0.0", FOOTNOTE_METRICS_PORT=str(port))
    result = subprocess.run([sys.executable, "-m", "bot.healthcheck"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.startswith(f"unhealthy: no answer from http://127.0.0.1:{port}/healthz")
    assert health_url("::", 9464) == "http://[::1]:9464/healthz"


async def test_unreachable_discord_is_one_line_per_retry(tmp_path, caplog, monkeypatch):
    """Discord down or unreachable: each retry logs one line saying so, with no traceback."""
    import socket

    from bot.adapters.discord_bot import DiscordAdapter

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{closed_port}/api/v10")
    config = Config(database=tmp_path / "d.sqlite3", knowledge=KnowledgeConfig(watch=False))
    caplog.set_level(logging.INFO)
    async with open_app(config) as app:
        dcfg = DiscordConfig(token="fake.discord.token")
        supervisor = Supervisor("discord", lambda status: DiscordAdapter(app.engine, dcfg, status=status),
                                initial_backoff=0.05)
        task = asyncio.create_task(supervisor.run())
        await asyncio.sleep(0.6)
        await supervisor.stop()
        await asyncio.wait_for(task, 5)
    failures = [r for r in caplog.records if "cannot reach Discord" in r.getMessage()]
    assert len(failures) >= 2
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in caplog.records)


def test_discord_reconnect_lines_lose_their_traceback(caplog):
    """discord.py's own 'Attempting a reconnect' lines become one line naming the error."""
    import bot.adapters.discord_bot  # noqa: F401 - installs the filter

    try:
        raise OSError("Connect call failed ('162.159.135.232', 443)")
    except OSError:
        logging.getLogger("discord.client").exception("Attempting a reconnect in %.2fs", 4.2)
    record = caplog.records[-1]
    assert record.exc_info is None
    assert record.getMessage() == "Attempting a reconnect in 4.20s (OSError: Connect call failed " \
                                  "('162.159.135.232', 443))"
