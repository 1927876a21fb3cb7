"""Each platform's own words for commands, moderators and options, so help and refusals read right there.

Discord has slash commands (``/source``, ``/footnote stats``) and a message menu for explain; Matrix has
``!`` commands (``!source``, ``!footnote stats``) and no threads Footnote uses; the console takes
``/source`` and ``/stats``. Pure data: the engine's commands pick a :class:`Wording` by platform.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Wording", "wording_for", "OPERATOR_COMMANDS"]

#: Commands that act on the whole bot (every server): operators and the command line only.
OPERATOR_COMMANDS = frozenset({"reload"})

#: (name, arguments, what it does) in the order help lists them. ``settings`` arguments depend on threads.
_HELP: tuple[tuple[str, str, str], ...] = (
    ("source", "<topic or claim id>", "the full answer with context and all sources"),
    ("claims", "[page]", "every claim Footnote knows"),
    ("explain", "<message id>", "why Footnote answered (or not) a message"),
    ("help", "", "this list"),
    ("settings", "", "this channel's settings (moderators)"),
    ("test", "<text>", "how Footnote would match a message (moderators)"),
    ("stats", "", "answers, feedback and near misses here (moderators)"),
    ("reload", "", "load the knowledge files again, for every community (the bot's operators)"),
)


@dataclass(frozen=True, slots=True)
class Wording:
    """How one platform spells commands and names its moderators."""

    #: Prefix of the everyday commands: ``/source`` on Discord, ``!source`` on Matrix.
    user_prefix: str
    #: Prefix of the other commands: ``/footnote stats`` on Discord, ``!footnote stats`` on Matrix.
    moderator_prefix: str
    #: Who counts as a moderator here, for refusals.
    moderators: str
    #: What one community is called: a server, a room.
    server: str
    #: Whether answers can go in a thread (a ``settings`` option).
    threads: bool
    #: How to ask why Footnote answered a message, when that is not a typed command.
    explain: str = ""
    #: Commands that exist only in some places (Discord has no help command).
    missing: frozenset[str] = frozenset()
    #: How the page number of ``claims`` is written (Discord's option name: ``/claims page:2``).
    page_arg: str = ""

    def command(self, name: str, args: str = "") -> str:
        """How a person types ``name`` here, e.g. ``!footnote stats`` or ``/claims 2``."""
        prefix = self.user_prefix if name in ("source", "claims", "explain") else self.moderator_prefix
        return f"{prefix}{name}{' ' + args if args else ''}"

    @property
    def settings_usage(self) -> str:
        """The arguments ``settings`` takes here."""
        thread = " [thread on|off|default]" if self.threads else ""
        return f"[mode reply|react|off|default] [cooldown MINUTES|default]{thread}"

    def help_lines(self) -> tuple[str, ...]:
        """One line per command, written as a person types it here."""
        lines = []
        for name, args, what in _HELP:
            if name in self.missing:
                continue
            if name == "explain" and self.explain:
                lines.append(f"{self.explain} - {what}")
                continue
            if name == "settings":
                args = self.settings_usage
            lines.append(f"{self.command(name, args)} - {what}")
        return tuple(lines)


_DISCORD = Wording(
    user_prefix="/", moderator_prefix="/footnote ", server="server", threads=True,
    moderators="members with Manage Server, or a role the bot's operator listed (moderator_role_ids)",
    explain="Why did Footnote answer? (right-click or long-press a message, then Apps)",
    missing=frozenset({"help"}), page_arg="page:",
)
_MATRIX = Wording(
    user_prefix="!", moderator_prefix="!footnote ", server="room", threads=False,
    moderators="power level 50 or more in this room, the room's creator, or a user the bot's operator listed "
               "(matrix.admin_users)",
    explain="!explain (as a reply to a message or to Footnote's answer) or !explain <event id>",
)
_CONSOLE = Wording(user_prefix="/", moderator_prefix="/", server="console", threads=False,
                   moderators="the console user")


def wording_for(platform: str) -> Wording:
    """The wording of ``platform`` (``discord``, ``matrix``; anything else reads like the console)."""
    return {"discord": _DISCORD, "matrix": _MATRIX}.get(platform, _CONSOLE)
