"""Batches of masked NSP pairs from prepared shards: endless, fresh every epoch, resumable, split across ranks.

An epoch is one pass over the split's documents. Its instances are planned (`plan_instances`) and shuffled
with a generator seeded by (seed, epoch) alone, so every rank computes the same epoch plan; global batch k of
the epoch is instances [k*B*W, (k+1)*B*W) of it (B = batch_size, W = world_size), and rank r takes the
r-th B of them, so ranks see disjoint instances. Each instance is truncated and masked with a generator
seeded by (seed, epoch, its position in the plan): the same instance gets the same mask on any rank and in
any worker, and a new mask in the next epoch (dynamic masking). Together this makes a batch a pure function
of (seed, epoch, batch index, rank, world_size), so resuming needs only (epoch, batch index), and the global
batch is the same for every world_size that keeps B*W fixed.

Batches are made in background processes by a torch DataLoader (`num_workers`; 0 makes them in the caller's
thread), a few batches ahead of the training loop.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from bertkit.checks import check_choice, check_int, check_probability
from bertkit.constants import CONTINUATION
from bertkit.data.instances import (
    A_END,
    A_START,
    B_END,
    B_START,
    IS_RANDOM_NEXT,
    SPECIAL_TOKENS_PER_PAIR,
    plan_instances,
    truncate_seq_pair,
)
from bertkit.data.masking import MaskingConfig, mask_tokens
from bertkit.data.shards import Manifest, read_shard
from bertkit.errors import InvalidArgumentError, TrainingError
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.tokenizer.template import pair_template

SPLITS = ("train", "heldout")
_PLAN_STREAM, _INSTANCE_STREAM = 0, 1  # keeps the plan's and the instances' random streams apart


class SplitIndex:
    """One split's documents across all shards, numbered as one corpus: sentence lengths and where their
    tokens live. Token arrays are opened (memory-mapped) lazily, so the index pickles cheaply to workers."""

    def __init__(self, data_dir: Path, manifest: Manifest, split: str) -> None:
        self.data_dir, self.manifest = data_dir, manifest
        lengths, token_starts, shard_ids, doc_sizes = [], [], [], []
        for shard_id, info in enumerate(manifest.shards):
            shard = read_shard(data_dir, info)
            sentences, documents = np.asarray(shard.sentences), np.asarray(shard.documents)
            wanted = np.asarray(shard.heldout) == (split == "heldout")
            sizes = np.diff(documents)[wanted]
            # Sentence numbers of the wanted documents, in order.
            first = np.repeat(documents[:-1][wanted], sizes)
            within = np.arange(len(first)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            picked = first + within
            lengths.append(sentences[picked + 1] - sentences[picked])
            token_starts.append(sentences[picked])
            shard_ids.append(np.full(len(picked), shard_id, dtype=np.int32))
            doc_sizes.append(sizes)
        self.sentence_lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
        self.token_starts = np.concatenate(token_starts) if token_starts else np.zeros(0, np.int64)
        self.shard_ids = np.concatenate(shard_ids) if shard_ids else np.zeros(0, np.int32)
        sizes = np.concatenate(doc_sizes) if doc_sizes else np.zeros(0, np.int64)
        self.document_offsets = np.concatenate(([0], np.cumsum(sizes)))
        self._tokens: list[np.ndarray] | None = None

    @property
    def num_documents(self) -> int:
        return len(self.document_offsets) - 1

    def tokens(self, start: int, end: int) -> np.ndarray:
        """Token ids of sentences [start, end), which lie in one document and so in one shard."""
        if self._tokens is None:
            self._tokens = [read_shard(self.data_dir, info).tokens for info in self.manifest.shards]
        first = self.token_starts[start]
        last = self.token_starts[end - 1] + self.sentence_lengths[end - 1]
        return np.asarray(self._tokens[self.shard_ids[start]][first:last], dtype=np.int64)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tokens": None}


@dataclass(frozen=True)
class BatchSpec:
    """How instances become batches; everything a worker needs besides the index."""

    max_seq_length: int
    batch_size: int
    short_seq_prob: float
    seed: int
    rank: int
    world_size: int
    cls_token_id: int
    sep_token_id: int
    pad_token_id: int
    masking: MaskingConfig
    continuation: np.ndarray | None  # per vocabulary id: is a `##` piece (whole-word masking), or None


class BatchMaker:
    """Makes batch (epoch, index) of one rank; keeps the plans of the two latest epochs it was asked about."""

    def __init__(self, index: SplitIndex, spec: BatchSpec) -> None:
        self.index, self.spec = index, spec
        self._plans: dict[int, np.ndarray] = {}
        self._counts: dict[int, int] = {}

    def plan(self, epoch: int) -> np.ndarray:
        """The epoch's instances, shuffled: the same on every rank."""
        if epoch not in self._plans:
            rng = np.random.default_rng([self.spec.seed, epoch, _PLAN_STREAM])
            plan = plan_instances(
                self.index.sentence_lengths,
                self.index.document_offsets,
                self.spec.max_seq_length,
                self.spec.short_seq_prob,
                rng,
            )
            # Two epochs are live at a boundary: the loop finishing one while the prefetcher starts the next.
            for old in sorted(self._plans)[:-1]:
                del self._plans[old]
            self._plans[epoch] = plan[rng.permutation(len(plan))]
            self._counts[epoch] = len(plan)
        return self._plans[epoch]

    def batches_in_epoch(self, epoch: int, partial: bool = False) -> int:
        """Full global batches in the epoch (with `partial`, counting a last incomplete one too)."""
        global_batch = self.spec.batch_size * self.spec.world_size
        n = self._counts[epoch] if epoch in self._counts else len(self.plan(epoch))
        return -(-n // global_batch) if partial else n // global_batch

    def batch(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        """This rank's share of global batch `index`: fewer rows in the epoch's last, partial global batch, and
        none (tensors of 0 rows) when the epoch's instances run out before this rank's share begins."""
        s = self.spec
        plan = self.plan(epoch)
        first = (index * s.world_size + s.rank) * s.batch_size
        rows = range(first, min(first + s.batch_size, len(plan)))
        fields = np.zeros((len(_FIELDS), len(rows), s.max_seq_length), dtype=np.int64)
        for j, p in enumerate(rows):
            fields[:, j] = self.instance(plan[p], np.random.default_rng([s.seed, epoch, _INSTANCE_STREAM, p]))
        batch = {name: torch.from_numpy(fields[i]) for i, name in enumerate(_FIELDS)}
        batch["next_sentence_label"] = torch.from_numpy(plan[rows.start : rows.stop, IS_RANDOM_NEXT].copy())
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


class _Batches(Dataset):
    """Batch (epoch, index) for a DataLoader running with batch_size=None."""

    def __init__(self, maker: BatchMaker) -> None:
        self.maker = maker

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        return self.maker.batch(*key)


class _Positions(Sampler):
    """(epoch, index) from a start position: forever, or through the end of one epoch."""

    def __init__(self, maker: BatchMaker, epoch: int, index: int, single_epoch: bool = False) -> None:
        self.maker, self.epoch, self.index, self.single_epoch = maker, epoch, index, single_epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, index = self.epoch, self.index
        while True:
            for i in range(index, self.maker.batches_in_epoch(epoch, partial=self.single_epoch)):
                yield epoch, i
            if self.single_epoch:
                return
            epoch, index = epoch + 1, 0


class PretrainingData:
    """Iterating yields batches (dicts of torch tensors): input_ids, token_type_ids, attention_mask,
    labels (-100 where nothing is predicted) and next_sentence_label (0: B follows A, 1: B is random).

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
        whole_word_mask: bool = False,
        split: str = "train",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 1,
    ) -> None:
        _check_arguments(
            max_seq_length,
            batch_size,
            mlm_probability,
            max_predictions_per_seq,
            short_seq_prob,
            split,
            rank,
            world_size,
            num_workers,
        )
        if not isinstance(tokenizer, WordPieceTokenizer):
            tokenizer = WordPieceTokenizer.from_pretrained(tokenizer)
        data_dir = Path(data_dir)
        manifest = Manifest.load(data_dir)
        if not manifest.complete:
            raise TrainingError(
                f"{data_dir}: `bertkit prepare` did not finish writing this data; rerun the same command to resume it"
            )
        check_tokenizer(manifest, tokenizer, data_dir)
        index = SplitIndex(data_dir, manifest, split)
        if index.num_documents == 0:
            hint = ""
            if split == "heldout":
                hint = (
                    f" (prepared with heldout_fraction {manifest.heldout_fraction}, which held out none of its "
                    f"{manifest.total('documents')} documents; prepare again with a larger fraction)"
                )
            raise TrainingError(f"{data_dir}: the {split} split has no documents{hint}")
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
            batch_size=batch_size,
            short_seq_prob=short_seq_prob,
            seed=seed,
            rank=rank,
            world_size=world_size,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            pad_token_id=tokenizer.pad_token_id,
            masking=masking,
            continuation=continuation,
        )
        self.maker = BatchMaker(index, spec)
        self.split, self.num_workers = split, num_workers
        self.data_dir, self.epoch, self.batch_index = data_dir, 0, 0
        self.maker.plan(0)  # fail now on text that cannot make instances
        if split == "train":
            self._check_full_batches()

    def _check_full_batches(self) -> None:
        """Endless iteration needs one full global batch per epoch; a small held-out split may only have
        the partial batch `one_epoch` gives."""
        if self.maker.batches_in_epoch(self.epoch) == 0:
            s = self.maker.spec
            raise TrainingError(
                f"{self.data_dir}: the {self.split} split makes {len(self.maker.plan(self.epoch))} instances per "
                f"epoch, fewer than one global batch (batch_size {s.batch_size} x world_size {s.world_size}); "
                "use a smaller batch or more text"
            )

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        self._check_full_batches()
        for batch in self._loader(_Positions(self.maker, self.epoch, self.batch_index)):
            self.batch_index += 1
            # `while`: an epoch's instance count varies, and one short of a global batch has no batch to stop at.
            while self.batch_index >= self.maker.batches_in_epoch(self.epoch):
                self.epoch, self.batch_index = self.epoch + 1, 0
            yield batch

    def one_epoch(self, epoch: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """One epoch's batches, the last possibly smaller, without moving the position: a fixed
        evaluation set for the held-out split.

        Every rank yields the same number of batches, its share of each global batch, so ranks that take the
        first k batches cover the same global batches and make the same number of collective calls. With
        several ranks, a share of the last global batch may be empty (0 rows): callers skip its forward pass,
        not the batch."""
        yield from self._loader(_Positions(self.maker, epoch, 0, single_epoch=True))

    def _loader(self, positions: _Positions) -> DataLoader:
        return DataLoader(
            _Batches(self.maker),
            sampler=positions,
            batch_size=None,
            num_workers=self.num_workers,
            prefetch_factor=4 if self.num_workers else None,
            pin_memory=torch.cuda.is_available(),
        )

    def batches_in_epoch(self, epoch: int = 0) -> int:
        return self.maker.batches_in_epoch(epoch)

    def state_dict(self) -> dict[str, int]:
        """The position of the next batch; all ranks are at the same position."""
        return {"epoch": self.epoch, "batch_index": self.batch_index}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.batch_index = int(state["epoch"]), int(state["batch_index"])


def check_tokenizer(manifest: Manifest, tokenizer: WordPieceTokenizer, data_dir: Path) -> None:
    """Prepared ids mean nothing under another vocabulary: refuse a tokenizer other than the data's."""
    fingerprint = tokenizer.fingerprint()
    if fingerprint != manifest.tokenizer_fingerprint:
        raise TrainingError(
            f"{data_dir}: prepared with tokenizer {manifest.tokenizer_fingerprint}, but the tokenizer given is "
            f"{fingerprint}; pass the tokenizer the data was prepared with, or re-run `bertkit prepare` "
            "with this one"
        )


def check_data_settings(
    batch_size: int, mlm_probability: float, max_predictions_per_seq: int, short_seq_prob: float
) -> None:
    """The settings PretrainingData shares with a run's PretrainConfig, one rule each: at least one token is
    masked, and every sequence may be a short one (short_seq_prob 1)."""
    check_int("`batch_size`", batch_size)
    check_probability("`mlm_probability`", mlm_probability, zero=False)
    check_int("`max_predictions_per_seq`", max_predictions_per_seq)
    check_probability("`short_seq_prob`", short_seq_prob, one=True)


def _check_arguments(
    max_seq_length: int,
    batch_size: int,
    mlm_probability: float,
    max_predictions_per_seq: int,
    short_seq_prob: float,
    split: str,
    rank: int,
    world_size: int,
    num_workers: int,
) -> None:
    check_int("`max_seq_length`", max_seq_length, minimum=SPECIAL_TOKENS_PER_PAIR + 2)
    check_data_settings(batch_size, mlm_probability, max_predictions_per_seq, short_seq_prob)
    check_choice("`split`", split, SPLITS)
    check_int("`world_size`", world_size)
    if not 0 <= rank < world_size:
        raise InvalidArgumentError(f"rank={rank}, world_size={world_size}: need 0 <= rank < world_size")
    check_int("`num_workers`", num_workers, minimum=0)
