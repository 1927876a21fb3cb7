"""What can be checked of the Docker image and the docs without a Docker engine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from bot.cli import build_parser
from bot.config import Config

ROOT = Path(__file__).resolve().parent.parent


def test_dockerfile_installs_dependencies_in_their_own_layer_then_footnote_as_make_run_does():
    """Dependencies (read from pyproject.toml) install before the code is copied; then Footnote itself,
    editable like the Makefile's `make run` install, so a code edit reuses the dependency layer."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    order = [dockerfile.index(step) for step in (
        "COPY pyproject.toml ./", "p['project']['dependencies']", "pip install -q -r /tmp/requirements.txt",
        "COPY bot ./bot", "pip install -q --no-deps --no-build-isolation -e .")]
    assert order == sorted(order)
    makefile = (ROOT / "Makefile").read_text()
    assert "INSTALL_RUN := $(PIP) install --disable-pip-version-check -q -e .\n" in makefile
    assert "test_dockerfile" not in dockerfile + makefile


def test_dockerfile_copies_files_that_exist_and_runs_the_bot():
    """Every COPY source exists; non-root user, no anonymous volume, a healthcheck and the run command."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    assert re.search(r"^USER footnote$", dockerfile, re.M)
    assert not re.search(r"^VOLUME", dockerfile, re.M)
    assert 'CMD ["python", "-m", "bot.healthcheck"]' in dockerfile
    assert 'ENTRYPOINT ["python", "-m", "bot"]\nCMD ["run"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "footnote.env", "config.yaml"} <= set(ignored)


def test_bundled_model_is_in_the_package_data():
    """The embedding model ships inside the package, so the image needs no network at run time."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"model/*"' in pyproject
    assert (ROOT / "bot" / "model" / "model.safetensors").stat().st_size > 1_000_000


def test_config_example_documents_every_key():
    """config.example.yaml loads, and every configuration key appears in it."""
    from bot.config import load_config

    load_config(ROOT / "config.example.yaml", environ={})
    example = yaml.safe_load((ROOT / "config.example.yaml").read_text())

    def keys(model: type, data: dict, prefix: str = "") -> list[str]:
        missing = []
        for name, field in model.model_fields.items():
            if name not in data:
                missing.append(prefix + name)
            annotation = field.annotation
            inner = getattr(annotation, "__args__", (annotation,))
            sub = next((a for a in inner if isinstance(a, type) and hasattr(a, "model_fields")), None)
            if sub is not None and isinstance(data.get(name), dict):
                missing += keys(sub, data[name], f"{prefix}{name}.")
        return missing

    assert keys(Config, example) == []


def test_readme_gives_the_two_commands_and_every_cli_command():
    """The README says `make run` and `make test` and documents each CLI command."""
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name in commands:
        assert f"python -m bot {name}" in readme, name


def test_ci_runs_make_test():
    """.ci/run calls `make test`, and fails when it fails (set -e)."""
    script = (ROOT / ".ci" / "run").read_text()
    assert "make test" in script and "set -euo pipefail" in script


def test_help_works():
    """`python -m bot --help` lists the commands."""
    out = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "console" in out.stdout and "kb" in out.stdout


def test_config_example_shows_the_defaults():
    """The documented example is the default configuration (apart from where the database lives)."""
    from bot.config import DiscordConfig, MatrixConfig, load_config

    example = load_config(ROOT / "config.example.yaml", environ={})
    sections = {"database", "discord", "matrix"}
    assert example.model_dump(exclude=sections) == Config().model_dump(exclude=sections)
    assert example.discord == DiscordConfig() and example.matrix == MatrixConfig()
