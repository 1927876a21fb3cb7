"""``python -m bot bench``: matcher throughput, engine latency, scaling with knowledge size, memory, and a
naive rapidfuzz baseline, each throughput the median of several repetitions, in one run on this machine.

Off-topic chat comes from ``../shared/offtopic-chat/ubuntu-irc-50k.txt`` when present (real IRC lines),
otherwise from the dev set's negatives. Nothing here asserts a threshold: the README records the figures.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .brain import Brain, build_brain
from .config import BUNDLED_KNOWLEDGE, Config
from .evaluate import load_items
from .match.embed import load_embedder

__all__ = ["run_bench", "generate_knowledge"]

ROOT = BUNDLED_KNOWLEDGE.parent
DEV_SET = ROOT / "tests" / "data" / "chat_dev.yaml"
REAL_SET = ROOT / "tests" / "data" / "real_dev.yaml"
#: ``../shared`` beside the checkout (or beside the folder of worktrees a checkout may live in).
OFFTOPIC = next((p for p in (ROOT.parent / "shared" / "offtopic-chat" / "ubuntu-irc-50k.txt",
                             ROOT.parent.parent / "shared" / "offtopic-chat" / "ubuntu-irc-50k.txt") if p.exists()),
                ROOT.parent / "shared" / "offtopic-chat" / "ubuntu-irc-50k.txt")


def _rate(fn: Callable[[str], object], texts: list[str], reps: int) -> float:
    """Median messages per second of ``fn`` over ``texts``, ``reps`` times."""
    rates = []
    for _ in range(reps):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        rates.append(len(texts) / (time.perf_counter() - start))
    return statistics.median(rates)


def generate_knowledge(target: Path, claims: int, examples: int = 10, seed: int = 7) -> Path:
    """Write a synthetic knowledge base of ``claims`` claims (``examples`` each) into ``target``."""
    rng = random.Random(seed)
    words = [w for w in "social credit score china blacklist court travel train flight debt points city pilot "
             "company firm tax food safety license fine rating alibaba sesame zhima app data camera face "
             "street jaywalk school child job bank loan rent hotel visa deposit dog owner village reward report "
             "neighbor friend contact wechat weibo party speech online post game diaper purchase law draft "
             "province rule record list name shame screen ringtone cinema appeal remove repair".split()]
    claims_dir = target / "claims"
    claims_dir.mkdir(parents=True, exist_ok=True)
    (target / "sources.yaml").write_text(yaml.safe_dump([
        {"id": f"src-{i}", "title": f"Source {i}", "publisher": "Bench", "date": "2020", "kind": "research",
         "url": f"https://example.org/{i}"} for i in range(2)]))
    (target / "topic.yaml").write_text(yaml.safe_dump({"gate_terms": ["social credit", "china", "blacklist"]}))
    for i in range(claims):
        phrases = [" ".join(rng.choices(words, k=rng.randint(6, 14))) for _ in range(examples)]
        (claims_dir / f"gen-{i}.yaml").write_text(yaml.safe_dump({
            "id": f"gen-{i}", "claim": f"Generated claim {i}: {phrases[0]}", "verdict": "mixed",
            "summary": f"A generated summary for benchmark claim number {i}.",
            "context": f"A generated context for benchmark claim number {i}.",
            "sources": ["src-0", "src-1"], "examples": phrases, "reviewed": "2026-11-22"}, sort_keys=False))
    return target


def _rss_of_loaded_process() -> tuple[float, float]:
    """Resident MB of a fresh process with the engine, both adapters and the bundled knowledge loaded (the
    encoder too), and the seconds that process took to load the bundled knowledge from cold."""
    code = ("import time, bot.adapters.discord_bot, bot.adapters.matrix_bot\n"
            "from bot.brain import build_brain\nfrom bot.config import Config\n"
            "c = Config(); t = time.perf_counter(); b, _ = build_brain(c.knowledge_dirs(), c.match)\n"
            "t = time.perf_counter() - t\n"
            "b.matcher.match('china gives everyone a single social credit score')\n"
            "print([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1], t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rss, seconds = out.stdout.split()
    return int(rss) / 1024, float(seconds)


async def _engine_latency(config: Config, texts: list[str]) -> tuple[float, float]:
    from .app import open_app
    from .messages import Message

    with tempfile.TemporaryDirectory() as tmp:
        config = config.model_copy(update={"database": Path(tmp) / "bench.sqlite3"})
        times = []
        async with open_app(config) as app:
            for i, text in enumerate(texts):
                msg = Message("bench", f"c{i % 50}", f"u{i % 200}", f"m{i}", text, 1_700_000_000.0 + i)
                start = time.perf_counter()
                await app.engine.handle_message(msg)
                times.append((time.perf_counter() - start) * 1000)
        times.sort()
        return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def _baseline(brain: Brain, dev: list[dict[str, Any]], ontopic: list[str], reps: int) -> tuple[float, float]:
    """rapidfuzz WRatio over every example of every claim: throughput and dev-set precision."""
    from rapidfuzz import fuzz, process

    choices, owners = [], []
    for claim in brain.kb.claims.values():
        if not claim.is_topic:
            for example in claim.examples:
                choices.append(example)
                owners.append(claim.id)

    def predict(text: str) -> str | None:
        hit = process.extractOne(text, choices, scorer=fuzz.WRatio, score_cutoff=90)
        return owners[hit[2]] if hit else None

    rate = _rate(predict, ontopic, reps)
    preds = [(predict(item["text"]), item["label"]) for item in dev]
    tp = sum(1 for p, label in preds if p is not None and p == label)
    fp = sum(1 for p, label in preds if p is not None and p != label)
    return rate, (tp / (tp + fp) if tp + fp else 0.0)


def run_bench(config: Config, *, as_json: bool = False, smoke: bool = False) -> int:
    """Run every measurement and print a table (or one JSON object)."""
    reps = 1 if smoke else 5
    dev = load_items(DEV_SET)
    ontopic = [item["text"] for item in dev if item["label"]]
    if OFFTOPIC.exists():
        offtopic = OFFTOPIC.read_text(encoding="utf-8", errors="replace").splitlines()
    else:
        offtopic = [item["text"] for item in dev if not item["label"]] * 100
    if smoke:
        offtopic, ontopic = offtopic[:2000], ontopic[:50]
    embedder = load_embedder()
    brain, _ = build_brain(config.knowledge_dirs(), config.match, embedder)
    match = brain.matcher.match
    results: dict[str, Any] = {"encoder": brain.matcher.uses_encoder}
    results["offtopic_msgs_per_s"] = _rate(match, offtopic, reps)
    results["offtopic_false_triggers"] = sum(1 for t in offtopic if match(t).tier is not None)
    results["offtopic_lines"] = len(offtopic)
    results["ontopic_msgs_per_s"] = _rate(match, ontopic, reps)
    rng = random.Random(1)
    mixed = [rng.choice(ontopic) if rng.random() < 0.01 else rng.choice(offtopic) for _ in range(len(offtopic))]
    results["mixed_msgs_per_s"] = _rate(match, mixed, reps)
    p50, p99 = asyncio.run(_engine_latency(config, (ontopic * 4)[: 100 if smoke else 1000]))
    results["p50_ms"], results["p99_ms"] = p50, p99
    if REAL_SET.exists():  # real prose: longer, segmented into sentences, so the costliest decisions
        real = [item["text"] for item in load_items(REAL_SET)][: 50 if smoke else None]
        p50, p99 = asyncio.run(_engine_latency(config, (real * 3)[: 100 if smoke else 1000]))
        results["real_text_p50_ms"], results["real_text_p99_ms"] = p50, p99
    sizes = (50, 100) if smoke else (1000, 10000)
    for size, key in zip(sizes, ("1k", "10k"), strict=True):
        with tempfile.TemporaryDirectory() as tmp:
            kb_dir = generate_knowledge(Path(tmp) / "kb", size)
            loads = []
            for _ in range(reps if size <= 1000 else 1):  # the 10k base takes seconds: load it once
                start = time.perf_counter()
                big, _ = build_brain([kb_dir], config.match, embedder)
                loads.append(time.perf_counter() - start)
            results[f"kb_load_{key}_s"] = statistics.median(loads)
            results[f"ontopic_{key}_msgs_per_s"] = _rate(big.matcher.match, ontopic, reps)
    results["rss_mb"], results["kb_load_bundled_cold_s"] = _rss_of_loaded_process()
    base_rate, base_precision = _baseline(brain, dev, ontopic, reps)
    results["baseline_msgs_per_s"] = base_rate
    results["baseline_dev_precision"] = round(base_precision, 4)
    results["speedup_vs_baseline"] = results["ontopic_msgs_per_s"] / base_rate if base_rate else 0.0
    if not smoke:
        from .evaluate import run_eval

        results["dev_precision"] = run_eval(DEV_SET, config)["precision"]
    results["smoke"] = smoke
    if as_json:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()}))
    else:
        for key, value in results.items():
            print(f"{key:28} {value:,.3f}" if isinstance(value, float) else f"{key:28} {value}")
    return 0
