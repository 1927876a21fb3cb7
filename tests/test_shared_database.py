"""Three bot processes sharing one PostgreSQL act as one bot, even when one is killed mid-flood.

Each process (``tests/multiprocess/worker.py``: the real app, the real engine, asyncpg) is fed the same
10,000-message flood over six shared channels of one guild. Half-way, one process is killed with SIGKILL and
started again; it replays the flood from the start. The flood runs once per module; each test checks one
promise on what the processes said and what the database holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from multiprocess.flood import TOTAL, flood_messages, spacing_violations, window_violations, write_messages
from pgserver.fixtures import create_database

from bot.config import Config

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "multiprocess" / "worker.py"
PROCESSES = 3
KILL_AFTER_LINES = 2500  # the victim is killed once it has handled this many messages
pytestmark = pytest.mark.timeout(240)


@dataclass
class SharedFlood:
    """What the processes reported (one list of outcomes per run) and what the database holds afterwards."""

    outcomes: dict[str, list[dict]] = field(default_factory=dict)
    killed_after: int = 0
    reply_rows: list[tuple] = field(default_factory=list)
    decided: set[str] = field(default_factory=set)
    processed: set[str] = field(default_factory=set)
    seconds: float = 0.0


def _start(url: str, messages: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    return subprocess.Popen([sys.executable, str(WORKER), url, str(messages), str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"a bot process did not finish the flood in {timeout:.0f} s: {err.decode()[-2000:]}")
    assert proc.returncode == 0, err.decode()[-3000:]


async def _read_database(url: str) -> tuple[list[tuple], set[str], set[str]]:
    conn = await asyncpg.connect(url)
    try:
        replies = [tuple(r) for r in await conn.fetch(
            "SELECT message_id, channel_id, server_id, author_id, claim_id, action, ts FROM replies")]
        decided = {r[0] for r in await conn.fetch("SELECT message_id FROM decisions")}
        processed = {r[0] for r in await conn.fetch("SELECT event_id FROM processed")}
    finally:
        await conn.close()
    return replies, decided, processed


@pytest.fixture(scope="module")
def shared_flood(postgres_server, tmp_path_factory: pytest.TempPathFactory) -> SharedFlood:
    """Run the flood through three processes on one database, killing and restarting one of them."""
    url = create_database(postgres_server, "footnote_shared_flood")
    work = tmp_path_factory.mktemp("shared-flood")
    messages = work / "flood.json"
    write_messages(messages, flood_messages())
    result = SharedFlood()
    started = time.monotonic()
    outs = [work / f"process{i}.jsonl" for i in range(PROCESSES)]
    procs = [_start(url, messages, out) for out in outs]
    victim = procs[1]
    deadline = time.monotonic() + 120
    while len(_lines(outs[1])) < KILL_AFTER_LINES:
        assert victim.poll() is None, victim.communicate()[1].decode()[-3000:]
        assert time.monotonic() < deadline, "the victim never got going"
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    result.killed_after = len(_lines(outs[1]))
    restart_out = work / "process1-restarted.jsonl"
    restarted = _start(url, messages, restart_out)
    for proc in (procs[0], procs[2], restarted):
        _wait(proc, 180)
    result.seconds = time.monotonic() - started
    for out in [*outs, restart_out]:
        result.outcomes[out.stem] = _lines(out)
    result.reply_rows, result.decided, result.processed = asyncio.run(_read_database(url))
    return result


def test_every_process_saw_the_whole_flood_and_one_was_killed_midway(shared_flood: SharedFlood) -> None:
    """The survivors and the restarted process handled all 10,000 messages; the victim died part-way."""
    counts = {name: len(lines) for name, lines in shared_flood.outcomes.items()}
    assert counts["process0"] == counts["process2"] == counts["process1-restarted"] == TOTAL, counts
    assert KILL_AFTER_LINES <= shared_flood.killed_after < TOTAL, counts
    print(f"shared flood: {PROCESSES} processes x {TOTAL} messages in {shared_flood.seconds:.1f} s; "
          f"victim killed after {shared_flood.killed_after}; replies {len(shared_flood.reply_rows)}")


def test_no_message_is_answered_twice(shared_flood: SharedFlood) -> None:
    """Across every process and the restart, each message got at most one answer or 🔎, and so did the database."""
    said = Counter(line["id"] for lines in shared_flood.outcomes.values() for line in lines
                   if line["action"] != "nothing")
    assert [i for i, n in said.items() if n > 1] == []
    stored = Counter(row[0] for row in shared_flood.reply_rows)
    assert [i for i, n in stored.items() if n > 1] == []
    assert set(said) <= set(stored)  # everything a process said it answered is in the database


def test_channel_and_person_caps_hold_across_processes(shared_flood: SharedFlood) -> None:
    """No channel gets more than six answers, no person more than three, in any hour, whichever process decided."""
    policy = Config().policy
    replies = [r for r in shared_flood.reply_rows if r[5] == "reply"]
    assert len(replies) >= 20, "the caps held because nothing was answered"
    assert window_violations(((r[1], r[6]) for r in replies), policy.channel_per_hour) == {}
    assert window_violations(((f"{r[2]}/{r[3]}", r[6]) for r in replies), policy.user_per_hour) == {}
    reacts = [r for r in shared_flood.reply_rows if r[5] == "react"]
    assert window_violations(((r[1], r[6]) for r in reacts), policy.react_per_hour) == {}


def test_claim_cooldown_holds_across_processes(shared_flood: SharedFlood) -> None:
    """A claim is answered (or offered) once per channel per 30 minutes, whichever process decided."""
    gap = Config().policy.cooldown_minutes * 60
    assert spacing_violations(((f"{r[1]}/{r[4]}", r[6]) for r in shared_flood.reply_rows), gap) == []


def test_no_decision_is_lost(shared_flood: SharedFlood) -> None:
    """Every message some process claimed has its decision stored, also the ones in flight at the kill."""
    claimed = {event for event in shared_flood.processed if not event.endswith("#edit")}
    assert len(claimed) > 1000
    assert claimed - shared_flood.decided == set()
    handled_once = Counter(line["id"] for lines in shared_flood.outcomes.values() for line in lines
                           if line["reason"] != "message already handled" and line["action"] == "nothing"
                           and line["reason"] not in ("not about social credit",))
    assert set(handled_once) <= shared_flood.decided | claimed
