"""Footnote's Matrix device against a real Synapse: a logged-out device is replaced, secrets stay owner-only."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import urllib.parse
from typing import TYPE_CHECKING

import pytest

from bot.adapters.matrix_session import state_key

if TYPE_CHECKING:
    from tests.synapse.fixtures import BotRunner
    from tests.synapse.matrix_user import MatrixUser
    from tests.synapse.server import RegisteredUser, SynapseServer

pytestmark = pytest.mark.e2e

CLAIM = "is it true that every chinese citizen has one national social credit score?"
CLAIM_2 = "so china gives every citizen one single social credit score, right?"


async def _encrypted_room(alice: MatrixUser, bot: BotRunner) -> str:
    room_id = await alice.create_room(invite=(bot.account.user_id,), encrypted=True)
    await alice.wait_joined(room_id, bot.account.user_id)
    await alice.ensure_devices(bot.account.user_id, device_id=bot.status["device_id"])
    return room_id


async def _wait_for_new_device(bot: BotRunner, old: str, timeout: float = 30.0) -> str:
    for _ in range(int(timeout * 10)):
        device = bot.status.get("device_id")
        if device and device != old and bot.adapter is not None and bot.adapter.is_connected:
            return str(device)
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bot did not log in as a new device within {timeout:.0f} s (still {old})")


async def test_a_logged_out_device_is_replaced_and_encrypted_rooms_are_answered_again(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, synapse_server: SynapseServer,
        synapse_accounts: dict[str, RegisteredUser], caplog: pytest.LogCaptureFixture) -> None:
    """An admin deletes the bot's device mid-run: the bot logs in as a new device, uploads its keys, says so
    in the log, and answers an encrypted room again."""
    caplog.set_level(logging.INFO, logger="bot.adapters.matrix_session")
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    old_device = matrix_bot.status["device_id"]
    room_id = await _encrypted_room(matrix_alice, matrix_bot)
    before = await matrix_alice.send_text(room_id, CLAIM)
    assert (await matrix_alice.wait_reply(before, bot)).encrypted

    admin = synapse_accounts["admin"].access_token
    await asyncio.to_thread(synapse_server.request, "DELETE",
                            f"/_synapse/admin/v2/users/{urllib.parse.quote(bot)}/devices/{old_device}", None, admin)
    new_device = await _wait_for_new_device(matrix_bot, old_device)
    assert matrix_bot.status["login"] == "new-device"
    await matrix_alice.ensure_devices(bot, timeout=30, device_id=new_device)
    matrix_alice.rotate_room_key(room_id)  # as Element does when a member's devices change

    after = await matrix_alice.send_text(room_id, CLAIM_2)
    reply = await matrix_alice.wait_reply(after, bot, timeout=30)
    assert reply.encrypted, "the answer after the new login arrived unencrypted"
    assert "Sources" in reply.content["body"]
    assert f"device {old_device} was logged out" in caplog.text
    assert f"NEW device {new_device}" in caplog.text


async def test_a_message_whose_room_key_arrives_late_is_answered_once_the_key_comes(
        matrix_bot: BotRunner, matrix_alice: MatrixUser, caplog: pytest.LogCaptureFixture) -> None:
    """Alice's room key reaches the bot only several syncs after her message (a slow client or a busy
    homeserver): the bot keeps the message and answers it, once, when the key arrives."""
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    room_id = await _encrypted_room(matrix_alice, matrix_bot)
    held = await matrix_alice.hold_room_key(room_id, bot)
    event_id = await matrix_alice.send_text(room_id, CLAIM)
    for n in range(7):  # seven more syncs for the bot before the key arrives
        synced = matrix_bot.status["last_sync"]
        await matrix_alice.react(room_id, event_id, f"{n}\N{COMBINING ENCLOSING KEYCAP}")
        for _ in range(300):
            if matrix_bot.status["last_sync"] != synced:
                break
            await asyncio.sleep(0.1)
    assert "cannot decrypt" in caplog.text
    assert matrix_alice.replies_to(event_id, bot) == []
    await matrix_alice.release_room_key(room_id, held)
    reply = await matrix_alice.wait_reply(event_id, bot, timeout=30)
    assert reply.encrypted and "Sources" in reply.content["body"]
    assert len(matrix_alice.replies_to(event_id, bot)) == 1


async def test_secrets_at_rest_are_owner_only_and_the_token_is_not_in_the_database(
        matrix_bot: BotRunner, matrix_alice: MatrixUser) -> None:
    """The token sits in an owner-only session file next to the keys; the database never holds it or the
    password, and the database, key store and their directory are owner-only."""
    await matrix_bot.start()
    bot = matrix_bot.account.user_id
    keys = matrix_bot.workdir / "keys"
    session = json.loads((keys / "session.json").read_text())
    token = session["access_token"]
    assert session["device_id"] == matrix_bot.status["device_id"] and token
    assert matrix_bot.app is not None
    assert await matrix_bot.app.storage.get_state(state_key(bot, "access_token")) is None
    await matrix_bot.stop()
    database = matrix_bot.config().database
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert token.encode() not in stored
    assert matrix_bot.account.password.encode() not in stored
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for path in [database, *keys.iterdir()]:
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    await matrix_bot.start()
    assert matrix_bot.status["login"] == "stored"  # the session file is what a restart uses


async def test_a_device_logged_out_while_the_bot_was_down_is_replaced_at_start(
        matrix_bot: BotRunner, synapse_server: SynapseServer,
        synapse_accounts: dict[str, RegisteredUser]) -> None:
    """The device is deleted while Footnote is stopped: the next start logs in as a new device rather than
    reviving the old id without keys."""
    await matrix_bot.start()
    bot, old_device = matrix_bot.account.user_id, matrix_bot.status["device_id"]
    await matrix_bot.stop()
    admin = synapse_accounts["admin"].access_token
    await asyncio.to_thread(synapse_server.request, "DELETE",
                            f"/_synapse/admin/v2/users/{urllib.parse.quote(bot)}/devices/{old_device}", None, admin)
    await matrix_bot.start()
    assert matrix_bot.status["login"] == "new-device"
    assert matrix_bot.status["device_id"] != old_device
