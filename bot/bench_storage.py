"""``python -m bot bench --database URL``: decision latency and throughput with 1 and 3 bot processes sharing
one database, on SQLite (a temporary file) and on the given PostgreSQL, side by side.

Each process is a fresh interpreter running the real app (engine + storage) on on-topic messages, so every
message takes the decision path: dedupe mark, policy counts, decision row, one transaction. The processes
share 50 channels and 200 authors (the worst case for locks: every process decides in every channel). They
start together once all have loaded; throughput is all decisions over the wall time of the slowest.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from .storage import redact_url

__all__ = ["run_storage_bench"]

PROCESS_COUNTS = (1, 3)


async def _worker(database: str, prefix: str, count: int) -> None:
    """One bot process: load, say ready, wait for "go" on stdin, decide ``count`` messages, print figures."""
    from .app import open_app
    from .bench import DEV_SET
    from .config import Config
    from .evaluate import load_items
    from .messages import Message

    texts = [item["text"] for item in load_items(DEV_SET) if item["label"]]
    async with open_app(Config(database=database)) as app:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        times = []
        started = time.perf_counter()
        for i in range(count):
            msg = Message("bench", f"{prefix[:8]}-c{i % 50}", f"u{i % 200}", f"{prefix}-m{i}",
                          texts[i % len(texts)], 1_700_000_000.0 + i, server_id="bench-guild")
            t0 = time.perf_counter()
            await app.engine.handle_message(msg)
            times.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    times.sort()
    print(json.dumps({"count": count, "elapsed": elapsed, "p50": times[len(times) // 2],
                      "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}), flush=True)


def _run(database: str, processes: int, count: int) -> dict[str, float]:
    """Start ``processes`` workers on ``database`` together; their combined figures."""
    run = uuid.uuid4().hex[:8]  # channels and ids of this run only, so earlier runs' caps do not bind
    procs = [subprocess.Popen([sys.executable, "-m", "bot.bench_storage", database, f"{run}p{n}", str(count)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for n in range(processes)]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            for other in procs:
                other.kill()
            raise RuntimeError(f"a bench process failed to start (database {redact_url(database)})")
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - started
    return {"processes": processes, "decisions": sum(r["count"] for r in reports),
            "per_s": sum(r["count"] for r in reports) / wall,
            "p50_ms": statistics.median(r["p50"] for r in reports), "p99_ms": max(r["p99"] for r in reports)}


def run_storage_bench(database: str, *, count: int = 1000, as_json: bool = False) -> int:
    """Measure SQLite and ``database`` with 1 and 3 processes; print a table (or JSON lines)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", str(Path(tmp) / "bench.sqlite3"))]
        if database:
            targets.append(("postgresql", database))
        for backend, target in targets:
            for processes in PROCESS_COUNTS:
                rows.append({"backend": backend, **_run(target, processes, count)})
    if as_json:
        for row in rows:
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}))
        return 0
    print(f"{'backend':12} {'processes':>9} {'decisions':>9} {'decisions/s':>12} {'p50 ms':>8} {'p99 ms':>8}")
    for row in rows:
        print(f"{row['backend']:12} {row['processes']:>9} {row['decisions']:>9} {row['per_s']:>12,.0f} "
              f"{row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}")
    return 0


if __name__ == "__main__":
    asyncio.run(_worker(sys.argv[1], sys.argv[2], int(sys.argv[3])))
