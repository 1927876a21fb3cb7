"""Moderator statistics: answers per claim over 7 and 30 days, helpfulness, near misses, top channels."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Engine
    from .storage import Scope

__all__ = ["stats_lines"]

DAY = 86400.0


async def stats_lines(engine: Engine, now: float, scope: Scope | None) -> list[str]:
    """Plain lines for ``/footnote stats`` (``scope``: the asker's server) and ``python -m bot stats``
    or an operator's bot-wide stats (``scope`` None)."""
    storage = engine.storage
    lines: list[str] = []
    week = {cid: (n, up, down) for cid, n, up, down in await storage.claim_stats(now - 7 * DAY, scope)}
    month = await storage.claim_stats(now - 30 * DAY, scope)
    if not month:
        lines.append("No answers in the last 30 days.")
    else:
        lines.append("Answers per claim (7 days / 30 days), helpful votes:")
        for cid, n, up, down in month:
            votes = up + down
            helpful = f"{100 * up / votes:.0f}% helpful of {votes}" if votes else "no votes"
            lines.append(f"  {cid}: {week.get(cid, (0, 0, 0))[0]} / {n}, {helpful}")
    near = await storage.near_misses(now - 7 * DAY, scope, limit=5)
    if near:
        lines.append("Closest to matching without an answer (7 days) — consider adding examples:")
        lines += [f"  {cid} score {score:.2f}: {reason}" for cid, score, reason in near]
    top = await storage.top_channels(now - 30 * DAY, scope)
    if top:
        lines.append("Top channels (30 days): " + ", ".join(f"{p}:{c} ({n})" for p, c, n in top))
    reload = engine.last_reload
    if not reload.ok:
        lines.append(f"Last reload FAILED with {len(reload.problems)} problem(s); serving the last good knowledge "
                     f"base. First: {reload.problems[0]}")
    lines.append(f"Knowledge base: {len(engine.kb.claims)} entries, {len(engine.kb.sources)} sources.")
    return lines
