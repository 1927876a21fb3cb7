"""Footnote on Discord: a thin adapter between discord.py and the engine.

Theory of operation:

* **Translate, never decide.** Channel messages become :class:`~bot.messages.Message`, reactions
  :class:`~bot.messages.Reaction`, slash commands :class:`~bot.messages.Command`. The engine's
  ``Reply`` becomes a reply with an embed and buttons (``mention_author=False``; with ``thread_mode`` the
  answer goes into a new thread on the message), ``React`` adds 🔎. Cooldowns, caps, modes, bots and edits
  are the engine's business; the adapter only drops what it cannot translate (its own messages, system
  messages, messages without text) and channels outside ``channel_ids``. discord.py handles each event in
  its own task, so the adapter hands messages and reactions to the engine one at a time, in gateway order:
  a burst cannot slip past the caps between the engine's count and its write.
* **Nobody gets pinged.** The client is built with ``AllowedMentions.none()``; answers escape user text.
* **Degrade, don't die.** Without the privileged message-content intent Discord closes the gateway with
  4014; the adapter logs how to enable it and reconnects without it, so slash commands and mentions keep
  working. A rejected token is one :class:`DiscordLoginError`, never a traceback.
* **Sharding.** ``shard_count``/``shard_ids`` select :class:`discord.AutoShardedClient`; each process
  runs only its shards, and per-guild state lives with the shard that owns the guild.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections import deque
from typing import TYPE_CHECKING, Any

import discord

from ..config import DiscordConfig
from ..errors import ConfigError, FootnoteError
from ..messages import Command, Explanation, Feedback, Message, Notice, React, Reaction, Reply
from .discord_commands import build_tree
from .discord_errors import CONNECTION_ERRORS, DiscordConnectionError, quiet_discord_logs
from .discord_views import FeedbackButton, MoreContextButton, answer_embed, answer_view
from .inflight import InFlight

if TYPE_CHECKING:
    from ..engine import Engine
    from ..messages import Action

__all__ = ["DiscordAdapter", "DiscordLoginError", "FootnoteClient", "FootnoteShardedClient", "intents_for"]

log = logging.getLogger(__name__)
quiet_discord_logs()

PLATFORM = "discord"
_PORTAL_HINT = ("Enable it at https://discord.com/developers/applications -> your application -> Bot -> "
                "Privileged Gateway Intents -> Message Content Intent, then restart Footnote.")
_ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
_THREAD_NAME_MAX = 100


class DiscordLoginError(FootnoteError):
    """Discord refused the bot token."""


def intents_for(*, message_content: bool) -> discord.Intents:
    """Guilds, guild messages, reactions and (if allowed) message content; nothing else."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.guild_reactions = True
    intents.message_content = message_content
    return intents


