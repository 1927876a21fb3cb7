"""Render the knowledge base into a folder of static files with Jinja2 (autoescaped: every piece of knowledge
text is HTML-escaped, and only http/https addresses become links).

Output: ``index.html``, ``claims/<id>.html`` (one per entry), ``sources.html``, ``claims.json``,
``sitemap.xml`` (needs ``site.base_url``: a sitemap lists absolute addresses), ``style.css``, ``filter.js``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..config import SiteConfig
from ..errors import FootnoteError
from ..kb.loader import KnowledgeBase
from ..kb.models import Claim, Source, Verdict
from .jsonld import claim_review, script_json
from .paths import INDEX, SOURCES, entry_path, safe_href

__all__ = ["BADGE_COLOURS", "BuildReport", "SiteError", "build_site", "claims_export"]

_HERE = Path(__file__).resolve().parent
#: A file the builder leaves in its output; only a folder holding it gets stale entry pages removed.
MARKER = ".footnote-site"


#: Verdict badge colours (background, text); every pair has at least the 4.5:1 contrast WCAG AA asks of text.
BADGE_COLOURS: dict[Verdict, tuple[str, str]] = {
    Verdict.ACCURATE: ("#1b5e20", "#ffffff"),
    Verdict.MOSTLY_ACCURATE: ("#33691e", "#ffffff"),
    Verdict.MIXED: ("#f9a825", "#1a1a1a"),
    Verdict.MISLEADING: ("#a63c00", "#ffffff"),
    Verdict.FALSE: ("#b71c1c", "#ffffff"),
    Verdict.UNSUPPORTED: ("#6a1b9a", "#ffffff"),
    Verdict.OUTDATED: ("#455a64", "#ffffff"),
    Verdict.TOPIC: ("#0d47a1", "#ffffff"),
}


class SiteError(FootnoteError):
    """The site cannot be written where asked (the message says where and why)."""


@dataclass
class BuildReport:
    """What a build wrote."""

    out_dir: Path
    pages: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _ordered(kb: KnowledgeBase) -> list[Claim]:
    """Claims first, then topics; each alphabetically by what they say."""
    return sorted(kb.claims.values(), key=lambda c: (c.is_topic, c.claim.casefold(), c.id))


def _search_text(claim: Claim) -> str:
    return " ".join([claim.id.replace("-", " "), claim.claim, claim.summary, *claim.keywords, *claim.examples]
                    ).lower()


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html", "xml"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(long_date=_long_date, paragraphs=_paragraphs, href=safe_href)
    env.globals.update(entry_path=entry_path, verdicts=list(Verdict))
    return env


def claims_export(kb: KnowledgeBase, site: SiteConfig) -> dict[str, Any]:
    """The whole knowledge base as plain JSON data: every entry (with its page address) and every source."""
    claims = []
    for claim in _ordered(kb):
        data = claim.model_dump(mode="json")
        data["verdict_label"] = claim.verdict.label
        data["page"] = site.page_url(claim.id) or entry_path(claim.id)
        claims.append(data)
    return {
        "publisher": site.publisher,
        "base_url": site.base_url,
        "last_reviewed": max((c.reviewed for c in kb.claims.values()), default=None),
        "claims": claims,
        "sources": [s.model_dump(mode="json", warnings=False)
                    for s in sorted(kb.sources.values(), key=lambda s: s.id)],
    }


def _prepare(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise SiteError(f"{out_dir}: is a file, not a folder; give a folder to build the site in")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise SiteError(f"{out_dir}: the folder is not empty and holds no earlier Footnote site; give an empty or "
                        "new folder (the builder replaces files there)")
    try:
        (out_dir / "claims").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SiteError(f"{out_dir}: cannot create the folder ({exc.strerror})") from None


def build_site(kb: KnowledgeBase, out_dir: Path, site: SiteConfig) -> BuildReport:
    """Write the website for ``kb`` into ``out_dir`` (created if needed; an earlier build there is replaced).

    Raises:
        SiteError: ``out_dir`` is a file, cannot be created, or is a non-empty folder that is not a Footnote site.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    _prepare(out_dir)
    report = BuildReport(out_dir=out_dir)
    env = _environment()
    entries = _ordered(kb)
    cited_by: dict[str, list[Claim]] = {}
    for claim in entries:
        for source_id in claim.sources:
            cited_by.setdefault(source_id, []).append(claim)
    last_reviewed = max((c.reviewed for c in entries), default=dt.date.today())
    common = {"publisher": site.publisher, "base_url": site.base_url, "last_reviewed": last_reviewed}

    def write(name: str, text: str, *, page: bool = True) -> None:
        (out_dir / name).write_text(text, encoding="utf-8")
        (report.pages if page else report.files).append(name)

    def render(template: str, **values: Any) -> str:
        return env.get_template(template).render(**common, **values)

    counts = {v: sum(c.verdict == v for c in entries) for v in Verdict}
    write(INDEX, render("index.html", root="", entries=entries, counts=counts, search_text=_search_text,
                        canonical=site.base_url and site.base_url + INDEX))
    for claim in entries:
        url = site.page_url(claim.id)
        review = claim_review(claim, url=url or entry_path(claim.id), publisher=site.publisher,
                              publisher_url=site.base_url)
        related = [kb.claims[r] for r in claim.related if r in kb.claims]
        write(entry_path(claim.id), render(
            "entry.html", root="../", claim=claim, sources=kb.sources_for(claim), related=related,
            canonical=url, jsonld=Markup(script_json(review)) if review else None))
    sources: list[Source] = sorted(kb.sources.values(), key=lambda s: (s.publisher.casefold(), s.date, s.id))
    write(SOURCES, render("sources.html", root="", sources=sources, cited_by=cited_by,
                          canonical=site.base_url and site.base_url + SOURCES))
    write("style.css", render("style.css", badge_colours=BADGE_COLOURS), page=False)
    write("filter.js", (_HERE / "static" / "filter.js").read_text(encoding="utf-8"), page=False)
    write("claims.json", json.dumps(claims_export(kb, site), ensure_ascii=False, indent=1, default=str) + "\n",
          page=False)
    if site.base_url:
        write("sitemap.xml", render("sitemap.xml", pages=[INDEX, SOURCES] + [entry_path(c.id) for c in entries],
                                    reviewed={entry_path(c.id): c.reviewed for c in entries}), page=False)
    else:
        (out_dir / "sitemap.xml").unlink(missing_ok=True)
        report.warnings.append("site.base_url is not set: no sitemap.xml (it needs absolute addresses), and the "
                               "ClaimReview url is relative; set it in the config before publishing")
    (out_dir / MARKER).write_text("Built by `python -m bot site build`; the next build replaces this folder's "
                                  "pages.\n", encoding="utf-8")
    written = {entry_path(c.id) for c in entries}
    for stale in sorted((out_dir / "claims").glob("*.html")):
        if f"claims/{stale.name}" not in written:
            stale.unlink()
            report.removed.append(f"claims/{stale.name}")
    report.seconds = time.perf_counter() - started
    return report
