"""The storage interface the engine talks to, and the records that cross it.

Two backends implement it: :mod:`bot.storage.sqlite` (one file, the embedded default) and
:mod:`bot.storage.postgres` (one PostgreSQL shared by several bot processes). Both run the same tests.

Decisions that read counts and then write (caps, cooldowns, the 🔎 that becomes an answer) go through
:meth:`Storage.deciding`: a transaction in which no other decision about the same channel or the same
person runs, in this process or any other. Everything else is a single atomic statement.
"""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["ChannelSettings", "ReplyRecord", "Scope", "DecisionStore", "Storage", "PolicyFactsRow",
           "is_database_url", "redact_url", "scope_params", "decision_from_row"]


@dataclass(frozen=True, slots=True)
class Scope:
    """One server's share of the data: a Discord guild, or a Matrix room / DM / the console (its channel).

    Moderator views pass the asker's scope; ``None`` instead of a scope means the whole bot, which only
    operators and the command line may see.
    """

    platform: str
    server_id: str


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """A channel's overrides; ``None`` means the configured default."""

    mode: str | None = None
    cooldown_minutes: float | None = None
    #: Answer in a thread started on the message (where the platform has threads).
    thread: bool | None = None

    @classmethod
    def from_row(cls, mode: Any, cooldown: Any, thread: Any) -> ChannelSettings:
        """Settings from a ``channel_settings`` row (``thread`` is stored as an integer or a boolean)."""
        return cls(mode, cooldown, None if thread is None else bool(thread))


@dataclass(frozen=True, slots=True)
class ReplyRecord:
    """One answer (or 🔎 offer) the bot made."""

    platform: str
    channel_id: str
    message_id: str
    author_id: str
    claim_id: str
    action: str
    tier: str
    score: float
    sent_id: str | None
    ts: float


def scope_params(scope: Scope | None) -> tuple[str | None, str | None]:
    """(platform, server id) for a query's ``(p IS NULL OR (platform = p AND server_id = s))``; NULLs mean
    the whole bot."""
    return (None, None) if scope is None else (scope.platform, scope.server_id)


def decision_from_row(row: Any) -> dict[str, Any]:
    """A ``decisions`` row (claim_id, tier, action, reason, scores JSON) as ``explain`` reads it."""
    return {"claim_id": row[0], "tier": row[1], "action": row[2], "reason": row[3], "scores": json.loads(row[4])}


#: (settings, when the claim was last answered here, channel answers, author answers, channel 🔎) in the hour.
PolicyFactsRow = tuple[ChannelSettings, float | None, int, int, int]


def is_database_url(value: object) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL, False for a file path."""
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{hostpart}"


class DecisionStore(Protocol):
    """What a decision reads and writes inside :meth:`Storage.deciding` (one transaction)."""

    async def mark_processed(self, platform: str, event_id: str, ts: float) -> bool:
        """Record that an event was handled. True the first time, False for a repeat (in any process)."""

    async def replies_for_message(self, platform: str, message_id: str) -> list[ReplyRecord]:
        """The answers and 🔎 offers made for one message, oldest first."""

    async def policy_facts(self, platform: str, channel_id: str, author_id: str, claim_id: str,
                           since: float, *, server_id: str) -> PolicyFactsRow:
        """Everything the policy needs about one candidate answer, in one query (the author's answers are
        counted in ``server_id`` only: caps are per server and person)."""

    async def log_reply(self, record: ReplyRecord, scores: dict[str, float], server_id: str | None,
                        reason: str = "") -> int:
        """Record an answer or 🔎 offer (and, with it, the message's decision)."""

    async def log_decision(self, platform: str, message_id: str, channel_id: str, claim_id: str | None,
                           tier: str | None, action: str, reason: str, scores: dict[str, float],
                           ts: float, *, server_id: str) -> None:
        """Remember why the bot did what it did with a message, for ``explain`` and stats."""


class Storage(DecisionStore, Protocol):
    """The bot's database, whichever backend holds it."""

    #: Where the data lives, for messages (a file path, or a URL with its password hidden).
    location: str

    def deciding(self, platform: str, channel_id: str,
                 author_id: str | None = None) -> AbstractAsyncContextManager[DecisionStore]:
        """One decision's transaction: no other decision about this channel (or this author) runs meanwhile.

        Commits when the block ends, rolls back if it raises (nothing of the decision is kept).
        """

    async def close(self) -> None: ...

    async def get_state(self, key: str) -> str | None: ...

    async def set_state(self, key: str, value: str) -> None: ...

    async def checkpoint(self) -> None: ...

    async def prune(self, before_ts: float) -> None: ...

    async def channel_settings(self, platform: str, channel_id: str) -> ChannelSettings: ...

    async def set_channel_settings(self, platform: str, channel_id: str, settings: ChannelSettings) -> None: ...

    async def set_sent_id(self, platform: str, message_id: str, action: str, sent_id: str) -> None: ...

    async def reply_by_sent_id(self, platform: str, sent_id: str) -> ReplyRecord | None: ...

    async def decision(self, platform: str, message_id: str, scope: Scope | None) -> dict[str, Any] | None: ...

    async def near_misses(self, since: float, scope: Scope | None,
                          limit: int = 10) -> list[tuple[str, float, str]]: ...

    async def add_feedback(self, platform: str, reply_message_id: str, user_id: str, claim_id: str | None,
                           helpful: bool, ts: float) -> None: ...

    async def feedback_rows(self) -> list[tuple[str, str, str, str | None, bool]]: ...

    async def claim_stats(self, since: float, scope: Scope | None) -> list[tuple[str, int, int, int]]: ...

    async def top_channels(self, since: float, scope: Scope | None,
                           limit: int = 5) -> list[tuple[str, str, int]]: ...

    async def backup(self, target: Path) -> None:
        """Write a consistent copy of the database to ``target`` (raises a FootnoteError if it cannot)."""

    async def integrity_ok(self) -> bool: ...
