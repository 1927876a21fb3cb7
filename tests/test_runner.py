"""Running for real: adapters isolated from each other, live reload, health, metrics, clean shutdown."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil

import aiohttp
import pytest
from conftest import message

from bot.app import open_app
from bot.config import BUNDLED_KNOWLEDGE, Config, KnowledgeConfig
from bot.errors import FootnoteError
from bot.health import HealthServer
from bot.logs import JsonFormatter, RedactSecrets, register_secret
from bot.messages import Reply
from bot.runner import Supervisor, watch_knowledge


class BrokenAdapter:
    """Fails at start like an adapter with a bad token."""

    starts = 0

    def __init__(self, status: dict) -> None:
        self.status = status

    async def start(self) -> None:
        BrokenAdapter.starts += 1
        raise FootnoteError("Discord rejected the token: check FOOTNOTE_DISCORD_TOKEN")

    async def close(self) -> None:
        pass


class WorkingAdapter:
    """Answers messages through the engine until closed, like a connected platform."""

    def __init__(self, engine, status: dict) -> None:
        self.engine, self.status, self.replies = engine, status, []
        self._closed = asyncio.Event()

    async def start(self) -> None:
        self.status["state"] = "connected"
        await self._closed.wait()

    async def handle(self, text: str, ts: float) -> None:
        for action in await self.engine.handle_message(message(text, ts=ts, channel=f"c{ts}")):
            if isinstance(action, Reply):
                await asyncio.sleep(0.05)  # the platform call
                self.replies.append(action)

    async def close(self) -> None:
        self._closed.set()


async def test_one_failing_adapter_does_not_stop_the_other(app):
    """A bad-token adapter is retried with backoff while the other keeps answering."""
    status_bad, status_good = {}, {}
    good = WorkingAdapter(app.engine, status_good)
    bad = Supervisor("discord", BrokenAdapter, status=status_bad, initial_backoff=0.05)
    ok = Supervisor("matrix", lambda status: good, status=status_good)
    tasks = [asyncio.create_task(bad.run()), asyncio.create_task(ok.run())]
    await asyncio.sleep(0.3)
    await good.handle("china gives everyone a single social credit score right?", 1.0)
    assert len(good.replies) == 1
    assert status_bad["state"] == "failed" and "token" in status_bad["error"]
    assert BrokenAdapter.starts >= 2
    assert status_good["state"] == "connected"
    await asyncio.gather(bad.stop(), ok.stop())
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_healthz_and_metrics_answer(app):
    """/healthz reports each adapter's state; /metrics counts messages."""
    await app.engine.handle_message(message("china gives everyone a single social credit score right?"))
    server = HealthServer(app, {"discord": {"state": "connected"}, "matrix": {"state": "failed"}})
    port = await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                body = json.loads(await resp.text())
                assert resp.status == 503 and body["adapters"]["matrix"]["state"] == "failed"
            async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                text = await resp.text()
                assert "footnote_messages_total" in text and "footnote_decision_seconds_bucket" in text
        server.adapters["matrix"]["state"] = "connected"
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 200
    finally:
        await server.stop()


async def test_knowledge_reloads_when_a_file_changes(tmp_path):
    """Saving a claim file reloads it; a broken save keeps the last good knowledge base."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, knowledge)
    config = Config(database=tmp_path / "db.sqlite3", knowledge=KnowledgeConfig(bundled=False,
                                                                                extra_dirs=[knowledge]))
    async with open_app(config) as app:
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_knowledge(app, stop))
        await asyncio.sleep(0.5)
        path = knowledge / "claims" / "meme-points.yaml"
        original = path.read_text()
        path.write_text(original.replace("auto_reply: react", 'auto_reply: "off"'))
        for _ in range(100):
            await asyncio.sleep(0.1)
            if app.engine.kb.claims["meme-points"].auto_reply == "off":
                break
        assert app.engine.kb.claims["meme-points"].auto_reply == "off"
        good = app.engine.kb
        path.write_text("id: meme-points\nclaim: [broken\n")
        for _ in range(100):
            await asyncio.sleep(0.1)
            if not app.engine.last_reload.ok:
                break
        assert not app.engine.last_reload.ok and app.engine.kb is good
        assert any("meme-points.yaml:" in p for p in app.engine.last_reload.problems)
        stop.set()
        await asyncio.wait_for(watcher, 5)


class SlowAdapter:
    """Is in the middle of posting a reply (a slow platform call) when shutdown begins."""

    def __init__(self, engine, status: dict) -> None:
        from bot.adapters.inflight import InFlight

        self.engine, self.status, self.inflight = engine, status, InFlight()
        self.started = asyncio.Event()
        self._closed = asyncio.Event()

    async def start(self) -> None:
        self.status["state"] = "connected"
        asyncio.get_running_loop().create_task(self._answer())
        await self._closed.wait()

    async def _answer(self) -> None:
        from bot.messages import Feedback

        with self.inflight:
            self.started.set()
            [reply] = await self.engine.handle_message(message(
                "china gives everyone a single social credit score right?", message_id="q1"))
            await asyncio.sleep(0.3)  # the platform is slow to accept the reply
            await self.engine.record_sent(reply, "a1")
            await self.engine.record_feedback(Feedback("test", "a1", "bob", True, 2.0))

    async def close(self) -> None:
        await self.inflight.wait(timeout=5)
        self._closed.set()


async def test_shutdown_finishes_in_flight_replies_and_feedback(tmp_path):
    """SIGTERM while a reply is being posted: the reply and its feedback row are both in the database."""
    from bot.runner import run_app

    config = Config(database=tmp_path / "db.sqlite3", knowledge=KnowledgeConfig(watch=False))
    stop = asyncio.Event()
    async with open_app(config) as app:
        adapters = {}

        def factory(status: dict) -> SlowAdapter:
            adapters["slow"] = SlowAdapter(app.engine, status)
            return adapters["slow"]

        runner = asyncio.create_task(run_app(app, stop, {"slow": factory}))
        while "slow" not in adapters:
            await asyncio.sleep(0.01)
        await adapters["slow"].started.wait()
        stop.set()  # what SIGTERM does
        await asyncio.wait_for(runner, 10)
    async with open_app(config) as again:
        assert await again.storage.feedback_rows() == [("test", "a1", "bob", "single-national-score", True)]
        assert (await again.storage.reply_by_sent_id("test", "a1")).claim_id == "single-national-score"
        assert await again.storage.integrity_ok()


def test_json_logs_never_show_secrets(caplog):
    """A token that reaches a log line is masked in JSON output."""
    register_secret("very-secret-token-123")
    record = logging.LogRecord("footnote", logging.ERROR, __file__, 1, "login failed with %s",
                               ("very-secret-token-123",), None)
    RedactSecrets().filter(record)
    line = JsonFormatter().format(record)
    assert "very-secret-token-123" not in line
    assert json.loads(line)["message"] == "login failed with ***"


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_decision_logs_carry_the_decision_not_the_message(fmt, tmp_path):
    """Each decision logs claim, tier, action and scores; the message text itself is not logged."""
    import subprocess
    import sys

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database: {tmp_path / 'db.sqlite3'}\nlog_level: INFO\n")
    out = subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg), "--log-format", fmt, "console",
                          "--once", "china gives everyone a single social credit score right?"],
                         capture_output=True, text=True, timeout=120)
    if fmt == "json":
        decisions = [json.loads(line) for line in out.stderr.splitlines() if '"decision"' in line]
        assert decisions and decisions[0]["claim"] == "single-national-score"
        assert {"tier", "action", "combined", "platform"} <= set(decisions[0])
    assert "single social credit score right" not in out.stderr
