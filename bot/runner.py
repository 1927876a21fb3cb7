"""``python -m bot run``: every configured platform in one asyncio process, sharing one engine and database.

Each adapter runs under a supervisor that restarts it with backoff when it fails, so a bad Discord token
does not stop Matrix from answering. SIGHUP reloads the knowledge; the knowledge directories are watched
for edits; SIGTERM/SIGINT stop taking messages, let in-flight replies finish and close the database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .app import App, open_app
from .config import Config, matrix_store_dir
from .errors import FootnoteError
from .health import HealthServer
from .logs import register_secret

__all__ = ["Adapter", "Supervisor", "run_bot", "run_app", "watch_knowledge"]

log = logging.getLogger("footnote.runner")

MAX_BACKOFF = 300.0


class Adapter(Protocol):
    """What the runner needs from a platform adapter."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


AdapterFactory = Callable[[dict[str, Any]], Adapter]


@dataclass
class Supervisor:
    """Runs one adapter and restarts it with exponential backoff when it stops with an error."""

    name: str
    #: Builds a fresh adapter for each (re)start, given the status dict it keeps up to date.
    factory: AdapterFactory
    status: dict[str, Any] = field(default_factory=dict)
    initial_backoff: float = 2.0
    adapter: Adapter | None = None
    stopping: bool = False

    async def run(self) -> None:
        backoff = self.initial_backoff
        while not self.stopping:
            self.adapter = self.factory(self.status)
            self.status.update(state="starting")
            try:
                await self.adapter.start()
                if self.stopping:
                    break
                log.warning("%s adapter stopped; restarting in %.0f s", self.name, backoff)
            except asyncio.CancelledError:
                raise
            except FootnoteError as exc:
                log.error("%s adapter failed: %s (retrying in %.0f s)", self.name, exc, backoff)
                self.status.update(state="failed", error=str(exc))
            except Exception as exc:
                log.exception("%s adapter crashed: %s (retrying in %.0f s)", self.name, exc, backoff)
                self.status.update(state="failed", error=f"{type(exc).__name__}: {exc}")
            finally:
                await self._close_quietly()
            if self.stopping:
                break
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        self.status.update(state="stopped")

    async def _close_quietly(self) -> None:
        if self.adapter is None:
            return
        try:
            await self.adapter.close()
        except Exception:
            log.debug("%s adapter close failed", self.name, exc_info=True)

    async def stop(self) -> None:
        self.stopping = True
        await self._close_quietly()


def _adapters(app: App) -> dict[str, AdapterFactory]:
    """A factory (taking the adapter's status dict) per configured platform."""
    config = app.config
    made: dict[str, AdapterFactory] = {}
    if config.discord_enabled and config.discord is not None:
        from .adapters.discord_bot import DiscordAdapter

        dcfg = config.discord
        made["discord"] = lambda status: DiscordAdapter(app.engine, dcfg, status=status)
    if config.matrix_enabled and config.matrix is not None:
        from .adapters.matrix_bot import MatrixAdapter

        mcfg = config.matrix
        store = matrix_store_dir(config)
        made["matrix"] = lambda status: MatrixAdapter(app.engine, app.storage, mcfg, store_dir=store,
                                                      status=status)
    return made


async def watch_knowledge(app: App, stop: asyncio.Event) -> None:
    """Reload the knowledge base whenever a file in a knowledge directory changes."""
    from watchfiles import awatch

    dirs = [str(d) for d in app.config.knowledge_dirs() if d.exists()]
    if not dirs:
        return
    async for changes in awatch(*dirs, stop_event=stop, debounce=500, recursive=True):
        names = sorted({c[1].rsplit("/", 1)[-1] for c in changes})
        log.info("knowledge files changed (%s); reloading", ", ".join(names[:5]))
        app.engine.reload()


#: Dedupe ids and per-message decisions are kept this long (replies and feedback are kept for stats).
KEEP_DECISIONS_DAYS = 30
CHECKPOINT_EVERY = 60.0
PRUNE_EVERY = 3600.0


async def maintain(app: App, stop: asyncio.Event) -> None:
    """Checkpoint the database every minute and forget old dedupe ids and decisions every hour, off the
    per-message path, so neither latency nor the database grows without bound."""
    last_prune = 0.0
    while not stop.is_set():
        await app.storage.checkpoint()
        if time.monotonic() - last_prune >= PRUNE_EVERY:
            await app.storage.prune(time.time() - KEEP_DECISIONS_DAYS * 86400)
            last_prune = time.monotonic()
        try:
            await asyncio.wait_for(stop.wait(), CHECKPOINT_EVERY)
        except TimeoutError:
            pass


async def run_app(app: App, stop: asyncio.Event,
                  adapters: dict[str, AdapterFactory] | None = None) -> None:
    """Run every configured adapter (or ``adapters``: name -> factory(status)) until ``stop`` is set, then
    shut down gracefully: adapters close first (finishing in-flight replies), the caller closes the database."""
    factories = adapters if adapters is not None else _adapters(app)
    supervisors = [Supervisor(name, factory) for name, factory in factories.items()]
    health = HealthServer(app, {s.name: s.status for s in supervisors})
    if app.config.metrics.enabled:
        await health.start(app.config.metrics.host, app.config.metrics.port)
    tasks = [asyncio.create_task(s.run(), name=f"adapter-{s.name}") for s in supervisors]
    if app.config.knowledge.watch:
        tasks.append(asyncio.create_task(watch_knowledge(app, stop), name="knowledge-watch"))
    tasks.append(asyncio.create_task(maintain(app, stop), name="maintenance"))
    if not supervisors:
        log.warning("no platform configured: nothing to run (use `python -m bot console` to chat locally)")
    log.info("Footnote running: %s", ", ".join(s.name for s in supervisors) or "no adapters")
    await stop.wait()
    log.info("shutting down: closing adapters, finishing in-flight replies")
    await asyncio.gather(*(s.stop() for s in supervisors), return_exceptions=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await health.stop()


async def run_bot(config: Config) -> int:
    """The ``run`` command with at least one platform configured."""
    for secret in (config.discord and config.discord.token, config.matrix and config.matrix.access_token,
                   config.matrix and config.matrix.password):
        if secret:
            register_secret(secret.get_secret_value())
    if config.uses_postgres:  # a password inside the database URL is a secret too
        from urllib.parse import unquote, urlsplit

        password = urlsplit(str(config.database)).password
        if password:
            register_secret(unquote(password))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    async with open_app(config) as app:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGHUP, app.engine.reload)
        await run_app(app, stop)
    log.info("stopped cleanly")
    return 0
