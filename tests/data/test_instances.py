import numpy as np
import pytest

from bertkit.constants import IGNORE_INDEX
from bertkit.data.instances import (
    A_END,
    A_START,
    B_END,
    B_START,
    IS_RANDOM_NEXT,
    plan_instances,
    truncate_seq_pair,
)
from bertkit.errors import InvalidArgumentError, TrainingError


def corpus(rng: np.random.Generator, docs: int = 60, low: int = 3, high: int = 25, sentences: int = 30):
    sizes = rng.integers(1, sentences, docs)
    lengths = rng.integers(low, high, sizes.sum())
    return lengths, np.concatenate(([0], np.cumsum(sizes)))


def document_of(offsets, sentence):
    return np.searchsorted(offsets, sentence, side="right") - 1


@pytest.mark.parametrize("negatives", ["google", "matched"])
def test_every_sentence_is_used_exactly_once_as_a_or_true_b(negatives):
    lengths, offsets = corpus(np.random.default_rng(0))
    plan = plan_instances(lengths, offsets, 128, 0.1, np.random.default_rng(1), negatives)
    used = np.zeros(len(lengths), int)
    for row in plan:
        used[row[A_START] : row[A_END]] += 1
        if not row[IS_RANDOM_NEXT]:
            used[row[B_START] : row[B_END]] += 1
    assert (used == 1).all()


@pytest.mark.parametrize("negatives", ["google", "matched"])
def test_segments_are_contiguous_and_labels_tell_the_truth(negatives):
    lengths, offsets = corpus(np.random.default_rng(2))
    plan = plan_instances(lengths, offsets, 128, 0.1, np.random.default_rng(3), negatives)
    for row in plan:
        assert row[A_START] < row[A_END] and row[B_START] < row[B_END]
        doc_a = document_of(offsets, row[A_START])
        doc_b = document_of(offsets, row[B_START])
        assert document_of(offsets, row[A_END] - 1) == doc_a
        assert document_of(offsets, row[B_END] - 1) == doc_b
        if row[IS_RANDOM_NEXT]:
            assert doc_b != doc_a
        else:
            assert row[B_START] == row[A_END]


def test_half_the_pairs_are_random_and_short_targets_shorten_instances():
    rng = np.random.default_rng(4)
    lengths, offsets = corpus(rng, docs=200, low=3, high=12, sentences=300)
    plan = plan_instances(lengths, offsets, 128, 0.0, np.random.default_rng(5))
    # A chunk of one sentence is always random (it has no B), as at a document's end: long documents here.
    assert plan[:, IS_RANDOM_NEXT].mean() == pytest.approx(0.5, abs=0.05)

    def mean_true_pair_length(short_seq_prob):
        p = plan_instances(lengths, offsets, 128, short_seq_prob, np.random.default_rng(6))
        true_pairs = p[p[:, IS_RANDOM_NEXT] == 0]
        cum = np.concatenate(([0], np.cumsum(lengths)))
        return (cum[true_pairs[:, B_END]] - cum[true_pairs[:, A_START]]).mean(), len(p)

    long_mean, long_count = mean_true_pair_length(0.0)
    short_mean, short_count = mean_true_pair_length(1.0)
    assert short_mean < 0.75 * long_mean and short_count > 1.5 * long_count


def test_same_seed_same_plan():
    lengths, offsets = corpus(np.random.default_rng(7))
    a = plan_instances(lengths, offsets, 64, 0.1, np.random.default_rng(9))
    b = plan_instances(lengths, offsets, 64, 0.1, np.random.default_rng(9))
    c = plan_instances(lengths, offsets, 64, 0.1, np.random.default_rng(10))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_single_document_takes_random_segments_from_far_away():
    lengths = np.full(40, 10)
    offsets = np.array([0, 40])
    plan = plan_instances(lengths, offsets, 64, 0.0, np.random.default_rng(11))
    random_rows = plan[plan[:, IS_RANDOM_NEXT] == 1]
    assert len(random_rows) > 0
    for row in random_rows:
        distance = abs(row[B_START] - row[A_START])
        assert min(distance, 40 - distance) >= 40 // 4


