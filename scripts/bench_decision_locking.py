"""Measure how a count-then-write decision (an hourly cap) stays correct across processes on PostgreSQL.

    .venv/bin/python scripts/bench_decision_locking.py [postgresql://...]

Without a URL it starts a throw-away server (tests/pgserver). Three processes, four tasks each, decide
6,000 times over 300 channels whose cap is 6 answers each. Strategies:

* ``advisory-lock``  BEGIN; pg_advisory_xact_lock(channel); count; insert if under the cap; COMMIT
                     (what bot/storage/postgres.py does: the policy stays pure Python between read and write)
* ``conditional``    one autocommit INSERT ... SELECT ... WHERE (SELECT COUNT(*) ...) < cap
* ``serializable``   BEGIN ISOLATION LEVEL SERIALIZABLE; count; insert; COMMIT; retry on serialization failure
* ``no-lock``        BEGIN; count; insert; COMMIT at READ COMMITTED (the baseline that races)

Prints decisions/s, latency p50/p99, answers beyond a cap (must be 0) and retries.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path

import asyncpg

CHANNELS, CAP, PROCESSES, TASKS, DECISIONS = int(os.environ.get("CHANNELS", 300)), 6, 3, 4, 6000
STRATEGIES = ("advisory-lock", "conditional", "serializable", "no-lock")


async def _decide(conn: asyncpg.Connection, strategy: str, channel: str) -> int:
    """One decision; returns the number of serialization retries it needed."""
    if strategy == "conditional":
        await conn.execute("INSERT INTO bench_replies (channel, ts) SELECT $1, $2 WHERE "
                           "(SELECT COUNT(*) FROM bench_replies WHERE channel = $1) < $3", channel, time.time(), CAP)
        return 0
    retries = 0
    while True:
        try:
            isolation = "serializable" if strategy == "serializable" else "read_committed"
            async with conn.transaction(isolation=isolation):
                if strategy == "advisory-lock":
                    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", channel)
                count = await conn.fetchval("SELECT COUNT(*) FROM bench_replies WHERE channel = $1", channel)
                if count < CAP:
                    await conn.execute("INSERT INTO bench_replies (channel, ts) VALUES ($1, $2)", channel, time.time())
            return retries
        except asyncpg.SerializationError:
            retries += 1


async def _process(url: str, strategy: str, seed: int, out: multiprocessing.Queue) -> None:
    rng = random.Random(seed)
    pool = await asyncpg.create_pool(url, min_size=TASKS, max_size=TASKS)
    times: list[float] = []
    retries = 0
    per_task = DECISIONS // PROCESSES // TASKS

    async def task() -> None:
        nonlocal retries
        for _ in range(per_task):
            channel = f"c{rng.randrange(CHANNELS)}"
            started = time.perf_counter()
            async with pool.acquire() as conn:
                retries += await _decide(conn, strategy, channel)
            times.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(task() for _ in range(TASKS)))
    await pool.close()
    out.put({"times": times, "retries": retries})


def _child(url: str, strategy: str, seed: int, out: multiprocessing.Queue) -> None:
    asyncio.run(_process(url, strategy, seed, out))


async def _reset(url: str) -> int:
    conn = await asyncpg.connect(url)
    await conn.execute("DROP TABLE IF EXISTS bench_replies; CREATE TABLE bench_replies (channel TEXT NOT NULL, "
                       "ts DOUBLE PRECISION NOT NULL); CREATE INDEX ON bench_replies (channel)")
    await conn.close()
    return 0


async def _overshoot(url: str) -> int:
    conn = await asyncpg.connect(url)
    extra = await conn.fetchval("SELECT COALESCE(SUM(n - $1), 0) FROM (SELECT COUNT(*) AS n FROM bench_replies "
                                "GROUP BY channel) AS c WHERE n > $1", CAP)
    await conn.close()
    return int(extra)


def measure(url: str, strategy: str) -> dict[str, object]:
    """Run one strategy on a fresh table; its figures."""
    asyncio.run(_reset(url))
    out: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_child, args=(url, strategy, n, out)) for n in range(PROCESSES)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    reports = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - started
    times = sorted(t for r in reports for t in r["times"])
    return {"strategy": strategy, "decisions_per_s": round(len(times) / wall),
            "p50_ms": round(statistics.median(times), 2), "p99_ms": round(times[int(len(times) * 0.99)], 2),
            "answers_beyond_cap": asyncio.run(_overshoot(url)), "retries": sum(r["retries"] for r in reports)}


def main(argv: list[str]) -> int:
    if argv:
        rows = [measure(argv[0], s) for s in STRATEGIES]
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from pgserver.fixtures import create_database
        from pgserver.server import PostgresServer

        with PostgresServer() as server:
            url = create_database(server, "locking")
            rows = [measure(url, s) for s in STRATEGIES]
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
