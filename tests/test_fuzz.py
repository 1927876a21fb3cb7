"""Fuzzing with hypothesis: chat text, knowledge files and config files that nobody would write on purpose.

- The normaliser, the topic gate and the matcher take any Unicode (up to 100 kB) without raising, each call
  within a generous safety bound (this is not a benchmark: ``python -m bot bench`` measures speed).
- The knowledge loader, given a mutated copy of a real claim file, returns a whole knowledge base or raises
  :class:`KnowledgeError` whose every problem starts with a file path; nothing else, never part of a base.
- ``load_config`` on any text or YAML returns a :class:`Config` or raises :class:`ConfigError`.

The bugs fuzzing found (impossible dates, recursive aliases, alias bombs, non-UTF-8 config, quadratic
regexes) each keep a regression test at the end.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st

from bot.brain import Brain, build_brain
from bot.config import BUNDLED_KNOWLEDGE, Config, load_config
from bot.errors import ConfigError, KnowledgeError
from bot.kb.loader import KnowledgeBase, load_knowledge
from bot.match.normalise import normalise

ROOT = Path(__file__).resolve().parent.parent
#: Seconds one call may take on any input up to 100 kB. A safety bound against super-linear work (a quadratic
#: regex on 100 kB takes seconds), not a speed target: speed is `python -m bot bench`'s job. Typical calls take
#: well under 1 ms; the slowest inputs found (many short sentences that reach the encoder) take 10-50 ms, so a
#: tighter bound would fail on a busy machine.
CALL_BOUND = 0.250
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FILE_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def brain() -> Brain:
    """The bundled knowledge base with its matcher, built once for the module (it takes about a second)."""
    config = Config()
    built, _ = build_brain(config.knowledge_dirs(), config.match)
    return built


def _note(outcome: str) -> None:
    """Count an outcome for ``--hypothesis-show-statistics`` (when running under hypothesis)."""
    if currently_in_test_context():
        event(outcome)


def _timed(fn: Callable[[], Any]) -> float:
    """The fastest of three runs, in seconds: one slow run is the machine, three are the code."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


# ---------------------------------------------------------------------------------------------- chat text

#: Pieces that exercise every rule of the normaliser and the gate: markup, mentions, quotes, invisible and
#: direction characters, code fences, Matrix reply fallbacks, and the topic's own vocabulary.
_PIECES = [*"<>@`\n\t :#&!_*~|/.-'\"\\[]()", "social credit", "china", "zhima", "score", "http://x.y/",
           "www.", "<mx-reply>", "</mx-reply>", "```", "\u202e", "\u200b", "\ufeff", "芝麻信用", "@everyone",
           "<@123>", "<@&456>", "<a href='x'>", "> ", "ﷺ", "e\u0301", "🇨🇳", "\u0000"]
tricky_text = st.lists(st.sampled_from(_PIECES), max_size=80).map("".join)
any_text = st.text(max_size=400)


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size] if unit else ""


#: Up to 100 kB: a random unit repeated to a random length.
big_text = st.builds(_repeat, st.one_of(any_text, tricky_text).filter(bool), st.integers(1000, 100_000))
chat_text = st.one_of(any_text, tricky_text, big_text)


@FUZZ
@given(chat_text)
@example("")
@example("\u0000" * 100_000)
@example("@" + "a." * 50_000)
@example("<a " * 33_000)
def test_normaliser_takes_any_text_quickly(text: str) -> None:
    """normalise() returns clean text of bounded length for any input, within the safety bound."""
    out = normalise(text)
    assert isinstance(out, str) and len(out) <= 600
    assert not out.startswith(" ") and "  " not in out  # (the 600-char cut may end on a space)
    assert _timed(lambda: normalise(text)) < CALL_BOUND


