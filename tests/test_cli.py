"""The command line, run as a newcomer would: python -m bot ..."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, timeout=120, env=full_env)


def test_console_once_answers_a_claim_with_sources(tmp_path):
    """`console --once` prints a verdict, a summary and at least two sources with links."""
    result = run("--config", str(_config(tmp_path)), "console", "--once",
                 "china gives everyone a single social credit score right?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[False] ")
    assert result.stdout.count("http") >= 2
    assert "Traceback" not in result.stderr


def test_console_reads_piped_stdin(tmp_path):
    """Piped lines are messages; lines starting with / are commands."""
    result = run("--config", str(_config(tmp_path)), "console",
                 stdin="hello everyone\n/source sesame\n/nonsense\n")
    assert result.returncode == 0, result.stderr
    assert "[Topic]" in result.stdout and "Sesame" in result.stdout
    assert "Unknown command 'nonsense'" in result.stdout


def test_kb_check_passes_and_fails_with_the_errors(tmp_path):
    """`kb check` exits 0 with a summary, and 1 listing every error in an extra directory."""
    ok = run("kb", "check")
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 45 claims")
    bad = tmp_path / "local" / "claims"
    bad.mkdir(parents=True)
    (bad / "my-claim.yaml").write_text("id: my-claim\nclaim: x\nverdict: maybe\n")
    failed = run("kb", "check", "--dir", str(tmp_path / "local"))
    assert failed.returncode == 1
    assert "my-claim.yaml:3 verdict: must be" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_kb_test_shows_scores_and_tier():
    """`kb test` ranks candidates with both scores and says why."""
    result = run("kb", "test", "sesame credit is the government's social credit score")
    assert result.returncode == 0
    assert "lexical" in result.stdout and "semantic" in result.stdout and "decision:" in result.stdout


def test_invalid_config_is_one_clear_line(tmp_path):
    """An unknown key names the key and the file, with no traceback."""
    path = tmp_path / "config.yaml"
    path.write_text("policy:\n  cooldown_minute: 5\n")
    result = run("--config", str(path), "config", "check")
    assert result.returncode == 1
    assert f"{path}: policy.cooldown_minute: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_check_masks_secrets(tmp_path):
    """Tokens from the environment are validated but never printed."""
    result = run("--config", str(_config(tmp_path)), "config", "check",
                 env={"FOOTNOTE_DISCORD_TOKEN": "secret-token-value-123"})
    assert result.returncode == 0
    assert "secret-token-value-123" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["discord"]["token"] == "**********"


def test_eval_json_has_the_documented_keys(tmp_path):
    """`eval --json` prints one object with the metrics, per-claim table, errors and items."""
    data = tmp_path / "mini.yaml"
    data.write_text('- {text: "china gives everyone a single social credit score right?", label: single-national-score}\n'
                    '- {text: "my credit score dropped after a late payment", label: null}\n'
                    '- {text: "so they ban you from trains for that?", label: travel-bans-low-score,'
                    ' context: ["china blacklists people with bad social credit"]}\n')
    result = run("eval", str(data), "--json")
    report = json.loads(result.stdout)
    assert {"precision", "recall", "f1", "tp", "fp", "fn", "n", "per_claim", "errors", "items",
            "confident_precision", "confident_recall"} <= set(report)
    assert report["n"] == 3 and len(report["items"]) == 3
    assert report["items"][1] == {"label": None, "predicted": None, "tier": None, "gate_level": 1}
    assert {"recall_by_length", "recall_by_gate", "positives_on_their_own"} <= set(report)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"database: {tmp_path / 'console.sqlite3'}\n")
    return path
