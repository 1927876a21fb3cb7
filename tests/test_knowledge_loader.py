"""The knowledge loader: every error at once, with file, line and field; overrides; atomic reloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import KnowledgeError
from bot.kb.loader import load_knowledge


def _claim_file(knowledge: Path, claim_id: str = "single-national-score") -> Path:
    return knowledge / "claims" / f"{claim_id}.yaml"


def _problems(dirs: list[Path]) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(dirs)
    return caught.value.problems


def test_bundled_knowledge_loads():
    """The knowledge base that ships with Footnote is valid."""
    from bot.config import BUNDLED_KNOWLEDGE

    kb, _ = load_knowledge([BUNDLED_KNOWLEDGE])
    assert len(kb.claims) >= 30
    assert all(kb.sources_for(c) for c in kb.claims.values())


def test_yaml_syntax_error_reports_line_and_column(knowledge_copy: Path):
    """A moderator's broken YAML names the file, line and column."""
    path = _claim_file(knowledge_copy)
    lines = path.read_text().splitlines()
    lines[3] = "summary: [unclosed"
    path.write_text("\n".join(lines))
    problems = _problems([knowledge_copy])
    assert any(p.startswith("knowledge/claims/single-national-score.yaml:") and "YAML syntax error" in p
               for p in problems), problems


def test_unknown_source_id_reports_line_and_field(knowledge_copy: Path):
    """`sources[1]: unknown source id` points at the line of the bad id."""
    path = _claim_file(knowledge_copy)
    text = path.read_text()
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("sources:"))
    first_item = index + 1 if lines[index].strip() == "sources:" else index
    if lines[index].strip() == "sources:":
        lines[first_item + 1] = "  - spc-list"
        expected_line = first_item + 2
    else:  # flow style: sources: [a, b]
        lines[index] = "sources: [clt-planning-outline-2014, spc-list]"
        expected_line = index + 1
    path.write_text("\n".join(lines) + "\n")
    problems = _problems([knowledge_copy])
    assert f"knowledge/claims/single-national-score.yaml:{expected_line} sources[1]: unknown source id 'spc-list'" \
        in " ".join(problems), problems


def test_every_problem_is_reported_at_once(knowledge_copy: Path):
    """Several broken files give several errors in one report, each with file, line and field."""
    bad = _claim_file(knowledge_copy, "travel-bans-low-score")
    text = bad.read_text()
    bad.write_text(text.replace("verdict:", "verdikt:", 1))
    other = _claim_file(knowledge_copy, "meme-points")
    other.write_text(other.read_text() + "\nsummary_extra: oops\n")
    problems = _problems([knowledge_copy])
    joined = "\n".join(problems)
    assert "travel-bans-low-score.yaml:" in joined and "verdikt: unknown field" in joined
    assert "travel-bans-low-score.yaml:1 verdict: missing required field" in joined
    assert "meme-points.yaml:" in joined and "summary_extra: unknown field" in joined


def test_bad_values_are_named(knowledge_copy: Path, tmp_path: Path):
    """Bad verdict, over-long summary, too few examples, non-http URL and a wrong file name are all caught."""
    path = _claim_file(knowledge_copy)
    import yaml

    data = yaml.safe_load(path.read_text())
    data["verdict"] = "totally-true"
    data["summary"] = "x" * 401
    data["examples"] = data["examples"][:3]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    meme = _claim_file(knowledge_copy, "meme-points")
    meme_data = yaml.safe_load(meme.read_text())
    meme_data["related"] = ["no-such-claim"]
    meme.write_text(yaml.safe_dump(meme_data, sort_keys=False))
    renamed = knowledge_copy / "claims" / "renamed.yaml"
    renamed.write_text(_claim_file(knowledge_copy, "meme-points").read_text())
    sources = knowledge_copy / "sources.yaml"
    sources.write_text(sources.read_text().replace("url: http", "url: ftp", 1))
    joined = "\n".join(_problems([knowledge_copy]))
    assert "verdict: must be 'accurate'" in joined
    assert "summary: too long: 401 characters, at most 400" in joined
    assert "examples: too few: 3, at least 8" in joined
    assert "related[0]: no entry with id 'no-such-claim'" in joined
    assert "renamed.yaml" in joined and "must equal the file name 'renamed'" in joined
    assert "sources.yaml:" in joined and "url" in joined


def test_unquoted_false_and_off_are_accepted(knowledge_copy: Path):
    """`verdict: false` and `auto_reply: off` work without quotes, as a moderator would write them."""
    path = _claim_file(knowledge_copy, "meme-points")
    text = path.read_text()
    import re

    text = re.sub(r"(?m)^verdict: .*$", "verdict: false", text)
    text = re.sub(r"(?m)^auto_reply: .*$", "auto_reply: off", text)
    path.write_text(text)
    kb, _ = load_knowledge([knowledge_copy])
    assert kb.claims["meme-points"].verdict == "false"
    assert kb.claims["meme-points"].auto_reply == "off"


def test_local_directory_overrides_an_id_with_a_warning(knowledge_copy: Path, tmp_path: Path):
    """A community's own directory, loaded later, replaces a bundled claim and says so."""
    local = tmp_path / "local" / "claims"
    local.mkdir(parents=True)
    original = _claim_file(knowledge_copy, "meme-points").read_text()
    (local / "meme-points.yaml").write_text(original.replace("auto_reply: react", "auto_reply: \"off\""))
    kb, report = load_knowledge([knowledge_copy, tmp_path / "local"])
    assert kb.claims["meme-points"].auto_reply == "off"
    assert any("meme-points" in w and "overrides" in w for w in report.warnings)
