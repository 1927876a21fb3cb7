"""The core stays platform-neutral: kb, match and render import no chat, database or async library."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
FORBIDDEN = {"discord", "nio", "aiosqlite", "asyncpg", "asyncio", "aiohttp"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_modules_import_no_platform_or_io_library():
    """bot/kb, bot/match, render, policy and messages are pure."""
    files = [*BOT.glob("kb/*.py"), *BOT.glob("match/*.py"), BOT / "render.py", BOT / "policy.py",
             BOT / "messages.py"]
    offenders = {str(f.relative_to(BOT)): sorted(_imports(f) & FORBIDDEN) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_engine_reaches_the_database_only_through_storage():
    """The engine never imports a database driver, asyncio or a platform library: decisions go through
    the storage interface, whose backends make them atomic."""
    assert not _imports(BOT / "engine.py") & FORBIDDEN


def test_modules_stay_small():
    """No module grows past about 400 lines."""
    big = {str(p.relative_to(BOT)): n for p in BOT.rglob("*.py") if (n := len(p.read_text().splitlines())) > 420}
    assert big == {}
