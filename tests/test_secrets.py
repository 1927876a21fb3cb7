"""Secrets: configured tokens and passwords never reach printed output or a log line.

Covers the ways a secret could leak: the Config object's repr and dumps, ``python -m bot config check``
(secrets come from ``FOOTNOTE_*`` environment variables, as in production), a ConfigError about a bad
secret, and log lines in both formats once :func:`~bot.logs.register_secret` knows the secret, whether it
sits in the message, its arguments, an ``extra`` field or an exception's traceback.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.errors import ConfigError
from bot.logs import register_secret, setup_logging

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "FOOTNOTE-TEST-TOKEN-abc123"
PASSWORD = "FOOTNOTE-TEST-PASSWORD-xyz789"
ACCESS_TOKEN = "FOOTNOTE-TEST-ACCESS-syt_def456"
SECRETS = (TOKEN, PASSWORD, ACCESS_TOKEN)
MASK = "**********"  # how pydantic's SecretStr prints
ENV = {"FOOTNOTE_DISCORD_TOKEN": TOKEN, "FOOTNOTE_MATRIX_PASSWORD": PASSWORD,
       "FOOTNOTE_MATRIX_ACCESS_TOKEN": ACCESS_TOKEN, "FOOTNOTE_MATRIX_HOMESERVER": "https://matrix.example",
       "FOOTNOTE_MATRIX_USER_ID": "@footnote:matrix.example"}


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} appears in {where}: {text[-2000:]}"


def test_config_repr_and_dumps_mask_secrets() -> None:
    """A Config holding a token and a password prints, reprs and dumps them masked."""
    config = Config.model_validate({"discord": {"token": TOKEN},
                                    "matrix": {"password": PASSWORD, "access_token": ACCESS_TOKEN}})
    assert config.discord is not None and config.discord.token is not None
    assert config.discord.token.get_secret_value() == TOKEN  # the secret is there, just not printed
    for where, text in [("repr", repr(config)), ("str", str(config)), ("json", config.model_dump_json()),
                        ("dump", json.dumps(config.model_dump(mode="json"), default=str))]:
        assert_no_secret(text, where)
        assert MASK in text, where


def test_load_config_takes_secrets_from_the_environment_and_masks_them(tmp_path: Path) -> None:
    """FOOTNOTE_* variables fill in the secrets, which stay masked in the loaded Config's output."""
    path = tmp_path / "config.yaml"
    path.write_text("discord: {guild_ids: [1]}\n", encoding="utf-8")
    config = load_config(path, environ=ENV)
    assert config.discord is not None and config.discord.token is not None
    assert config.matrix is not None and config.matrix.password is not None
    assert config.discord.token.get_secret_value() == TOKEN
    assert config.matrix.password.get_secret_value() == PASSWORD
    assert_no_secret(repr(config) + config.model_dump_json(), "the loaded config")


def test_config_error_about_a_secret_does_not_quote_it(tmp_path: Path) -> None:
    """A ConfigError about a badly shaped secret names the key, never the value."""
    path = tmp_path / "config.yaml"
    path.write_text(f"discord:\n  token: [{TOKEN}]\nmatrix:\n  password: {{value: {PASSWORD}}}\n"
                    f"  access_tokn: {ACCESS_TOKEN}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert "discord.token" in message and "matrix.password" in message and "access_tokn" in message
    assert_no_secret(message, "the ConfigError")


def test_config_check_command_masks_secrets(tmp_path: Path) -> None:
    """`python -m bot config check` with secrets in the environment prints them masked, on both streams."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
    env |= ENV | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot", "config", "check"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert_no_secret(done.stdout, "stdout")
    assert_no_secret(done.stderr, "stderr")
    printed = json.loads(done.stdout)
    assert printed["discord"]["token"] == MASK
    assert printed["matrix"]["password"] == MASK and printed["matrix"]["access_token"] == MASK


# ---------------------------------------------------------------------------------------------- logs


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """setup_logging() replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    engine = logging.getLogger("footnote.engine")
    engine_level = engine.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        engine.setLevel(engine_level)


def _log_everywhere(secret: str) -> None:
    """Log ``secret`` in every place a log line can carry it."""
    log = logging.getLogger("footnote.test-secrets")
    log.warning(f"connecting with token {secret}")
    log.warning("connecting with token %s", secret)
    log.warning("login", extra={"event": "login", "credential": secret})
    try:
        raise RuntimeError(f"the server rejected {secret}")
    except RuntimeError:
        log.exception("login failed")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_registered_secret_is_redacted_in_logs(fmt: str, logging_restored: None,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Once registered, a token is masked in the message, its arguments, extras and tracebacks."""
    for secret in SECRETS:
        register_secret(secret)
    setup_logging(fmt)
    for secret in SECRETS:
        _log_everywhere(secret)
    err = capsys.readouterr().err
    assert err.count("***") >= 4 * len(SECRETS), err  # the lines were written, with the secrets masked
    assert_no_secret(err, f"{fmt} logs")
    if fmt == "json":
        assert all(json.loads(line) for line in err.splitlines())


def test_secret_with_quote_or_backslash_is_redacted_in_json_logs(logging_restored: None,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A Matrix password such as `pa"ss\\word` is masked in JSON extras and tracebacks too."""
    password = 'FOOTNOTE-"quoted"\\pw-42'
    register_secret(password)
    setup_logging("json")
    _log_everywhere(password)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 4
    leaked = [line for line in lines if any(password in str(value) for value in line.values())]
    assert not leaked, leaked
