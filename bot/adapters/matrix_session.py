"""Matrix login that keeps one device: restore the stored session, or log in once and store it.

The device id and access token live in Footnote's SQLite ``state`` table (``matrix.<user>.device_id``,
``matrix.<user>.access_token``) so every start reuses the same device, and with it the end-to-end
encryption keys in the key store. Secrets are never logged.
"""

from __future__ import annotations

import logging
from typing import Protocol

from nio import AsyncClient, LoginResponse, WhoamiResponse

from ..config import MatrixConfig
from ..errors import ConfigError

__all__ = ["SessionError", "StateStore", "login", "state_key"]

log = logging.getLogger(__name__)


class StateStore(Protocol):
    """The part of :class:`bot.storage.Storage` the Matrix adapter needs for its own state."""

    async def get_state(self, key: str) -> str | None: ...
    async def set_state(self, key: str, value: str) -> None: ...


class SessionError(ConfigError):
    """The homeserver refused every way we have to log in (token and password)."""


def state_key(user_id: str, name: str) -> str:
    """The storage key of one piece of Matrix state for ``user_id``."""
    return f"matrix.{user_id}.{name}"


async def _whoami(client: AsyncClient) -> WhoamiResponse | None:
    resp = await client.whoami()
    return resp if isinstance(resp, WhoamiResponse) else None


async def login(client: AsyncClient, config: MatrixConfig, state: StateStore) -> str:
    """Log ``client`` in and load its key store; return how (``"stored"``, ``"token"`` or ``"password"``).

    Order: the configured access token (the operator's latest word), then the stored session, then the
    password (reusing the stored device id, so the device and its keys survive a token change).

    Raises:
        SessionError: when no method works; the message says which were tried.
        ConfigError: when ``user_id`` is missing.
    """
    user_id = config.user_id
    if not user_id:
        raise ConfigError("matrix.user_id is required (for example @footnote:example.org)")
    client.user = user_id
    stored_device = await state.get_state(state_key(user_id, "device_id"))
    stored_token = await state.get_state(state_key(user_id, "access_token"))
    tried: list[str] = []

    candidates: list[tuple[str, str]] = []
    if config.access_token is not None:
        candidates.append(("token", config.access_token.get_secret_value()))
    if stored_token and stored_device:
        candidates.append(("stored", stored_token))
    for how, token in candidates:
        client.access_token = token
        who = await _whoami(client)
        tried.append(how)
        if who is None or who.user_id != user_id:
            log.warning("matrix: the %s access token was refused or belongs to another user", how)
            continue
        device_id = who.device_id or stored_device
        if not device_id:
            log.warning("matrix: the homeserver did not say which device the %s token belongs to", how)
            continue
        client.restore_login(user_id, device_id, token)
        await _save(state, user_id, device_id, token)
        log.info("matrix: logged in as %s with the %s session (device %s)", user_id, how, device_id)
        return how

    client.access_token = ""
    if config.password is not None:
        tried.append("password")
        if stored_device:
            client.device_id = stored_device
        resp = await client.login(config.password.get_secret_value(), device_name=config.device_name)
        if isinstance(resp, LoginResponse):
            await _save(state, user_id, resp.device_id, resp.access_token)
            log.info("matrix: logged in as %s with the password (device %s)", user_id, resp.device_id)
            return "password"
        log.warning("matrix: password login failed: %s", getattr(resp, "message", resp))
    raise SessionError(
        f"matrix: cannot log in as {user_id} (tried: {', '.join(tried) or 'nothing'}); set "
        "matrix.access_token or matrix.password (or FOOTNOTE_MATRIX_ACCESS_TOKEN / FOOTNOTE_MATRIX_PASSWORD)")


async def _save(state: StateStore, user_id: str, device_id: str, token: str) -> None:
    await state.set_state(state_key(user_id, "device_id"), device_id)
    await state.set_state(state_key(user_id, "access_token"), token)
