"""50,001 real off-topic IRC lines (../shared/offtopic-chat/) get at most 5 answers or 🔎 in all."""

from __future__ import annotations

import pytest

from bot.bench import OFFTOPIC as LINES  # ../shared beside the checkout, or beside the folder of worktrees


@pytest.mark.skipif(not LINES.exists(), reason="needs ../shared/offtopic-chat (the shared folder)")
def test_real_off_topic_chat_is_almost_never_answered(brain):
    """At most 5 of the 50,001 #ubuntu lines reach a tier (an answer or a 🔎), scored as the engine would."""
    lines = LINES.read_text(encoding="utf-8", errors="replace").splitlines()
    assert len(lines) >= 50_000
    triggered = [line for line in lines if brain.matcher.match(line).tier is not None]
    assert len(triggered) <= 5, triggered
