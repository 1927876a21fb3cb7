"""schema.org ``ClaimReview`` markup for a claim page, as Google's fact-check documentation asks for it.

Required there: ``claimReviewed``, ``reviewRating`` (with ``alternateName``, the verdict in words) and ``url``;
recommended: ``author``, ``datePublished``, ``itemReviewed`` (a ``Claim``). Verdicts on a true-to-false scale also
get a number (5 accurate ... 1 false) with ``bestRating``/``worstRating``; *unsupported* and *outdated* are not on
that scale and carry their words only. Topic entries judge nothing and get no ClaimReview.
"""

from __future__ import annotations

import json
from typing import Any

from ..kb.models import Claim, Verdict

__all__ = ["RATING_SCALE", "claim_review", "script_json"]

#: The numeric rating of each verdict on a 1 (false) to 5 (accurate) scale.
RATING_SCALE: dict[Verdict, int] = {
    Verdict.ACCURATE: 5,
    Verdict.MOSTLY_ACCURATE: 4,
    Verdict.MIXED: 3,
    Verdict.MISLEADING: 2,
    Verdict.FALSE: 1,
}


def claim_review(claim: Claim, *, url: str, publisher: str, publisher_url: str | None) -> dict[str, Any] | None:
    """The ClaimReview object for ``claim`` published at ``url``, or None for a topic entry."""
    if claim.is_topic:
        return None
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": claim.verdict.label}
    if claim.verdict in RATING_SCALE:
        rating.update(ratingValue=RATING_SCALE[claim.verdict], bestRating=5, worstRating=1)
    author: dict[str, Any] = {"@type": "Organization", "name": publisher}
    if publisher_url:
        author["url"] = publisher_url
    reviewed = claim.reviewed.isoformat()
    return {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": url,
        "claimReviewed": claim.claim,
        "reviewBody": claim.summary,
        "author": author,
        "datePublished": reviewed,
        "dateModified": reviewed,
        "reviewRating": rating,
        "itemReviewed": {"@type": "Claim", "name": claim.claim},
    }


def script_json(data: Any) -> str:
    """JSON safe to place inside ``<script type="application/ld+json">``: ``<``, ``>`` and ``&`` are written as
    ``\\u003c`` escapes, so no text in the data can close the element (``</script>``) or open a comment."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
