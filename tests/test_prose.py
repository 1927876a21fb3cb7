"""Prose, not just chat lines: segments, the sentence that matched, rebuttals, and the place-word gate."""

from __future__ import annotations

import re

import pytest

from bot.errors import KnowledgeError
from bot.kb.loader import load_knowledge
from bot.kb.models import requires_pattern
from bot.match.gate import TopicGate
from bot.match.normalise import tokens, word_count
from bot.match.segment import MAX_SEGMENTS, segments
from bot.match.stance import rebuts


def test_a_post_splits_into_its_sentences():
    """Sentence ends split a post; an abbreviation's full stop does not."""
    post = ("Mr. Liu, a journalist, found in 2017 that he could not buy a plane ticket. The court had put him "
            "on a list of dishonest debtors. He said he never got a notice.")
    parts = segments(post)
    assert len(parts) == 3
    assert parts[0].startswith("Mr. Liu")


def test_short_pieces_are_glued_to_a_neighbour():
    """'ok.' or 'lol' on their own line never become a segment of their own."""
    parts = segments("ok.\nlol\nso in china your friends lower your score if they say bad things about the party")
    assert parts == ["ok. lol so in china your friends lower your score if they say bad things about the party"]


def test_a_long_post_yields_a_bounded_number_of_segments():
    """However long the post, the encoder sees at most MAX_SEGMENTS segments."""
    post = " ".join(f"Sentence number {i} says something long enough to count on its own." for i in range(40))
    assert len(segments(post)) == MAX_SEGMENTS


def _assert_stance(rebuttals: list[str], claims: list[str]) -> None:
    """Every text in ``rebuttals`` reads as a rebuttal; none in ``claims`` does (the failures are listed)."""
    assert [text for text in rebuttals if not rebuts(text)] == []
    assert [text for text in claims if rebuts(text)] == []


def test_rebuttal_phrases_are_recognised_and_questions_are_not():
    """'that's a myth' and "isn't true" rebut; 'is it true that...' asks."""
    _assert_stance(
        rebuttals=[
            "people say china scores everyone but that's a myth",
            "the idea that your friends lower your score isn t true",
            "the social credit system is not a single unified national system",
            "there s no single score for every citizen",
        ],
        claims=[
            "is it true that china gives everyone a score",
            "china gives every citizen a single score",
            "the blacklist is real and millions are on it",
        ],
    )


def test_denials_and_reported_claims_are_rebuttals_but_claims_with_negatives_are_not():
    """'nor does it assign...', 'not remotely the same as Nosedive', 'they claim that...' rebut; a claim that
    merely contains "don't" or "only" (who gets blacklisted, what a low score blocks) is still a claim."""
    _assert_stance(
        rebuttals=[
            "nor does it assign every citizen a numerical score",
            "the social credit system is not remotely the same thing as nosedive",
            "it is not based on ai or big data",
            "your friends don t affect your score",
            "they claim that zhima credit is the government s social credit score",
            "so far there are only local pilots with different rules",
            "it is often wrongly described as one score for everyone",
            "no one in china is losing social credit points for talking about tiananmen",
            "nobody gets banned from trains for a tweet",
        ],
        claims=[
            "no one told me you lose points for jaywalking in china",
            "if you don t pay your debts you get blacklisted and can t fly",
            "banks won t give you a loan if your social credit score is low",
            "it s not like our credit scores are any different",
            "only people with high scores can rent bikes without a deposit",
            "people who do not score high enough are denied loans",
            "the journalist was wrongly blacklisted and could not fly",
        ],
    )


def test_explainers_correcting_the_popular_picture_are_rebuttals_but_claims_are_not():
    """'oversimplified', 'not nearly as dystopian as', 'there is no national score', 'not what people think'
    correct the picture; a claim that uses 'not', 'no' or 'national' is still a claim."""
    _assert_stance(
        rebuttals=[
            "the western picture of social credit is oversimplified",
            "it s not nearly as dystopian as reddit thinks",
            "there is no national score for individuals",
            "china has no single score for its citizens",
            "it is not a national system but a patchwork of local ones",
            "social credit isn t what most people think it is",
            "the media sensationalised the rongcheng pilot",
        ],
        claims=[
            "there s no way off the blacklist once you are on it",
            "china is building a national system that scores every citizen",
            "the system is not a joke, they ban you from trains",
            "it s not fair that a low score stops your kids from going to good schools",
        ],
    )


