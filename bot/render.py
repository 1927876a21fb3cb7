"""One :data:`~bot.messages.Answer`, three renderings: Discord Markdown, Matrix HTML + plain body, console text.

Pure functions. Knowledge text is escaped for each format (a moderator's ``*`` or ``<`` never becomes
formatting), links come only from ``sources.yaml``, and a Discord reply never exceeds 2,000 characters.
"""

from __future__ import annotations

import html
import re

from .kb.models import Source, Verdict
from .messages import Answer, ClaimAnswer, ClaimList, Explanation, Notice

__all__ = [
    "DISCORD_LIMIT",
    "console_text",
    "discord_markdown",
    "escape_markdown",
    "matrix_message",
    "source_line",
    "verdict_colour",
    "CHAT_SOURCES",
]

DISCORD_LIMIT = 2000
#: Sources shown in a short chat reply; /source shows all.
CHAT_SOURCES = 3

_COLOURS: dict[Verdict, int] = {
    Verdict.ACCURATE: 0x2E7D32,
    Verdict.MOSTLY_ACCURATE: 0x7CB342,
    Verdict.MIXED: 0xF9A825,
    Verdict.MISLEADING: 0xEF6C00,
    Verdict.FALSE: 0xC62828,
    Verdict.UNSUPPORTED: 0x8E24AA,
    Verdict.OUTDATED: 0x546E7A,
    Verdict.TOPIC: 0x1565C0,
}
_MD_SPECIAL = re.compile(r"([\\*_`~|>\[\]()#:-])")
_MASS_MENTION = re.compile(r"@(everyone|here)")


def verdict_colour(verdict: Verdict) -> int:
    """An RGB colour per verdict, for Discord embeds."""
    return _COLOURS[verdict]


def escape_markdown(text: str) -> str:
    """Escape Discord Markdown so text shows literally; defuse @everyone/@here and <@id> mentions."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = text.replace("<", "<\u200b")
    return _MASS_MENTION.sub("@\u200b\\1", text)


def source_line(source: Source) -> tuple[str, str, str]:
    """(publisher, year, url) for a source; year is '' when unknown. The publisher loses any
    parenthesised note ("MERICS (commentary, first published by ...)" -> "MERICS") to stay short in chat."""
    publisher = source.publisher.split(" (", 1)[0].strip() or source.publisher
    return publisher, source.year, str(source.url)


def _publisher_year(source: Source) -> str:
    publisher, year, _ = source_line(source)
    return f"{publisher} ({year})" if year else publisher


def _shown_sources(answer: ClaimAnswer) -> tuple[Source, ...]:
    return answer.sources if answer.full else answer.sources[:CHAT_SOURCES]


# ---------------------------------------------------------------------------------------------- Discord


def discord_markdown(answer: Answer) -> str:
    """Discord Markdown, at most 2,000 characters. A long ``/source`` answer shortens its context at a word
    boundary and lists fewer sources rather than cutting a link in half."""
    if not isinstance(answer, ClaimAnswer):
        return _fit("\n".join(_plain_lines(answer, escape_markdown)), DISCORD_LIMIT)
    claim = answer.claim
    head = [f"**{claim.verdict.label}:** {escape_markdown(claim.claim)}", escape_markdown(claim.summary)]
    more = f"-# More: `/source {claim.id}`"
    links = [f"[{escape_markdown(_publisher_year(s))}](<{s.url}>)" for s in _shown_sources(answer)]
    sources = "Sources: " + " · ".join(links)
    while len(links) > 1 and len("\n".join([*head, sources, more])) > DISCORD_LIMIT:
        links.pop()
        sources = "Sources: " + " · ".join(links) + f" (+{len(_shown_sources(answer)) - len(links)} more)"
    if answer.full:
        room = DISCORD_LIMIT - len("\n".join([*head, sources, more])) - 1
        head.append(_shorten(escape_markdown(claim.context), room))
    return _fit("\n".join([*head, sources, more]), DISCORD_LIMIT)


def _shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)].rsplit(" ", 1)[0]
    return cut.rstrip("\\") + "…"


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------- Matrix


def matrix_message(answer: Answer) -> tuple[str, str]:
    """(plain ``body``, HTML ``formatted_body``) for an ``m.notice``. All text is HTML-escaped."""
    esc = html.escape
    if isinstance(answer, ClaimAnswer):
        claim = answer.claim
        sources = _shown_sources(answer)
        plain = [f"{claim.verdict.label}: {claim.claim}", claim.summary]
        rich = [f"<p><strong>{esc(claim.verdict.label)}:</strong> {esc(claim.claim)}</p>", f"<p>{esc(claim.summary)}</p>"]
        if answer.full:
            plain.append(claim.context)
            rich.append(f"<p>{esc(claim.context)}</p>")
        plain.append("Sources: " + "; ".join(f"{_publisher_year(s)}: {s.url}" for s in sources))
        rich.append("<p>Sources: " + " · ".join(
            f'<a href="{esc(str(s.url), quote=True)}">{esc(_publisher_year(s))}</a>' for s in sources) + "</p>")
        plain.append(f"More: !source {claim.id}")
        rich.append(f"<p><em>More: <code>!source {esc(claim.id)}</code></em></p>")
        return "\n".join(plain), "".join(rich)
    lines = _plain_lines(answer, lambda s: s)
    body = "\n".join(lines)
    head, *rest = lines
    rich = f"<p><strong>{esc(head)}</strong></p>"
    if rest:
        rich += "<ul>" + "".join(f"<li>{esc(line.strip())}</li>" for line in rest) + "</ul>"
    return body, rich


# ---------------------------------------------------------------------------------------------- console


def console_text(answer: Answer) -> str:
    """Plain text for the terminal."""
    if isinstance(answer, ClaimAnswer):
        claim = answer.claim
        out = [f"[{claim.verdict.label}] {claim.claim}", claim.summary]
        if answer.full:
            out.append("")
            out.append(claim.context)
        out.append("Sources:")
        out += [f"  - {_publisher_year(s)}: {s.url}" for s in _shown_sources(answer)]
        out.append(f"More: /source {claim.id}")
        return "\n".join(out)
    return "\n".join(_plain_lines(answer, lambda s: s))


# ---------------------------------------------------------------------------------------------- shared


def _plain_lines(answer: Answer, esc) -> list[str]:
    if isinstance(answer, Notice):
        return [esc(answer.title), *(f"  {esc(line)}" for line in answer.lines)]
    if isinstance(answer, ClaimList):
        lines = [esc(f"Claims and topics (page {answer.page} of {answer.pages}, {answer.total} in all):")]
        lines += [esc(f"  {c.id} — [{c.verdict.label}] {c.claim}") for c in answer.entries]
        if answer.page < answer.pages:
            lines.append(esc(f"  Next page: {answer.next_page or f'claims {answer.page + 1}'}"))
        return lines
    if isinstance(answer, Explanation):
        if not answer.found:
            return [esc(f"Message {answer.message_id}: no decision recorded."), esc(f"  {answer.reason}")]
        scores = ", ".join(f"{k} {v:.2f}" for k, v in answer.scores.items())
        head = f"Message {answer.message_id}: {answer.action}"
        if answer.answer_id:
            head = f"Footnote's answer {answer.answer_id} was about message {answer.message_id}: {answer.action}"
        return [esc(head),
                esc(f"  claim: {answer.claim_id or 'none'}; tier: {answer.tier or 'none'}"),
                esc(f"  why: {answer.reason}"), esc(f"  scores: {scores or 'none'}")]
    raise TypeError(f"cannot render {type(answer).__name__}")
