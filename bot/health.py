"""``/healthz`` (per-adapter connection state) and ``/metrics`` (Prometheus), served whenever
``metrics.enabled`` is set, on ``metrics.host:metrics.port`` (127.0.0.1:9464 by default;
``FOOTNOTE_METRICS_HOST`` / ``FOOTNOTE_METRICS_PORT`` override them). ``python -m bot.healthcheck`` asks it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from . import metrics

if TYPE_CHECKING:
    from .app import App

__all__ = ["HealthServer"]


class HealthServer:
    """A tiny aiohttp server: ``GET /healthz`` and ``GET /metrics``."""

    def __init__(self, app: App, adapters: dict[str, dict[str, Any]]) -> None:
        self.app = app
        self.adapters = adapters
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, details). Healthy when there is at least one adapter and every one is connected."""
        states = {name: dict(status) for name, status in self.adapters.items()}
        healthy = bool(states) and all(s.get("state") == "connected" for s in states.values())
        state = "no platform configured" if not states else ("connected" if healthy else "degraded")
        return healthy, {"ok": healthy, "state": state, "adapters": states, "knowledge": {
            "entries": len(self.app.engine.kb.claims), "last_reload_ok": self.app.engine.last_reload.ok}}

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, body = self.health()
        return web.Response(status=200 if healthy else 503, text=json.dumps(body, default=str),
                            content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.REGISTRY),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve on ``host:port`` (0 = a free port); returns the port."""
        web_app = web.Application()
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        self.port = server.sockets[0].getsockname()[1] if server and server.sockets else port
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
