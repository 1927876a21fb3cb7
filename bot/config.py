"""The configuration file (``config.yaml``) and its ``FOOTNOTE_*`` environment overrides.

Every key is validated; an unknown key or a wrong type is a :class:`ConfigError` naming the key and the
file. Secrets (tokens, passwords) can come from the environment so they never sit in the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from .errors import ConfigError

__all__ = [
    "Config",
    "DiscordConfig",
    "KnowledgeConfig",
    "MatchConfig",
    "MatrixConfig",
    "MetricsConfig",
    "PolicyConfig",
    "load_config",
    "BUNDLED_KNOWLEDGE",
]

BUNDLED_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"

#: Environment variables that override a key: FOOTNOTE_DISCORD_TOKEN -> discord.token.
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "FOOTNOTE_DISCORD_TOKEN": ("discord", "token"),
    "FOOTNOTE_MATRIX_HOMESERVER": ("matrix", "homeserver"),
    "FOOTNOTE_MATRIX_USER_ID": ("matrix", "user_id"),
    "FOOTNOTE_MATRIX_ACCESS_TOKEN": ("matrix", "access_token"),
    "FOOTNOTE_MATRIX_PASSWORD": ("matrix", "password"),
    "FOOTNOTE_DATABASE": ("database",),
    "FOOTNOTE_METRICS_ENABLED": ("metrics", "enabled"),
    "FOOTNOTE_LOG_FORMAT": ("log_format",),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KnowledgeConfig(_Section):
    #: Directories read after the bundled knowledge base; a later directory overrides an id.
    extra_dirs: list[Path] = Field(default_factory=list)
    bundled: bool = True
    watch: bool = True


class MatchConfig(_Section):
    confident: float = Field(0.62, ge=0, le=1, description="Combined score needed to answer.")
    suggest: float = Field(0.6, ge=0, le=1, description="Combined score needed for a quiet 🔎.")
    margin: float = Field(0.08, ge=0, le=1, description="Lead over the runner-up claim needed to answer.")
    short_words: int = Field(5, ge=1, description="Messages with fewer words only ever reach 'suggest'.")
    context_minutes: float = Field(5, ge=0, description="How long a topic mention keeps a channel on topic.")
    context_messages: int = Field(8, ge=0, description="...or for how many messages.")


class PolicyConfig(_Section):
    cooldown_minutes: float = Field(30, ge=0, description="Answer a claim once per channel per cooldown.")
    channel_per_hour: int = Field(6, ge=0, description="Answers per channel per hour.")
    user_per_hour: int = Field(3, ge=0, description="Answers to one user per hour.")
    react_per_hour: int = Field(6, ge=0, description="🔎 reactions per channel per hour.")
    default_mode: Literal["reply", "react", "off"] = "reply"


class DiscordConfig(_Section):
    token: SecretStr | None = None
    #: Guilds whose slash commands sync immediately; empty = global sync.
    guild_ids: list[int] = Field(default_factory=list)
    #: Roles that count as moderators in addition to Manage Server.
    moderator_role_ids: list[int] = Field(default_factory=list)
    #: Channels where Footnote answers unprompted; empty = every channel it can read.
    channel_ids: list[int] = Field(default_factory=list)
    thread_mode: bool = False
    #: Total shards (uses the sharded client); "auto" asks Discord for its recommended count.
    shard_count: int | Literal["auto"] | None = None
    shard_ids: list[int] | None = None


class MatrixConfig(_Section):
    homeserver: str | None = None
    user_id: str | None = None
    access_token: SecretStr | None = None
    password: SecretStr | None = None
    device_name: str = "Footnote"
    #: Rooms where Footnote answers unprompted; empty = every joined room.
    rooms: list[str] = Field(default_factory=list)
    #: Accept invites from these user ids or servers (":example.org"); empty = accept all.
    invite_allowlist: list[str] = Field(default_factory=list)
    admin_users: list[str] = Field(default_factory=list)
    #: Where the end-to-end encryption keys live; default: next to the database.
    store_path: Path | None = None
    encryption: bool = True


class MetricsConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class Config(_Section):
    """The whole configuration. Every key has a default, so an empty file is a valid console setup."""

    database: Path = Path("footnote.sqlite3")
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    match: MatchConfig = Field(default_factory=MatchConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    discord: DiscordConfig | None = None
    matrix: MatrixConfig | None = None
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def discord_enabled(self) -> bool:
        return self.discord is not None and self.discord.token is not None

    @property
    def matrix_enabled(self) -> bool:
        return self.matrix is not None and self.matrix.homeserver is not None and self.matrix.user_id is not None

    def knowledge_dirs(self) -> list[Path]:
        """The knowledge directories in load order: bundled first, then local additions."""
        dirs = [BUNDLED_KNOWLEDGE] if self.knowledge.bundled else []
        return dirs + list(self.knowledge.extra_dirs)


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> None:
    for name, path in ENV_OVERRIDES.items():
        value = environ.get(name)
        if not value:
            continue
        node = data
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = value


def load_config(path: Path | None, environ: dict[str, str] | None = None) -> Config:
    """Read ``path`` (or nothing: all defaults), apply ``FOOTNOTE_*`` overrides, and validate.

    Raises:
        ConfigError: with the file, the key and what to do, for YAML errors, unknown keys or bad values.
    """
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    where = str(path) if path else "(defaults)"
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read the config file ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: the config file is not UTF-8 text; save it as UTF-8") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            raise ConfigError(f"{where}{at}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible date: 2001-13-01
            raise ConfigError(f"{where}: invalid value ({exc})") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{where}: the config must be a mapping of keys, not {type(loaded).__name__}")
        data = loaded
    _apply_env(data, environ)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = "unknown key (check the spelling against config.example.yaml)" if err["type"] == (
                "extra_forbidden") else err["msg"]
            problems.append(f"{where}: {key}: {msg}")
        raise ConfigError("\n".join(problems)) from None
    if path is not None and not config.database.is_absolute():
        config = config.model_copy(update={"database": Path(path).resolve().parent / config.database})
    return config
