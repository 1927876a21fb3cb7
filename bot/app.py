"""Wiring: load the knowledge, open the database, build the engine. Used by every adapter and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from .brain import Brain, build_brain
from .config import Config
from .engine import Engine
from .kb.loader import LoadReport
from .match.embed import load_embedder
from .storage import Storage, open_storage

__all__ = ["App", "open_app"]


@dataclass
class App:
    """A running Footnote: its configuration, engine and database."""

    config: Config
    engine: Engine
    storage: Storage
    report: LoadReport


@asynccontextmanager
async def open_app(config: Config, brain: Brain | None = None) -> AsyncIterator[App]:
    """Build the engine for ``config`` (on ``brain`` if one is already built) and close the database on exit.

    Raises:
        KnowledgeError: the knowledge files are invalid (nothing is served from a broken base).
    """
    embedder = load_embedder()
    report = LoadReport()
    if brain is None:
        brain, report = build_brain(config.knowledge_dirs(), config.match, embedder)
    pool = {"max_size": config.database_pool_size} if config.uses_postgres else {}
    storage = await open_storage(config.database, **pool)
    try:
        yield App(config=config, engine=Engine(brain, storage, config, embedder), storage=storage, report=report)
    finally:
        await storage.close()