class _Hooks:
    """discord.py event methods, forwarded to the adapter (mixed into both client classes)."""

    footnote: DiscordAdapter

    async def setup_hook(self) -> None:
        await self.footnote._setup(self)  # type: ignore[arg-type]

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # Discord allows one IDENTIFY per 5 seconds per bucket; the delay is tunable for tests.
        if not initial:
            await asyncio.sleep(self.footnote.identify_delay)

    async def on_ready(self) -> None:
        self.footnote._set_connected(True, "ready")

    async def on_resumed(self) -> None:
        self.footnote._set_connected(True, "resumed")

    async def on_disconnect(self) -> None:
        self.footnote._set_connected(False, "disconnected")

    async def on_message(self, message: discord.Message) -> None:
        await self.footnote.on_message(message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        if before.content != after.content:
            await self.footnote.on_message(after, is_edit=True)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.footnote.on_reaction(payload)


class FootnoteClient(_Hooks, discord.Client):
    """A single-connection client that forwards events to its :class:`DiscordAdapter`."""


class FootnoteShardedClient(_Hooks, discord.AutoShardedClient):
    """The sharded client, for ``shard_count``/``shard_ids`` deployments."""


class DiscordAdapter:
    """Runs Footnote on one Discord application until :meth:`close` is called."""

    def __init__(self, engine: Engine, config: DiscordConfig, *, status: dict[str, Any] | None = None,
                 guild_ready_timeout: float = 2.0, identify_delay: float = 5.0) -> None:
        """Prepare the adapter; nothing touches the network before :meth:`start`.

        Args:
            engine: decides what to do with each message, command and reaction.
            config: the ``discord`` section of the configuration (token, guilds, roles, sharding...).
            status: a dict kept up to date for health checks (``connected``, ``guilds``, ``shards``,
                ``message_content``, ``latency_ms``).
            guild_ready_timeout: seconds discord.py waits for more guilds before it is ready.
            identify_delay: seconds between two shards' IDENTIFYs (Discord's limit is 5).
        """
        self.engine = engine
        self.config = config
        self.status: dict[str, Any] = status if status is not None else {}
        self.guild_ready_timeout = guild_ready_timeout
        self.identify_delay = identify_delay
        self.message_content = True
        self.client: FootnoteClient | FootnoteShardedClient | None = None
        #: Ids of the last gateway events fully handled (``("message", id)``...), for health checks and tests.
        self.handled: deque[tuple[str, int]] = deque(maxlen=512)
        self._closing = False
        self._connected = False
        self._synced = False
        self._ready = asyncio.Event()
        #: Handlers still running; close() lets them finish (a reply and its database row) before returning.
        self._inflight = InFlight()
        self.status.update(connected=False, message_content=None)

    # ---------------------------------------------------------------------------------- lifecycle

    @property
    def is_connected(self) -> bool:
        """True while the gateway connection is up (after READY or RESUMED, until a disconnect)."""
        return self._connected and self.client is not None and not self.client.is_closed()

    def _token(self) -> str:
        if self.config.token is None or not self.config.token.get_secret_value().strip():
            raise ConfigError("discord.token is not set: put the bot token in FOOTNOTE_DISCORD_TOKEN "
                              "(or discord.token in the config file).")
        return self.config.token.get_secret_value().strip()

    def build_client(self, *, message_content: bool) -> FootnoteClient | FootnoteShardedClient:
        """A new discord.py client with Footnote's intents, mention policy and commands."""
        options: dict[str, Any] = dict(
            intents=intents_for(message_content=message_content),
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            guild_ready_timeout=self.guild_ready_timeout,
            enable_debug_events=False,
        )
        client: FootnoteClient | FootnoteShardedClient
        if self.config.shard_count is not None or self.config.shard_ids:
            count = None if self.config.shard_count == "auto" else self.config.shard_count
            client = FootnoteShardedClient(shard_count=count, shard_ids=self.config.shard_ids, **options)
        else:
            client = FootnoteClient(**options)
        client.footnote = self
        self.tree = build_tree(client, self)
        return client

    async def start(self) -> None:
        """Log in, connect and handle events until :meth:`close`.

        Raises:
            ConfigError: no token is configured.
            DiscordLoginError: Discord rejected the token.
        """
        token = self._token()
        while not self._closing:
            self.client = self.build_client(message_content=self.message_content)
            self.status["message_content"] = self.message_content
            try:
                async with self.client:
                    await self.client.start(token, reconnect=True)
                return
            except discord.LoginFailure:
                raise DiscordLoginError("Discord rejected the bot token (401 Unauthorized). Copy a fresh token "
                                        "from the Developer Portal (Bot -> Reset Token) into "
                                        "FOOTNOTE_DISCORD_TOKEN.") from None
            except discord.PrivilegedIntentsRequired:
                if not self.message_content:
                    raise DiscordLoginError("Discord refused a privileged intent Footnote did not ask for.") from None
                log.warning("The Message Content intent is not enabled for this bot, so Footnote cannot read "
                            "channel messages. It will answer slash commands and messages that mention it. %s",
                            _PORTAL_HINT)
                self.message_content = False
            except CONNECTION_ERRORS as exc:
                raise DiscordConnectionError(exc) from None
            except discord.ConnectionClosed as exc:
                if exc.code == 4004:
                    raise DiscordLoginError("Discord closed the gateway: authentication failed (4004). Check "
                                            "FOOTNOTE_DISCORD_TOKEN.") from None
                raise
            finally:
                self._set_connected(False, "stopped")

    async def close(self) -> None:
        """Stop taking events, let in-flight replies finish, then disconnect and stop :meth:`start`."""
        self._closing = True
        if not await self._inflight.wait(timeout=10):
            log.warning("closing with %d Discord handler(s) still running", self._inflight.count)
        if self.client is not None:
            await self.client.close()

    async def wait_until_ready(self, timeout: float | None = None) -> None:
        """Wait for the first READY (every shard's guilds received)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    def _set_connected(self, value: bool, why: str) -> None:
        if value != self._connected:
            log.info("discord gateway %s", why)
        self._connected = value
        client = self.client
        self.status.update(connected=value, state="connected" if value else why)
        if value and client is not None:
            self._ready.set()
            latency = client.latency
            self.status.update(guilds=len(client.guilds),
                               latency_ms=round(latency * 1000, 1) if math.isfinite(latency) else None,
                               shards=sorted(getattr(client, "shards", {}) or [0]))

    async def _setup(self, client: discord.Client) -> None:
        """After login, before the gateway: persistent buttons, command sync, intent check."""
        client.add_dynamic_items(MoreContextButton, FeedbackButton)
        flags = client.application_flags
        if self.message_content and not (flags.gateway_message_content or flags.gateway_message_content_limited):
            log.warning("The Developer Portal does not show the Message Content intent as enabled; Discord "
                        "may refuse the connection. %s", _PORTAL_HINT)
        if not self._synced:
            await self.sync_commands()
            self._synced = True

    async def sync_commands(self) -> int:
        """Register the commands: in each configured guild (instant), or globally. Returns how many."""
        count = 0
        try:
            if self.config.guild_ids:
                for guild_id in self.config.guild_ids:
                    guild = discord.Object(guild_id)
                    self.tree.copy_global_to(guild=guild)
                    count = len(await self.tree.sync(guild=guild))
                    log.info("synced %d commands to guild %s", count, guild_id)
            else:
                count = len(await self.tree.sync())
                log.info("synced %d global commands (they can take a while to appear)", count)
        except discord.Forbidden:
            log.warning("Discord refused the command sync (Missing Access): invite the bot with the "
                        "applications.commands scope to every guild in discord.guild_ids.")
        except discord.HTTPException as exc:
            log.warning("command sync failed: %s %s", exc.status, exc.text)
        return count

    # ---------------------------------------------------------------------------------- messages

    def _watched(self, channel: Any) -> bool:
        ids = self.config.channel_ids
        if not ids:
            return True
        return channel.id in ids or getattr(channel, "parent_id", None) in ids

    async def on_message(self, message: discord.Message, *, is_edit: bool = False) -> None:
        """Translate a channel message for the engine and carry out what it decides."""
        if self._closing:
            return
        with self._inflight:
            try:
                client = self.client
                if client is None or client.user is None or message.author.id == client.user.id:
                    return
                if message.type not in _ANSWERED_TYPES or not message.content.strip():
                    return
                addressed = message.guild is None or client.user in message.mentions
                if not addressed and not self._watched(message.channel):
                    return
                text = re.sub(rf"<@!?{client.user.id}>", " ", message.content).strip() if addressed else message.content
                msg = Message(
                    platform=PLATFORM, channel_id=str(message.channel.id), author_id=str(message.author.id),
                    message_id=str(message.id), text=text, timestamp=message.created_at.timestamp(),
                    server_id=str(message.guild.id) if message.guild else None,
                    author_is_bot=message.author.bot or message.webhook_id is not None,
                    reply_to_id=str(message.reference.message_id) if message.reference and
                    message.reference.message_id else None,
                    is_edit=is_edit, addressed_to_bot=addressed,
                )
                await self._perform(await self.engine.handle_message(msg))
            finally:
                self.handled.append(("edit" if is_edit else "message", message.id))

    async def on_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        """🔎 or 👍/👎 from a reader: ask the engine, then answer if it says so."""
        if self._closing:
            return
        with self._inflight:
            try:
                client = self.client
                if client is None or client.user is None or payload.user_id == client.user.id:
                    return
                if not payload.emoji.is_unicode_emoji():
                    return
                user = payload.member or client.get_user(payload.user_id)
                reaction = Reaction(
                    platform=PLATFORM, channel_id=str(payload.channel_id), message_id=str(payload.message_id),
                    user_id=str(payload.user_id), emoji=str(payload.emoji), timestamp=discord.utils.utcnow().timestamp(),
                    server_id=str(payload.guild_id) if payload.guild_id else None,
                    user_is_bot=bool(user and user.bot),
                )
                await self._perform(await self.engine.handle_reaction(reaction))
            finally:
                self.handled.append(("reaction", payload.message_id))

    async def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            try:
                if isinstance(action, Reply):
                    await self._send_reply(action)
                elif isinstance(action, React):
                    await self._add_reaction(action)
            except discord.HTTPException as exc:
                log.warning("could not answer in channel %s: %s %s", action.message.channel_id, exc.status,
                            exc.text or "")

    def _target(self, channel_id: str, message_id: str) -> discord.PartialMessage:
        assert self.client is not None
        channel = self.client.get_channel(int(channel_id)) or self.client.get_partial_messageable(int(channel_id))
        return channel.get_partial_message(int(message_id))  # type: ignore[union-attr]

    async def _send_reply(self, action: Reply) -> None:
        target = self._target(action.message.channel_id, action.message.message_id)
        embed, view = answer_embed(action.answer), answer_view(action.answer)
        in_thread = self.config.thread_mode if action.in_thread is None else action.in_thread
        if in_thread and isinstance(target.channel, discord.TextChannel):
            thread = await target.create_thread(name=action.answer.claim.claim[:_THREAD_NAME_MAX])
            sent = await thread.send(embed=embed, view=view)
        else:
            sent = await target.reply(embed=embed, view=view, mention_author=False)
        await self.engine.record_sent(action, str(sent.id))

    async def _add_reaction(self, action: React) -> None:
        target = self._target(action.message.channel_id, action.message.message_id)
        await target.add_reaction(action.emoji)
        await self.engine.record_sent(action, action.message.message_id)

    # ---------------------------------------------------------------------------------- interactions

    def is_moderator(self, interaction: discord.Interaction) -> bool:
        """Manage Server in this channel, or one of ``moderator_role_ids``."""
        if interaction.guild_id is None:
            return False
        if interaction.permissions.manage_guild:
            return True
        roles = getattr(interaction.user, "roles", [])
        return any(role.id in self.config.moderator_role_ids for role in roles)

    async def run_command(self, interaction: discord.Interaction, name: str, args: str, *,
                          target: str | None = None, ephemeral: bool = False, moderator: bool = False) -> None:
        """Run one command through the engine and answer the interaction with its embed."""
        if moderator:
            await interaction.response.defer(ephemeral=True, thinking=True)
        cmd = Command(
            name=name, args=args, platform=PLATFORM, channel_id=str(interaction.channel_id),
            author_id=str(interaction.user.id), timestamp=interaction.created_at.timestamp(),
            server_id=str(interaction.guild_id) if interaction.guild_id else None,
            is_moderator=self.is_moderator(interaction), target_message_id=target,
        )
        answer = await self.engine.handle_command(cmd)
        private = moderator or ephemeral or isinstance(answer, Explanation) or (
            isinstance(answer, Notice) and (answer.private or not answer.ok))
        embed = answer_embed(answer)
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=private)

    async def on_more_context(self, interaction: discord.Interaction, claim_id: str) -> None:
        """"More context": the full answer, privately."""
        await self.run_command(interaction, "source", claim_id, ephemeral=True)

    async def on_feedback(self, interaction: discord.Interaction, helpful: bool) -> None:
        """👍/👎 button: store the vote against the answer it sits under."""
        message_id = str(interaction.message.id) if interaction.message else ""
        with self._inflight:
            stored = await self.engine.record_feedback(Feedback(
                platform=PLATFORM, reply_message_id=message_id, user_id=str(interaction.user.id),
                helpful=helpful, timestamp=interaction.created_at.timestamp()))
        text = "Thanks, your feedback was recorded." if stored is not False else (
            "Feedback only works on Footnote's own answers.")
        await interaction.response.send_message(text, ephemeral=True)

    async def on_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Log the failure and tell the user, privately, in plain words."""
        log.error("command %s failed", getattr(interaction.command, "qualified_name", "?"), exc_info=error)
        text = "Sorry, that did not work. The moderators can find the details in Footnote's log."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            pass
