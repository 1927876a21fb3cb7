"""One small error tree. The CLI turns these into a one-line message and exit code 1, never a traceback."""

from __future__ import annotations

__all__ = ["FootnoteError", "ConfigError", "KnowledgeError", "ModelError", "StorageError"]


class FootnoteError(Exception):
    """Base class for errors a person can act on: the message says what was wrong, where, and what to do."""


class ConfigError(FootnoteError):
    """The configuration file or an environment override is invalid."""


class KnowledgeError(FootnoteError):
    """The knowledge files are invalid. ``problems`` holds every ``file:line field: message`` found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the knowledge files:\n" + "\n".join(
            f"  {p}" for p in self.problems))


class ModelError(FootnoteError):
    """The bundled embedding model is missing or does not match its checksum."""


class StorageError(FootnoteError):
    """The database cannot be reached, refuses the login, or cannot do what was asked (say, a backup)."""
