"""Matrix login that keeps one device while it lives, and starts a new one when it is logged out.

Where things are (docs/matrix.md says the same):

* the **device id** (not a secret) in Footnote's database, ``state`` table, ``matrix.<user>.device_id``;
* the **access token** in ``session.json`` in the key store directory, an owner-only file (0600) in an
  owner-only directory (0700), next to the end-to-end keys it unlocks; never in the database;
* the **password** nowhere: it is read from the config or ``FOOTNOTE_MATRIX_PASSWORD`` and only sent to
  the homeserver to log in.

A device the homeserver no longer knows (logged out in Element, deleted by an admin, removed by a password
change) cannot be brought back: logging in again under its id would give a device without keys on the
server while the local key store thinks they were uploaded, and encrypted rooms would fall silent. So
Footnote then logs in as a **new** device, with a new key store, and says so in the log. Secrets are
never logged.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Protocol

from nio import AsyncClient, ErrorResponse, LoginResponse, WhoamiResponse

from ..config import MatrixConfig
from ..errors import ConfigError
from ..private import private_dir, private_file

__all__ = ["SessionError", "SessionFile", "StateStore", "login", "state_key", "LOGGED_OUT"]

log = logging.getLogger(__name__)

#: The homeserver's answer to a token whose device was logged out.
LOGGED_OUT = "M_UNKNOWN_TOKEN"


class StateStore(Protocol):
    """The part of :class:`bot.storage.Storage` the Matrix adapter needs for its own state."""

    async def get_state(self, key: str) -> str | None: ...
    async def set_state(self, key: str, value: str) -> None: ...


class SessionError(ConfigError):
    """The homeserver refused every way we have to log in (token and password)."""


def state_key(user_id: str, name: str) -> str:
    """The storage key of one piece of Matrix state for ``user_id``."""
    return f"matrix.{user_id}.{name}"


class SessionFile:
    """The bot's access token, in an owner-only ``session.json`` in the key store directory."""

    NAME = "session.json"

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / self.NAME

    def load(self, user_id: str) -> tuple[str, str] | None:
        """(device id, access token) stored for ``user_id``, or None."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("user_id") != user_id:
            return None
        device, token = data.get("device_id"), data.get("access_token")
        return (device, token) if isinstance(device, str) and isinstance(token, str) and token else None

    def save(self, user_id: str, device_id: str, token: str) -> None:
        """Write the session atomically, owner-only (the directory too)."""
        private_dir(self.path.parent)
        tmp = self.path.with_name(self.NAME + ".tmp")
        private_file(tmp)
        tmp.write_text(json.dumps({"user_id": user_id, "device_id": device_id, "access_token": token}),
                       encoding="utf-8")
        os.replace(tmp, self.path)

    def forget(self) -> None:
        """Delete the stored token (it no longer works)."""
        self.path.unlink(missing_ok=True)


async def _whoami(client: AsyncClient) -> WhoamiResponse | ErrorResponse:
    return await client.whoami()


def _logged_out(resp: object) -> bool:
    """Whether ``resp`` says the device is gone (a hard logout), not just an expired token."""
    return (isinstance(resp, ErrorResponse) and resp.status_code == LOGGED_OUT
            and not getattr(resp, "soft_logout", False))


async def login(client: AsyncClient, config: MatrixConfig, state: StateStore, session: SessionFile, *,
                new_device: bool = False) -> str:
    """Log ``client`` in and load its key store; return how (``"stored"``, ``"token"``, ``"password"``,
    or ``"new-device"`` when the old device was logged out and a new one was made).

    Order: the configured access token (the operator's latest word), then the stored session, then the
    password, reusing the stored device id unless that device was logged out (``new_device``, or the
    homeserver refuses the stored token as belonging to no device).

    Raises:
        SessionError: when no method works; the message says which were tried and what to do.
        ConfigError: when ``user_id`` is missing.
    """
    user_id = config.user_id
    if not user_id:
        raise ConfigError("matrix.user_id is required (for example @footnote:example.org)")
    client.user = user_id
    stored_device = await state.get_state(state_key(user_id, "device_id")) or None
    stored = session.load(user_id)
    tried: list[str] = []

    candidates: list[tuple[str, str]] = []
    if config.access_token is not None:
        candidates.append(("token", config.access_token.get_secret_value()))
    if stored and not new_device:
        candidates.append(("stored", stored[1]))
    for how, token in candidates:
        client.access_token = token
        who = await _whoami(client)
        tried.append(how)
        if not isinstance(who, WhoamiResponse) or who.user_id != user_id:
            if how == "stored" and _logged_out(who):
                new_device = True
                session.forget()
                log.warning("matrix: the homeserver no longer knows device %s (it was logged out)", stored_device)
            else:
                log.warning("matrix: the %s access token was refused or belongs to another user", how)
            continue
        device_id = who.device_id or (stored[0] if stored and how == "stored" else None)
        if not device_id:
            log.warning("matrix: the homeserver did not say which device the %s token belongs to", how)
            continue
        client.restore_login(user_id, device_id, token)
        await _save(state, session, user_id, device_id, token)
        log.info("matrix: logged in as %s with the %s session (device %s)", user_id, how, device_id)
        return how

    client.access_token = ""
    if config.password is not None:
        tried.append("password")
        reuse = stored_device if stored_device and not new_device else None
        client.device_id = reuse  # type: ignore[assignment]  # None: the homeserver makes a new device
        resp = await client.login(config.password.get_secret_value(), device_name=config.device_name)
        if isinstance(resp, LoginResponse):
            await _save(state, session, user_id, resp.device_id, resp.access_token)
            if new_device:
                log.warning("matrix: logged in as %s as a NEW device %s (the old device %s was logged out); "
                            "its encryption keys are uploaded before it reports connected, so encrypted rooms work "
                            "again for messages sent from now on", user_id, resp.device_id, stored_device)
                return "new-device"
            log.info("matrix: logged in as %s with the password (device %s)", user_id, resp.device_id)
            return "password"
        log.warning("matrix: password login failed: %s", getattr(resp, "message", resp))
    hint = ("the bot's device was logged out; set matrix.password (or FOOTNOTE_MATRIX_PASSWORD) so Footnote "
            "can log in as a new device, or give a new matrix.access_token"
            if new_device else "set matrix.access_token or matrix.password (or FOOTNOTE_MATRIX_ACCESS_TOKEN / "
            "FOOTNOTE_MATRIX_PASSWORD)")
    raise SessionError(f"matrix: cannot log in as {user_id} (tried: {', '.join(tried) or 'nothing'}); {hint}")


async def _save(state: StateStore, session: SessionFile, user_id: str, device_id: str, token: str) -> None:
    await state.set_state(state_key(user_id, "device_id"), device_id)
    session.save(user_id, device_id, token)
