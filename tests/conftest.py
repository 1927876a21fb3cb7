"""Shared fixtures: a real engine on the bundled knowledge base and a temporary database."""

from __future__ import annotations

import itertools
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.brain import Brain, build_brain
from bot.config import BUNDLED_KNOWLEDGE, Config, OperatorsConfig
from bot.messages import Command, Message, Reaction

ROOT = Path(__file__).resolve().parent.parent
#: Fixtures of the real servers the suites start (each only when a test asks for it).
pytest_plugins = ["tests.pgserver.fixtures", "tests.synapse.fixtures", "tests.fakediscord.fixtures"]

#: The storage backends the storage and engine suites run on (``database`` fixture parameters).
BACKENDS = ("sqlite", "postgresql")

# ------------------------------------------------------------------------- the suite-wide secrets check
#: Tokens and passwords the tests configure. Any of them in any log record or captured output fails the run.
TEST_SECRETS: set[str] = {"FOOTNOTE-TEST-TOKEN-abc123", "FOOTNOTE-TEST-PASSWORD-xyz789",
                          "FOOTNOTE-TEST-ACCESS-syt_def456"}
_LEAKS: list[str] = []
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({})))


def register_test_secret(value: str | None) -> None:
    """Add a secret a fixture created (a fake token, a homeserver password) to the suite-wide check."""
    if value and len(value) >= 6:
        TEST_SECRETS.add(value)


class _SecretScan(logging.Handler):
    """Checks every log record's message, extra fields and traceback for a configured secret."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            extras = [str(v) for k, v in vars(record).items() if k not in _STANDARD_ATTRS]
            text = " ".join([record.getMessage(), *extras, str(record.exc_info or "")])
        except Exception:
            return
        _LEAKS.extend(f"log record from {record.name}: {secret[:4]}…" for secret in TEST_SECRETS if secret in text)


def pytest_configure(config: pytest.Config) -> None:
    handler = _SecretScan(level=logging.INFO)
    logging.getLogger().addHandler(handler)
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for _name, text in report.sections:
        _LEAKS.extend(f"{report.nodeid}: {secret[:4]}…" for secret in TEST_SECRETS if secret in text)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _LEAKS:
        print("\nSECRETS LEAKED into logs or output (first characters shown):\n  " + "\n  ".join(_LEAKS))
        session.exitstatus = 1
SHARED = ROOT.parent / "shared"
_ids = itertools.count(1)


#: The operator the test configuration names (a Matrix user id).
OPERATOR = "@operator:test"


@pytest.fixture
def database(tmp_path: Path) -> Path | str:
    """Where the test's database lives: a SQLite file in a temporary directory (see ``any_database``)."""
    return tmp_path / "footnote.sqlite3"


@pytest.fixture(params=BACKENDS)
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A fresh database on each backend in turn: a SQLite file, then a new database on a real PostgreSQL.

    A test module runs on both by overriding ``database`` with it.
    """
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return tmp_path / "footnote.sqlite3"


@pytest.fixture
def config(database: Path | str) -> Config:
    """The default configuration with a fresh database (SQLite unless the module asks for both), one operator."""
    return Config(database=database, operators=OperatorsConfig(matrix=[OPERATOR]))


@pytest.fixture(scope="session")
def brain() -> Brain:
    """The bundled knowledge base with its indexes, built once for the whole test session."""
    return build_brain([BUNDLED_KNOWLEDGE], Config().match)[0]


@pytest.fixture
async def app(config: Config, brain: Brain) -> AsyncIterator[App]:
    """A running Footnote core (engine + a fresh database) on the bundled knowledge base."""
    async with open_app(config, brain) as running:
        yield running


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled knowledge directory."""
    target = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, target)
    return target


def message(text: str, *, channel: str = "general", author: str = "alice", ts: float = 1_700_000_000.0,
            message_id: str | None = None, platform: str = "test", **kw: object) -> Message:
    """A chat message with sensible defaults and a fresh id."""
    return Message(platform=platform, channel_id=channel, author_id=author,
                   message_id=message_id or f"m{next(_ids)}", text=text, timestamp=ts, **kw)


def command(name: str, args: str = "", *, moderator: bool = False, channel: str = "general",
            ts: float = 1_700_000_000.0, platform: str = "test", author: str | None = None,
            **kw: object) -> Command:
    """A command from ``author`` (default: "mod" for a moderator, else "alice")."""
    return Command(name=name, args=args, platform=platform, channel_id=channel,
                   author_id=author or ("mod" if moderator else "alice"), timestamp=ts, is_moderator=moderator, **kw)


def operator_command(name: str, args: str = "", **kw: object) -> Command:
    """A command from the configured operator (on Matrix)."""
    return command(name, args, platform="matrix", author=OPERATOR, **kw)


def reaction(message_id: str, emoji: str, *, user: str = "bob", ts: float = 1_700_000_100.0,
             channel: str = "general", **kw: object) -> Reaction:
    return Reaction(platform="test", channel_id=channel, message_id=message_id, user_id=user, emoji=emoji,
                    timestamp=ts, **kw)
