"""The engine's behaviour in a channel: answer once, stay within caps, hint when unsure, take feedback."""

from __future__ import annotations

import pytest
from conftest import command, message, reaction

from bot.messages import HELPFUL_EMOJI, SEARCH_EMOJI, ClaimList, Explanation, Nothing, Notice, React, Reply
from bot.storage import ChannelSettings

CLAIM = "china gives everyone a single social credit score right?"
TRAVEL = "millions of chinese people are banned from flights and trains because their social credit score is low"
FRIENDS = "in china if your friends have a low social credit score then your own score goes down too"


@pytest.fixture
def database(any_database):
    """Every engine test runs on SQLite and on PostgreSQL."""
    return any_database


async def test_a_claim_gets_one_reply_with_sources(app):
    """A clear claim is answered with the matching claim and its sources."""
    [action] = await app.engine.handle_message(message(CLAIM))
    assert isinstance(action, Reply)
    assert action.answer.claim.id == "single-national-score"
    assert len(action.answer.sources) >= 2


async def test_repeat_within_cooldown_is_quiet(app):
    """The same claim in the same channel within 30 minutes gets no second answer."""
    first = await app.engine.handle_message(message(CLAIM, ts=1000.0))
    again = await app.engine.handle_message(message(CLAIM, ts=1000.0 + 60))
    assert isinstance(first[0], Reply)
    assert isinstance(again[0], Nothing) and "cooldown" in again[0].reason
    later = await app.engine.handle_message(message(CLAIM, ts=1000.0 + 31 * 60))
    assert isinstance(later[0], Reply)


async def test_same_message_is_never_answered_twice(app):
    """A message delivered twice (reconnect, replay) is handled once."""
    msg = message(CLAIM, message_id="dup-1")
    assert isinstance((await app.engine.handle_message(msg))[0], Reply)
    assert (await app.engine.handle_message(msg))[0] == Nothing("message already handled")


async def test_bots_are_never_answered(app):
    """Messages from bots (including Footnote itself) are ignored."""
    [action] = await app.engine.handle_message(message(CLAIM, author_is_bot=True))
    assert action == Nothing("the author is a bot")


async def test_edit_of_answered_message_is_ignored(app):
    """Editing a message the bot already answered does not trigger another answer."""
    await app.engine.handle_message(message(CLAIM, message_id="e1"))
    [action] = await app.engine.handle_message(message(CLAIM + "!", message_id="e1", is_edit=True, ts=1_700_000_500))
    assert action == Nothing("edit of a message already answered")


async def test_channel_cap_holds(app):
    """At most six answers per channel per hour, however many claims are made."""
    texts = [CLAIM, TRAVEL, FRIENDS,
             "sesame credit is just the chinese government's social credit system",
             "a chinese city confiscates your dog if you lose all your dog points",
             "the social credit system mostly targets companies, not individuals",
             "china already has a national social credit law",
             "rongcheng gives every resident 1000 points in its social credit pilot"]
    replies = 0
    for i, text in enumerate(texts):
        for action in await app.engine.handle_message(message(text, author=f"user{i}", ts=5000.0 + i)):
            replies += isinstance(action, Reply)
    assert 0 < replies <= 6


async def test_user_cap_holds(app):
    """One person gets at most three answers an hour in one server, across its channels."""
    texts = [CLAIM, TRAVEL, FRIENDS, "sesame credit is just the chinese government's social credit system",
             "the social credit system mostly targets companies, not individuals"]
    replies = 0
    for i, text in enumerate(texts):
        actions = await app.engine.handle_message(message(text, author="eve", channel=f"c{i}", ts=9000.0 + i,
                                                          server_id="guild"))
        replies += any(isinstance(a, Reply) for a in actions)
    assert replies == 3