@FUZZ
@given(chat_text)
def test_gate_takes_any_text_quickly(text: str) -> None:
    """The topic gate answers 0, 1 or 2 for any input, within the safety bound."""
    gate = brain().matcher.gate
    assert gate.level(text) in (0, 1, 2)
    assert isinstance(gate.hits(text), list)
    assert _timed(lambda: gate.level(text)) < CALL_BOUND


@FUZZ
@given(chat_text, st.booleans())
@example("social credit " * 7000, False)
@example("芝麻信用 china " * 10_000, True)
def test_matcher_takes_any_text_quickly(text: str, context_active: bool) -> None:
    """The matcher returns a consistent result for any input, within the safety bound."""
    matcher = brain().matcher
    result = matcher.match(text, context_active=context_active)
    if result.tier is not None:
        assert result.best is not None and result.best.claim_id in matcher.kb.claims
    assert all(s.claim_id in matcher.kb.claims for s in result.candidates)
    assert _timed(lambda: matcher.match(text, context_active=context_active)) < CALL_BOUND


# ---------------------------------------------------------------------------------------------- knowledge


@pytest.fixture(scope="module")
def knowledge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the bundled knowledge directory; each example restores what it changed."""
    target = tmp_path_factory.mktemp("fuzz") / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, target)
    return target


_YAML_HAZARDS = ["{", "]", "- - -", "? x", ": :", "&a 1", "*missing", "!!binary zz", "!!python/object:os.system",
                 "%YAML 1.1", "---", "...", "\t", "'", '"', "|", ">-", "id: other-id", "verdict: maybe",
                 "sources: []", "examples: {}", "reviewed: tomorrow", "null", "~", "2024-06-01", "1e999", "!!set",
                 "summary: " + "x" * 500, "auto_reply: off", "threshold: 7"]
yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
yaml_values = st.recursive(yaml_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=12), kids, max_size=4)), max_leaves=12)
yaml_snippets = st.one_of(
    st.sampled_from(_YAML_HAZARDS),
    yaml_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    st.lists(st.sampled_from([*_YAML_HAZARDS, " ", "\n", "  "]), max_size=8).map(" ".join),
)


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with lines deleted, characters swapped, YAML inserted or the end cut off."""
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["delete", "swap", "insert", "truncate", "several"]))
    if kind in ("delete", "several"):
        gone = draw(st.sets(st.integers(0, len(lines) - 1), min_size=1, max_size=max(1, len(lines) // 3)))
        lines = [line for i, line in enumerate(lines) if i not in gone] or [""]
    text = "".join(lines)
    if kind in ("swap", "several") and len(text) > 1:
        chars = list(text)
        for _ in range(draw(st.integers(1, 5))):
            i, j = draw(st.integers(0, len(chars) - 1)), draw(st.integers(0, len(chars) - 1))
            chars[i], chars[j] = chars[j], chars[i]
        text = "".join(chars)
    if kind in ("insert", "several"):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(yaml_snippets) + text[at:]
    if kind == "truncate":
        text = text[: draw(st.integers(0, len(text) - 1))]
    return text


def _check_load(root: Path) -> None:
    """Load ``root``: a whole, cross-checked knowledge base, or a KnowledgeError naming files. Nothing else."""
    claim_files = sorted(p.stem for p in (root / "claims").glob("*.y*ml"))
    try:
        kb, _ = load_knowledge([root])
    except KnowledgeError as exc:
        assert exc.problems, "a KnowledgeError with no problems"
        for problem in exc.problems:
            path = problem.split(":", 1)[0]
            assert (root.parent / path).is_file(), f"problem does not start with a file path: {problem!r}"
        _note("knowledge error")
        return
    _note("loaded")
    assert isinstance(kb, KnowledgeBase)
    assert sorted(kb.claims) == claim_files, "a knowledge base without every claim file"
    for claim in kb.claims.values():
        assert len(kb.sources_for(claim)) == len(claim.sources), f"{claim.id}: a source did not resolve"
        assert all(related in kb.claims for related in claim.related)


def _check_load_mutated(knowledge_dir: Path, target: Path, data: st.DataObject) -> None:
    """Load the knowledge with ``target`` mutated, then put the file back."""
    original = target.read_text(encoding="utf-8")
    try:
        target.write_text(data.draw(mutated(original), label="mutated"), encoding="utf-8")
        _check_load(knowledge_dir)
    finally:
        target.write_text(original, encoding="utf-8")


@FILE_FUZZ
@given(data=st.data())
def test_loader_on_mutated_claim_file_gives_whole_base_or_knowledge_error(knowledge_dir: Path, data) -> None:
    """A mutated claim file yields the whole knowledge base or a KnowledgeError, never a crash or half a base."""
    claim_files = sorted((knowledge_dir / "claims").glob("*.yaml"))
    target = data.draw(st.sampled_from(claim_files), label="file")
    _check_load_mutated(knowledge_dir, target, data)


@FILE_FUZZ
@given(data=st.data())
def test_loader_on_mutated_sources_or_topic_gives_whole_base_or_knowledge_error(knowledge_dir: Path,
                                                                                  data) -> None:
    """The same holds for a mutated sources.yaml or topic.yaml (truncated to keep each load quick)."""
    target = knowledge_dir / data.draw(st.sampled_from(["sources.yaml", "topic.yaml"]), label="file")
    _check_load_mutated(knowledge_dir, target, data)


def test_loader_accepts_the_unmutated_copy(knowledge_dir: Path) -> None:
    """The baseline: the untouched copy loads whole (so the fuzz tests start from a valid base)."""
    _check_load(knowledge_dir)
    kb, _ = load_knowledge([knowledge_dir])
    assert len(kb.claims) == len(list((knowledge_dir / "claims").glob("*.yaml")))


# ---------------------------------------------------------------------------------------------- config

_CONFIG_KEYS = ["database", "knowledge", "match", "policy", "discord", "matrix", "metrics", "log_format",
                "log_level", "extra_dirs", "bundled", "confident", "suggest", "margin", "cooldown_minutes",
                "channel_per_hour", "token", "homeserver", "password", "rooms", "port", "default_mode"]
config_values = st.recursive(yaml_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(_CONFIG_KEYS), st.text(max_size=8)), kids, max_size=5)),
    max_leaves=15)
