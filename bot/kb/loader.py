"""Knowledge files -> :class:`KnowledgeBase`, with every error reported at once as ``file:line field: message``.

Directories are read in order (the bundled ``knowledge/`` first, then a community's local additions); a
later directory overrides an id, with a warning. Only ``yaml.safe_load``-equivalent parsing is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import KnowledgeError
from .models import Claim, Source, TopicSettings

__all__ = ["KnowledgeBase", "load_knowledge", "LoadReport"]

Path_ = tuple[str | int, ...]
#: Safe loading only (no arbitrary Python objects); libyaml's C implementation when available.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated, immutable knowledge base. Swapped whole on reload, never edited in place."""

    claims: dict[str, Claim]
    sources: dict[str, Source]
    topic: TopicSettings
    files: dict[str, Path] = field(default_factory=dict)

    def sources_for(self, claim: Claim) -> tuple[Source, ...]:
        """The claim's sources, best first."""
        return tuple(self.sources[s] for s in claim.sources if s in self.sources)


@dataclass
class LoadReport:
    """What a load found besides errors: overrides and counts, for ``kb check`` and logs."""

    warnings: list[str] = field(default_factory=list)


class _LineIndex:
    """Maps a path inside a YAML document (``("sources", 2)``) to its 1-based line.

    Built on first use: a valid file (the usual case) never pays for the walk.
    """

    def __init__(self, node: yaml.Node | None) -> None:
        self._node = node
        self._lines: dict[Path_, int] | None = None

    @property
    def lines(self) -> dict[Path_, int]:
        if self._lines is None:
            self._lines = {}
            if self._node is not None:
                self._walk(self._node, ())
        return self._lines

    def _walk(self, node: yaml.Node, path: Path_) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    self.lines[(*path, key.value)] = key.start_mark.line + 1
                    self._walk_child(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*path, i))

    def _walk_child(self, node: yaml.Node, path: Path_) -> None:
        key_line = self.lines[path]
        self._walk(node, path)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.lines[path] = key_line

    def line(self, path: Path_) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def _nodes(root: yaml.Node | None) -> Iterator[tuple[yaml.Node, bool]]:
    """Every node once, iteratively (no recursion), flagging nodes reached a second time (aliases)."""
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            yield node, True
            continue
        seen.add(id(node))
        yield node, False
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += [value, key]
        elif isinstance(node, yaml.SequenceNode):
            stack += reversed(node.value)


def _alias_line(root: yaml.Node | None) -> int:
    """The line of the first alias in the document, or 0 when there is none."""
    return next((node.start_mark.line + 1 for node, again in _nodes(root) if again), 0)


def _bad_timestamp_line(root: yaml.Node | None) -> int:
    """The line of the first value YAML reads as a date, where a date failed to construct."""
    return next((node.start_mark.line + 1 for node, _ in _nodes(root)
                 if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":timestamp")), 1)


def _field_name(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see docs/knowledge.md for the fields)"
    if kind == "missing":
        return "missing required field"
    if kind == "enum":
        return "must be " + str(err["msg"]).removeprefix("Input should be ")
    if kind == "string_too_long":
        return f"too long: {len(err['input'])} characters, at most {err['ctx']['max_length']}"
    if kind == "too_short" and isinstance(err.get("input"), list):
        return f"too few: {len(err['input'])}, at least {err['ctx']['min_length']}"
    if kind == "url_scheme":
        return "only http and https links are allowed"
    return str(err["msg"]).removeprefix("Value error, ")