def poems_and_clauses(
    rng: np.random.Generator, poems: int = 400
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The demo's cloze corpus in lengths: poems of 2-12 lines of 12 or 16 tokens (five- or seven-character
    lines with their punctuation), then every clause (5 or 7 tokens, no punctuation) a document of its own.
    Also each sentence's kind: 1 for a poem's line, 0 for a clause."""
    line_lengths = rng.choice([12, 16], poems)
    sizes = rng.integers(2, 13, poems)
    lengths = np.repeat(line_lengths, sizes)
    clauses = np.repeat((lengths - 2) // 2, 2)
    lengths = np.concatenate((lengths, clauses))
    sizes = np.concatenate((sizes, np.ones(len(clauses), int)))
    kind = np.concatenate((np.ones(sizes[:poems].sum(), int), np.zeros(len(clauses), int)))
    return lengths, np.concatenate(([0], np.cumsum(sizes))), kind


def test_matched_negatives_have_the_form_of_true_pairs():
    lengths, offsets, line = poems_and_clauses(np.random.default_rng(20))
    cum = np.concatenate(([0], np.cumsum(lengths)))

    def form(plan, label):
        rows = plan[plan[:, IS_RANDOM_NEXT] == label]
        b_tokens = cum[rows[:, B_END]] - cum[rows[:, B_START]]
        a_tokens = cum[rows[:, A_END]] - cum[rows[:, A_START]]
        return rows, b_tokens, a_tokens, line[rows[:, B_START]].mean(), line[rows[:, A_START]].mean()

    matched = plan_instances(lengths, offsets, 27, 0.1, np.random.default_rng(21), "matched")
    true, b_true, a_true, b_line_true, a_line_true = form(matched, 0)
    random, b_random, a_random, b_line_random, a_line_random = form(matched, 1)
    # Both kinds pair a poem's line with a poem's line, of the same lengths.
    assert b_line_true == b_line_random == a_line_true == a_line_random == 1
    assert len(random) == pytest.approx(len(true), rel=0.15)
    for tokens in (12, 16):
        assert np.mean(b_random == tokens) == pytest.approx(np.mean(b_true == tokens), abs=0.04)
    assert a_random.mean() == pytest.approx(a_true.mean(), rel=0.03)
    assert (lengths[random[:, B_START]] == lengths[random[:, A_END]]).all()  # as long as the true next line
    # A chunk of one sentence (every clause) has no next sentence: no label, and a random B for the masked LM.
    unasked = matched[matched[:, IS_RANDOM_NEXT] == IGNORE_INDEX]
    assert (line[unasked[:, A_START]] == 0).sum() == (line == 0).sum()
    # Google's random segments give the kind away: B is mostly a clause, the true B never is.
    google = plan_instances(lengths, offsets, 27, 0.1, np.random.default_rng(21))
    assert form(google, 0)[3] == 1 and form(google, 1)[3] < 0.5


def test_matched_random_b_is_as_long_as_the_true_b_not_as_the_room_left():
    # Documents of two 5-token clauses, in 24 tokens of room: a random B that filled the room would run on
    # into the next clause of its document, and its length would tell it from a true B of one clause.
    lengths, offsets = np.full(400, 5), np.arange(0, 401, 2)
    plan = plan_instances(lengths, offsets, 27, 0.0, np.random.default_rng(0), "matched")
    for label in (0, 1):
        rows = plan[plan[:, IS_RANDOM_NEXT] == label]
        assert len(rows) > 50 and (rows[:, B_END] - rows[:, B_START] == 1).all()


def test_matched_negatives_take_the_nearest_length_or_fall_back_to_google():
    # No other document has a sentence of 9 tokens: the nearest (8) is taken.
    lengths, offsets = np.array([5, 9, 5, 8, 8, 20, 20]), np.array([0, 3, 5, 7])
    for seed in range(20):
        plan = plan_instances(lengths, offsets, 12, 0.0, np.random.default_rng(seed), "matched")
        for row in plan[(plan[:, IS_RANDOM_NEXT] == 1) & (plan[:, A_START] == 0)]:
            assert lengths[row[B_START]] == 8 and row[B_START] in (3, 4)
    # One document of several sentences: random segments come from within it, as Google's rule for one document.
    lengths, offsets = np.full(12, 10), np.array([0, 10, 11, 12])
    plan = plan_instances(lengths, offsets, 24, 0.0, np.random.default_rng(0), "matched")
    random = plan[plan[:, IS_RANDOM_NEXT] == 1]
    assert len(random) and (random[:, B_START] != random[:, A_END]).all()


@pytest.mark.parametrize("negatives", ["google", "matched"])
def test_sentence_pairs_ask_every_sentence_with_its_next(negatives):
    lengths, offsets = corpus(np.random.default_rng(30), docs=200, low=3, high=6)
    plan = plan_instances(lengths, offsets, 27, 0.5, np.random.default_rng(31), negatives, "sentences")
    # Every sentence is segment A once, alone, and B is one sentence.
    assert np.array_equal(plan[:, A_START], np.arange(len(lengths)))
    assert (plan[:, A_END] - plan[:, A_START] == 1).all() and (plan[:, B_END] - plan[:, B_START] == 1).all()
    last = np.isin(plan[:, A_END], offsets[1:])
    label = plan[:, IS_RANDOM_NEXT]
    assert (plan[label == 0, B_START] == plan[label == 0, A_END]).all() and not (last & (label == 0)).any()
    assert np.mean(label[~last] == 0) == pytest.approx(0.5, abs=0.05)
    random = plan[label == 1]
    assert (document_of(offsets, random[:, B_START]) != document_of(offsets, random[:, A_START])).all()
    if negatives == "google":  # a last sentence has no next: its B is random
        assert (label[last] == 1).all()
    else:  # ... and asked nothing; a random B is as long as the next sentence
        assert (label[last] == IGNORE_INDEX).all()
        assert (lengths[random[:, B_START]] == lengths[random[:, A_END]]).all()


def test_unknown_pairs_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="`pairs` must be one of segments, sentences"):
        plan_instances(
            np.full(8, 5), np.array([0, 4, 8]), 64, 0.1, np.random.default_rng(0), "google", "lines"
        )


def test_unknown_negatives_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="`negatives` must be one of google, matched"):
        plan_instances(np.full(8, 5), np.array([0, 4, 8]), 64, 0.1, np.random.default_rng(0), "same")


@pytest.mark.parametrize("sizes", [[], [3]])
def test_too_little_text_is_a_clear_error(sizes):
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    with pytest.raises(TrainingError, match="documents|single document"):
        plan_instances(np.full(sum(sizes), 5), offsets, 64, 0.1, np.random.default_rng(0))


def google_truncation_counts(la: int, lb: int, max_num_tokens: int) -> tuple[int, int]:
    """How many tokens Google's truncate_seq_pair loop removes from A and from B."""
    from_a = from_b = 0
    while la + lb > max_num_tokens:
        if la > lb:
            la, from_a = la - 1, from_a + 1
        else:
            lb, from_b = lb - 1, from_b + 1
    return from_a, from_b


def test_truncation_removes_what_googles_loop_removes_from_random_ends():
    rng = np.random.default_rng(12)
    fronts = []
    for _ in range(300):
        la, lb = (int(x) for x in rng.integers(1, 200, 2))
        a, b = np.arange(la), np.arange(1000, 1000 + lb)
        ta, tb = truncate_seq_pair(a, b, 125, rng)
        assert (la - len(ta), lb - len(tb)) == google_truncation_counts(la, lb, 125)
        for original, kept in ((a, ta), (b, tb)):
            assert len(kept) >= 1
            start = int(kept[0] - original[0])
            assert np.array_equal(kept, original[start : start + len(kept)])
            if len(kept) < len(original):
                fronts.append(start / (len(original) - len(kept)))
    assert np.mean(fronts) == pytest.approx(0.5, abs=0.05)