config_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from([*_YAML_HAZARDS, *(f"{k}:" for k in _CONFIG_KEYS), "\n", "  ", "- "]),
             max_size=20).map(" ".join),
    st.dictionaries(st.sampled_from(_CONFIG_KEYS), config_values, max_size=6).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True)),
)
env_values = st.dictionaries(
    st.sampled_from(["FOOTNOTE_DISCORD_TOKEN", "FOOTNOTE_MATRIX_HOMESERVER", "FOOTNOTE_MATRIX_USER_ID",
                     "FOOTNOTE_MATRIX_ACCESS_TOKEN", "FOOTNOTE_MATRIX_PASSWORD", "FOOTNOTE_DATABASE"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20), max_size=3)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config") / "config.yaml"


@settings(max_examples=300, deadline=None)
@given(text=config_text, environ=env_values)
@example(text="", environ={})
@example(text="- a\n- b", environ={})
@example(text="a: &a [*a]", environ={})
@example(text="matrix: &m {rooms: [*m]}", environ={"FOOTNOTE_MATRIX_PASSWORD": "x"})
def test_config_loader_gives_config_or_config_error(config_file: Path, text: str, environ: dict[str, str]) -> None:
    """Any config text, with any FOOTNOTE_* overrides, gives a Config or a ConfigError naming the file."""
    config_file.write_text(text, encoding="utf-8")
    try:
        config = load_config(config_file, environ=environ)
    except ConfigError as exc:
        assert str(exc).startswith(str(config_file)), str(exc)
        _note("config error")
        return
    _note("config")
    assert isinstance(config, Config)
    assert config.database.is_absolute()


# ---------------------------------------------------------------------------------------------- regressions


def test_impossible_date_in_claim_file_is_a_knowledge_error(tmp_path: Path) -> None:
    """`reviewed: 2024-13-01` (a moderator's typo) is reported as a problem in that file, not a crash."""
    root = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, root)
    path = root / "claims" / "sesame-credit.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text("\n".join("reviewed: 2024-13-01" if line.startswith("reviewed:") else line
                              for line in text.splitlines()) + "\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge([root])
    assert any(p.startswith("knowledge/claims/sesame-credit.yaml") for p in caught.value.problems)


