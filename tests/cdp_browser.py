"""A small Chrome DevTools Protocol client for the site's browser tests: Debian's real ``chromium``, headless,
driven over its DevTools websocket with aiohttp (already a test dependency).

Why CDP directly: no browser download (Playwright's own builds cannot be fetched here), no extra Debian package
(``chromium-driver``) or pip package (selenium), and the protocol gives what the tests need first-hand: console
messages and exceptions as events, device-size emulation and PNG screenshots.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["Browser", "Page", "chromium_path", "launch"]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0"]


def chromium_path() -> str | None:
    """Debian's chromium, if installed (``scripts/ensure-chromium.sh`` installs it for ``make test``)."""
    return shutil.which("chromium")


class Browser:
    """One chromium process and its DevTools websocket; events are routed to pages by session id."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.pages: dict[str, Page] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            elif (page := self.pages.get(data.get("sessionId", ""))) is not None:
                page.on_event(data["method"], data.get("params", {}))
        for future in self._waiting.values():
            future.set_exception(ConnectionError("chromium closed the DevTools connection"))

    async def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
                   timeout: float = 30) -> dict[str, Any]:
        """Call one DevTools method and return its result (raises on a protocol error)."""
        call_id = next(self._ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        await self._ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def new_page(self) -> Page:
        """A fresh tab with console, log and page events enabled."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        self.pages[page.session] = page
        for domain in ("Page", "Runtime", "Log"):
            await page.send(f"{domain}.enable")
        return page


class Page:
    """One tab: navigate, evaluate JavaScript, type, take screenshots; collects console errors as they happen."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self._loaded = asyncio.Event()

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.browser.send(method, params, self.session)

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(params.get("message", ""))
            asyncio.ensure_future(self.send("Page.handleJavaScriptDialog", {"accept": False}))

    async def goto(self, url: str) -> None:
        """Open ``url`` and wait for its load event."""
        self._loaded.clear()
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise RuntimeError(f"{url}: {result['errorText']}")
        await asyncio.wait_for(self._loaded.wait(), 30)

    async def click_link(self, selector: str) -> None:
        """Click the link matching ``selector`` and wait for the page it opens to load."""
        self._loaded.clear()
        await self.eval(f"setTimeout(() => document.querySelector({json.dumps(selector)}).click(), 0), true")
        await asyncio.wait_for(self._loaded.wait(), 30)

    async def eval(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                      "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def type(self, text: str) -> None:
        """Type ``text`` into the focused element, one key at a time as a person would."""
        for char in text:
            await self.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": char, "key": char})
            await self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": char})

    async def press_tab(self) -> None:
        """Press the Tab key (keyboard navigation)."""
        key = {"key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9}
        await self.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", **key})
        await self.send("Input.dispatchKeyEvent", {"type": "keyUp", **key})

    async def screenshot(self, width: int, height: int, *, mobile: bool) -> bytes:
        """A PNG of the page at a ``width`` x ``height`` viewport (a phone when ``mobile``)."""
        await self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                               "deviceScaleFactor": 1, "mobile": mobile})
        await self.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        return base64.b64decode(shot["data"])


@contextlib.asynccontextmanager
async def launch(profile: Path) -> AsyncIterator[Browser]:
    """Start headless chromium with a fresh profile in ``profile`` and connect to it; stop it on exit."""
    exe = chromium_path()
    assert exe, "chromium is not installed (scripts/ensure-chromium.sh installs it)"
    profile.mkdir(parents=True, exist_ok=True)
    log = open(profile.parent / "chromium.log", "wb")  # closed below, after the process
    proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            if proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {proc.returncode}; see {profile.parent / 'chromium.log'}")
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("chromium did not open its DevTools port within 30 s")
        port, path = port_file.read_text().split()[:2]
        async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://127.0.0.1:{port}{path}",
                                                                       max_msg_size=0) as ws:
            browser = Browser(ws)
            try:
                yield browser
            finally:
                with contextlib.suppress(Exception):
                    await browser.send("Browser.close", timeout=5)
                browser._reader.cancel()
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
