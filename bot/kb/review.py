"""Which knowledge entries are due for a fresh check of their sources (``kb check --stale DAYS``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .loader import KnowledgeBase

__all__ = ["StaleEntry", "stale_entries"]


@dataclass(frozen=True)
class StaleEntry:
    """An entry whose ``reviewed`` date is older than the allowed age."""

    claim_id: str
    path: Path | None
    reviewed: dt.date
    age_days: int


def stale_entries(kb: KnowledgeBase, *, today: dt.date, max_age_days: int) -> list[StaleEntry]:
    """Entries last reviewed more than ``max_age_days`` before ``today``, oldest first."""
    if max_age_days < 0:
        raise ValueError("the number of days must be 0 or more")
    stale = [StaleEntry(claim.id, kb.files.get(claim.id), claim.reviewed, (today - claim.reviewed).days)
             for claim in kb.claims.values() if (today - claim.reviewed).days > max_age_days]
    return sorted(stale, key=lambda entry: (entry.reviewed, entry.claim_id))
