"""The fast paths of scoring give exactly what the plain computation gives: remembered word tokens, grouped
top-k means, and the candidate pruning of a large knowledge base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.bench import generate_knowledge
from bot.brain import Brain
from bot.kb.loader import load_knowledge
from bot.match import embed as embed_module
from bot.match import scorer as scorer_module
from bot.match.embed import load_embedder
from bot.match.matcher import SEGMENT_FROM_WORDS
from bot.match.normalise import normalise, word_count
from bot.match.scorer import ClaimIndex, _Groups, _slots

TEXTS = [
    "china gives everyone a single social credit score",
    "CHINA  gives\teveryone a   single score!!",
    "the zhima credit thing in alipay, is that the government's?",
    "dang’an files and the 社会信用体系 are not the same",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "",
    "   ",
]


def test_remembered_words_give_the_tokenizers_own_ids() -> None:
    """A text's token ids are the same whether the tokenizer runs or its words are remembered."""
    embedder = load_embedder()
    for text in TEXTS * 2:  # the second pass reads remembered words
        assert embedder._token_ids(text)[:128] == embedder._tokenizer.encode(text, add_special_tokens=False).ids[:128]


def test_the_bundled_tokenizer_is_one_whose_words_can_be_remembered() -> None:
    """The word memory is used with the bundled WordPiece tokenizer (and only with tokenizers like it)."""
    assert load_embedder()._wordwise


def test_remembered_words_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood of new words never grows the word memory past its bound."""
    monkeypatch.setattr(embed_module, "_WORD_CACHE_MAX", 50)
    embedder = load_embedder()
    embedder._word_ids.clear()
    for i in range(40):
        embedder.embed(" ".join(f"word{i}x{j}" for j in range(7)))
        assert len(embedder._word_ids) <= 50


def _padded_top_mean(values: np.ndarray, sizes: np.ndarray, k: int) -> np.ndarray:
    """The plain computation: a padded matrix of each group's values, partitioned."""
    padded = np.append(values, values.dtype.type(-np.inf))[_slots(sizes, k, len(values))]
    return -np.partition(-padded, k - 1, axis=1)[:, :k].mean(axis=1)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_grouped_top_k_mean_matches_the_padded_one(k: int) -> None:
    """Per-group top-k means agree with the padded matrix, including ties and one-row groups."""
    rng = np.random.default_rng(4)
    for _ in range(200):
        sizes = rng.integers(1, 6, size=rng.integers(1, 8))
        values = rng.choice(np.linspace(-1, 1, 7), size=int(sizes.sum())).astype(np.float32)  # many ties
        groups = _Groups.of(np.repeat(np.arange(len(sizes)), sizes), len(sizes))
        np.testing.assert_array_equal(groups.top_mean(values, k), _padded_top_mean(values, sizes, k))


def test_a_group_without_rows_has_no_maximum() -> None:
    """A claim without counter-examples has none to be near: its group maximum is the empty value."""
    groups = _Groups.of(np.array([0, 0, 2]), 4)
    np.testing.assert_array_equal(groups.max(np.array([0.5, 0.7, -0.2], dtype=np.float32), empty=0.0),
                                  np.array([0.7, 0.0, -0.2, 0.0], dtype=np.float32))


def test_pruned_scoring_scores_each_candidate_as_the_full_scoring_does(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """In a large knowledge base only candidates are scored, and each gets the score it would get in full."""
    kb, _ = load_knowledge([generate_knowledge(tmp_path / "kb", claims=450, examples=10)])
    embedder = load_embedder()
    pruned = ClaimIndex(kb, embedder)
    assert len(pruned.example_texts) > scorer_module._PRUNE_ABOVE
    monkeypatch.setattr(scorer_module, "_PRUNE_ABOVE", 10**9)
    full = ClaimIndex(kb, embedder)
    example = kb.claims["gen-123"].examples[3]
    ranked = pruned.score(example, top=5)
    assert ranked[0].claim_id == "gen-123"
    everything = {s.claim_id: s for s in full.score(example, top=len(full.claim_ids))}
    for s in ranked:
        assert s.combined == pytest.approx(everything[s.claim_id].combined, abs=1e-5)
        assert s.evidence == everything[s.claim_id].evidence


def test_scoring_several_texts_at_once_ranks_each_as_scoring_it_alone() -> None:
    """A message's sentences are scored in one pass over the examples, with the rankings of one at a time."""
    kb, _ = load_knowledge([Path(__file__).parent.parent / "knowledge"])
    index = ClaimIndex(kb, load_embedder())
    texts = ["china gives everyone a single social credit score", "", "my dog lost points in jinan",
             "is sesame credit run by the government"]
    together = index.score_many(texts, top=4)
    for text, ranked in zip(texts, together, strict=True):
        alone = index.score(text, top=4)
        assert [s.claim_id for s in ranked] == [s.claim_id for s in alone]
        assert [s.combined for s in ranked] == pytest.approx([s.combined for s in alone], abs=1e-5)


def test_a_counter_example_as_written_is_never_answered_as_its_claim(brain: Brain) -> None:
    """A moderator's counter-example, sent as a chat message, gets no answer and no 🔎 for the claim it counters.

    Long counter-examples are split into sentences first, and a sentence on its own may fairly match, so the
    rule covers those of one piece (under the segmenting length). Before the rule, 42 of the bundled 1,497
    counter-examples were answered as their own claim.
    """
    matcher = brain.matcher
    answered = [(cid, text) for cid, claim in matcher.kb.claims.items() for text in claim.counter_examples
                if word_count(normalise(text)) < SEGMENT_FROM_WORDS and matcher.match(text).claim_id == cid]
    assert answered == []
