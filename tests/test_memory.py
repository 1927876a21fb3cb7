"""Memory freed while building indexes goes back to the system instead of staying resident."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
from bot.memory import release_freed_memory
def rss():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) // 1024
blocks = [bytes(1000) + bytes([i % 256]) for i in range(100_000)]
last = blocks[-1]
del blocks
before = rss()
release_freed_memory()
print(before, rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resident memory is read from /proc")
def test_freed_heap_pages_are_returned_to_the_system():
    """After 100 MB of temporaries are freed, releasing memory brings the process back down by most of them."""
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60)
    before, after = map(int, out.stdout.split())
    assert before - after >= 50, (before, after)
