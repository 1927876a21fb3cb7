"""Logging: readable text by default, JSON lines with ``--log-format json``. One line per decision.

Message bodies are never logged at INFO, and :class:`RedactSecrets` masks any configured secret that
would otherwise reach a log line (a token pasted into an exception message, say).
"""

from __future__ import annotations

import json
import logging
import sys
import time

__all__ = ["setup_logging", "JsonFormatter", "RedactSecrets", "register_secret"]

_SECRETS: set[str] = set()
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every log line from now on (tokens, passwords)."""
    if value and len(value) >= 6:
        _SECRETS.add(value)


def _redact(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def _scrub(value: object) -> object:
    """``value`` with registered secrets masked in every string inside it."""
    if isinstance(value, str):
        return _redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


class RedactSecrets(logging.Filter):
    """Replaces registered secrets in the message and its arguments with ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg = _redact(record.getMessage())
            record.args = None
        return True


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        # Redact before encoding: JSON escapes a secret's quotes or backslashes and would hide it from a search.
        return json.dumps(_scrub(data), default=lambda o: _redact(str(o)), ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items() if k != "event")
        return _redact(line)


def setup_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Send logs to standard error in ``fmt`` (text or json)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
