"""The shared-channel flood: 10,000 messages over six channels of one guild, and the checks on its outcome.

Every bot process is fed the whole flood (as if each saw every message: replays, overlapping shards), so
each message is decided by whichever process claims it first and must be answered at most once overall.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import yaml

__all__ = ["flood_messages", "window_violations", "spacing_violations", "write_messages"]

DEV_SET = Path(__file__).resolve().parent.parent / "data" / "chat_dev.yaml"
T0 = 1_700_000_000.0
TOTAL = 10_000
#: 2 s apart: the flood spans about 5.5 simulated hours, so the hourly caps reset and bind several times.
SPACING = 2.0
CHANNELS = tuple(f"shared{i}" for i in range(6))
GUILD = "guild-1"
CLAIM_EVERY = 20
#: Claims come from a few people; "spammer" posts in every channel, so the per-person cap binds across them.
CLAIM_AUTHORS = ("spammer", "bob", "spammer", "carol", "spammer", "dave", "erin", "spammer")
CHATTER = ("lol", "anyone up for ranked tonight?", "brb coffee", "good morning everyone", "gg", "nice one",
           "the new patch notes are out", "who wants pizza", "is the server down for anyone else")


def _dev_texts() -> tuple[list[str], list[str]]:
    data = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))
    claims = [d["text"] for d in data if d.get("label") and not d.get("context")]
    negatives = [d["text"] for d in data if not d.get("label") and not d.get("context")]
    return claims, negatives


def flood_messages(seed: int = 11) -> list[dict]:
    """The flood as plain dicts (``Message`` keyword arguments); every 20th repeats an earlier id."""
    rng = random.Random(seed)
    claims, negatives = _dev_texts()
    out: list[dict] = []
    for i in range(TOTAL):
        ts = T0 + i * SPACING
        if i % 20 == 19:
            earlier = out[rng.randrange(max(0, len(out) - 50), len(out))]
            out.append({**earlier, "timestamp": ts})
            continue
        channel = CHANNELS[rng.randrange(len(CHANNELS))]
        if i % CLAIM_EVERY == 0:
            text, author = rng.choice(claims), CLAIM_AUTHORS[(i // CLAIM_EVERY) % len(CLAIM_AUTHORS)]
        elif i % 25 == 1:
            text, author = rng.choice(negatives), f"user{rng.randrange(40)}"
        else:
            text, author = rng.choice(CHATTER), f"user{rng.randrange(40)}"
        out.append({"platform": "test", "channel_id": channel, "author_id": author, "message_id": f"m{i}",
                    "text": text, "timestamp": ts, "server_id": GUILD})
    return out


def write_messages(path: Path, messages: list[dict]) -> None:
    """Write the flood for the worker processes to read."""
    path.write_text(json.dumps(messages), encoding="utf-8")


def window_violations(rows: Iterable[tuple[str, float]], limit: int, window: float = 3600.0) -> dict[str, int]:
    """Keys with more than ``limit`` rows inside some closed window of ``window`` seconds: {key: most seen}."""
    by_key: dict[str, list[float]] = defaultdict(list)
    for key, ts in rows:
        by_key[key].append(ts)
    worst: dict[str, int] = {}
    for key, times in by_key.items():
        times.sort()
        j = 0
        for i, start in enumerate(times):
            j = max(j, i)
            while j + 1 < len(times) and times[j + 1] <= start + window:
                j += 1
            if j - i + 1 > limit:
                worst[key] = max(worst.get(key, 0), j - i + 1)
    return worst


def spacing_violations(rows: Iterable[tuple[str, float]], gap: float) -> list[str]:
    """Keys with two rows less than ``gap`` seconds apart (a cooldown passed twice)."""
    by_key: dict[str, list[float]] = defaultdict(list)
    for key, ts in rows:
        by_key[key].append(ts)
    return [key for key, times in by_key.items()
            if any(b - a < gap for a, b in zip(sorted(times), sorted(times)[1:], strict=False))]
