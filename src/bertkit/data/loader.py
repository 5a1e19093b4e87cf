"""Batches of masked NSP pairs from prepared shards: endless, fresh every epoch, resumable, split across ranks.

An epoch's rows are NSP instances (`plan_instances`), shuffled; each instance is truncated and masked with the
generator of its position in the epoch's plan, so the same instance gets the same mask on any rank and in any
worker, and a new mask in the next epoch (dynamic masking). The epochs, ranks, resuming and workers are
epochs.py's, shared with the causal-LM batches (lm_loader.py).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bertkit.checks import check_choice, check_int, check_probability
from bertkit.constants import CONTINUATION
from bertkit.data.epochs import LENGTH_GROUP_BATCHES, EpochBatches, EpochPlan, check_sharding, group_by_length
from bertkit.data.instances import (
    A_END,
    A_START,
    B_END,
    B_START,
    IS_RANDOM_NEXT,
    NEGATIVES,
    PAIRS,
    SPECIAL_TOKENS_PER_PAIR,
    plan_instances,
    truncate_seq_pair,
)
from bertkit.data.masking import MaskingConfig, mask_tokens
from bertkit.data.split import SplitIndex, open_split
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.tokenizer.template import pair_template


@dataclass(frozen=True)
class BatchSpec:
    """How instances become batches; everything a worker needs besides the index and the sharding."""

    max_seq_length: int
    short_seq_prob: float
    nsp_negatives: str
    nsp_pairs: str
    cls_token_id: int
    sep_token_id: int
    pad_token_id: int
    masking: MaskingConfig
    continuation: np.ndarray | None  # per vocabulary id: is a `##` piece (whole-word masking), or None
    # Batch instances of similar length and pad each batch to its longest, not to max_seq_length: on short
    # pairs (the demo's lines and clauses) a third of every padded batch is otherwise padding.
    group_by_length: bool = False


class MaskedPairs(EpochPlan):
    """Rows are NSP instances (sentence ranges of segments A and B, and the label); a batch is them masked,
    padded to `max_seq_length` (with `group_by_length`, to the batch's longest)."""

    def __init__(self, index: SplitIndex, spec: BatchSpec, **sharding: int) -> None:
        super().__init__(index, **sharding)
        self.spec = spec

    def make_plan(self, rng: np.random.Generator) -> np.ndarray:
        s = self.spec
        plan = plan_instances(
            self.index.sentence_lengths,
            self.index.document_offsets,
            s.max_seq_length,
            s.short_seq_prob,
            rng,
            s.nsp_negatives,
            s.nsp_pairs,
        )
        plan = plan[rng.permutation(len(plan))]
        if not s.group_by_length:
            return plan
        group = LENGTH_GROUP_BATCHES * self.batch_size * self.world_size
        return group_by_length(plan, self.instance_lengths(plan), group)

    def instance_lengths(self, plan: np.ndarray) -> np.ndarray:
        """Tokens of each planned instance once truncated, the special tokens included."""
        ends = np.concatenate(([0], np.cumsum(self.index.sentence_lengths)))
        pair = ends[plan[:, A_END]] - ends[plan[:, A_START]] + ends[plan[:, B_END]] - ends[plan[:, B_START]]
        room = self.spec.max_seq_length - SPECIAL_TOKENS_PER_PAIR
        return np.minimum(pair, room) + SPECIAL_TOKENS_PER_PAIR

    def make_batch(self, epoch: int, positions: range) -> dict[str, torch.Tensor]:
        plan = self.plan(epoch)
        fields = np.zeros((len(_FIELDS), len(positions), self.spec.max_seq_length), dtype=np.int64)
        for j, p in enumerate(positions):
            fields[:, j] = self.instance(plan[p], self.row_rng(epoch, p))
        if self.spec.group_by_length:
            fields = fields[
                ..., : max(int(fields[_FIELDS.index("attention_mask")].sum(-1).max(initial=0)), 1)
            ]
        batch = {name: torch.from_numpy(np.ascontiguousarray(fields[i])) for i, name in enumerate(_FIELDS)}
        batch["next_sentence_label"] = torch.from_numpy(
            plan[positions.start : positions.stop, IS_RANDOM_NEXT].copy()
        )
        return batch

    def instance(self, row: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """(input_ids, token_type_ids, attention_mask, labels) of one planned instance, padded."""
        s = self.spec
        a = self.index.tokens(row[A_START], row[A_END])
        b = self.index.tokens(row[B_START], row[B_END])
        a, b = truncate_seq_pair(a, b, s.max_seq_length - SPECIAL_TOKENS_PER_PAIR, rng)
        t = pair_template(len(a), len(b))  # [CLS] A [SEP] B [SEP], the tokenizer's template
        ids = np.full(s.max_seq_length, s.pad_token_id, dtype=np.int64)
        ids[t.first], ids[t.second] = a, b
        ids[list(t.cls)], ids[list(t.sep)] = s.cls_token_id, s.sep_token_id
        token_type_ids = np.zeros(s.max_seq_length, dtype=np.int64)
        token_type_ids[t.segment_b] = 1
        attention_mask = np.zeros(s.max_seq_length, dtype=np.int64)
        attention_mask[: t.length] = 1
        maskable = np.zeros(s.max_seq_length, dtype=bool)
        maskable[t.first] = maskable[t.second] = True
        continuation = None if s.continuation is None else s.continuation[ids]
        input_ids, labels = mask_tokens(ids, maskable, s.masking, rng, continuation)
        return input_ids, token_type_ids, attention_mask, labels


_FIELDS = ("input_ids", "token_type_ids", "attention_mask", "labels")


class PretrainingData(EpochBatches):
    """Iterating yields batches (dicts of torch tensors): input_ids, token_type_ids, attention_mask,
    labels (-100 where nothing is predicted) and next_sentence_label (0: B follows A, 1: B is random; -100
    where no next sentence is asked, with `nsp_negatives="matched"`: see bertkit.data.instances, also for
    `nsp_pairs`).

    The iteration is endless (epoch after epoch) and starts at the position `state_dict()` describes;
    `load_state_dict()` of a saved position makes the next batches exactly those that followed it.
    """

    def __init__(
        self,
        data_dir: str | Path,
        tokenizer: WordPieceTokenizer | str | Path,
        *,
        max_seq_length: int = 128,
        batch_size: int = 32,
        mlm_probability: float = 0.15,
        max_predictions_per_seq: int = 20,
        short_seq_prob: float = 0.1,
        nsp_negatives: str = "google",
        nsp_pairs: str = "segments",
        whole_word_mask: bool = False,
        group_by_length: bool = False,
        split: str = "train",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 1,
    ) -> None:
        check_int("`max_seq_length`", max_seq_length, minimum=SPECIAL_TOKENS_PER_PAIR + 2)
        check_data_settings(mlm_probability, max_predictions_per_seq, short_seq_prob)
        check_choice("`nsp_negatives`", nsp_negatives, NEGATIVES)
        check_choice("`nsp_pairs`", nsp_pairs, PAIRS)
        check_sharding(batch_size, split, rank, world_size, num_workers)
        index, tokenizer = open_split(data_dir, tokenizer, split)
        specials = [
            tokenizer.cls_token_id,
            tokenizer.sep_token_id,
            tokenizer.pad_token_id,
            tokenizer.mask_token_id,
            tokenizer.unk_token_id,
        ]
        masking = MaskingConfig(
            mask_token_id=tokenizer.mask_token_id,
            random_token_ids=np.setdiff1d(np.arange(len(tokenizer)), specials),
            mlm_probability=mlm_probability,
            max_predictions=max_predictions_per_seq,
        )
        continuation = None
        if whole_word_mask:
            continuation = np.array([t.startswith(CONTINUATION) for t in tokenizer.ids_to_tokens], dtype=bool)
        spec = BatchSpec(
            max_seq_length=max_seq_length,
            short_seq_prob=short_seq_prob,
            nsp_negatives=nsp_negatives,
            nsp_pairs=nsp_pairs,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            pad_token_id=tokenizer.pad_token_id,
            masking=masking,
            continuation=continuation,
            group_by_length=group_by_length,
        )
        maker = MaskedPairs(index, spec, batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)
        super().__init__(maker, Path(data_dir), split, num_workers)


def check_data_settings(mlm_probability: float, max_predictions_per_seq: int, short_seq_prob: float) -> None:
    """The settings PretrainingData shares with a run's PretrainConfig, one rule each: at least one token is
    masked, and every sequence may be a short one (short_seq_prob 1)."""
    check_probability("`mlm_probability`", mlm_probability, zero=False)
    check_int("`max_predictions_per_seq`", max_predictions_per_seq)
    check_probability("`short_seq_prob`", short_seq_prob, one=True)
