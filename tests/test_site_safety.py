"""Hostile knowledge text (markup, scripts, event handlers, javascript: links) is shown as text on the site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from site_pages import HOSTILE, parse_page, write_knowledge

from bot.config import BUNDLED_KNOWLEDGE, SiteConfig
from bot.errors import KnowledgeError
from bot.kb.loader import KnowledgeBase, load_knowledge
from bot.kb.models import Source
from bot.site.build import build_site
from bot.site.paths import safe_href

SITE = SiteConfig(base_url="https://footnote.example.org/", publisher='Us <script>alert("publisher")</script>')
JS_URL = "javascript:window.__pwned=6"


def hostile_kb(tmp_path: Path) -> KnowledgeBase:
    """The bundled base plus a moderator's directory full of hostile text; one source's address is then swapped
    for a javascript: URL behind the loader's back (the loader refuses it, as the last test shows)."""
    local = write_knowledge(tmp_path / "local", claim_id="hostile-claim", text=HOSTILE)
    kb = load_knowledge([BUNDLED_KNOWLEDGE, local])[0]
    source = kb.sources["hostile-claim-source-a"]
    bad = Source.model_construct(**{**dict(source), "url": JS_URL})
    return KnowledgeBase(claims=kb.claims, sources={**kb.sources, bad.id: bad}, topic=kb.topic, files=kb.files)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    out = tmp / "out"
    build_site(hostile_kb(tmp), out, SITE)
    return out


def test_no_page_gains_a_script_handler_or_javascript_link(built: Path):
    """The only scripts are the site's own; no element has an on* handler or a javascript: address."""
    for path in built.rglob("*.html"):
        page = parse_page(path.read_text(encoding="utf-8"))
        assert page.errors == [], path
        for element in page.elements:
            if element.tag == "script":
                assert element.attrs in ({"src": "filter.js"}, {"type": "application/ld+json"}), path
            assert element.tag not in ("iframe", "img", "svg", "object", "embed", "b"), (path, element.tag)
            assert not [a for a in element.attrs if a.startswith("on")], (path, element.attrs)
            for attr in ("href", "src", "action"):
                value = (element.attrs.get(attr) or "").strip().lower()
                assert not value.startswith(("javascript:", "vbscript:")), (path, element.attrs)


def test_hostile_text_is_shown_literally(built: Path):
    """The claim, summary, context, title and publisher read exactly as written, markup and all."""
    page = parse_page((built / "claims" / "hostile-claim.html").read_text(encoding="utf-8"))
    main = page.find_all("main")[0].text
    assert page.find_all("h1")[0].text == HOSTILE["claim"]
    assert page.find_all("title")[0].text.startswith(HOSTILE["claim"])
    for field in ("summary", "context", "title", "publisher"):
        assert HOSTILE[field] in main, field
    assert "{{ 7*7 }}" in main and "49" not in main
    assert 'alert("publisher")' in page.find_all("footer")[0].text


def test_a_javascript_source_address_is_text_not_a_link(built: Path):
    """A source whose address is not http(s) keeps its title and shows the address as inert text."""
    for name in ("claims/hostile-claim.html", "sources.html"):
        page = parse_page((built / name).read_text(encoding="utf-8"))
        [title] = page.find_all("p", id="src-hostile-claim-source-a")
        assert [e.tag for e in title.children] == ["cite"] and title.children[0].children == []
        assert HOSTILE["title"] == title.text
        assert any(JS_URL in code.text for code in page.find_all("code"))
    assert safe_href(JS_URL) is None and safe_href(" JavaScript:x") is None
    assert safe_href("https://example.org/a b") is None and safe_href("//example.org") is None
    assert safe_href("https://example.org/a?b=c") == "https://example.org/a?b=c"


def test_json_ld_keeps_hostile_text_intact_without_closing_its_script(built: Path):
    """The ClaimReview block has no raw '<' (so no '</script>'), and parses back to the exact claim."""
    text = (built / "claims" / "hostile-claim.html").read_text(encoding="utf-8")
    block = text.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block
    data = json.loads(block)
    assert data["claimReviewed"] == HOSTILE["claim"] and data["author"]["name"] == SITE.publisher


def test_the_loader_already_refuses_a_javascript_source(tmp_path: Path):
    """A javascript: address in sources.yaml is a load error naming the field; the site's check is a second wall."""
    local = write_knowledge(tmp_path / "local", claim_id="bad-link", text=HOSTILE)
    sources = yaml.safe_load((local / "sources.yaml").read_text())
    sources[0]["url"] = JS_URL
    (local / "sources.yaml").write_text(yaml.safe_dump(sources))
    with pytest.raises(KnowledgeError, match="url"):
        load_knowledge([BUNDLED_KNOWLEDGE, local])
