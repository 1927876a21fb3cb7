"""Hand heap memory freed while building indexes back to the operating system.

Building a knowledge base's indexes allocates and frees tens of megabytes of temporary arrays and strings.
glibc keeps freed heap pages for reuse, so a process that has just built its indexes stays about 40 MB
larger than what it holds (measured on the bundled knowledge: 280 MB resident, 241 MB after a trim).
``malloc_trim`` returns those pages. Elsewhere (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable
from functools import lru_cache

__all__ = ["release_freed_memory"]


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return getattr(libc, "malloc_trim", None)


def release_freed_memory() -> None:
    """Return freed heap pages to the system (glibc's ``malloc_trim``); a no-op where that does not exist."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
