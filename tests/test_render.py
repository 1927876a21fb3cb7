"""Rendering: escaped, link-safe and within Discord's limit, in three formats."""

from __future__ import annotations

from bot.config import BUNDLED_KNOWLEDGE
from bot.kb.loader import load_knowledge
from bot.messages import ClaimAnswer, Explanation, Notice
from bot.render import console_text, discord_markdown, escape_markdown, matrix_message, verdict_colour

KB, _ = load_knowledge([BUNDLED_KNOWLEDGE])


def _answer(claim_id: str = "single-national-score", full: bool = False) -> ClaimAnswer:
    claim = KB.claims[claim_id]
    return ClaimAnswer(claim=claim, sources=KB.sources_for(claim), full=full)


def test_chat_reply_has_verdict_summary_and_three_sources():
    """A chat reply: verdict label, summary, 2-3 'Publisher (year)' links and how to get more."""
    text = discord_markdown(_answer())
    assert text.startswith("**False:**")
    assert text.count("](<http") == 3
    assert "/source single-national-score" in text


def test_full_answer_lists_every_source_and_the_context():
    """/source shows the context and all sources."""
    answer = _answer(full=True)
    text = console_text(answer)
    assert answer.claim.context[:40] in text
    assert all(str(s.url) in text for s in answer.sources)


def test_mass_mentions_and_markdown_are_defused():
    """@everyone, <@id> and Markdown links in text are shown literally, never as pings or links."""
    escaped = escape_markdown("@everyone look [here](https://evil.example) <@123> **bold**")
    assert "@everyone" not in escaped and "<@1" not in escaped
    assert "](" not in escaped.replace("\\]\\(", "")
    assert "\\*\\*bold\\*\\*" in escaped


def test_matrix_html_is_escaped():
    """Notices and their titles are HTML-escaped in formatted_body."""
    body, html = matrix_message(Notice("<script>alert(1)</script>", ("<img src=x onerror=alert(1)>",)))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert "<script>" in body  # the plain body is plain text, shown literally by clients


def test_matrix_claim_answer_links_only_sources():
    """The HTML answer links each source and nothing else."""
    answer = _answer()
    _, html = matrix_message(answer)
    assert html.count("<a href=") == 3
    assert all(f'href="{s.url}"' in html for s in answer.sources[:3])


def test_explanation_renders_scores():
    """explain shows claim, tier, reason and scores."""
    text = console_text(Explanation("m1", True, "meme-points", "suggest", "react", "short message",
                                    {"combined": 0.61}))
    assert "meme-points" in text and "combined 0.61" in text


def test_every_verdict_has_a_colour():
    """Embeds get a distinct colour per verdict."""
    from bot.kb.models import Verdict

    colours = {verdict_colour(v) for v in Verdict}
    assert len(colours) == len(Verdict)


def test_full_discord_answer_keeps_the_more_line_and_whole_links():
    """A long /source answer shortens its context, not its links or its pointer to more."""
    for claim in KB.claims.values():
        text = discord_markdown(_answer(claim.id, full=True))
        assert len(text) <= 2000
        assert text.endswith(f"-# More: `/source {claim.id}`")
        assert text.count("](<") == text.count(">)")
