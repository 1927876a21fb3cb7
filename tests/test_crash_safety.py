"""Crash safety: kill -9 a process in the middle of writing feedback and replies, many times over.

A child Python process (a fresh interpreter, not a fork) opens :class:`~bot.storage.Storage` on one file
and writes reply and feedback rows in a loop, printing each id only after the write's await returned.
The parent kills it with SIGKILL at a random moment, then opens the file: it must pass
``PRAGMA integrity_check`` and hold every id the child acknowledged. Every round reuses the same file, as a
restarted bot would, so some kills land while the database is being opened or its WAL replayed.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 15
#: The child is killed this long (seconds) after it reports being ready; random within the range.
KILL_AFTER = (0.0, 0.4)
#: ...or this long after it was spawned, before it said it was ready.
KILL_DURING_START = (0.02, 0.3)

CHILD = textwrap.dedent("""
    import asyncio, sys
    from bot.storage import ReplyRecord, open_storage

    async def main(path, prefix):
        storage = await open_storage(path)
        print("ready", flush=True)
        i = 0
        while True:
            reply_id = f"{prefix}-r{i}"
            record = ReplyRecord("test", "chan", reply_id, "alice", "sesame-credit", "reply", "confident",
                                 0.9, f"sent-{reply_id}", 1_700_000_000.0 + i)
            await storage.log_reply(record, {"combined": 0.9}, None)
            print("reply", reply_id, flush=True)
            feedback_id = f"{prefix}-f{i}"
            await storage.add_feedback("test", feedback_id, "bob", "sesame-credit", i % 2 == 0,
                                       1_700_000_000.0 + i)
            print("feedback", feedback_id, flush=True)
            i += 1

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


def _run_and_kill(script: Path, database: Path, prefix: str, delay: float, *, wait_ready: bool
                  ) -> tuple[list[str], list[str]]:
    """Start the writer and SIGKILL it ``delay`` seconds later (after it is ready, if ``wait_ready``).

    Returns the reply and feedback ids it acknowledged before it died.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, str(script), str(database), prefix], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        assert child.stdout is not None
        if wait_ready:
            first = child.stdout.readline()
            if first != b"ready\n":  # it failed to start: show why
                child.kill()
                pytest.fail(f"the writer did not start: {first!r} {child.communicate()[1].decode()[-2000:]}")
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, err.decode()[-2000:]
    replies, feedback = [], []
    for line in out.decode().splitlines(keepends=True):
        if not line.endswith("\n"):  # cut off mid-print: the write was acknowledged only if the line is whole
            continue
        kind, _, ident = line.strip().partition(" ")
        if kind == "reply":
            replies.append(ident)
        elif kind == "feedback":
            feedback.append(ident)
    return replies, feedback


def test_killed_writer_leaves_an_intact_database_with_every_acknowledged_write(tmp_path: Path) -> None:
    """After each of 15 kill -9s the database passes integrity_check and holds every acknowledged row."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    script = tmp_path / "writer.py"
    script.write_text(CHILD, encoding="utf-8")
    database = tmp_path / "footnote.sqlite3"
    acked_replies: list[str] = []
    acked_feedback: list[str] = []
    for round_no in range(ROUNDS):
        # One round in four is killed during start-up (imports, opening, WAL recovery), the rest mid-write.
        wait_ready = rng.random() >= 0.25
        delay = rng.uniform(*KILL_AFTER) if wait_ready else rng.uniform(*KILL_DURING_START)
        replies, feedback = _run_and_kill(script, database, f"k{round_no}", delay, wait_ready=wait_ready)
        acked_replies += replies
        acked_feedback += feedback
        where = (f"round {round_no}, killed {delay:.3f}s after {'ready' if wait_ready else 'spawn'} "
                 f"(seed {seed})")
        db = sqlite3.connect(database)
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", where
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            # Killed before the first migration committed: no tables yet, and nothing was acknowledged.
            stored_replies = ({r[0] for r in db.execute("SELECT message_id FROM replies")}
                              if "replies" in tables else set())
            stored_feedback = ({r[0] for r in db.execute("SELECT reply_message_id FROM feedback")}
                               if "feedback" in tables else set())
        finally:
            db.close()
        assert not set(acked_replies) - stored_replies, where
        assert not set(acked_feedback) - stored_feedback, where
    # The test only means something if the kills landed in the middle of real writing.
    assert len(acked_replies) >= 100, f"only {len(acked_replies)} writes acknowledged in {ROUNDS} rounds"
