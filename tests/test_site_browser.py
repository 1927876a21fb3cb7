"""The website in a real browser: Debian's chromium, headless, loading the built site from a local HTTP server.

Driven over the Chrome DevTools Protocol (``tests/cdp_browser.py``). ``make test`` installs chromium when it is
missing (``scripts/ensure-chromium.sh``); elsewhere these tests skip without it, but under CI they fail.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from cdp_browser import Page, chromium_path, launch
from PIL import Image
from site_pages import HOSTILE, write_knowledge

from bot.config import BUNDLED_KNOWLEDGE, SiteConfig
from bot.kb.loader import KnowledgeBase, load_knowledge
from bot.site.build import build_site
from bot.site.serve import preview_server

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: `make test` runs scripts/ensure-chromium.sh to install it")
    pytest.skip("chromium is not installed (make test installs it)", allow_module_level=True)

CLAIM_ID = "travel-bans-low-score"
PHONE, DESKTOP = (390, 844), (1280, 900)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The bundled base plus a moderator's directory of hostile text."""
    local = write_knowledge(tmp_path_factory.mktemp("local"), claim_id="hostile-claim", text=HOSTILE)
    return load_knowledge([BUNDLED_KNOWLEDGE, local])[0]


@pytest.fixture(scope="module")
def base_url(kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The built site served on 127.0.0.1 (a free port) for the whole module."""
    out = tmp_path_factory.mktemp("served") / "site"
    build_site(kb, out, SiteConfig(base_url="https://footnote.example.org/", publisher="Example Community"))
    server = preview_server(out, 0)
    server.RequestHandlerClass.log_message = lambda *args: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


async def _visible(page: Page) -> list[str]:
    return await page.eval("[...document.querySelectorAll('#entries > li')].filter(li => li.offsetParent !== null)"
                           ".map(li => li.querySelector('a').getAttribute('href'))")


def _assert_not_blank(path: Path, size: tuple[int, int]) -> None:
    image = Image.open(path).convert("RGB")
    assert image.size == size, path
    colours = image.getcolors(maxcolors=size[0] * size[1])
    background = max(colours)[0]
    assert len(colours) > 20, f"{path}: only {len(colours)} colours"
    assert 1 - background / (size[0] * size[1]) > 0.05, f"{path}: almost all one colour"


async def test_index_lists_every_claim_and_the_search_box_filters_as_you_type(base_url: str, kb, tmp_path: Path):
    """All entries show; typing narrows the list to the matching ones; a verdict choice narrows it further."""
    async with launch(tmp_path / "profile") as browser:
        page = await browser.new_page()
        await page.goto(base_url + "index.html")
        shown = await _visible(page)
        assert sorted(shown) == sorted(f"claims/{cid}.html" for cid in kb.claims)
        await page.eval("document.getElementById('q').focus()")
        await page.type("sesame score")
        expected = {f"claims/{c.id}.html" for c in kb.claims.values() if all(
            w in _fold(" ".join([c.id.replace("-", " "), c.claim, c.summary, *c.keywords, *c.examples]))
            for w in ("sesame", "score"))}
        assert 0 < len(expected) < len(kb.claims)
        assert set(await _visible(page)) == expected
        assert await page.eval("document.getElementById('count').textContent") == (
            f"{len(expected)} of {len(kb.claims)} entries shown")
        await page.eval("document.getElementById('verdict-topic').click()")
        assert set(await _visible(page)) == {p for p in expected if kb.claims[Path(p).stem].is_topic}
        await page.type(" zzzzqx")
        assert await _visible(page) == []
        assert await page.eval("document.getElementById('no-match').offsetParent !== null")
        assert page.errors == []


async def test_a_claim_page_shows_its_sources(base_url: str, kb, tmp_path: Path):
    """The entry page lists every source with a working link, and the ClaimReview block is in the page."""
    claim = kb.claims[CLAIM_ID]
    async with launch(tmp_path / "profile") as browser:
        page = await browser.new_page()
        await page.goto(base_url + f"claims/{CLAIM_ID}.html")
        titles = await page.eval("[...document.querySelectorAll('ol.sources cite')].map(c => c.textContent)")
        links = await page.eval("[...document.querySelectorAll('ol.sources cite a')].map(a => a.href)")
        sources = kb.sources_for(claim)
        assert titles == [s.title for s in sources]
        assert links == [str(s.url) for s in sources]
        assert await page.eval("document.querySelector('h1').textContent") == claim.claim
        review = await page.eval("JSON.parse(document.querySelector('script[type=\"application/ld+json\"]').text)")
        assert review["reviewRating"]["alternateName"] == claim.verdict.label
        await page.click_link(".crumbs a")
        assert (await page.eval("location.pathname")) == "/index.html"
        assert page.errors == []


async def test_screenshots_at_phone_and_desktop_widths_are_not_blank(base_url: str, tmp_path: Path):
    """The index and a claim page render at 390 and 1280 px wide with no sideways scrolling on the phone."""
    async with launch(tmp_path / "profile") as browser:
        page = await browser.new_page()
        for name, address in (("index", "index.html"), ("claim", f"claims/{CLAIM_ID}.html")):
            await page.goto(base_url + address)
            for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
                shot = tmp_path / f"{name}-{label}.png"
                shot.write_bytes(await page.screenshot(*size, mobile=label == "phone"))
                _assert_not_blank(shot, size)
                if label == "phone":
                    assert await page.eval("document.documentElement.scrollWidth") <= size[0], address
        assert page.errors == []


async def test_hostile_knowledge_stays_inert_in_the_browser(base_url: str, tmp_path: Path):
    """No script from a knowledge file runs, no dialog opens, and the text reads exactly as written."""
    async with launch(tmp_path / "profile") as browser:
        page = await browser.new_page()
        for address in ("claims/hostile-claim.html", "index.html", "sources.html"):
            await page.goto(base_url + address)
            assert await page.eval("typeof window.__pwned") == "undefined", address
        await page.goto(base_url + "claims/hostile-claim.html")
        assert await page.eval("document.querySelector('h1').textContent") == HOSTILE["claim"]
        assert await page.eval("document.querySelectorAll('iframe, img, svg, main script').length") == 0
        assert page.dialogs == [] and page.errors == []


async def test_the_keyboard_reaches_the_skip_link_and_the_search_box(base_url: str, tmp_path: Path):
    """Tab first lands on "Skip to the content", then on through the navigation to the search box."""
    async with launch(tmp_path / "profile") as browser:
        page = await browser.new_page()
        await page.goto(base_url + "index.html")
        await page.press_tab()
        assert await page.eval("document.activeElement.className") == "skip"
        for _ in range(10):
            await page.press_tab()
            if await page.eval("document.activeElement.id") == "q":
                break
        else:
            pytest.fail("the search box is not reachable with Tab")
        assert page.errors == []


async def test_without_javascript_the_index_is_a_plain_list_and_the_verdict_filter_still_works(
        base_url: str, kb, tmp_path: Path):
    """Scripts off: every entry shows, the search box (which needs scripts) is hidden, the verdict choice filters."""
    async with launch(tmp_path / "profile") as browser:
        page = await browser.new_page()
        await page.send("Emulation.setScriptExecutionDisabled", {"value": True})
        await page.goto(base_url + "index.html")
        assert len(await _visible(page)) == len(kb.claims)
        assert await page.eval("document.getElementById('q').offsetParent") is None
        await page.eval("document.getElementById('verdict-false').click()")
        shown = await _visible(page)
        assert shown and all(kb.claims[Path(p).stem].verdict == "false" for p in shown)
        assert len(shown) == sum(c.verdict == "false" for c in kb.claims.values())
        assert page.errors == []