def test_fact_check_verdicts_are_rebuttals_but_claims_are_not():
    """'unfounded', 'misleading', 'not the case', 'far from ready', 'may not mean what you think', 'there isn't a
    social credit score' give a verdict on the claim; 'far from perfect' or 'no way off the list' do not."""
    _assert_stance(
        rebuttals=[
            "the claims about vending machines are unfounded",
            "that headline is misleading, the ban comes from a court",
            "that is simply not the case for ordinary citizens",
            "the system was due by 2020 but is far from ready",
            "the term may not mean what you think it means",
            "no there isn t a social credit score in china",
            "in reality the lists target unpaid court debts",
        ],
        claims=[
            "my social credit score is far from perfect after that post",
            "there s no way off the blacklist once you are on it",
            "in china a low social credit score means no plane tickets",
        ],
    )


def test_asking_whether_a_claim_is_true_or_a_myth_is_not_a_rebuttal():
    """'Is this true or fake news?' asks about the claim; 'it's a myth' still rebuts it."""
    _assert_stance(
        rebuttals=[
            "nah it s a myth western media made it up",
        ],
        claims=[
            "police take the dog when the points run out is this true or a fake news",
            "the bologna points app is chinese social credit in italy is exaggeration or true",
            "is the dog points thing real or just a myth",
        ],
    )


def test_rebuttals_in_other_languages_are_recognised():
    """A German, French, Spanish or Italian post that calls the claim a myth is not answered as if it made it."""
    _assert_stance(
        rebuttals=[
            "ein einheitliches sozialkreditsystem gibt es so nicht",
            "la note unique pour chaque citoyen chinois est un mythe",
            "le crédit social n'existe pas sous cette forme",
            "que china puntúa a todos es un mito",
            "secondo un'errata idea la cina gestirebbe un punteggio unico",
            "所谓全国统一的社会信用评分并不存在",
        ],
        claims=[
            "in china gibt es schwarze listen für schuldner",
            "la chine note ses citoyens",
        ],
    )


def test_chinese_posts_split_into_their_sentences():
    """Chinese needs no space after a full stop, and its sentences are long enough to stand alone."""
    text = "中国的社会信用体系并不是一个统一的全国评分。各地的试点差别很大，很多城市早已停止打分。失信被执行人名单由法院管理。"
    assert len(segments(text)) == 3


def test_china_alone_is_weak_and_china_with_score_is_strong():
    """A place word alone is a weak hint; with 'score' or 'blacklist' it puts a message on topic."""
    gate = TopicGate(["social credit", "china", "beijing"], ["score", "blacklist"])
    assert gate.level("china raised tariffs on soybeans again") == TopicGate.WEAK
    assert gate.level("beijing puts people on a blacklist") == TopicGate.STRONG
    assert gate.level("in china your score decides everything") == TopicGate.STRONG
    assert gate.level("new high score in tetris") == TopicGate.WEAK
    assert gate.level("social credit") == TopicGate.STRONG


def test_one_claim_sentence_inside_a_long_post_is_found_and_named(brain):
    """A claim in the middle of an otherwise ordinary post is matched, and the result names its sentence."""
    post = ("We spent two weeks travelling around Sichuan last spring and the food was incredible. "
            "My colleague told me that in China if your social credit is too low you cannot buy a plane or "
            "high-speed train ticket at all. Anyway, the pandas in Chengdu were the highlight of the trip.")
    result = brain.matcher.match(post)
    assert result.claim_id == "travel-bans-low-score"
    assert result.segment_index == 2 and result.segment_count == 3
    assert "plane" in result.segment


