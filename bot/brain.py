"""Everything derived from one knowledge base, built together and swapped together on reload."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import MatchConfig
from .kb.loader import KnowledgeBase, LoadReport, load_knowledge
from .kb.models import Claim
from .kb.search import EntrySearch
from .match.embed import StaticEmbedder, load_embedder
from .match.encoder import encoder_available, load_encoder
from .match.matcher import Matcher
from .match.normalise import normalise
from .memory import release_freed_memory

__all__ = ["Brain", "build_brain"]

#: How similar a /source question must be to an entry's examples to be taken as asking about it.
_FIND_BAR = 0.5


@dataclass(frozen=True)
class Brain:
    """A knowledge base with its matcher and search indexes. Immutable; a reload builds a new one."""

    kb: KnowledgeBase
    matcher: Matcher
    search: EntrySearch

    def find_entry(self, query: str) -> Claim | None:
        """The entry a ``/source`` query means: an id, a name or keyword, or a question about it."""
        return self.search.find(query, fallback=self._by_meaning)

    def _by_meaning(self, query: str) -> str | None:
        ranked = self.matcher.static_index(query).score(normalise(query), top=1, topics=True)
        return ranked[0].claim_id if ranked and ranked[0].combined >= _FIND_BAR else None


def build_brain(dirs: list[Path], config: MatchConfig, embedder: StaticEmbedder | None = None,
                *, use_encoder: bool = True) -> tuple[Brain, LoadReport]:
    """Load the knowledge in ``dirs`` and build every index. Raises KnowledgeError on invalid files.

    The transformer encoder scores gated messages when its files and onnxruntime are installed (and
    ``use_encoder``); otherwise the static vectors do, as before it existed.
    """
    kb, report = load_knowledge(dirs)
    embedder = embedder or load_embedder()
    encoder = load_encoder() if use_encoder and encoder_available() else None
    brain = Brain(kb=kb, matcher=Matcher(kb, embedder, config, encoder), search=EntrySearch(kb))
    release_freed_memory()  # the build's temporary arrays: about 40 MB that glibc would otherwise keep
    return brain, report