async def test_user_cap_is_per_server(app):
    """Three answers to one person in one server do not silence the bot for them in another server."""
    for i, text in enumerate([CLAIM, TRAVEL, FRIENDS]):
        await app.engine.handle_message(message(text, author="eve", channel="a", ts=9000.0 + i, server_id="A"))
    [held] = await app.engine.handle_message(message(TRAVEL, author="eve", channel="a2", ts=9010.0, server_id="A"))
    assert isinstance(held, Nothing) and "person" in held.reason
    [answer] = await app.engine.handle_message(message(CLAIM, author="eve", channel="b", ts=9020.0, server_id="B"))
    assert isinstance(answer, Reply)


async def test_short_message_only_suggests(app):
    """A few words are never enough for a full answer: at most a 🔎."""
    [action] = await app.engine.handle_message(message("social credit score china"))
    assert not isinstance(action, Reply)


async def test_meme_gets_a_quiet_reaction(app):
    """"-1000 social credit" memes get a 🔎 reaction, not a lecture."""
    [action] = await app.engine.handle_message(message("lmao -1000 social credit for you, comrade, the party is watching"))
    assert isinstance(action, React) and action.claim_id == "meme-points" and action.emoji == SEARCH_EMOJI


async def test_search_reaction_brings_the_answer_once(app):
    """A reader who adds 🔎 to a message the bot reacted to gets the answer, once."""
    msg = message("lmao -1000 social credit for you, comrade, the party is watching", message_id="meme-1")
    [offer] = await app.engine.handle_message(msg)
    assert isinstance(offer, React)
    await app.engine.record_sent(offer, "meme-1")
    [reply] = await app.engine.handle_reaction(reaction("meme-1", SEARCH_EMOJI))
    assert isinstance(reply, Reply) and reply.answer.claim.id == "meme-points"
    assert await app.engine.handle_reaction(reaction("meme-1", SEARCH_EMOJI, user="carol")) == []


async def test_feedback_on_an_answer_is_stored(app):
    """👍 on one of the bot's answers is stored against the claim and shows in stats."""
    [reply] = await app.engine.handle_message(message(CLAIM, message_id="q1"))
    await app.engine.record_sent(reply, "bot-answer-1")
    await app.engine.handle_reaction(reaction("bot-answer-1", HELPFUL_EMOJI))
    assert await app.storage.feedback_rows() == [("test", "bot-answer-1", "bob", "single-national-score", True)]
    stats = await app.engine.handle_command(command("stats", moderator=True, ts=1_700_000_200.0))
    assert any("single-national-score: 1 / 1, 100% helpful of 1" in line for line in stats.lines)


async def test_channel_mode_off_and_react(app):
    """A moderator can switch a channel to react-only or off."""
    await app.storage.set_channel_settings("test", "quiet", ChannelSettings(mode="off"))
    [action] = await app.engine.handle_message(message(CLAIM, channel="quiet"))
    assert isinstance(action, Nothing) and "switched off" in action.reason
    answer = await app.engine.handle_command(command("settings", "mode react", moderator=True, channel="hints"))
    assert isinstance(answer, Notice) and answer.ok
    [action] = await app.engine.handle_message(message(CLAIM, channel="hints"))
    assert isinstance(action, React)


async def test_follow_up_without_topic_words_needs_recent_context(app):
    """"wait, they ban you from trains for that?" counts only right after social credit came up."""
    follow_up = "wait, so they ban you from planes and high speed trains for that? for real?"
    [cold] = await app.engine.handle_message(message(follow_up, channel="cold", ts=100.0))
    assert isinstance(cold, Nothing)
    await app.engine.handle_message(message("the chinese social credit system is so weird", channel="warm", ts=100.0))
    [warm] = await app.engine.handle_message(message(follow_up, channel="warm", ts=130.0))
    assert not isinstance(warm, Nothing) and warm.claim_id if isinstance(warm, React) else True


async def test_source_command_finds_topics_and_claims(app):
    """/source answers ids, names with typos, and questions."""
    for query, expected in [("sesame", "sesame-credit"), ("single-national-score", "single-national-score"),
                            ("dang'an", "dangan-files"), ("do friends lower your score?", "friends-lower-score")]:
        answer = await app.engine.handle_command(command("source", query))
        assert getattr(answer, "claim", None) is not None, query
        assert answer.claim.id == expected, query
        assert answer.full


