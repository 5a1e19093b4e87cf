"""Masked-language-model masking, as Google's `create_masked_lm_predictions` does it.

A fixed share of each sequence's maskable tokens is chosen (rounded, at least one, at most
`max_predictions`), so every sequence is masked at the configured rate rather than only on average.
Each chosen position becomes [MASK] 80% of the time, a random token 10%, and stays unchanged 10%; the
model must predict the original token at all of them. Special tokens ([CLS], [SEP], [PAD]) are never chosen.

Two deliberate differences from Google: the count is taken over the maskable tokens (Google counts [CLS] and
[SEP] too), and random replacements are drawn from the non-special vocabulary (Google may draw [CLS]).
"""

from dataclasses import dataclass

import numpy as np

from bertkit.constants import IGNORE_INDEX


@dataclass(frozen=True)
class MaskingConfig:
    """What to mask and with what; `random_token_ids` are the ids a 10% replacement may take."""

    mask_token_id: int
    random_token_ids: np.ndarray
    mlm_probability: float = 0.15
    max_predictions: int = 20
    mask_share: float = 0.8  # of the chosen positions: [MASK] ...
    random_share: float = 0.1  # ... a random token; the rest stay unchanged


def word_groups(positions: np.ndarray, is_continuation: np.ndarray) -> list[np.ndarray]:
    """The maskable `positions` grouped into whole words: a `##` piece joins the token just before it."""
    follows_previous = np.concatenate(([False], np.diff(positions) == 1))
    starts = np.flatnonzero(~(is_continuation[positions] & follows_previous))
    return np.split(positions, starts[1:])


def choose_positions(
    maskable: np.ndarray, budget: int, rng: np.random.Generator, is_continuation: np.ndarray | None
) -> np.ndarray:
    """Up to `budget` maskable positions, sorted; whole words at a time when `is_continuation` is given.

    A word that would overflow the budget is skipped and the next one tried, as in Google's implementation.
    """
    positions = np.flatnonzero(maskable)
    if is_continuation is None:
        return np.sort(rng.choice(positions, size=min(budget, len(positions)), replace=False))
    chosen: list[np.ndarray] = []
    count = 0
    groups = word_groups(positions, is_continuation)
    for g in rng.permutation(len(groups)):
        if count + len(groups[g]) > budget:
            continue
        chosen.append(groups[g])
        count += len(groups[g])
        if count == budget:
            break
    return np.sort(np.concatenate(chosen)) if chosen else positions[:0]


def mask_tokens(
    input_ids: np.ndarray,
    maskable: np.ndarray,
    config: MaskingConfig,
    rng: np.random.Generator,
    is_continuation: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(masked input ids, labels): labels hold the original id at predicted positions, IGNORE_INDEX elsewhere.

    `maskable` is True where a token may be chosen (not a special token). Pass `is_continuation` (True at
    `##` pieces, per position) for whole-word masking: a word's pieces are chosen together.
    """
    num_maskable = int(maskable.sum())
    masked = input_ids.copy()
    labels = np.full_like(input_ids, IGNORE_INDEX)
    if num_maskable == 0:
        return masked, labels
    budget = min(config.max_predictions, max(1, round(num_maskable * config.mlm_probability)))
    positions = choose_positions(maskable, budget, rng, is_continuation)
    labels[positions] = input_ids[positions]
    draw = rng.random(len(positions))
    to_mask = positions[draw < config.mask_share]
    to_random = positions[(draw >= config.mask_share) & (draw < config.mask_share + config.random_share)]
    masked[to_mask] = config.mask_token_id
    masked[to_random] = rng.choice(config.random_token_ids, size=len(to_random))
    return masked, labels
