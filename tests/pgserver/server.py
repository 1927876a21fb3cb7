"""A throw-away PostgreSQL server on loopback, for tests and the bench.

:class:`PostgresServer` runs ``initdb`` into a fresh temporary directory, starts ``postgres`` with
``pg_ctl`` on ``127.0.0.1`` and a free port (no Unix socket, trust authentication on loopback only) and
stops it by ``pg_ctl stop`` (falling back to the postmaster's PID). Running as root, it hands the directory
to the ``postgres`` system user and runs the server as that user, because ``initdb`` refuses root.

The binaries come from Debian's ``postgresql`` package (``scripts/ensure-postgres.sh`` installs it); the
newest ``/usr/lib/postgresql/*/bin`` wins, then ``PATH``. Standard library only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresServer", "PostgresError", "find_bindir", "free_port"]

#: Test-only settings: durability off (a crash loses the test database, which is thrown away anyway).
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresError(RuntimeError):
    """The server could not be set up, started or stopped; the message carries the end of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises:
        PostgresError: none found (run ``scripts/ensure-postgres.sh``).
    """
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                        if Path(p).parent.name.isdigit() else 0)
    for directory in reversed(candidates):
        if all(os.access(Path(directory, name), os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresError("no PostgreSQL server binaries found: run scripts/ensure-postgres.sh "
                        "(it installs Debian's postgresql package)")


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory; :meth:`start`, :meth:`stop`, :meth:`dsn`."""

    def __init__(self, *, port: int | None = None, durable: bool = False, max_connections: int = 200) -> None:
        self.port = port or free_port()
        self.bindir = find_bindir()
        self.durable = durable
        self.max_connections = max_connections
        # As root the server runs as "postgres", which must reach the directory: /tmp rather than a $TMPDIR
        # that may sit under root's own home.
        root_dir = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
        self.workdir = Path(tempfile.mkdtemp(prefix="footnote-pg-", dir=root_dir))
        self.datadir = self.workdir / "data"
        self.log_path = self.workdir / "server.log"
        self._user: str | None = None
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres system user
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresError("running as root but there is no 'postgres' user to run the server as "
                                    "(apt-get install postgresql creates it)") from None
            self._user = entry.pw_name
            os.chown(self.workdir, entry.pw_uid, entry.pw_gid)
        self._started = False

    @property
    def superuser(self) -> str:
        """The cluster's superuser (the OS user that ran initdb)."""
        return self._user or pwd.getpwuid(os.geteuid()).pw_name

    def dsn(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for ``database`` on this server."""
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], user=self._user, cwd=self.workdir,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def start(self, timeout: float = 60.0) -> None:
        """initdb (once), then start the server and wait until it accepts connections.

        Raises:
            PostgresError: initdb or the server failed (with its output).
        """
        if self._started:
            return
        if not self.datadir.exists():
            done = self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", self.superuser,
                             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
            if done.returncode != 0:
                raise PostgresError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        options = {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": "",
                   "max_connections": str(self.max_connections), "shared_buffers": "64MB"}
        if not self.durable:
            options.update(FAST_SETTINGS)
        flags = " ".join(f"-c {key}={value}" for key, value in options.items())
        done = self._run("pg_ctl", "start", "-D", str(self.datadir), "-l", str(self.log_path), "-o", flags,
                         "-w", "-t", str(int(timeout)), timeout=timeout + 10)
        if done.returncode != 0:
            raise PostgresError(f"PostgreSQL did not start: {done.stderr.strip()}\n{self.log_tail()}")
        self._started = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise PostgresError(f"PostgreSQL is not listening on port {self.port}\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (fast shutdown), then remove its directory."""
        if self._started:
            self._started = False
            done = self._run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "fast", "-w", timeout=60)
            if done.returncode != 0:
                self._kill_postmaster()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        pidfile = self.datadir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        except OSError:
            return "(no server log)"
        return "--- postgresql log ---\n" + "\n".join(text)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
