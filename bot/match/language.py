"""Is a text English? A cheap guess from function words, to keep English and other-language examples apart.

The encoder reads English only: in German, French or Chinese it matches by shared words and word pieces. Mixed
into one index, other-language examples move every English score (they shift the mean that centring removes,
the classifier's classes and the BM25 weights), so the matcher keeps an English index and an index of every
example, and sends each message to one of them by this guess. Function words ("the", "und", "les") and
accented letters decide; Chinese characters outnumbering Latin words three to one make a text Chinese; a
text with neither counts as English (chat lines such as "social credit -1000 lol").
"""

from __future__ import annotations

import re

from .normalise import UNSPACED

__all__ = ["is_english"]

_LATIN_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")  # "e-CNY" is one word, not Italian "e"
_ENGLISH = frozenset(
    "the of and to is that it for are be was with on as by this they have not you people their from or can "
    "if what but has an at its were been would will your who which we he she my me just about all there than "
    "how said says them these those our us because into more only after should could".split())
#: Function words of German, French, Spanish, Italian and Portuguese that are not also English words (so not
#: "a", "die", "do", "no", "so", "was").
_OTHER = frozenset((
    "der das und ist nicht ein eine einen einem zu den dem von mit sich auch auf für wird werden sind im des "
    "wie wer sein seine ihre ihr bei nach über wenn dass nur noch schon aber oder kein keine hat haben jetzt "
    "gibt darf kann muss vom zum zur beim ins unter gegen durch ohne mehr sehr immer alle dann ob du dir "
    "deine dein ich wir "
    "le la les et est une des du en pas que qui dans pour sur au aux ce sont par je tu il nous vous ils elle "
    "avec mais où comme cette ces sa ses leur leurs été être avoir fait faire tout tous très aussi peut chez "
    "selon quand sans entre déjà chaque "
    "de el los las y es un una por con para del se lo como su al más sus pero muy ya este esta estos está "
    "fue ser hay sobre también cuando donde porque según cada todo todos "
    "gli di che non è per sono della nel alla dei delle degli al ha hanno anche più ma questo questa ti mi ho "
    "tutti ogni dove perché ci si loro e o da na chi "
    "os um uma não com em dos das ao pelo pela são nos nas foi seu sua mais mas já isso esse essa meu minha "
    "quem").split())
#: Letters English hardly uses: a word holding one counts as another language's.
_ACCENTED = re.compile(r"[äöüßéèêëàâçñãõíóúìòùœ]")


def is_english(text: str) -> bool:
    """True unless ``text`` looks written in another language (more of its function words, or mostly Chinese)."""
    low = text.casefold()
    words = _LATIN_WORD.findall(UNSPACED.sub(" ", low))
    han = len(UNSPACED.findall(low))
    if han >= 4 and han > 3 * len(words):
        return False
    english = sum(w in _ENGLISH for w in words)
    other = sum(w in _OTHER or _ACCENTED.search(w) is not None for w in words)
    return english >= other
