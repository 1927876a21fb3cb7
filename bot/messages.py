"""Platform-neutral values that flow between adapters and the engine.

Adapters turn platform events into :class:`Message`, :class:`Command` and :class:`Reaction`; the engine
answers with :class:`Action` values (``Reply``, ``React``, ``Nothing``) and :class:`Answer` values that
:mod:`bot.render` turns into text. Nothing here knows about Discord or Matrix, and the engine never reads
the clock: every event carries its own ``timestamp`` (Unix seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kb.models import Claim, Source

__all__ = [
    "Action",
    "Answer",
    "ClaimAnswer",
    "ClaimList",
    "Command",
    "COMMANDS",
    "Explanation",
    "Feedback",
    "Message",
    "MODERATOR_COMMANDS",
    "Nothing",
    "Notice",
    "React",
    "Reaction",
    "Reply",
    "Tier",
    "SEARCH_EMOJI",
    "HELPFUL_EMOJI",
    "UNHELPFUL_EMOJI",
]

SEARCH_EMOJI = "🔎"
HELPFUL_EMOJI = "👍"
UNHELPFUL_EMOJI = "👎"


class Tier(StrEnum):
    """How sure the matcher is: *confident* matches are answered, *suggest* ones get a quiet 🔎."""

    CONFIDENT = "confident"
    SUGGEST = "suggest"


@dataclass(frozen=True, slots=True)
class Message:
    """A chat message as the engine sees it."""

    platform: str
    channel_id: str
    author_id: str
    message_id: str
    text: str
    timestamp: float
    server_id: str | None = None
    author_is_bot: bool = False
    reply_to_id: str | None = None
    is_edit: bool = False
    #: True when the message addresses the bot directly (a mention or a DM): answers need no gate.
    addressed_to_bot: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    """A command from a user: ``/source sesame`` on Discord, ``!source sesame`` on Matrix."""

    name: str
    args: str
    platform: str
    channel_id: str
    author_id: str
    timestamp: float
    server_id: str | None = None
    #: Set by the adapter from platform permissions (Manage Server, power level >= 50, admin list).
    is_moderator: bool = False
    #: For ``explain``: the message the user points at.
    target_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reaction:
    """A user added an emoji to a message."""

    platform: str
    channel_id: str
    message_id: str
    user_id: str
    emoji: str
    timestamp: float
    server_id: str | None = None
    user_is_bot: bool = False


# ---------------------------------------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class ClaimAnswer:
    """What the bot says about one claim. ``full`` adds the context and every source (``/source``)."""

    claim: Claim
    sources: tuple[Source, ...]
    full: bool = False


@dataclass(frozen=True, slots=True)
class ClaimList:
    """One page of ``/claims``."""

    entries: tuple[Claim, ...]
    page: int
    pages: int
    total: int
    #: The command for the next page, as typed on the asker's platform (``!claims 2``).
    next_page: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why the bot did (or did not) answer a message."""

    message_id: str
    found: bool
    claim_id: str | None = None
    tier: str | None = None
    action: str | None = None
    reason: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    #: Set when the user pointed at Footnote's own answer: its id (``message_id`` is what it answered).
    answer_id: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Plain text: a confirmation, a refusal, help, stats or an error the user can act on."""

    title: str
    lines: tuple[str, ...] = ()
    ok: bool = True
    #: Moderator answers and errors are private where the platform allows (Discord ephemeral).
    private: bool = False


Answer = ClaimAnswer | ClaimList | Explanation | Notice


# ---------------------------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer ``message`` with ``answer`` (a reply to it, pinging nobody)."""

    message: Message
    answer: ClaimAnswer
    tier: Tier
    score: float
    #: The channel's thread setting: True/False, or None for the platform's configured default.
    in_thread: bool | None = None


@dataclass(frozen=True, slots=True)
class React:
    """Add ``emoji`` to ``message``: a quiet offer; a reader who adds the same emoji gets the answer."""

    message: Message
    claim_id: str
    tier: Tier
    score: float
    emoji: str = SEARCH_EMOJI


@dataclass(frozen=True, slots=True)
class Nothing:
    """Stay quiet, and say why (for logs and ``explain``)."""

    reason: str
    #: Set when a claim was recognised but a policy rule (cooldown, cap, mode) held the answer back.
    held_claim: str | None = None
    #: The rule that held it (``cooldown``, ``user-cap``, ... see :data:`bot.policy.RULES`).
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class Feedback:
    """A reader's verdict on one of the bot's answers (👍/👎 or a button)."""

    platform: str
    reply_message_id: str
    user_id: str
    helpful: bool
    timestamp: float


Action = Reply | React | Nothing

#: Every command with a one-line description, in the order help lists them.
COMMANDS: dict[str, str] = {
    "source": "source <topic or claim id> - the full answer with context and all sources",
    "claims": "claims [page] - every claim Footnote knows",
    "explain": "explain <message id> - why Footnote answered (or not) a message (or Footnote's own answer)",
    "help": "help - this list",
    "settings": "settings [mode reply|react|off] [cooldown MINUTES] [thread on|off] - this channel's settings "
                "(moderators)",
    "reload": "reload - load the knowledge files again, for every community (operators)",
    "test": "test <text> - how Footnote would match a message (moderators)",
    "stats": "stats [all] - answers per claim and feedback in this server; 'all': every server (operators)",
}
MODERATOR_COMMANDS = frozenset({"settings", "reload", "test", "stats"})
