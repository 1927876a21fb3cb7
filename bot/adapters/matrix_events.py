"""Pure translation between Matrix event content and Footnote's values (no network, no matrix-nio).

Incoming: the ``content`` of an ``m.room.message`` or ``m.reaction`` event becomes a
:class:`~bot.messages.Message`, :class:`~bot.messages.Command` or :class:`~bot.messages.Reaction`.
Reply fallbacks (``> `` quoted lines and ``<mx-reply>``) are stripped first, so the bot never matches
words quoted back at it. Outgoing: an :data:`~bot.messages.Answer` becomes ``m.notice`` content that
replies to the event it answers and mentions nobody.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..engine import parse_command
from ..messages import Answer, Command, Message, Reaction

__all__ = [
    "PLATFORM",
    "MODERATOR_LEVEL",
    "command_from_text",
    "edit_target",
    "invite_allowed",
    "is_moderator",
    "message_from_content",
    "normalise_emoji",
    "notice_content",
    "parse_matrix_command",
    "reaction_content",
    "reaction_from_event",
    "reply_target",
    "room_creators",
    "strip_reply_fallback",
]

PLATFORM = "matrix"
#: Power level at which a room member counts as a moderator (Element's "Moderator").
MODERATOR_LEVEL = 50
#: Commands that work without the ``!footnote`` prefix.
DIRECT_COMMANDS = frozenset({"source", "claims", "explain"})

_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)
_VARIATION_SELECTORS = str.maketrans("", "", "\ufe0e\ufe0f")


def strip_reply_fallback(body: str) -> str:
    """Drop quoted lines (``> ...``, the reply fallback) and ``<mx-reply>`` blocks from a message body."""
    body = _MX_REPLY.sub("", body)
    kept = [line for line in body.split("\n") if not (line == ">" or line.startswith("> "))]
    return "\n".join(kept).strip()


def _relation(content: Mapping[str, Any]) -> Mapping[str, Any]:
    rel = content.get("m.relates_to")
    return rel if isinstance(rel, Mapping) else {}


def reply_target(content: Mapping[str, Any]) -> str | None:
    """The event id this message replies to (``m.relates_to`` -> ``m.in_reply_to``), if any."""
    in_reply_to = _relation(content).get("m.in_reply_to")
    if isinstance(in_reply_to, Mapping) and isinstance(in_reply_to.get("event_id"), str):
        return str(in_reply_to["event_id"])
    return None


def edit_target(content: Mapping[str, Any]) -> str | None:
    """The event id this message edits (``rel_type: m.replace``), if it is an edit."""
    rel = _relation(content)
    if rel.get("rel_type") == "m.replace" and isinstance(rel.get("event_id"), str):
        return str(rel["event_id"])
    return None


def _body(content: Mapping[str, Any]) -> str:
    if edit_target(content) is not None and isinstance(content.get("m.new_content"), Mapping):
        content = content["m.new_content"]
    body = content.get("body")
    return body if isinstance(body, str) else ""


def message_from_content(*, room_id: str, sender: str, event_id: str, timestamp_ms: int,
                         content: Mapping[str, Any], bot_user_id: str) -> Message | None:
    """Turn ``m.room.message`` content into a :class:`Message`, or None when it carries no text.

    ``m.notice`` is the Matrix convention for bots, so its sender counts as a bot. An edit keeps the
    id of the message it edits, so the engine can tell it already answered that message.
    """
    msgtype = content.get("msgtype")
    if msgtype not in ("m.text", "m.notice", "m.emote"):
        return None
    text = strip_reply_fallback(_body(content))
    if not text:
        return None
    edited = edit_target(content)
    formatted = content.get("formatted_body")
    mentioned = bot_user_id in text or (isinstance(formatted, str) and bot_user_id in formatted)
    return Message(
        platform=PLATFORM,
        channel_id=room_id,
        author_id=sender,
        message_id=edited or event_id,
        text=text,
        timestamp=timestamp_ms / 1000,
        author_is_bot=msgtype == "m.notice",
        reply_to_id=reply_target(content),
        is_edit=edited is not None,
        addressed_to_bot=mentioned,
    )


def parse_matrix_command(text: str) -> tuple[str, str] | None:
    """``(name, args)`` when ``text`` is a Footnote command, else None.

    ``!source``, ``!claims`` and ``!explain`` work directly; everything else needs the ``!footnote``
    prefix (``!footnote stats``), because ``!help`` or ``!stats`` usually belong to another bot.
    """
    parsed = parse_command(text, "!")
    if parsed is None:
        return None
    first = text.strip()[1:].split(maxsplit=1)[0].casefold()
    if first == "footnote" or parsed[0] in DIRECT_COMMANDS:
        return parsed
    return None


def command_from_text(parsed: tuple[str, str], *, room_id: str, sender: str, timestamp_ms: int,
                      content: Mapping[str, Any], is_moderator: bool) -> Command:
    """Build a :class:`Command` from :func:`parse_matrix_command`'s result.

    ``!explain`` sent as a reply points at the replied-to event; otherwise its argument is the event id.
    """
    name, args = parsed
    target = None
    if name == "explain":
        target = reply_target(content) or (args.split()[0] if args.split() else None)
    return Command(
        name=name,
        args=args,
        platform=PLATFORM,
        channel_id=room_id,
        author_id=sender,
        timestamp=timestamp_ms / 1000,
        is_moderator=is_moderator,
        target_message_id=target,
    )


def normalise_emoji(key: str) -> str:
    """Drop variation selectors: Element sends ``👍️`` (with U+FE0F) where others send ``👍``."""
    return key.translate(_VARIATION_SELECTORS).strip()


def reaction_from_event(*, room_id: str, sender: str, reacts_to: str, key: str,
                        timestamp_ms: int) -> Reaction:
    """Turn an ``m.reaction`` annotation into a :class:`Reaction`."""
    return Reaction(platform=PLATFORM, channel_id=room_id, message_id=reacts_to, user_id=sender,
                    emoji=normalise_emoji(key), timestamp=timestamp_ms / 1000)


def notice_content(answer: Answer, reply_to: str | None) -> dict[str, Any]:
    """``m.notice`` content for ``answer``: plain body + HTML, a reply to ``reply_to``, no mentions."""
    from .. import render  # the renderer is pure; imported late so this module stays light

    body, html = render.matrix_message(answer)
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.mentions": {},
    }
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def reaction_content(event_id: str, key: str) -> dict[str, Any]:
    """``m.reaction`` content: an annotation ``key`` on ``event_id``."""
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def is_moderator(user_id: str, level: int, *, creators: Iterable[str], admins: Iterable[str]) -> bool:
    """Power level >= 50, a room creator (room v12 leaves them out of power levels), or a configured admin."""
    if user_id in set(admins) or user_id in set(creators):
        return True
    return level >= MODERATOR_LEVEL


def room_creators(create_event: Mapping[str, Any]) -> set[str]:
    """Creators from an ``m.room.create`` event: its sender, ``content.creator`` and ``additional_creators``."""
    content = create_event.get("content")
    if not isinstance(content, Mapping):
        content = {}
    creators = {create_event.get("sender"), content.get("creator")}
    extra = content.get("additional_creators")
    if isinstance(extra, list):
        creators.update(extra)
    return {c for c in creators if isinstance(c, str) and c}


def invite_allowed(inviter: str, allowlist: Iterable[str]) -> bool:
    """Whether to accept an invite from ``inviter``: empty list = everyone; entries are user ids or servers.

    A server entry may be written ``example.org`` or ``:example.org``.
    """
    entries = [e.strip() for e in allowlist if e.strip()]
    if not entries:
        return True
    server = inviter.partition(":")[2]
    for entry in entries:
        if entry.startswith("@"):
            if entry == inviter:
                return True
        elif entry.lstrip(":") == server:
            return True
    return False
