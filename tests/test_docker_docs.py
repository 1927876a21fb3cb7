"""The Docker files and the README's Docker section agree with what `make docker-check` runs (that check
needs a Docker daemon; these run in `make test`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _readme_docker_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**Docker:**"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line.split("  #", 1)[0].rstrip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_docker_section_is_what_docker_check_runs():
    """Every command in the README's Docker section appears verbatim in scripts/docker-check.sh."""
    script = (ROOT / "scripts" / "docker-check.sh").read_text()
    commands = _readme_docker_commands()
    assert len(commands) >= 8
    for command in commands:
        assert command in script, command
    makefile = (ROOT / "Makefile").read_text()
    assert "docker-check:\n\tscripts/docker-check.sh" in makefile
    assert "docker-check" not in makefile.split("test:", 1)[1].split("\n\n", 1)[0]


def test_compose_bind_mounts_no_file_that_may_be_missing():
    """Compose mounts only folders that exist in a fresh checkout (a missing file would become a root-owned
    directory), and the config it reads is optional."""
    compose = yaml.safe_load((ROOT / "compose.example.yaml").read_text())
    service = compose["services"]["footnote"]
    for volume in service["volumes"]:
        source = volume.split(":", 1)[0]
        if source.startswith((".", "/")):
            assert (ROOT / source).is_dir(), volume
    assert service["env_file"] == "footnote.env" and (ROOT / "footnote.env.example").exists()
    assert "FOOTNOTE_CONFIG" not in (service.get("environment") or {})


def test_secrets_file_is_git_ignored():
    """footnote.env holds tokens: git ignores it (its template is tracked)."""
    ignored = subprocess.run(["git", "check-ignore", "-q", "footnote.env"], cwd=ROOT)
    template = subprocess.run(["git", "check-ignore", "-q", "footnote.env.example"], cwd=ROOT)
    assert ignored.returncode == 0 and template.returncode == 1


def test_rate_limit_hint_quotes_the_log_line():
    """The Matrix docs quote the rate-limit line the log really shows (matrix-nio's 'Got 429 response')."""
    import inspect

    import nio.client.async_client

    assert "Got 429 response (ratelimited)" in inspect.getsource(nio.client.async_client)
    assert "Got 429 response (ratelimited)" in (ROOT / "docs" / "matrix.md").read_text()
