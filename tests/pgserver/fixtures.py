"""pytest fixtures for a real PostgreSQL (loaded by ``tests/conftest.py``).

* ``postgres_server`` (session): one server on 127.0.0.1, started the first time a test asks for it.
* ``postgres_url``: a fresh, empty database on it for one test (``CREATE DATABASE``), as a URL.

When a test using the server fails, the end of the server log is attached to the report.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from .server import PostgresServer

__all__ = ["create_database", "postgres_server", "postgres_url"]

_SERVERS: list[PostgresServer] = []
_numbers = itertools.count(1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the PostgreSQL log to the report of a failed test that used the server."""
    report = yield
    if report.failed and _SERVERS and "postgres_server" in getattr(item, "fixturenames", ()):
        report.sections.append(("postgresql log", _SERVERS[-1].log_tail()))
    return report


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, on a free loopback port."""
    server = PostgresServer()
    _SERVERS.append(server)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def create_database(server: PostgresServer, name: str) -> str:
    """Create the empty database ``name`` on ``server`` and return its URL."""

    async def create() -> None:
        conn = await asyncpg.connect(server.dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return server.dsn(name)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new, empty database for this test, as a ``postgresql://`` URL."""
    return create_database(postgres_server, f"footnote_test_{next(_numbers)}")
