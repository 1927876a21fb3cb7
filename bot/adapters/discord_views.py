"""Discord presentation: answers as embeds, and the buttons under them.

The buttons are :class:`discord.ui.DynamicItem` s whose ``custom_id`` carries everything a click needs
(``footnote:more:<claim id>``, ``footnote:vote:up|down``), so they keep working after a restart without any
stored view. A click is routed to the running :class:`~bot.adapters.discord_bot.DiscordAdapter` through
``interaction.client.footnote``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord.utils import escape_markdown

from ..messages import HELPFUL_EMOJI, UNHELPFUL_EMOJI, Answer, ClaimAnswer, Notice
from ..render import discord_markdown, source_line, verdict_colour

if TYPE_CHECKING:
    from .discord_bot import DiscordAdapter

__all__ = [
    "FeedbackButton",
    "MoreContextButton",
    "SHORT_SOURCES",
    "answer_embed",
    "answer_view",
    "claim_embed",
]

#: Sources shown under a chat answer; "More context" and ``/source`` show all of them.
SHORT_SOURCES = 3
_TITLE_MAX = 256
_DESCRIPTION_MAX = 4096
_FIELD_MAX = 1024
_NEUTRAL_COLOUR = 0x5865F2
_ERROR_COLOUR = 0xED4245


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _masked_link(source: Any) -> str:
    publisher, year, url = source_line(source)
    label = ", ".join(part for part in (publisher, year) if part)
    # Square brackets would end the link text early; Discord has no escape for them inside it.
    label = escape_markdown(_clip(label, 120)).replace("[", "(").replace("]", ")")
    return f"[{label}]({url})"


def _source_fields(embed: discord.Embed, sources: tuple[Any, ...]) -> None:
    """Add the sources as masked links, split over as many fields as the 1024-character limit needs."""
    chunk: list[str] = []
    for source in sources:
        line = f"• {_masked_link(source)}"
        if chunk and len("\n".join([*chunk, line])) > _FIELD_MAX:
            embed.add_field(name="Sources" if not embed.fields else "More sources", value="\n".join(chunk),
                            inline=False)
            chunk = []
        chunk.append(line)
    if chunk:
        embed.add_field(name="Sources" if not embed.fields else "More sources", value="\n".join(chunk),
                        inline=False)


def claim_embed(answer: ClaimAnswer) -> discord.Embed:
    """The answer to one claim: claim, verdict (colour), summary, sources, ``/source <id>`` footer.

    A ``full`` answer (``/source``, "More context") adds the context and every source.
    """
    claim = answer.claim
    verdict = claim.verdict
    heading = "" if claim.is_topic else f"**Verdict: {verdict.label}**\n"
    body = escape_markdown(claim.summary, ignore_links=False)
    if answer.full:
        body += "\n\n" + escape_markdown(claim.context, ignore_links=False)
    embed = discord.Embed(
        title=_clip(escape_markdown(claim.claim), _TITLE_MAX),
        description=_clip(heading + body, _DESCRIPTION_MAX),
        colour=verdict_colour(verdict),
        url=answer.page_url,
    )
    sources = answer.sources if answer.full else answer.sources[:SHORT_SOURCES]
    _source_fields(embed, tuple(sources))
    if answer.page_url:
        embed.add_field(name="Full page", value=f"[Read it on the website]({answer.page_url})", inline=False)
    embed.set_footer(text=f"/source {claim.id}")
    return embed


def answer_embed(answer: Answer) -> discord.Embed:
    """Any answer as an embed: claims get :func:`claim_embed`, the rest the shared Discord Markdown."""
    if isinstance(answer, ClaimAnswer):
        return claim_embed(answer)
    colour = _ERROR_COLOUR if isinstance(answer, Notice) and not answer.ok else _NEUTRAL_COLOUR
    return discord.Embed(description=_clip(discord_markdown(answer), _DESCRIPTION_MAX), colour=colour)


def answer_view(answer: ClaimAnswer) -> discord.ui.View:
    """"More context" and 👍/👎 under a chat answer; persistent (no timeout, ids carry the state)."""
    view = discord.ui.View(timeout=None)
    if not answer.full:
        view.add_item(MoreContextButton(answer.claim.id))
    view.add_item(FeedbackButton(True))
    view.add_item(FeedbackButton(False))
    return view


def _adapter(interaction: discord.Interaction) -> DiscordAdapter:
    return interaction.client.footnote  # type: ignore[attr-defined]


class MoreContextButton(discord.ui.DynamicItem[discord.ui.Button], template=r"footnote:more:(?P<claim>[a-z0-9-]{1,80})"):
    """Shows the full context and every source, privately, to whoever clicks."""

    def __init__(self, claim_id: str) -> None:
        super().__init__(discord.ui.Button(label="More context", style=discord.ButtonStyle.secondary,
                                           custom_id=f"footnote:more:{claim_id}"))
        self.claim_id = claim_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> MoreContextButton:
        """Rebuild the button from its custom id (after a restart, too)."""
        return cls(match["claim"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the click to the adapter."""
        await _adapter(interaction).on_more_context(interaction, self.claim_id)


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=r"footnote:vote:(?P<vote>up|down)"):
    """👍 or 👎 on the answer it sits under."""

    def __init__(self, helpful: bool) -> None:
        super().__init__(discord.ui.Button(
            emoji=HELPFUL_EMOJI if helpful else UNHELPFUL_EMOJI, style=discord.ButtonStyle.secondary,
            custom_id=f"footnote:vote:{'up' if helpful else 'down'}"))
        self.helpful = helpful

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> FeedbackButton:
        """Rebuild the button from its custom id (after a restart, too)."""
        return cls(match["vote"] == "up")

    async def callback(self, interaction: discord.Interaction) -> None:
        """Hand the click to the adapter."""
        await _adapter(interaction).on_feedback(interaction, self.helpful)
