"""The static website: every page well formed, ClaimReview data right, links resolving, the whole base exported."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from site_pages import parse_page, write_knowledge

from bot.config import BUNDLED_KNOWLEDGE, SiteConfig
from bot.kb.loader import KnowledgeBase, load_knowledge
from bot.kb.models import Claim, Source, Verdict
from bot.site.build import BADGE_COLOURS, SiteError, build_site
from bot.site.jsonld import RATING_SCALE

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://footnote.example.org/kb/"
SITE = SiteConfig(base_url=BASE, publisher="Example Community")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge([BUNDLED_KNOWLEDGE])[0]


@pytest.fixture(scope="module")
def site(kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled knowledge base, built once for this module."""
    out = tmp_path_factory.mktemp("site") / "out"
    build_site(kb, out, SITE)
    return out


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def _page(site: Path, name: str):
    return parse_page((site / name).read_text(encoding="utf-8"))


def test_the_site_has_a_page_for_every_entry_and_the_shared_files(site: Path, kb: KnowledgeBase):
    """index, sources, one page per claim and topic, claims.json, sitemap.xml, style and script."""
    names = {str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()}
    expected = {f"claims/{cid}.html" for cid in kb.claims} | {"index.html", "sources.html", "claims.json",
                                                               "sitemap.xml", "style.css", "filter.js"}
    assert expected <= names
    assert {n for n in names if n.startswith("claims/")} == {f"claims/{cid}.html" for cid in kb.claims}


def test_every_page_is_well_formed_accessible_html(site: Path):
    """Each page parses strictly and has a language, a title, landmarks, one h1, unique ids and labelled inputs."""
    for path in _pages(site):
        page = parse_page(path.read_text(encoding="utf-8"))
        where = path.relative_to(site)
        assert page.errors == [], where
        assert page.find_all("html")[0].attrs.get("lang") == "en", where
        assert page.find_all("title")[0].text.strip(), where
        for landmark in ("header", "nav", "main", "footer"):
            assert page.find_all(landmark), (where, landmark)
        assert len(page.find_all("h1")) == 1, where
        assert all(nav.attrs.get("aria-label") for nav in page.find_all("nav")), where
        ids = page.ids()
        assert len(ids) == len(set(ids)), (where, sorted({i for i in ids if ids.count(i) > 1}))
        labels = {label.attrs.get("for") for label in page.find_all("label")}
        for field in page.find_all("input"):
            assert field.attrs.get("id") in labels, (where, field.attrs)
        assert not [e for e in page.find_all("a") if not e.text.strip()], where
        assert page.find_all("a", class_="skip", href="#main"), where


def test_index_lists_every_entry_with_its_verdict_and_review_date(site: Path, kb: KnowledgeBase):
    """The index has one item per claim and topic: a link to its page, its verdict badge and reviewed date."""
    page = _page(site, "index.html")
    items = [li for li in page.find_all("li") if "data-verdict" in li.attrs]
    assert len(items) == len(kb.claims)
    for li in items:
        [link] = [a for a in _descendants(li) if a.tag == "a"]
        claim = kb.claims[Path(link.attrs["href"]).stem]
        assert li.attrs["data-verdict"] == claim.verdict.value
        assert link.text == claim.claim
        badges = [e for e in _descendants(li) if "badge" in (e.attrs.get("class") or "")]
        assert badges and f"v-{claim.verdict.value}" in badges[0].attrs["class"]
        assert claim.verdict.label in badges[0].text or claim.is_topic
        assert [t for t in _descendants(li) if t.tag == "time"][0].attrs["datetime"] == claim.reviewed.isoformat()
    latest = max(c.reviewed for c in kb.claims.values()).isoformat()
    assert page.find_all("time", datetime=latest)
    radios = {r.attrs["value"] for r in page.find_all("input", type="radio")}
    assert radios == {""} | {c.verdict.value for c in kb.claims.values()}
    assert page.find_all("input", type="search", id="q")


def _descendants(element):
    for child in element.children:
        yield child
        yield from _descendants(child)


def test_each_entry_page_shows_the_answer_sources_related_and_how_to_ask(site: Path, kb: KnowledgeBase):
    """Claim, verdict, summary, context, sources (reposts marked), related entries, review date, /source and !source."""
    for claim in kb.claims.values():
        page = _page(site, f"claims/{claim.id}.html")
        text = page.find_all("main")[0].text
        assert page.find_all("h1")[0].text == claim.claim
        assert claim.summary in text and claim.context.split("\n\n")[0].strip() in text
        assert f"/source {claim.id}" in text and f"!source {claim.id}" in text
        assert page.find_all("time", datetime=claim.reviewed.isoformat())
        [listed] = page.find_all("ol", class_="sources")
        items = {li.children[0].attrs["id"]: li for li in listed.children}
        assert list(items) == [f"src-{s.id}" for s in kb.sources_for(claim)]
        for source in kb.sources_for(claim):
            item = items[f"src-{source.id}"]
            links = [a for a in _descendants(item) if a.tag == "a"]
            assert links[0].attrs["href"] == str(source.url) and links[0].text == source.title
            assert source.publisher in item.text
            assert (source.date in item.text) or source.date == "unknown"
            assert ("repost" in item.text) == source.repost
        related = {a.attrs["href"] for ul in page.find_all("ul", class_="related") for a in _descendants(ul)
                   if a.tag == "a"}
        assert related == {f"../claims/{r}.html" for r in claim.related if r in kb.claims}


