"""pytest fixtures for Matrix end-to-end tests (registered for the whole suite in ``tests/conftest.py``).

* ``synapse_server`` (session): one Synapse on 127.0.0.1, stopped by PID at the end of the session.
* ``synapse_accounts`` (session): ``bot``, ``alice``, ``bob`` and a server ``admin``; the bot's
  per-user rate limit is lifted with the admin API, as docs/matrix.md tells operators to do.
* ``matrix_alice`` / ``matrix_bob``: logged-in, syncing, end-to-end-capable users (fresh device each test).
* ``matrix_bot``: a :class:`BotRunner` for the bot account, started; stop/start it to restart the bot.

When a test using the server fails, the end of the homeserver log is attached to the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.matrix_bot import MatrixAdapter
from bot.app import App, open_app
from bot.config import Config, MatrixConfig, OperatorsConfig, PolicyConfig

from .matrix_user import MatrixUser
from .server import RegisteredUser, SynapseServer

__all__ = ["BotRunner"]

_SERVERS: list[SynapseServer] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the homeserver log to the report of a failed test that used Synapse."""
    report = yield
    if report.failed and "synapse_server" in getattr(item, "fixturenames", ()) and _SERVERS:
        report.sections.append(("homeserver log", _SERVERS[-1].log_tail()))
    return report


@pytest.fixture(scope="session")
def synapse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """A Synapse homeserver for the whole session, on a free loopback port."""
    server = SynapseServer(tmp_path_factory.mktemp("synapse"))
    server.generate()
    _SERVERS.append(server)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def synapse_accounts(synapse_server: SynapseServer) -> dict[str, RegisteredUser]:
    """The bot, two users and a server admin, registered with the shared secret."""
    accounts = {name: synapse_server.register(name, f"{name}-password-1", admin=name == "admin")
                for name in ("admin", "bot", "alice", "bob")}
    synapse_server.override_ratelimit(accounts["admin"].access_token, accounts["bot"].user_id)
    from conftest import register_test_secret

    for account in accounts.values():  # the suite fails if any of these appears in a log line
        register_test_secret(account.password)
        register_test_secret(account.access_token)
    return accounts


async def _user(server: SynapseServer, account: RegisteredUser, store: Path) -> AsyncIterator[MatrixUser]:
    user = MatrixUser(server.url, account.user_id, account.password, store)
    await user.start()
    try:
        yield user
    finally:
        await user.stop()


@pytest.fixture
async def matrix_alice(synapse_server: SynapseServer, synapse_accounts: dict[str, RegisteredUser],
                       tmp_path: Path) -> AsyncIterator[MatrixUser]:
    """Alice: creates the rooms in most tests, so she is their (room v12) creator."""
    async for user in _user(synapse_server, synapse_accounts["alice"], tmp_path / "alice-keys"):
        yield user


@pytest.fixture
async def matrix_bob(synapse_server: SynapseServer, synapse_accounts: dict[str, RegisteredUser],
                     tmp_path: Path) -> AsyncIterator[MatrixUser]:
    """Bob: an ordinary member (power level 0)."""
    async for user in _user(synapse_server, synapse_accounts["bob"], tmp_path / "bob-keys"):
        yield user


class BotRunner:
    """Runs Footnote's :class:`MatrixAdapter` for the bot account against the test homeserver.

    ``start()`` and ``stop()`` can be called repeatedly: the database and key store under ``workdir``
    persist, exactly like a bot process being restarted.
    """

    def __init__(self, server: SynapseServer, account: RegisteredUser, workdir: Path) -> None:
        self.server = server
        self.account = account
        self.workdir = workdir
        self.matrix_options: dict[str, Any] = {}
        #: Matrix user ids named as the bot's operators.
        self.operators: list[str] = []
        self.adapter: MatrixAdapter | None = None
        self.app: App | None = None
        self.status: dict[str, Any] = {}
        self._stack: contextlib.AsyncExitStack | None = None
        self._task: asyncio.Task[None] | None = None

    def config(self) -> Config:
        """Footnote's config for the bot: password login, no cooldown and generous caps (tests repeat claims)."""
        matrix = MatrixConfig(homeserver=self.server.url, user_id=self.account.user_id,
                              password=self.account.password, **self.matrix_options)
        return Config(database=self.workdir / "footnote.sqlite3", matrix=matrix,
                      operators=OperatorsConfig(matrix=self.operators),
                      policy=PolicyConfig(cooldown_minutes=0, channel_per_hour=100, user_per_hour=100))

    async def start(self, timeout: float = 30.0) -> None:
        """Open the app, start the adapter and wait until its first sync has been handled."""
        stack = contextlib.AsyncExitStack()
        config = self.config()
        self.app = await stack.enter_async_context(open_app(config))
        self.status = {}
        assert config.matrix is not None
        self.adapter = MatrixAdapter(self.app.engine, self.app.storage, config.matrix,
                                     store_dir=self.workdir / "keys", status=self.status,
                                     sync_timeout_ms=5_000, max_backoff=2.0)
        self._stack = stack
        self._task = asyncio.create_task(self.adapter.start())
        deadline = time.monotonic() + timeout
        while "last_sync" not in self.status:
            if self._task.done():
                self._task.result()  # raises what went wrong
                raise AssertionError("the Matrix adapter stopped before its first sync")
            if time.monotonic() > deadline:
                raise AssertionError(f"the Matrix adapter did not sync within {timeout:.0f} s")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Close the adapter and the app; the database stays for the next start."""
        if self.adapter is not None:
            await self.adapter.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            if not self._task.cancelled() and self._task.exception() is not None:
                raise self._task.exception()  # type: ignore[misc]
        if self._stack is not None:
            await self._stack.aclose()
        self.adapter = self._task = self._stack = None


@pytest.fixture
async def matrix_bot(synapse_server: SynapseServer, synapse_accounts: dict[str, RegisteredUser],
                     tmp_path: Path) -> AsyncIterator[BotRunner]:
    """The bot account's runner, not yet started (tests set options, then ``await matrix_bot.start()``)."""
    runner = BotRunner(synapse_server, synapse_accounts["bot"], tmp_path / "bot")
    runner.workdir.mkdir()
    try:
        yield runner
    finally:
        await runner.stop()
