"""The topic gate: is a message about social credit at all? Most chat is not, and must leave in microseconds.

Built from the knowledge base's vocabulary (``topic.yaml`` gate_terms and weak_terms).
Single words tolerate one typo ("credt", "sesmae") through a precomputed set of every spelling within one
edit, so checking a message is a set intersection in C, not a loop of fuzzy comparisons in Python.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from .normalise import UNSPACED, straight_apostrophes

__all__ = ["TopicGate", "PLACE_TERMS"]

#: Gate terms that name a place or its government rather than the topic. On real text "China" alone is weak
#: evidence (court news, dog rules, trade, food); with a weak word ("score", "points", "blacklist") it is
#: strong: "China" + "score" is how people write about social credit.
PLACE_TERMS = frozenset("china chinese china's ccp prc beijing shanghai shenzhen jinan suzhou hangzhou "
                        "中国".split()) | {"xi jinping"}

_WORD = re.compile(r"\w+")
#: For ASCII text, bytes.translate to spaces then split() finds the same words as ``_WORD`` (letters, digits and
#: "_" are word characters) in half the time; it screens the great majority of chat. Casefolded text only.
_ASCII_WORD_BYTES = bytes(b if chr(b) in string.ascii_lowercase + string.digits + "_" else 32 for b in range(256))
_LETTERS = string.ascii_lowercase
#: Words shorter than this must be spelt exactly ("ccp" within one edit of "cap" would be noise).
_TYPO_MIN_LEN = 7
_ARTICLES = frozenset({"the", "a", "an"})


def _one_edit(word: str) -> set[str]:
    """Every ASCII spelling within one deletion, transposition, substitution or insertion of ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    out |= {a + c + b for a, b in splits for c in _LETTERS}
    return out


def _is_word(term: str) -> bool:
    """A term matched as one whole word: a single run of letters in a script that separates words by spaces.

    Chinese ("社会信用") is written without spaces, so a Chinese term is matched inside the text, as a phrase.
    """
    parts = _WORD.findall(term)
    return len(parts) == 1 and parts[0] == term and not UNSPACED.search(term)


class _Terms:
    """Words (with their one-typo spellings) and phrases."""

    def __init__(self, terms: Iterable[str]) -> None:
        words: set[str] = set()
        phrases: list[str] = []
        for term in terms:
            term = term.casefold().strip()
            if not term:
                continue
            if _is_word(term):
                words.add(term)
            else:
                phrases.append(term)
        spellings = set(words)
        for word in words:
            if len(word) >= _TYPO_MIN_LEN and word.isascii() and word.isalpha():
                spellings |= {s for s in _one_edit(word) if len(s) >= _TYPO_MIN_LEN - 1}
        self.spellings = frozenset(spellings)
        self.phrase_list = tuple(phrases)
        self.phrases = (
            re.compile("|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)))
            if phrases else None
        )

    def matches(self, low: str, words: list[str]) -> bool:
        if not self.spellings.isdisjoint(words):
            return True
        return bool(self.phrases and self.phrases.search(low))

    def hits(self, low: str, words: list[str]) -> list[str]:
        found = [w for w in words if w in self.spellings]
        return found + (self.phrases.findall(low) if self.phrases else [])


def _first_words(phrases: Iterable[str]) -> frozenset[str]:
    """The word each (spaced) phrase starts with, after an article ("the party" -> "party"): text with none of
    them as a word holds none of the phrases (bar a phrase glued to the end of a longer word: "antisocial")."""
    keys = set()
    for phrase in phrases:
        words = _WORD.findall(phrase)
        if words and not UNSPACED.search(phrase):
            keys.add(words[1] if words[0] in _ARTICLES and len(words) > 1 else words[0])
    return frozenset(keys)


class TopicGate:
    """Decides in microseconds how strongly a message is about the topic.

    Level 2: a gate term (``social credit``, ``zhima``), or a place term (``china``, ``ccp``) together with a
    weak term (``score``, ``blacklist``); level 1: only a weak term or only a place term, scored at a stricter
    bar; level 0: neither, not scored unless the channel is on topic.
    """

    STRONG = 2
    WEAK = 1
    NONE = 0

    def __init__(self, terms: Iterable[str], weak_terms: Iterable[str] = (),
                 place_terms: Iterable[str] = PLACE_TERMS) -> None:
        terms = [t.casefold().strip() for t in terms]
        places = {p.casefold() for p in place_terms}
        self._strong = _Terms(t for t in terms if t not in places)
        self._place = _Terms(t for t in terms if t in places)
        self._weak = _Terms(weak_terms)
        # The pre-screen: almost all chat holds none of these words, and leaves after one set check.
        every = (self._strong, self._place, self._weak)
        self._screen = frozenset().union(*(t.spellings for t in every),
                                         *(_first_words(t.phrase_list) for t in every))
        self._screen_ascii = frozenset(word.encode() for word in self._screen if word.isascii())
        unspaced = [p for t in every for p in t.phrase_list if UNSPACED.search(p)]
        self._unspaced = re.compile("|".join(map(re.escape, unspaced))) if unspaced else None

    def level(self, text: str) -> int:
        """2, 1 or 0 for ``text`` (raw or normalised); one typo is allowed in words of seven letters or more."""
        low = text[:4000].casefold()
        ascii_text = low.isascii()
        if ascii_text and self._screen_ascii.isdisjoint(low.encode().translate(_ASCII_WORD_BYTES).split()):
            return self.NONE
        words = _WORD.findall(low)
        if not ascii_text and self._screen.isdisjoint(words) and not (self._unspaced and self._unspaced.search(low)):
            return self.NONE
        low = straight_apostrophes(low)
        if self._strong.matches(low, words):
            return self.STRONG
        weak = self._weak.matches(low, words)
        if self._place.matches(low, words):
            return self.STRONG if weak else self.WEAK
        return self.WEAK if weak else self.NONE

    def matches(self, text: str) -> bool:
        """True when ``text`` contains a (strong) gate term."""
        return self.level(text) == self.STRONG

    def hits(self, text: str) -> list[str]:
        """The gate terms (or their typo'd spellings) found in ``text``, for explanations."""
        low = straight_apostrophes(text[:4000].casefold())
        words = _WORD.findall(low)
        return self._strong.hits(low, words) + self._place.hits(low, words) + self._weak.hits(low, words)
