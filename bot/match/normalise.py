"""Message text -> clean, comparable text. Pure and fast; caps length before any other work.

Strips what is not the author's own claim: code blocks, quoted replies (the bot's own words quoted back),
Matrix reply fallbacks, URLs, mentions, emoji and invisible or direction-changing characters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["MAX_INPUT_CHARS", "MAX_TEXT_CHARS", "UNSPACED", "normalise", "straight_apostrophes", "tokens", "stem",
           "word_count", "word_pieces"]

#: Raw text beyond this is ignored before anything else runs (a 1 MB message costs the same as 4 kB).
MAX_INPUT_CHARS = 4000
#: The cleaned text is capped again: claims are made in a sentence or two, not an essay.
MAX_TEXT_CHARS = 600

_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.S | re.I)
_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$", re.M)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_MENTION = re.compile(r"<[@#][!&]?\d+>|<a?:\w+:\d+>|@[\w.\-]+:[\w.\-]+|@\w+")
_HTML_TAG = re.compile(r"</?[a-z][^>]{0,200}>", re.I)
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")
_NOT_WORD = re.compile(r"[^\w\s'+\-]+")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_UNSPACED_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: A character of a script written without spaces between words (Chinese, Japanese).
UNSPACED = re.compile(f"[{_UNSPACED_CHARS}]")
_UNSPACED_RUN = re.compile(f"[{_UNSPACED_CHARS}]+")


def straight_apostrophes(low: str) -> str:
    """Typographic apostrophes as typed ones, so "dang’an" (as news sites print it) matches a term written
    dang'an. For the searches that run on raw text (the gate, ``requires``); ``normalise`` drops both kinds."""
    return low.replace("\u2019", "'").replace("\u02bc", "'") if not low.isascii() else low


def normalise(text: str) -> str:
    """Clean ``text`` for matching: NFKC, casefold, no URLs/mentions/code/quotes/emoji, one space between words."""
    text = text[:MAX_INPUT_CHARS]
    if "</mx-reply>" in text:  # without a closing tag the non-greedy search would rescan to the end each time
        text = _MX_REPLY.sub(" ", text)
    if "`" in text:
        text = _CODE_BLOCK.sub(" ", text)
        text = _INLINE_CODE.sub(" ", text)
    if ">" in text:
        text = _QUOTED_LINE.sub(" ", text)
        text = _HTML_TAG.sub(" ", text)
    text = _URL.sub(" ", text)
    if "@" in text or "<" in text:
        text = _MENTION.sub(" ", text)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    text = _NOT_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()[:MAX_TEXT_CHARS]


@lru_cache(maxsize=4096)  # bounded small: memory must stay flat under floods of new words
def stem(word: str) -> str:
    """A deliberately small English stemmer: plurals, -ed, -ing (``banned`` -> ``ban``, ``scores`` -> ``score``).

    Cached: chat reuses a small vocabulary, and loading a large knowledge base stems every word of it.
    """
    if len(word) <= 3 or not word.isascii():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
                word = word[:-1]
            return word
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


#: Words too common to say anything about a claim.
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being am it its it's "
    "this that these those i me my we our you your he she they them his her their what which who whom how "
    "so do does did doing have has had having not no nor too very can will just than then there here "
    "about into over out up down off again also would could should may might must shall i'm you're don't "
    "lol lmao yeah yes ok okay oh hey like just really".split()
)


def _han_pairs(word: str) -> list[str]:
    """A run of Chinese characters as its overlapping character pairs ("社会信用" -> 社会, 会信, 信用): Chinese
    is written without spaces, and pairs are the usual stand-in for its words."""
    if len(word) < 2:
        return [word]
    return [word[i:i + 2] for i in range(len(word) - 1)]


def tokens(text: str) -> list[str]:
    """Content words of normalised ``text``, stemmed, stopwords removed; Chinese as character pairs."""
    if text.isascii() or not UNSPACED.search(text):
        return [stem(w) for w in _WORD.findall(text) if w not in STOPWORDS]
    out: list[str] = []
    for w in _WORD.findall(_UNSPACED_RUN.sub(r" \g<0> ", text)):
        if UNSPACED.match(w):
            out.extend(_han_pairs(w))
        elif w not in STOPWORDS:
            out.append(stem(w))
    return out


#: Pieces of this many letters are cut from words of at least ``_PIECE_FROM`` letters by ``word_pieces``.
_PIECE = 5
_PIECE_FROM = 7


def word_pieces(text: str) -> list[str]:
    """``tokens`` plus the overlapping five-letter pieces of long words. In German or French a claim and an
    example often share no whole word ("Sozialkreditsystems", "Sozialkredit-Scores") but share pieces of them;
    the English encoder cannot make up for that in those languages, so their lexical score counts pieces."""
    words = tokens(text)
    pieces = [w[i:i + _PIECE] for w in words if len(w) >= _PIECE_FROM and w.isalpha()
              for i in range(len(w) - _PIECE + 1)]
    return words + pieces


def word_count(text: str) -> int:
    """How many words a text has (for the short-message rule and segmenting); Chinese counts a word for two
    characters."""
    han = 0 if text.isascii() else len(UNSPACED.findall(text))
    if not han:
        return len(_WORD.findall(text))
    return len(_WORD.findall(UNSPACED.sub(" ", text))) + han // 2
