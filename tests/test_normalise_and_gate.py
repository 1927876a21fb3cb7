"""Cleaning text and the topic gate."""

from __future__ import annotations

from bot.match.gate import TopicGate
from bot.match.normalise import MAX_TEXT_CHARS, normalise, stem, tokens


def test_urls_mentions_code_and_quotes_are_removed():
    """Only the author's own words are matched."""
    text = ("> the bot said: social credit is a myth\n<@1234> look https://example.com/social-credit "
            "```social credit code``` `inline` really?")
    assert normalise(text) == "look really"


def test_matrix_reply_fallback_is_removed():
    """Matrix <mx-reply> quotes of the bot's own words are not matched again."""
    assert normalise("<mx-reply><blockquote>social credit</blockquote></mx-reply>thanks") == "thanks"


def test_invisible_and_direction_characters_are_removed():
    """Zero-width spaces and RTL overrides can't hide a word from the matcher."""
    assert normalise("so\u200bcial cr\u202eedit") == "social credit"


def test_unicode_is_folded():
    """Full-width letters and case differences compare equal."""
    assert normalise("ＳＯＣＩＡＬ Credit") == "social credit"


def test_length_is_capped_before_work():
    """A 1 MB message is cut down before any matching."""
    assert len(normalise("word " * 200_000)) <= MAX_TEXT_CHARS


def test_stemming_merges_simple_forms():
    """banned/ban, scores/score, cities/city match."""
    assert stem("banned") == stem("ban") == "ban"
    assert stem("scores") == "score" and stem("cities") == "city"
    assert "the" not in tokens("the social credit")


def test_gate_tolerates_one_typo_in_long_words():
    """'scoial credit' and 'blacklsit' still count; unrelated words don't."""
    gate = TopicGate(["social credit", "blacklist", "sesame"], ["score"])
    assert gate.level("the blacklsit thing") == TopicGate.STRONG
    assert gate.level("my score went up") == TopicGate.WEAK
    assert gate.level("how do I install ubuntu") == TopicGate.NONE
    assert gate.level("Social Credit!") == TopicGate.STRONG


def test_chinese_terms_are_found_inside_running_chinese_text():
    """Chinese has no spaces between words, so 社会信用 inside a longer sentence still opens the gate."""
    gate = TopicGate(["social credit", "社会信用", "中国"], ["score"])
    assert gate.level("全国人大常委会将社会信用立法纳入了立法规划。") == TopicGate.STRONG
    assert gate.level("C’est le système de crédit social (社会信用体系), une initiative") == TopicGate.STRONG
    assert gate.level("我今天在中国吃了饺子") == TopicGate.WEAK
    assert gate.level("我今天吃了饺子") == TopicGate.NONE


def test_phrases_open_the_gate_whatever_word_they_start_with():
    """Every phrase is still found after the one-set pre-screen, "the party" included."""
    gate = TopicGate(["social credit", "sesame credit"], ["the party", "big brother"])
    assert gate.level("my Social Credit dropped") == TopicGate.STRONG
    assert gate.level("what sesame credit said") == TopicGate.STRONG
    assert gate.level("whatever the party says goes") == TopicGate.WEAK
    assert gate.level("big brother is watching") == TopicGate.WEAK
    assert gate.level("the mount points are wrong") == TopicGate.NONE


def test_a_typographic_apostrophe_matches_a_term_written_with_a_typed_one():
    """News sites print "dang’an" with a curly apostrophe; the term is written dang'an in topic.yaml."""
    gate = TopicGate(["dang'an", "social credit"], ["score"])
    assert gate.level("the dang’an, or personal file, follows you for life") == TopicGate.STRONG
    assert gate.level("the dang'an follows you") == TopicGate.STRONG
    assert gate.hits("your dang’an") == ["dang'an"]


def test_the_fast_ascii_screen_lets_through_what_the_word_search_finds() -> None:
    """Plain ASCII chat is screened by a byte translation; it must open the gate exactly where the word
    search does, whatever punctuation, digits, underscores or capitals surround the term."""
    import random
    import string

    gate = TopicGate(["social credit", "sesame credit", "blacklist", "china"], weak_terms=["score", "points"])
    rng = random.Random(3)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " _\t"
    samples = ["social-credit!!", "(CHINA)", "my_score", "score_", "Blacklisted?", "black list", "points:",
               "sesame\tcredit", "SOCIAL CREDIT", "x china-score y", "chinas"]
    for _ in range(3000):
        words = [rng.choice(samples + ["".join(rng.choices(alphabet, k=rng.randint(1, 8)))]) for _ in range(5)]
        text = rng.choice(" ,.;").join(words)
        assert gate.level(text) == gate.level("\u00a0" + text), text  # the second takes the unicode path
