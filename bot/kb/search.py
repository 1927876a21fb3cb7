"""Find a knowledge entry from what a user types after ``/source``: an id, a name, a keyword or a question.

rapidfuzz handles typos and partial words for autocomplete; free-text questions fall back to the claim
matcher (passed in by the caller), so ``/source do friends lower your score`` finds the right claim.
"""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz import fuzz, process, utils

from .loader import KnowledgeBase
from .models import Claim

__all__ = ["EntrySearch"]


class EntrySearch:
    """Fuzzy lookup over entry ids, titles and keywords."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._keys: list[str] = []
        self._owner: list[str] = []
        for claim in kb.claims.values():
            for key in (claim.id, claim.id.replace("-", " "), claim.claim, *claim.keywords):
                self._keys.append(utils.default_process(key))
                self._owner.append(claim.id)

    def label(self, claim: Claim, width: int = 100) -> str:
        """A one-line label for menus: ``[Topic] What Sesame Credit is...``."""
        text = f"[{claim.verdict.label}] {claim.claim}"
        return text if len(text) <= width else text[: width - 1] + "…"

    def autocomplete(self, query: str, limit: int = 25) -> list[tuple[str, str]]:
        """Up to ``limit`` (id, label) pairs for a partly typed query; every entry when it is empty."""
        query = utils.default_process(query or "")
        claims = self.kb.claims
        if not query:
            ordered = sorted(claims.values(), key=lambda c: (not c.is_topic, c.id))
            return [(c.id, self.label(c)) for c in ordered[:limit]]
        best: dict[str, float] = {}
        for _key, score, idx in process.extract(query, self._keys, scorer=fuzz.WRatio, limit=limit * 4,
                                                 score_cutoff=50, processor=None):
            owner = self._owner[idx]
            best[owner] = max(best.get(owner, 0.0), score)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [(cid, self.label(claims[cid])) for cid, _ in ranked]

    def find(self, query: str, fallback: Callable[[str], str | None] | None = None) -> Claim | None:
        """The best entry for ``query``: an exact id, a close name or keyword, else ``fallback(query)``."""
        query = (query or "").strip()
        if not query:
            return None
        claims = self.kb.claims
        if query.lower() in claims:
            return claims[query.lower()]
        processed = utils.default_process(query)
        hits = process.extract(processed, self._keys, scorer=fuzz.ratio, score_cutoff=85, processor=None, limit=10)
        if not hits and len(processed.split()) <= 3:
            hits = process.extract(processed, self._keys, scorer=fuzz.WRatio, score_cutoff=86, processor=None,
                                   limit=10)
        if hits:
            # The best score wins; on a tie a topic entry ("sesame") beats a claim that mentions it.
            best = max(hits, key=lambda h: (h[1], claims[self._owner[h[2]]].is_topic))
            return claims[self._owner[best[2]]]
        if fallback is not None:
            found = fallback(query)
            if found:
                return claims.get(found)
        return None