def _parse(path: Path, rel: str, problems: list[str]) -> tuple[Any, _LineIndex] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{rel}: cannot read the file ({exc})")
        return None
    try:
        # One parse gives both the node tree (for line numbers) and the data; the C loader when present.
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            alias_line = _alias_line(node) if "*" in text else 0  # an alias is written *name
            if alias_line:
                problems.append(f"{rel}:{alias_line}: YAML anchors and aliases (&name, *name) are not allowed "
                                "in knowledge files; write the text out in full")
                return None
            data = loader.construct_document(node) if node is not None else None
            lines = _LineIndex(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{rel}:{mark.line + 1}:{mark.column + 1}" if mark else rel
        problem = getattr(exc, "problem", None) or str(exc)
        problems.append(f"{where}: YAML syntax error: {problem}")
        return None
    except (ValueError, TypeError, OverflowError) as exc:  # an impossible date such as 2024-13-01
        problems.append(f"{rel}:{_bad_timestamp_line(node)}: invalid value ({exc}); write dates as YYYY-MM-DD")
        return None
    except RecursionError:
        problems.append(f"{rel}: nested too deeply to be a knowledge file")
        return None
    return data, lines


def _validate(model: type[BaseModel], data: Any, rel: str, lines: _LineIndex, problems: list[str],
              prefix: Path_ = ()) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = (*prefix, *err["loc"])
            problems.append(f"{rel}:{lines.line(loc)} {_field_name(loc)}: {_message(err)}")
        return None


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def load_knowledge(dirs: list[Path]) -> tuple[KnowledgeBase, LoadReport]:
    """Load and cross-check every knowledge directory in ``dirs``.

    Raises:
        KnowledgeError: listing every problem found, each as ``file:line field: message``.
    """
    problems: list[str] = []
    report = LoadReport()
    claims: dict[str, Claim] = {}
    claim_lines: dict[str, tuple[str, _LineIndex]] = {}
    sources: dict[str, Source] = {}
    topic: TopicSettings | None = None
    files: dict[str, Path] = {}
    known_ids: set[str] = set()  # every claim file seen, valid or not, so one bad file doesn't cascade

    if not dirs:
        raise KnowledgeError(["no knowledge directory configured (knowledge.bundled is off and extra_dirs empty)"])
    for root in dirs:
        root = Path(root)
        if not root.is_dir():
            problems.append(f"{root}: not a directory (check knowledge.extra_dirs in the config)")
            continue
        seen_here: set[str] = set()
        sources_file = root / "sources.yaml"
        if sources_file.exists():
            rel = _rel(sources_file, root)
            parsed = _parse(sources_file, rel, problems)
            if parsed is not None:
                data, lines = parsed
                if not isinstance(data, list):
                    problems.append(f"{rel}:1: must be a list of sources (each starting with '- id:')")
                else:
                    local: set[str] = set()
                    for i, item in enumerate(data):
                        source = _validate(Source, item, rel, lines, problems, (i,))
                        if not isinstance(source, Source):
                            continue
                        if source.id in local:
                            problems.append(f"{rel}:{lines.line((i, 'id'))} [{i}].id: duplicate source id "
                                            f"'{source.id}'")
                        elif source.id in sources:
                            report.warnings.append(f"{rel}: source '{source.id}' overrides an earlier one")
                        local.add(source.id)
                        sources[source.id] = source
        topic_file = root / "topic.yaml"
        if topic_file.exists():
            rel = _rel(topic_file, root)
            parsed = _parse(topic_file, rel, problems)
            if parsed is not None:
                data, lines = parsed
                loaded = _validate(TopicSettings, data, rel, lines, problems)
                if isinstance(loaded, TopicSettings):
                    if topic is not None:
                        topic = TopicSettings(
                            gate_terms=[*topic.gate_terms, *loaded.gate_terms],
                            place_terms=[*topic.place_terms, *loaded.place_terms],
                            weak_terms=[*topic.weak_terms, *loaded.weak_terms],
                            off_topic_examples=[*topic.off_topic_examples, *loaded.off_topic_examples],
                        )
                    else:
                        topic = loaded
        claims_dir = root / "claims"
        for path in sorted(claims_dir.glob("*.y*ml")) if claims_dir.is_dir() else []:
            rel = _rel(path, root)
            known_ids.add(path.stem)
            parsed = _parse(path, rel, problems)
            if parsed is None:
                continue
            data, lines = parsed
            if not isinstance(data, dict):
                problems.append(f"{rel}:1: a claim file must be a mapping of fields (id:, claim:, ...)")
                continue
            claim = _validate(Claim, data, rel, lines, problems)
            if not isinstance(claim, Claim):
                continue
            if claim.id != path.stem:
                problems.append(f"{rel}:{lines.line(('id',))} id: '{claim.id}' must equal the file name "
                                f"'{path.stem}' (rename the file or change the id)")
                continue
            if claim.id in seen_here:
                problems.append(f"{rel}:{lines.line(('id',))} id: duplicate id '{claim.id}' in {root}")
                continue
            if claim.id in claims:
                report.warnings.append(f"{rel}: '{claim.id}' overrides {files[claim.id]}")
            seen_here.add(claim.id)
            claims[claim.id] = claim
            claim_lines[claim.id] = (rel, lines)
            files[claim.id] = path

    for claim_id, claim in claims.items():
        rel, lines = claim_lines[claim_id]
        for i, source_id in enumerate(claim.sources):
            if source_id not in sources:
                problems.append(f"{rel}:{lines.line(('sources', i))} sources[{i}]: unknown source id "
                                f"'{source_id}' (add it to sources.yaml or fix the spelling)")
        if len(set(claim.sources)) != len(claim.sources):
            problems.append(f"{rel}:{lines.line(('sources',))} sources: a source is listed twice")
        for i, related in enumerate(claim.related):
            if related not in claims and related not in known_ids:
                problems.append(f"{rel}:{lines.line(('related', i))} related[{i}]: no entry with id '{related}'")
    if topic is None:
        problems.append(f"{dirs[0]}/topic.yaml: missing (it lists the gate_terms that put a message on topic)")
    if not claims and not problems:
        problems.append(f"{dirs[0]}/claims: no claim files found")
    if problems:
        raise KnowledgeError(problems)
    assert topic is not None
    return KnowledgeBase(claims=claims, sources=sources, topic=topic, files=files), report
