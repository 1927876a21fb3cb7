"""Where each page of the website lives: one rule shared by the builder and the chat answers that link to it."""

from __future__ import annotations

__all__ = ["INDEX", "SOURCES", "entry_path", "page_url", "safe_href"]

INDEX = "index.html"
SOURCES = "sources.html"


def entry_path(claim_id: str) -> str:
    """The path of an entry's page inside the site: ``claims/<id>.html``.

    A file name rather than a folder with ``index.html``, so the site also works opened from disk or a file share.
    """
    return f"claims/{claim_id}.html"


def page_url(base_url: str | None, claim_id: str) -> str | None:
    """The public address of an entry's page under ``base_url`` (which ends in ``/``), or None without one."""
    return base_url + entry_path(claim_id) if base_url else None


def safe_href(url: object) -> str | None:
    """``url`` when it is an http(s) address with a host, else None: anything else is shown as text, never a link.

    The knowledge loader already refuses other schemes; the site checks again, since a page outlives the loader
    that vetted its text (``javascript:alert(1)`` must stay inert whatever path it came by).
    """
    from urllib.parse import urlsplit

    text = str(url).strip()
    if any(ord(c) < 0x21 or c in '"<>`\\' for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme in ("http", "https") and parts.netloc else None