def test_claim_pages_carry_claimreview_json_ld_with_the_right_values(site: Path, kb: KnowledgeBase):
    """Every claim (not topic) page has one ClaimReview: the claim, the verdict as alternateName, author, url, dates."""
    for claim in kb.claims.values():
        page = _page(site, f"claims/{claim.id}.html")
        blocks = page.find_all("script", type="application/ld+json")
        if claim.is_topic:
            assert blocks == []
            continue
        [block] = blocks
        data = json.loads(block.text)
        url = f"{BASE}claims/{claim.id}.html"
        assert data["@context"] == "https://schema.org" and data["@type"] == "ClaimReview"
        assert data["claimReviewed"] == claim.claim
        assert data["url"] == url == page.find_all("link", rel="canonical")[0].attrs["href"]
        assert data["author"] == {"@type": "Organization", "name": "Example Community", "url": BASE}
        assert data["datePublished"] == data["dateModified"] == claim.reviewed.isoformat()
        assert data["itemReviewed"]["@type"] == "Claim"
        rating = data["reviewRating"]
        assert rating["@type"] == "Rating" and rating["alternateName"] == claim.verdict.label
        if claim.verdict in RATING_SCALE:
            assert (rating["ratingValue"], rating["bestRating"], rating["worstRating"]) == (
                RATING_SCALE[claim.verdict], 5, 1)
        else:
            assert "ratingValue" not in rating


def test_links_between_pages_resolve(site: Path):
    """Every local href and src points at a file of the site, and every #fragment at an id in that file."""
    ids: dict[Path, set[str]] = {}
    checked = 0
    for path in _pages(site):
        page = parse_page(path.read_text(encoding="utf-8"))
        for element in page.elements:
            for attr in ("href", "src"):
                target = element.attrs.get(attr)
                if not target or urlsplit(target).scheme in ("http", "https", "data"):
                    continue
                parts = urlsplit(target)
                file = (path.parent / parts.path).resolve() if parts.path else path
                assert file.is_file() and site.resolve() in file.parents, (path.relative_to(site), target)
                if parts.fragment:
                    if file not in ids:
                        ids[file] = set(parse_page(file.read_text(encoding="utf-8")).ids())
                    assert parts.fragment in ids[file], (path.relative_to(site), target)
                checked += 1
    assert checked > 100


def test_sitemap_lists_every_page_with_its_review_date(site: Path, kb: KnowledgeBase):
    """sitemap.xml is valid XML in the sitemap namespace with an absolute address per page."""
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.parse(site / "sitemap.xml").getroot()
    entries = {u.find("s:loc", ns).text: u.find("s:lastmod", ns).text for u in root.findall("s:url", ns)}
    expected = {BASE + "index.html", BASE + "sources.html"} | {f"{BASE}claims/{c}.html" for c in kb.claims}
    assert set(entries) == expected
    for claim in kb.claims.values():
        assert entries[f"{BASE}claims/{claim.id}.html"] == claim.reviewed.isoformat()


def test_claims_json_exports_the_whole_base(site: Path, kb: KnowledgeBase):
    """claims.json holds every entry and source, each loading back to exactly what the knowledge files say."""
    data = json.loads((site / "claims.json").read_text(encoding="utf-8"))
    assert data["publisher"] == "Example Community" and data["base_url"] == BASE
    claims = {c["id"]: c for c in data["claims"]}
    assert set(claims) == set(kb.claims)
    for cid, exported in claims.items():
        assert exported.pop("page") == f"{BASE}claims/{cid}.html"
        assert exported.pop("verdict_label") == kb.claims[cid].verdict.label
        assert Claim.model_validate(exported) == kb.claims[cid]
    assert {s["id"]: Source.model_validate(s) for s in data["sources"]} == kb.sources


def test_sources_page_lists_every_source_and_who_cites_it(site: Path, kb: KnowledgeBase):
    """sources.html has every source once, linked, with links back to the entries citing it."""
    page = _page(site, "sources.html")
    for source in kb.sources.values():
        [title] = page.find_all("p", id=f"src-{source.id}")
        assert source.title in title.text
    citing = {a.attrs["href"] for p in page.find_all("p", class_="cited") for a in _descendants(p) if a.tag == "a"}
    assert citing == {f"claims/{c.id}.html" for c in kb.claims.values() if c.sources}


