"""The knowledge base as a static website: an index, one page per entry with ClaimReview JSON-LD, the
sources, ``sitemap.xml`` and a ``claims.json`` export.

It reads a :class:`~bot.kb.loader.KnowledgeBase` and writes files; it never touches the engine or storage.
This module stays light (the chat bot imports :mod:`bot.site.paths` for links); the builder, which needs
Jinja2, lives in :mod:`bot.site.build`.
"""

from .paths import entry_path, page_url

__all__ = ["entry_path", "page_url"]
