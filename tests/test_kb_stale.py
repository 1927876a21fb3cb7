"""`kb check --stale DAYS` tells a moderator which entries are due for a fresh look at their sources."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.config import BUNDLED_KNOWLEDGE
from bot.kb.loader import load_knowledge
from bot.kb.review import stale_entries

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def _local_claim(tmp_path, reviewed: str):
    """An extra knowledge directory holding one copy of a bundled claim with the given reviewed date."""
    claims = tmp_path / "local" / "claims"
    claims.mkdir(parents=True)
    text = (BUNDLED_KNOWLEDGE / "claims" / "dangan-files.yaml").read_text()
    lines = [f"reviewed: {reviewed}" if line.startswith("reviewed:") else line for line in text.splitlines()]
    (claims / "dangan-files.yaml").write_text("\n".join(lines) + "\n")
    shutil.copy(BUNDLED_KNOWLEDGE / "topic.yaml", tmp_path / "local" / "topic.yaml")
    return tmp_path / "local"


def test_old_review_is_listed_with_its_file_and_age(tmp_path):
    """An entry reviewed in 2001 is listed with its file, date and age, and the command exits 1."""
    local = _local_claim(tmp_path, "2001-01-01")
    result = run("kb", "check", "--dir", str(local), "--stale", "3650")
    assert result.returncode == 1, result.stderr
    line = next(line for line in result.stdout.splitlines() if "reviewed 2001" in line)
    assert "dangan-files.yaml" in line and "days ago" in line
    assert "set reviewed:" in result.stdout
    assert "Traceback" not in result.stderr


def test_nothing_stale_exits_zero():
    """With a generous limit every entry counts as recently reviewed and the command exits 0."""
    result = run("kb", "check", "--stale", "36500")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reviewed within the last 36500 days" in result.stdout


def test_a_bad_number_of_days_is_one_clear_line():
    """--stale takes a whole number of days; anything else is a usage error, not a traceback."""
    result = run("kb", "check", "--stale", "a-year")
    assert result.returncode == 2
    assert "not a number of days" in result.stderr and "Traceback" not in result.stderr


def test_stale_entries_are_oldest_first_and_respect_the_limit():
    """An entry exactly DAYS old is not stale; one day older is, and the oldest comes first."""
    kb, _ = load_knowledge([BUNDLED_KNOWLEDGE])
    newest = max(c.reviewed for c in kb.claims.values())
    oldest = min(c.reviewed for c in kb.claims.values())
    assert stale_entries(kb, today=newest, max_age_days=(newest - oldest).days) == []
    stale = stale_entries(kb, today=newest + dt.timedelta(days=1), max_age_days=0)
    assert len(stale) == len(kb.claims)
    assert [e.reviewed for e in stale] == sorted(e.reviewed for e in stale)
    assert stale[0].reviewed == oldest and stale[0].path is not None
