"""The knowledge-file schema: one claim per YAML file, every source once in ``sources.yaml``.

These pydantic models are the single definition of what a moderator may write. ``python -m bot kb schema``
turns them into ``knowledge/schema.json`` so editors validate as moderators type.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
    model_validator,
)

from ..match.normalise import UNSPACED

__all__ = [
    "AutoReply",
    "Claim",
    "SUMMARY_MAX",
    "CONTEXT_MAX",
    "MIN_EXAMPLES",
    "MIN_SOURCES",
    "requires_pattern",
    "Source",
    "SourceKind",
    "TopicSettings",
    "Verdict",
]

SUMMARY_MAX = 400
CONTEXT_MAX = 1500
MIN_SOURCES = 2
MIN_EXAMPLES = 8

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ClaimId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Verdict(StrEnum):
    """How well the evidence supports a claim."""

    ACCURATE = "accurate"
    MOSTLY_ACCURATE = "mostly-accurate"
    MIXED = "mixed"
    MISLEADING = "misleading"
    FALSE = "false"
    UNSUPPORTED = "unsupported"
    OUTDATED = "outdated"
    #: Not a claim but a topic (``/source sesame``): the entry explains a system and gives no verdict.
    TOPIC = "topic"

    @property
    def label(self) -> str:
        """The verdict as a reader sees it: ``Mostly accurate``."""
        return self.value.replace("-", " ").capitalize()


class AutoReply(StrEnum):
    """How eagerly the bot answers a claim that nobody asked it about."""

    REPLY = "reply"
    REACT = "react"
    OFF = "off"


class SourceKind(StrEnum):
    PRIMARY = "primary"
    RESEARCH = "research"
    JOURNALISM = "journalism"
    REFERENCE = "reference"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Strict):
    """A document a claim cites. Listed once in ``sources.yaml`` and referred to by id."""

    id: ClaimId
    title: Text
    publisher: Text
    author: str | None = None
    date: str = Field(description="Publication date as YYYY, YYYY-MM or YYYY-MM-DD; 'unknown' if none shown.")
    url: HttpUrl = Field(description="http or https address that a reader can open.")
    kind: SourceKind
    repost: bool = Field(default=False, description="The address is a copy of the original publisher's text.")

    @field_validator("date")
    @classmethod
    def _date_shape(cls, value: str) -> str:
        if value != "unknown" and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
            raise ValueError("write the date as YYYY, YYYY-MM or YYYY-MM-DD, or 'unknown'")
        return value

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: HttpUrl) -> HttpUrl:
        if value.scheme not in ("http", "https"):
            raise ValueError("only http and https links are allowed")
        return value

    @property
    def year(self) -> str:
        """The publication year, or an empty string when unknown."""
        return self.date[:4] if self.date[:4].isdigit() else ""


def requires_pattern(terms: list[str]) -> re.Pattern[str]:
    """What a claim's ``requires`` list matches in casefolded text: any term, at the start of a word
    (anywhere, for a Chinese term)."""
    # A Chinese term has no word boundary in front of it: "中国社会信用" holds 社会信用. One \b before a group
    # of the others, not one per branch: an alternation mixing both kinds is ten times slower to search.
    spaced = [re.escape(t.casefold()) for t in terms if not UNSPACED.match(t)]
    unspaced = [re.escape(t) for t in terms if UNSPACED.match(t)]
    return re.compile("|".join(([rf"\b(?:{'|'.join(spaced)})"] if spaced else []) + unspaced))


class Claim(_Strict):
    """One claim (or topic) people make in chat, with the bot's answer to it."""

    id: ClaimId = Field(description="Equal to the file name without .yaml.")
    claim: Text = Field(description="The claim as people state it, not a verdict.")
    verdict: Verdict
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=SUMMARY_MAX)] = (
        Field(description=f"What the bot says in chat, at most {SUMMARY_MAX} characters, in your own words.")
    )
    context: Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=CONTEXT_MAX)] = (
        Field(description=f"The longer answer for /source, at most {CONTEXT_MAX} characters.")
    )
    sources: list[ClaimId] = Field(min_length=MIN_SOURCES, description="Ids from sources.yaml, best first.")
    examples: list[Text] = Field(min_length=MIN_EXAMPLES, description="How people say it in chat.")
    counter_examples: list[Text] = Field(default_factory=list, description="Near misses that must not match.")
    keywords: list[Text] = Field(
        default_factory=list,
        description="Extra words that put a message on topic and help /source find this entry (e.g. 'zhima').",
    )
    requires: list[Text] = Field(
        default_factory=list,
        description="When set, a message matches this claim only if it holds one of these words or phrases "
                    "(a word matches its longer forms: 'scor' finds 'score' and 'scoring'); for claims that link "
                    "something else to social credit, so news about that thing alone is not answered.",
    )
    auto_reply: AutoReply = AutoReply.REPLY
    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Overrides the global confident threshold for this claim."
    )
    related: list[ClaimId] = Field(default_factory=list)
    reviewed: dt.date

    @field_validator("verdict", mode="before")
    @classmethod
    def _unquoted_false(cls, value: object) -> object:
        # YAML reads an unquoted `verdict: false` as a boolean; moderators should not need to quote it.
        return "false" if value is False else value

    @field_validator("examples", "counter_examples", "keywords", "requires", mode="before")
    @classmethod
    def _numbers_are_text(cls, value: object) -> object:
        # `- 2020` or `- -1000` in a list of phrases is text to a moderator, a number to YAML.
        if isinstance(value, list):
            return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("auto_reply", mode="before")
    @classmethod
    def _unquoted_off(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted `auto_reply: off` as the boolean false.
        return "off" if value is False else value

    @field_validator("auto_reply")
    @classmethod
    def _topics_never_auto_reply(cls, value: AutoReply, info) -> AutoReply:
        if info.data.get("verdict") == Verdict.TOPIC and value != AutoReply.OFF:
            raise ValueError("a topic entry (verdict: topic) must have auto_reply: off")
        return value

    @model_validator(mode="after")
    def _examples_hold_a_required_word(self) -> Claim:
        # An example without any `requires` word could never match its own claim: a contradiction to report.
        if self.requires:
            pattern = requires_pattern(self.requires)
            unmatchable = [e for e in self.examples if not pattern.search(e.casefold())]
            if unmatchable:
                raise ValueError(f"example {unmatchable[0]!r} holds none of the `requires` words {self.requires}, so "
                                 f"it could never match: add one of its words to `requires` or reword it")
        return self

    @property
    def is_topic(self) -> bool:
        """True for entries that explain a system rather than judge a claim."""
        return self.verdict == Verdict.TOPIC


class TopicSettings(_Strict):
    """``knowledge/topic.yaml``: the vocabulary that puts a message on topic, and chat that never is."""

    gate_terms: list[Text] = Field(
        min_length=1, description="Words or phrases that put a message on topic (typos are tolerated)."
    )
    place_terms: list[Text] = Field(
        default_factory=list,
        description="Names of the place or its government (Chine, Peking): alone a hint, with a weak term on topic.",
    )
    weak_terms: list[Text] = Field(
        default_factory=list,
        description="Words that hint at the topic (score, blacklist): such messages are scored at a stricter bar.",
    )
    off_topic_examples: list[Text] = Field(
        default_factory=list, description="Messages that mention the vocabulary but make no claim (FICO, ...)."
    )
