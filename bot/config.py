"""The configuration file (``config.yaml``) and its ``FOOTNOTE_*`` environment overrides.

Every key is validated; an unknown key or a wrong type is a :class:`ConfigError` naming the key and the
file. Secrets (tokens, passwords) can come from the environment so they never sit in the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from .errors import ConfigError

__all__ = [
    "Config",
    "DiscordConfig",
    "KnowledgeConfig",
    "MatchConfig",
    "MatrixConfig",
    "MetricsConfig",
    "OperatorsConfig",
    "PolicyConfig",
    "SiteConfig",
    "load_config",
    "BUNDLED_KNOWLEDGE",
    "ENV_OVERRIDES",
    "config_sources",
    "find_config",
    "matrix_store_dir",
    "unknown_env_names",
]

BUNDLED_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"

#: Environment variables that override a key: FOOTNOTE_DISCORD_TOKEN -> discord.token. A variable that is
#: set and not empty wins over the config file, which wins over the defaults (`config check` shows which).
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "FOOTNOTE_DISCORD_TOKEN": ("discord", "token"),
    "FOOTNOTE_MATRIX_HOMESERVER": ("matrix", "homeserver"),
    "FOOTNOTE_MATRIX_USER_ID": ("matrix", "user_id"),
    "FOOTNOTE_MATRIX_ACCESS_TOKEN": ("matrix", "access_token"),
    "FOOTNOTE_MATRIX_PASSWORD": ("matrix", "password"),
    "FOOTNOTE_DATABASE": ("database",),
    "FOOTNOTE_METRICS_ENABLED": ("metrics", "enabled"),
    "FOOTNOTE_METRICS_HOST": ("metrics", "host"),
    "FOOTNOTE_METRICS_PORT": ("metrics", "port"),
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
    confident: float = Field(0.64, ge=0, le=1, description="Combined score needed to answer.")
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


class OperatorsConfig(_Section):
    """The people who run the bot: they may reload the knowledge base and see bot-wide stats.

    Moderators of one server (Discord guild, Matrix room) only ever see and change their own server.
    """

    #: Discord user ids (numbers), e.g. [123456789012345678].
    discord: list[int] = Field(default_factory=list)
    #: Matrix user ids, e.g. ["@alice:example.org"].
    matrix: list[str] = Field(default_factory=list)

    def for_platform(self, platform: str) -> frozenset[str]:
        """The operators' user ids on ``platform``, as the adapters write them (strings)."""
        ids = self.discord if platform == "discord" else self.matrix if platform == "matrix" else []
        return frozenset(str(i) for i in ids)


class MetricsConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class SiteConfig(_Section):
    """The public website (``python -m bot site build``) and the link chat answers add to it."""

    #: Where the built site is published, e.g. https://footnote.example.org/ ; chat answers link there when set.
    base_url: str | None = None
    #: Who publishes the site: the ClaimReview ``author`` and the name in the page footer.
    publisher: str = "Footnote"

    @field_validator("base_url")
    @classmethod
    def _http_address(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment or any(
                c.isspace() for c in value):
            raise ValueError(f"'{value}' is not a web address; write the address the site is published at, "
                             "like https://footnote.example.org/ (http or https, no ? or #)")
        return value if value.endswith("/") else value + "/"

    @field_validator("publisher")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give the name of the person or group publishing the site")
        return value.strip()

    def page_url(self, claim_id: str) -> str | None:
        """The public address of an entry's page, or None when no ``base_url`` is set."""
        from .site.paths import page_url

        return page_url(self.base_url, claim_id)


class Config(_Section):
    """The whole configuration. Every key has a default, so an empty file is a valid console setup."""

    #: A SQLite file path (the default), or a ``postgresql://user@host/db`` URL shared by several processes.
    database: Path | str = Path("footnote.sqlite3")
    #: PostgreSQL only: connections each process keeps at most (a decision holds one for a few ms).
    database_pool_size: int = Field(10, ge=1, le=500)
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    match: MatchConfig = Field(default_factory=MatchConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    discord: DiscordConfig | None = None
    matrix: MatrixConfig | None = None
    operators: OperatorsConfig = Field(default_factory=OperatorsConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    site: SiteConfig = Field(default_factory=SiteConfig)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database", mode="before")
    @classmethod
    def _database_path_or_url(cls, value: Any) -> Any:
        """A ``postgresql://`` URL stays a string; anything else is a path to a SQLite file."""
        if isinstance(value, str) and "://" in value:
            if not value.startswith(("postgresql://", "postgres://")):
                raise ValueError("a database URL must start with postgresql:// (or give a file path for SQLite)")
            return value
        return Path(value) if isinstance(value, str) else value

    @property
    def uses_postgres(self) -> bool:
        """True when ``database`` is a PostgreSQL URL (shared by processes), False for a SQLite file."""
        return isinstance(self.database, str)

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
        if Path(path).is_dir():
            raise ConfigError(
                f"{where}: the config path is a directory, not a file. (Docker creates an empty directory when "
                f"a bind-mounted file does not exist on the host.) Remove the directory and create the file, or "
                f"point FOOTNOTE_CONFIG / --config at a YAML file.")
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
    if path is not None and isinstance(config.database, Path) and not config.database.is_absolute():
        config = config.model_copy(update={"database": Path(path).resolve().parent / config.database})
    return config


#: Variables Footnote reads besides the overrides.
OTHER_ENV_NAMES = ("FOOTNOTE_CONFIG",)


def find_config(arg: str | None, environ: dict[str, str] | None = None) -> Path | None:
    """The config file to read: ``--config``, else ``$FOOTNOTE_CONFIG``, else ``./config.yaml`` if it
    exists, else None (defaults and environment only)."""
    environ = dict(os.environ if environ is None else environ)
    if arg:
        return Path(arg)
    if environ.get("FOOTNOTE_CONFIG"):
        return Path(environ["FOOTNOTE_CONFIG"])
    default = Path("config.yaml")
    return default if default.exists() else None


def unknown_env_names(environ: dict[str, str] | None = None) -> list[str]:
    """``FOOTNOTE_*`` variables Footnote does not read (misspelt?), each with the nearest known name."""
    import difflib

    environ = dict(os.environ if environ is None else environ)
    known = [*ENV_OVERRIDES, *OTHER_ENV_NAMES]
    out = []
    for name in sorted(n for n in environ if n.startswith("FOOTNOTE_") and n not in known):
        near = difflib.get_close_matches(name, known, n=1)
        out.append(f"{name} (did you mean {near[0]}?)" if near else name)
    return out


def config_sources(path: Path | None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Where each setting comes from, for ``config check``: the file, the keys it sets, the environment
    variables that override it (and which of those replace a value written in the file). Never a value."""
    environ = dict(os.environ if environ is None else environ)
    in_file: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            loaded = None
        in_file = loaded if isinstance(loaded, dict) else {}

    def file_has(keys: tuple[str, ...]) -> bool:
        node: Any = in_file
        for key in keys:
            if not isinstance(node, dict) or node.get(key) is None:
                return False
            node = node[key]
        return True

    def file_keys(node: Any, prefix: str = "") -> list[str]:
        if node is None:  # `key: null` in the file means the default
            return []
        if not isinstance(node, dict):
            return [prefix[:-1]]
        return [k for key, value in node.items() for k in file_keys(value, f"{prefix}{key}.")]

    env = {".".join(keys): name for name, keys in ENV_OVERRIDES.items() if environ.get(name)}
    return {
        "precedence": "environment (FOOTNOTE_*) > config file > defaults",
        "config_file": str(Path(path).absolute()) if path is not None else None,
        "from_environment": env,
        "environment_overrides_file": sorted(key for key, name in env.items()
                                             if file_has(ENV_OVERRIDES[name])),
        "from_file": sorted(k for k in file_keys(in_file) if k and k not in env) if in_file else [],
        "ignored_environment": unknown_env_names(environ),
    }


def matrix_store_dir(config: Config) -> Path:
    """Where the Matrix encryption keys live: ``matrix.store_path``, else ``matrix-store/`` by the SQLite
    database (or in the working directory when the database is PostgreSQL)."""
    if config.matrix is not None and config.matrix.store_path is not None:
        return config.matrix.store_path
    if config.uses_postgres:
        return Path("matrix-store")
    return config.database.parent / "matrix-store"
