"""The bundled knowledge base covers the catalogue, cites real sources and renders within chat limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.config import BUNDLED_KNOWLEDGE
from bot.kb.loader import load_knowledge
from bot.kb.schema import claim_schema
from bot.messages import ClaimAnswer
from bot.render import DISCORD_LIMIT, console_text, discord_markdown, matrix_message

CATALOGUE = Path(__file__).parent / "data" / "catalogue_ids.txt"
KB, _ = load_knowledge([BUNDLED_KNOWLEDGE])
CLAIMS = [c for c in KB.claims.values() if not c.is_topic]


def test_every_catalogue_claim_is_present():
    """All 45 catalogue ids exist as claim files."""
    ids = CATALOGUE.read_text().split()
    assert len(ids) == 45
    assert sorted(set(ids) - set(KB.claims)) == []


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_claim_has_two_sources_and_twelve_examples(claim):
    """Each claim cites at least two sources and has at least twelve chat phrasings."""
    assert len(claim.sources) >= 2
    assert len(claim.examples) >= 12


def test_every_source_is_cited():
    """sources.yaml lists nothing that no entry cites."""
    cited = {s for c in KB.claims.values() for s in c.sources}
    assert sorted(set(KB.sources) - cited) == []


def test_topics_cover_the_systems_people_ask_about():
    """/source has entries for the systems themselves, never answered unprompted."""
    topics = {c.id for c in KB.claims.values() if c.is_topic}
    assert {"sesame-credit", "court-defaulter-list", "dangan-files", "planning-outline-2014"} <= topics
    assert all(KB.claims[t].auto_reply == "off" for t in topics)


@pytest.mark.parametrize("entry", list(KB.claims.values()), ids=lambda c: c.id)
def test_every_reply_fits_discord(entry):
    """Both the chat reply and the full /source answer fit Discord's 2,000 characters."""
    for full in (False, True):
        answer = ClaimAnswer(claim=entry, sources=KB.sources_for(entry), full=full)
        text = discord_markdown(answer)
        assert len(text) <= DISCORD_LIMIT
        if not full:
            assert not text.endswith("…"), "a chat reply must not need truncating"
        assert entry.summary[:20] in console_text(answer)
        assert matrix_message(answer)[0]


def test_committed_schema_matches_the_models():
    """knowledge/schema.json is regenerated whenever the schema changes (python -m bot kb schema)."""
    committed = json.loads((BUNDLED_KNOWLEDGE / "schema.json").read_text())
    assert committed == json.loads(json.dumps(claim_schema(), sort_keys=True))


def test_claim_template_in_the_guide_is_valid():
    """docs/claim-template.yaml passes the schema, so moderators start from something that loads."""
    from bot.kb.models import Claim

    data = yaml.safe_load((BUNDLED_KNOWLEDGE.parent / "docs" / "claim-template.yaml").read_text())
    claim = Claim.model_validate(data)
    assert set(claim.sources) <= set(KB.sources)