async def test_source_with_nothing_matching_says_so(app):
    """An unknown topic gets a clear answer, not a guess."""
    answer = await app.engine.handle_command(command("source", "quantum chromodynamics"))
    assert isinstance(answer, Notice) and not answer.ok


async def test_claims_are_paginated(app):
    """/claims lists every entry, ten a page."""
    first = await app.engine.handle_command(command("claims"))
    assert isinstance(first, ClaimList) and first.page == 1 and len(first.entries) == 10
    assert first.total == len(app.engine.kb.claims)
    last = await app.engine.handle_command(command("claims", str(first.pages)))
    assert last.page == first.pages


async def test_explain_says_why(app):
    """explain shows the claim, tier and scores behind an answer."""
    await app.engine.handle_message(message(CLAIM, message_id="x1"))
    answer = await app.engine.handle_command(command("explain", "x1"))
    assert isinstance(answer, Explanation) and answer.found
    assert answer.claim_id == "single-national-score" and answer.action == "reply"
    assert answer.scores["combined"] > 0
    missing = await app.engine.handle_command(command("explain", "never-seen"))
    assert isinstance(missing, Explanation) and not missing.found


async def test_unknown_command_lists_the_commands(app):
    """A typo in a command name gets the list of commands."""
    answer = await app.engine.handle_command(command("sauce", "sesame"))
    assert isinstance(answer, Notice) and not answer.ok
    assert any(line.startswith("/source") for line in answer.lines)


async def test_moderator_commands_are_refused_to_others(app):
    """test, settings and stats need a moderator; reload needs an operator."""
    for name in ("reload", "test", "settings", "stats"):
        answer = await app.engine.handle_command(command(name, "x"))
        who = "operators" if name == "reload" else "moderators"
        assert isinstance(answer, Notice) and not answer.ok and who in answer.title.lower()


async def test_broken_reload_keeps_the_last_good_knowledge(app, knowledge_copy):
    """A moderator's broken edit is reported and the bot keeps serving the previous knowledge base."""
    path = knowledge_copy / "claims" / "meme-points.yaml"
    lines = path.read_text().splitlines()
    lines.insert(1, "claim: a colon: here breaks YAML")
    path.write_text("\n".join(lines))
    before = app.engine.kb
    result = app.engine.reload([knowledge_copy])
    assert not result.ok and app.engine.kb is before
    assert any("meme-points.yaml:2:" in p for p in result.problems), result.problems
    path.write_text(path.read_text().replace("claim: a colon: here breaks YAML\n", ""))
    assert app.engine.reload([knowledge_copy]).ok and app.engine.kb is not before


def test_search_reactions_are_capped_too():
    """A channel gets at most six 🔎 an hour (react_per_hour), whatever the claims."""
    from bot.config import PolicyConfig
    from bot.kb.models import AutoReply
    from bot.messages import Tier
    from bot.policy import PolicyFacts, decide

    def facts(reacts: int) -> PolicyFacts:
        return PolicyFacts(tier=Tier.SUGGEST, auto_reply=AutoReply.REPLY, channel_mode="reply", cooldown_minutes=30,
                           minutes_since_last=None, channel_replies_last_hour=0, user_replies_last_hour=0,
                           channel_reacts_last_hour=reacts)

    assert decide(facts(5), PolicyConfig()).action == "react"
    capped = decide(facts(6), PolicyConfig())
    assert (capped.action, capped.rule) == ("nothing", "react-cap")


async def test_thread_mode_is_a_channel_setting(app):
    """`settings thread on` makes the channel's answers go into a thread; other channels are unchanged."""
    answer = await app.engine.handle_command(command("settings", "thread on", moderator=True, channel="threads",
                                                     platform="discord"))
    assert any("thread: on" in line for line in answer.lines)
    [in_thread] = await app.engine.handle_message(message(CLAIM, channel="threads", platform="discord"))
    [plain] = await app.engine.handle_message(message(CLAIM, channel="general", platform="discord"))
    assert isinstance(in_thread, Reply) and in_thread.in_thread is True
    assert isinstance(plain, Reply) and plain.in_thread is None
