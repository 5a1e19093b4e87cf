import numpy as np
import pytest

from bertkit.data.masking import IGNORE_INDEX, MaskingConfig, mask_tokens

MASK, CLS, SEP, PAD = 4, 2, 3, 0
VOCAB = 1000


def config(**kw) -> MaskingConfig:
    return MaskingConfig(mask_token_id=MASK, random_token_ids=np.arange(5, VOCAB), **kw)


def sequence(rng: np.random.Generator, n: int = 120, length: int = 128):
    ids = np.full(length, PAD)
    ids[0], ids[n - 1] = CLS, SEP
    ids[1 : n - 1] = rng.integers(5, VOCAB, n - 2)
    ids[60] = SEP
    maskable = ids >= 5
    return ids, maskable


@pytest.mark.parametrize("probability", [0.15, 0.3])
def test_rates_match_the_configuration_over_many_samples(probability):
    rng = np.random.default_rng(0)
    cfg = config(mlm_probability=probability, max_predictions=128)
    chosen = as_mask = unchanged = replaced = maskable_total = 0
    for _ in range(400):
        ids, maskable = sequence(rng)
        masked, labels = mask_tokens(ids, maskable, cfg, rng)
        picked = labels != IGNORE_INDEX
        assert np.array_equal(labels[picked], ids[picked])
        assert np.array_equal(masked[~picked], ids[~picked])
        chosen += picked.sum()
        maskable_total += maskable.sum()
        as_mask += (masked[picked] == MASK).sum()
        unchanged += (masked[picked] == ids[picked]).sum()
        replaced += ((masked[picked] != MASK) & (masked[picked] != ids[picked])).sum()
    assert chosen / maskable_total == pytest.approx(probability, abs=0.005)
    assert as_mask / chosen == pytest.approx(0.8, abs=0.02)
    # A random draw can hit the original token (1 in ~1000), which counts as unchanged.
    assert replaced / chosen == pytest.approx(0.1, abs=0.015)
    assert unchanged / chosen == pytest.approx(0.1, abs=0.015)


def test_special_tokens_and_padding_are_never_chosen():
    rng = np.random.default_rng(1)
    cfg = config(mlm_probability=0.9, max_predictions=128)
    for _ in range(200):
        ids, maskable = sequence(rng, n=int(rng.integers(5, 128)))
        masked, labels = mask_tokens(ids, maskable, cfg, rng)
        assert np.all(labels[~maskable] == IGNORE_INDEX)
        assert np.array_equal(masked[~maskable], ids[~maskable])
        assert not np.isin(masked[maskable & (masked != MASK)], [CLS, SEP, PAD]).any()


def test_max_predictions_caps_the_count_and_at_least_one_is_chosen():
    rng = np.random.default_rng(2)
    ids, maskable = sequence(rng)
    _, labels = mask_tokens(ids, maskable, config(mlm_probability=0.5, max_predictions=20), rng)
    assert (labels != IGNORE_INDEX).sum() == 20
    short = np.array([CLS, 7, SEP])
    _, labels = mask_tokens(short, short >= 5, config(), rng)
    assert (labels != IGNORE_INDEX).sum() == 1
    _, labels = mask_tokens(np.array([CLS, SEP]), np.zeros(2, bool), config(), rng)
    assert (labels == IGNORE_INDEX).all()


def test_same_seed_same_mask_other_seed_other_mask():
    ids, maskable = sequence(np.random.default_rng(3))
    a = mask_tokens(ids, maskable, config(), np.random.default_rng(7))
    b = mask_tokens(ids, maskable, config(), np.random.default_rng(7))
    c = mask_tokens(ids, maskable, config(), np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_whole_word_masking_takes_every_piece_of_a_word():
    # Words: 10 ##11 ##12 | 20 | 30 ##31 | 40 ##41 ##42 ##43 ...; ids >= 100 mark continuations here.
    rng = np.random.default_rng(4)
    pieces = [10, 111, 112, 20, 30, 131, 40, 141, 142, 143, 50, 60, 161] * 8
    ids = np.array([CLS, *pieces, SEP])
    maskable = ids >= 5
    continuation = ids >= 100
    cfg = config(mlm_probability=0.3, max_predictions=40)
    for _ in range(100):
        _, labels = mask_tokens(ids, maskable, cfg, rng, is_continuation=continuation)
        picked = labels != IGNORE_INDEX
        assert 1 <= picked.sum() <= 40
        # A word is picked whole or not at all: a continuation is picked exactly when its word start is.
        for i in np.flatnonzero(continuation):
            assert picked[i] == picked[i - 1]
