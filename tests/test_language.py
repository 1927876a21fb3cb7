"""Messages in other languages: each is scored against examples of its own kind, and English stays unmoved."""

from __future__ import annotations

from bot.brain import build_brain
from bot.config import MatchConfig
from bot.match.language import is_english
from bot.match.normalise import normalise, word_pieces
from bot.messages import Tier


def test_english_chat_and_prose_are_english():
    """Chat lines without function words, and English with a Chinese term in it, count as English."""
    assert is_english("social credit -1000 lol")
    assert is_english("china's e-CNY pilot handed out red envelopes in shenzhen back in 2020")
    assert is_english("my friend showed me her 芝麻信用 number, that's the government score everyone talks about")
    assert is_english("The blacklist is run by the courts, and it is not a score.")


def test_german_french_spanish_italian_portuguese_and_chinese_are_not():
    """Their function words, accented letters or characters give them away."""
    assert not is_english("Die Liste ist eine Erweiterung des Sozialkreditsystems.")
    assert not is_english("Le crédit social chinois note les citoyens selon leur comportement.")
    assert not is_english("El sistema de crédito social de China castiga a los ciudadanos.")
    assert not is_english("In Cina i figli di chi ha un credito sociale basso non possono iscriversi.")
    assert not is_english("Na China, criticar o governo faz a sua pontuação cair.")
    assert not is_english("中国的社会信用体系并不是一个统一的全国评分")


def _scores(brain, text):
    result = brain.matcher.match(text)
    return result.tier, [(c.claim_id, round(c.combined, 6)) for c in result.candidates]


def test_examples_in_another_language_do_not_move_any_english_score(knowledge_copy):
    """A moderator who adds German examples changes nothing for English messages, and German ones now match."""
    english = ["in china if your social credit is too low you can't buy a plane ticket",
               "Beijing wants every citizen to have one social credit score, the state's number for your life."]
    german = "Wer in China einen schlechten Sozialkredit hat, darf keine Flugtickets und Zugtickets mehr kaufen."
    before = build_brain([knowledge_copy], MatchConfig())[0]
    path = knowledge_copy / "claims" / "travel-bans-low-score.yaml"
    text = path.read_text()
    added = ('  - "Mit schlechtem Sozialkredit darf man in China keine Flugtickets und keine Zugtickets kaufen."\n'
             '  - "Millionen Chinesen dürfen wegen ihres Sozialkredits nicht fliegen und nicht Zug fahren."\n')
    path.write_text(text.replace("counter_examples:\n", added + "counter_examples:\n", 1))
    after = build_brain([knowledge_copy], MatchConfig())[0]
    for line in english:
        assert _scores(after, line) == _scores(before, line)
    assert before.matcher.match(german).claim_id != "travel-bans-low-score"
    assert after.matcher.match(german).claim_id == "travel-bans-low-score"


def test_a_claim_in_another_language_gets_a_quiet_suggestion_not_a_reply(brain):
    """The encoder reads English only, so a German match is offered as 🔎, never posted as a full reply."""
    result = brain.matcher.match("Millionen Chinesen dürfen wegen ihres schlechten Sozialkredits keine Flugtickets "
                                 "und keine Zugtickets kaufen.")
    assert result.claim_id == "travel-bans-low-score"
    assert result.tier == Tier.SUGGEST and "not English" in result.reason
    english = brain.matcher.match("in china if your social credit is too low you can't buy a plane ticket")
    assert english.tier == Tier.CONFIDENT


def test_other_languages_are_matched_on_pieces_of_long_words():
    """'Sozialkreditsystems' and 'Sozialkredit-Scores' share pieces, where whole words differ."""
    a = set(word_pieces(normalise("die Erweiterung des Sozialkreditsystems")))
    b = set(word_pieces(normalise("wegen ihres Sozialkredit-Scores")))
    assert {"sozia", "kredi"} <= a & b
    assert word_pieces("social credit") == ["social", "credit"]
