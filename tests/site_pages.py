"""Test helpers for the website: a strict HTML reader (every element closed, in order) and a hostile knowledge
directory. Python's own html.parser is lenient; this one fails a page a browser would have to guess about."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["Element", "HOSTILE", "PageTree", "parse_page", "write_knowledge"]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    line: int
    text: str = ""
    children: list[Element] = field(default_factory=list)


@dataclass
class PageTree:
    root: Element
    elements: list[Element]
    errors: list[str]

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        """Elements with this tag (``"*"`` for any) whose attributes equal ``attrs`` (``class_`` for class)."""
        want = {k.rstrip("_"): v for k, v in attrs.items()}
        return [e for e in self.elements if (tag == "*" or e.tag == tag)
                and all(e.attrs.get(k) == v for k, v in want.items())]

    def ids(self) -> list[str]:
        return [e.attrs["id"] for e in self.elements if e.attrs.get("id")]


class _StrictParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, 0)
        self.stack = [self.root]
        self.elements: list[Element] = []
        self.errors: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.errors.append(f"line {self.getpos()[0]}: <{tag}> repeats an attribute")
        element = Element(tag, dict(attrs), self.getpos()[0])
        self.stack[-1].children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.errors.append(f"line {self.getpos()[0]}: <{tag}/> is not a void element")
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or len(self.stack) == 1 or self.stack[-1].tag != tag:
            open_tag = self.stack[-1].tag
            self.errors.append(f"line {self.getpos()[0]}: </{tag}> while <{open_tag}> is open")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack[1:]:
            element.text += data


def parse_page(text: str) -> PageTree:
    """Parse ``text``; ``errors`` lists unclosed, misnested or stray tags and a missing doctype."""
    parser = _StrictParser()
    parser.feed(text)
    parser.close()
    errors = list(parser.errors)
    if not parser.doctype:
        errors.append("no <!doctype html>")
    if len(parser.stack) > 1:
        errors.append("unclosed: " + ", ".join(f"<{e.tag}> (line {e.line})" for e in parser.stack[1:]))
    return PageTree(parser.root, parser.elements, errors)


#: Knowledge text written to attack the page: markup, scripts, event handlers and javascript: links.
HOSTILE = {
    "claim": '<script>window.__pwned = "claim"</script> Hostile <b>claim</b> "quoted" & more',
    "summary": 'A summary with <img src=x onerror="window.__pwned=1"> an image and </p><p>a closed paragraph.',
    "context": 'Context </script><script>window.__pwned = 2</script> with <a href="javascript:window.__pwned=3">a '
               "link</a> and {{ 7*7 }} template braces.",
    "title": '<iframe src="javascript:window.__pwned=4"></iframe> A title',
    "publisher": '"><svg onload="window.__pwned=5"> Publisher',
}


def write_knowledge(root: Path, *, claim_id: str, text: dict[str, str], source_url: str = "https://example.org/a",
                    related: tuple[str, ...] = ()) -> Path:
    """A small extra knowledge directory: one claim citing two new sources, as a moderator would write it."""
    import yaml

    (root / "claims").mkdir(parents=True, exist_ok=True)
    sources = [
        {"id": f"{claim_id}-source-a", "title": text["title"], "publisher": text["publisher"], "date": "2024-05",
         "url": source_url, "kind": "journalism"},
        {"id": f"{claim_id}-source-b", "title": "A second source", "publisher": "Example Press", "date": "2023",
         "url": "https://example.org/b", "kind": "research", "repost": True},
    ]
    (root / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")
    claim = {"id": claim_id, "claim": text["claim"], "verdict": "false", "summary": text["summary"],
             "context": text["context"], "sources": [s["id"] for s in sources],
             "examples": [f"example phrasing number {i} about the local claim" for i in range(8)],
             "related": list(related), "reviewed": "2026-11-20"}
    (root / "claims" / f"{claim_id}.yaml").write_text(yaml.safe_dump(claim, allow_unicode=True), encoding="utf-8")
    return root
