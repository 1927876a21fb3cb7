"""Split a message into sentences and clauses, so one claim sentence inside a long post can be found.

Runs on raw text (sentence ends need the punctuation that normalising removes); each segment is normalised by
the caller. Deliberately conservative: it splits at sentence ends, line breaks, semicolons and a clause-level
"but"/"however"/"although", never at "and" or "so" (splitting there tore claims apart: "they ban you from
trains and planes"). Very short pieces are glued to their neighbour, so a segment always says something.
"""

from __future__ import annotations

import re

from .normalise import word_count

__all__ = ["segments", "MIN_SEGMENT_WORDS", "MAX_SEGMENTS"]

#: A piece with fewer words is joined to the one before it (or after it, at the start).
MIN_SEGMENT_WORDS = 6
#: A message yields at most this many segments (the longest pieces are merged first): bounds the encoder cost.
MAX_SEGMENTS = 6

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|(?<=[。！？；])[”’」』）]*\s*|\n+|;\s+|\s+[-–—]{1,2}\s+")
_CLAUSE = re.compile(r",?\s+(?=(?:but|however|although|though|whereas|yet)\s)", re.I)
#: Abbreviations whose full stop does not end a sentence.
_ABBREV = re.compile(r"(?:\b(?:mr|mrs|ms|dr|prof|st|vs|etc|e\.g|i\.e|u\.s|u\.k|no|approx|jan|feb|mar|apr|"
                     r"jun|jul|aug|sep|sept|oct|nov|dec)|\b[a-z])\.$", re.I)
_WORD = re.compile(r"\w+")


def _sentences(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        piece = text[start:m.start()]
        if _ABBREV.search(piece.rstrip()) and "\n" not in m.group():
            continue  # "Mr. Liu", "the U.S. too": not a sentence end
        pieces.append(piece)
        start = m.end()
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def _glue(pieces: list[str]) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        if out and (word_count(piece) < MIN_SEGMENT_WORDS or word_count(out[-1]) < MIN_SEGMENT_WORDS):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def segments(text: str) -> list[str]:
    """The sentences and clauses of raw ``text`` (at least one word each); one item for a single sentence."""
    pieces: list[str] = []
    for sentence in _sentences(text):
        clauses = _CLAUSE.split(sentence) if word_count(sentence) > 12 else [sentence]
        pieces.extend(c.strip() for c in clauses if c.strip())
    pieces = _glue([p for p in pieces if _WORD.search(p)])
    while len(pieces) > MAX_SEGMENTS:  # merge the shortest adjacent pair
        sizes = [len(pieces[i]) + len(pieces[i + 1]) for i in range(len(pieces) - 1)]
        i = sizes.index(min(sizes))
        pieces[i:i + 2] = [f"{pieces[i]} {pieces[i + 1]}"]
    return pieces