def test_a_long_post_on_the_topic_that_claims_nothing_is_left_alone(brain):
    """A long post that only mentions social credit while asking for reading is not answered."""
    post = ("I'm writing a seminar paper on governance in East Asia this term. One section is about China's "
            "social credit system and how it is covered in the press. Does anyone have good academic sources "
            "or reading lists? Thanks in advance, the library here is not great.")
    assert brain.matcher.match(post).tier is None


def test_a_claim_stated_only_to_rebut_it_is_not_answered(brain):
    """'People say X, but that's a myth' names X without claiming it: no answer, and the reason says why."""
    result = brain.matcher.match("People say China gives every citizen a single social credit score, but that's "
                                 "a myth: there is no national score.")
    assert result.tier is None
    assert "rebut" in result.reason


def test_a_claim_that_requires_a_link_word_is_not_made_by_news_without_it(brain):
    """CBDC news without any word about scoring people is not the 'CBDCs are social credit' claim."""
    news = brain.matcher.match("the e-CNY lets Beijing program and freeze money, CBDCs in the West will do the same")
    assert news.claim_id != "cbdc-social-credit"
    assert brain.matcher.match("CBDCs are how social credit comes to the west").claim_id == "cbdc-social-credit"


def test_an_example_without_any_required_word_is_a_knowledge_error(knowledge_copy):
    """A claim whose own example could never match (no `requires` word in it) fails to load, saying which."""
    path = knowledge_copy / "claims" / "cbdc-social-credit.yaml"
    path.write_text(re.sub(r"(?m)^requires: .*$", 'requires: ["zzz-never"]', path.read_text()))
    with pytest.raises(KnowledgeError, match="could never match"):
        load_knowledge([knowledge_copy])


def test_posts_in_other_languages_reach_the_matcher(brain):
    """The bundled gate knows how German, French, Spanish and Italian write about the topic: compounds such as
    "Sozialkreditsystems" are on topic, and "la Chine" is a hint alone but on topic with "liste noire"."""
    gate = brain.matcher.gate
    assert gate.level("Die Liste ist eine Erweiterung des Sozialkreditsystems.") == TopicGate.STRONG
    assert gate.level("Le système de crédit social chinois") == TopicGate.STRONG
    assert gate.level("El sistema de crédito social de China") == TopicGate.STRONG
    assert gate.level("Il punteggio sociale in Cina") == TopicGate.STRONG
    assert gate.level("Je pars en Chine la semaine prochaine") == TopicGate.WEAK
    assert gate.level("En Chine, des millions de personnes sont sur une liste noire") == TopicGate.STRONG
    assert gate.level("Ich habe heute Pluspunkte beim Chef gesammelt") == TopicGate.WEAK
    assert gate.level("Wir fahren morgen nach Hamburg") == TopicGate.NONE


def test_chinese_text_is_read_in_character_pairs():
    """A Chinese sentence has many words, not one: it is not 'too short', and shares pairs with examples."""
    text = "中国的社会信用体系并不是一个统一的全国评分"
    assert word_count(text) == 10
    assert "信用" in tokens(text) and "体系" in tokens(text)
    assert tokens("the social credit scores") == ["social", "credit", "score"]


def test_a_chinese_requires_word_is_found_inside_running_text():
    """Chinese has no spaces, so a required Chinese term needs no word start."""
    pattern = requires_pattern(["社会信用", "scor"])
    assert pattern.search("数字人民币会变成中国社会信用的工具")
    assert pattern.search("your scores") and not pattern.search("underscore")


def test_download_mirrors_are_not_black_mirror(brain):
    """A question about Chinese download mirrors names neither the show nor rating people, so it cannot make the
    Black Mirror claim; a real comparison with the show still can."""
    assert brain.matcher.match("I don't know if I should use the chinese mirrors or the taiwan ones").tier is None
    assert brain.matcher.match("china's social credit is literally the black mirror nosedive episode").claim_id \
        == "black-mirror-nosedive"