def test_impossible_date_in_config_is_a_config_error(tmp_path: Path) -> None:
    """`database: 2001-13-01` in config.yaml is a ConfigError, not a ValueError traceback."""
    path = tmp_path / "config.yaml"
    path.write_text("database: 2001-13-01\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path, environ={})


def test_config_file_not_in_utf8_is_a_config_error(tmp_path: Path) -> None:
    """A config file saved as Latin-1 gives a ConfigError naming the file, not a UnicodeDecodeError."""
    path = tmp_path / "config.yaml"
    path.write_bytes("matrix:\n  device_name: Café\n".encode("latin-1"))
    with pytest.raises(ConfigError):
        load_config(path, environ={})


def test_recursive_yaml_alias_in_claim_file_is_a_knowledge_error(tmp_path: Path) -> None:
    """`examples: &a [*a]` (a list containing itself) is a KnowledgeError, not a RecursionError."""
    root = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, root)
    path = root / "claims" / "sesame-credit.yaml"
    path.write_text("extra: &a [*a]\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(KnowledgeError):
        load_knowledge([root])


_ALIAS_BOMB = textwrap.dedent("""
    import pathlib, shutil, sys
    from bot.errors import KnowledgeError
    from bot.kb.loader import load_knowledge
    root = pathlib.Path(sys.argv[1])
    path = root / "claims" / "sesame-credit.yaml"
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    path.write_text("\\n".join(lines) + "\\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    try:
        load_knowledge([root])
    except KnowledgeError:
        print("knowledge error")
""")


def test_yaml_alias_bomb_in_claim_file_is_rejected_quickly(tmp_path: Path) -> None:
    """Nested YAML aliases (a 'billion laughs' file) give a KnowledgeError within seconds, not minutes."""
    root = tmp_path / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE, root)
    try:
        done = subprocess.run([sys.executable, "-c", _ALIAS_BOMB, str(root)], capture_output=True, text=True,
                              timeout=4, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail("loading a 400-byte alias bomb took more than 4 seconds")
    assert done.stdout.strip() == "knowledge error", done.stderr[-2000:]


def _growth(shape: Callable[[int], str]) -> float:
    """How much longer normalise() takes on 4,000 characters of ``shape`` than on 1,000: ~4 if linear."""
    return _timed(lambda: normalise(shape(4000))) / max(_timed(lambda: normalise(shape(1000))), 1e-6)


@pytest.mark.parametrize("shape", [
    pytest.param(lambda n: "plain words " * (n // 12), id="plain-words"),
    pytest.param(lambda n: "<@123> " * (n // 7), id="mentions"),
    pytest.param(lambda n: "```" * (n // 3), id="code-fences"),
    pytest.param(lambda n: "> quoted\n" * (n // 9), id="quoted-lines"),
    pytest.param(lambda n: ">x" + "\n" * (n - 2), id="blank-lines"),
    pytest.param(lambda n: "<mx-reply>" * (n // 10), id="unclosed-mx-reply"),
])
def test_normaliser_time_grows_linearly_with_length(shape: Callable[[int], str]) -> None:
    """Four times the text costs about four times the time, never sixteen (no quadratic regex)."""
    assert _growth(shape) < 8