def test_badge_colours_meet_wcag_contrast():
    """Every verdict badge's text has at least 4.5:1 contrast against its background."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert set(BADGE_COLOURS) == set(Verdict)
    for verdict, (background, text) in BADGE_COLOURS.items():
        high, low = sorted([luminance(background), luminance(text)], reverse=True)
        assert (high + 0.05) / (low + 0.05) >= 4.5, verdict


def test_a_moderators_extra_directory_appears_on_the_site(tmp_path: Path):
    """`python -m bot site build` with knowledge.extra_dirs in the config puts the local claim on every listing."""
    local = write_knowledge(tmp_path / "local", claim_id="local-bus-ban", related=("travel-bans-low-score",), text={
        "claim": "Our town bans people with low scores from the buses.", "summary": "No such rule exists in the "
        "town's published regulations; bus tickets need no score.", "context": "The town's transport rules list "
        "fares and passes only; no social credit check is mentioned anywhere.", "title": "Town transport rules",
        "publisher": "Town Hall"})
    config = tmp_path / "config.yaml"
    config.write_text(f"knowledge:\n  extra_dirs: [{local}]\nsite:\n  base_url: {BASE}\n  publisher: Town Chat\n")
    out = tmp_path / "public"
    done = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "site", "build", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout
    page = parse_page((out / "claims" / "local-bus-ban.html").read_text(encoding="utf-8"))
    assert page.errors == [] and page.find_all("h1")[0].text == "Our town bans people with low scores from the buses."
    assert 'href="claims/local-bus-ban.html"' in (out / "index.html").read_text(encoding="utf-8")
    assert "Town transport rules" in (out / "sources.html").read_text(encoding="utf-8")
    assert "local-bus-ban" in {c["id"] for c in json.loads((out / "claims.json").read_text())["claims"]}
    assert f"{BASE}claims/local-bus-ban.html" in (out / "sitemap.xml").read_text()
    assert "Town Chat" in (out / "index.html").read_text(encoding="utf-8")


def test_build_of_the_bundled_base_takes_under_five_seconds(tmp_path: Path):
    """`python -m bot site build site/` (the whole command, Python start-up included) finishes in under 5 s."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", "site", "build", str(tmp_path / "site"), "--base-url",
                           BASE], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 5, f"{elapsed:.2f} s"


def test_without_a_base_url_the_build_warns_and_writes_no_sitemap(kb: KnowledgeBase, tmp_path: Path):
    """A sitemap needs absolute addresses: without site.base_url there is none, and the report says why."""
    report = build_site(kb, tmp_path / "out", SiteConfig())
    assert not (tmp_path / "out" / "sitemap.xml").exists()
    assert any("base_url" in w for w in report.warnings)
    data = json.loads(parse_page((tmp_path / "out" / "claims" / "travel-bans-low-score.html").read_text()
                                 ).find_all("script", type="application/ld+json")[0].text)
    assert data["url"] == "claims/travel-bans-low-score.html" and "url" not in data["author"]


def test_a_rebuild_removes_pages_of_deleted_entries_and_refuses_a_foreign_folder(kb: KnowledgeBase, tmp_path: Path):
    """Stale entry pages go on rebuild; a non-empty folder that is not a Footnote site is left untouched."""
    out = tmp_path / "out"
    build_site(kb, out, SITE)
    (out / "claims" / "gone.html").write_text("old")
    report = build_site(kb, out, SITE)
    assert report.removed == ["claims/gone.html"] and not (out / "claims" / "gone.html").exists()
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("keep me")
    with pytest.raises(SiteError, match="not empty"):
        build_site(kb, foreign, SITE)
    assert [p.name for p in foreign.iterdir()] == ["thesis.txt"]


def test_site_serve_previews_a_fresh_build_on_loopback(tmp_path: Path):
    """`python -m bot site serve --port 0` builds the site, serves it on 127.0.0.1 and says where."""
    import re
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-u", "-m", "bot", "site", "serve", "--port", "0"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        address = None
        for _ in range(20):
            line = proc.stdout.readline()
            if found := re.search(r"at (http://127\.0\.0\.1:\d+/)", line):
                address = found[1]
                break
        assert address, "no preview address printed"
        with urllib.request.urlopen(address + "index.html", timeout=10) as response:
            assert response.status == 200 and b"Claims and context" in response.read()
        with urllib.request.urlopen(address + "claims/travel-bans-low-score.html", timeout=10) as response:
            assert b"application/ld+json" in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_serving_a_folder_that_is_not_a_site_is_a_plain_error(tmp_path: Path):
    """`site serve DIR` on a folder with no built site says what to run, with no traceback."""
    done = subprocess.run([sys.executable, "-m", "bot", "site", "serve", str(tmp_path), "--port", "0"],
                          capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert done.returncode == 1 and "site build" in done.stderr and "Traceback" not in done.stderr


def test_the_site_package_reads_knowledge_and_never_touches_the_engine_or_storage():
    """bot/site imports no engine, storage, adapter, chat or async library: it reads the knowledge base, writes files."""
    import ast

    forbidden = {"bot.engine", "bot.storage", "bot.adapters", "bot.app", "bot.policy", "asyncio", "aiosqlite",
                 "discord", "nio"}
    for path in (ROOT / "bot" / "site").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = "bot" if node.level == 2 else ("bot.site" if node.level == 1 else "")
                names = [".".join(p for p in (base, node.module or "") if p)]
            for name in names:
                assert not any(name == f or name.startswith(f + ".") for f in forbidden), (path.name, name)
