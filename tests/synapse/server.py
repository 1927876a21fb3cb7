"""A throw-away Synapse homeserver on loopback, for end-to-end tests.

:class:`SynapseServer` generates a config in a temporary directory with Synapse's own
``--generate-config``, overrides it for tests (one HTTP listener on ``127.0.0.1`` with only the client
resource, no federation, no key servers, shared-secret registration, cheap bcrypt, rate limits raised),
starts ``python -m synapse.app.homeserver`` as a child process and stops it by its PID. ``restart()``
keeps the port and the database, so clients can reconnect. ``log_tail()`` returns the end of the
homeserver log for failure reports.

It uses only the standard library (blocking urllib calls): fixtures run it outside the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["RegisteredUser", "SynapseError", "SynapseServer", "free_port"]

SERVER_NAME = "localhost"

#: Generous limits: tests send bursts from several clients at once.
_LOOSE = {"per_second": 1000, "burst_count": 1000}
RATE_LIMITS: dict[str, Any] = {
    "rc_message": _LOOSE,
    "rc_registration": _LOOSE,
    "rc_login": {"address": _LOOSE, "account": _LOOSE, "failed_attempts": _LOOSE},
    "rc_joins": {"local": _LOOSE, "remote": _LOOSE},
    "rc_joins_per_room": _LOOSE,
    "rc_invites": {"per_room": _LOOSE, "per_user": _LOOSE, "per_issuer": _LOOSE},
    "rc_admin_redaction": _LOOSE,
    "rc_key_requests": _LOOSE,
    "rc_3pid_validation": _LOOSE,
    "rc_room_creation": _LOOSE,
    "rc_presence": {"per_user": _LOOSE},
    "rc_delayed_event_mgmt": _LOOSE,
    "rc_reports": _LOOSE,
}


class SynapseError(RuntimeError):
    """The homeserver failed to start, stop or answer; the message carries the end of its log."""


@dataclass(frozen=True)
class RegisteredUser:
    """An account created through the shared-secret admin registration API."""

    user_id: str
    password: str
    access_token: str
    device_id: str


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SynapseServer:
    """One Synapse process under ``workdir``; generate once, then start/stop/restart as needed."""

    def __init__(self, workdir: Path, *, port: int | None = None) -> None:
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.config_path = self.workdir / "homeserver.yaml"
        self.log_path = self.workdir / "homeserver.log"
        self.stdout_path = self.workdir / "homeserver.stdout"
        self.shared_secret = ""
        self._proc: subprocess.Popen[bytes] | None = None

    # ---------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The client-server API base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The PID of the running homeserver, or None."""
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def generate(self) -> None:
        """Write ``homeserver.yaml`` with Synapse's generator, then apply the test overrides."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME,
             "--config-path", str(self.config_path), "--generate-config", "--report-stats=no"],
            cwd=self.workdir, check=True, capture_output=True, timeout=120,
        )
        config = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        self.shared_secret = str(config["registration_shared_secret"])
        config.update({
            "listeners": [{
                "port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
            }],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "allow_public_rooms_over_federation": False,
            "enable_registration": False,
            "bcrypt_rounds": 4,
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "enable_metrics": False,
            "report_stats": False,
            **RATE_LIMITS,
        })
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")

    def start(self, timeout: float = 60.0) -> None:
        """Start the homeserver and wait until ``/health`` answers.

        Raises:
            SynapseError: if it exits or does not answer within ``timeout`` seconds (with its log).
        """
        if self.pid is not None:
            return
        if not self.config_path.exists():
            self.generate()
        out = self.stdout_path.open("ab")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(self.config_path)],
            cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise SynapseError(f"Synapse exited with code {self._proc.returncode}\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        self.stop()
        raise SynapseError(f"Synapse did not answer on {self.url} within {timeout:.0f} s\n{self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the homeserver by its PID: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def restart(self) -> None:
        """Stop and start again on the same port with the same database."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 80) -> str:
        """The last ``lines`` lines of the homeserver log and its stdout/stderr."""
        parts = []
        for path in (self.stdout_path, self.log_path):
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} (last {len(text)} lines) ---\n" + "\n".join(text))
        return "\n".join(parts) or "(no homeserver log)"

    # ---------------------------------------------------------------------------------- HTTP helpers

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                token: str | None = None) -> dict[str, Any]:
        """Call the client or admin API; return the JSON body.

        Raises:
            SynapseError: on an HTTP error status (with the error body).
        """
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise SynapseError(f"{method} {path} -> {exc.code}: {exc.read().decode(errors='replace')}") from None

    def register(self, localpart: str, password: str, *, admin: bool = False) -> RegisteredUser:
        """Create an account with the shared-secret admin registration API."""
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        parts = (nonce, localpart, password, "admin" if admin else "notadmin")
        digest = hmac.new(self.shared_secret.encode(), b"\x00".join(p.encode() for p in parts), hashlib.sha1)
        resp = self.request("POST", "/_synapse/admin/v1/register", {
            "nonce": nonce, "username": localpart, "password": password, "admin": admin,
            "mac": digest.hexdigest(),
        })
        return RegisteredUser(resp["user_id"], password, resp["access_token"], resp["device_id"])

    def override_ratelimit(self, admin_token: str, user_id: str) -> None:
        """Lift the per-user message rate limit for ``user_id`` (what docs/matrix.md tells operators)."""
        self.request("POST", f"/_synapse/admin/v1/users/{urllib.request.quote(user_id)}/override_ratelimit",
                     {"messages_per_second": 0, "burst_count": 0}, token=admin_token)
