import itertools

import numpy as np
import pytest
import torch

from bertkit.data.loader import PretrainingData
from bertkit.data.masking import IGNORE_INDEX
from bertkit.data.prepare import prepare_corpus
from bertkit.data.shards import Manifest
from bertkit.errors import FileFormatError, InvalidArgumentError, TrainingError
from bertkit.tokenizer import WordPieceTokenizer


def contains(haystack: np.ndarray, needle: np.ndarray) -> bool:
    if len(needle) > len(haystack):
        return False
    windows = np.lib.stride_tricks.sliding_window_view(haystack, len(needle))
    return bool((windows == needle).all(axis=1).any())


def test_batches_are_masked_pairs_of_real_text(data_dir, tokenizer, documents_tokens, take):
    data = PretrainingData(data_dir, tokenizer, max_seq_length=64, batch_size=16, num_workers=0)
    docs = [t for t, held in documents_tokens(data_dir) if not held]
    for batch in take(data, 2):
        assert {k: (v.dtype, tuple(v.shape)) for k, v in batch.items()} == {
            "input_ids": (torch.long, (16, 64)),
            "token_type_ids": (torch.long, (16, 64)),
            "attention_mask": (torch.long, (16, 64)),
            "labels": (torch.long, (16, 64)),
            "next_sentence_label": (torch.long, (16,)),
        }
        for i in range(16):
            ids, labels = batch["input_ids"][i].numpy(), batch["labels"][i].numpy()
            n = int(batch["attention_mask"][i].sum())
            assert (batch["attention_mask"][i, :n] == 1).all() and (ids[n:] == tokenizer.pad_token_id).all()
            original = np.where(labels != IGNORE_INDEX, labels, ids)[:n]
            seps = np.flatnonzero(original == tokenizer.sep_token_id)
            assert original[0] == tokenizer.cls_token_id and seps[-1] == n - 1 and len(seps) == 2
            a, b = original[1 : seps[0]], original[seps[0] + 1 : n - 1]
            assert (batch["token_type_ids"][i, : seps[0] + 1] == 0).all() and (
                batch["token_type_ids"][i, seps[0] + 1 : n] == 1
            ).all()
            assert (labels[[0, seps[0], n - 1]] == IGNORE_INDEX).all() and (labels[n:] == IGNORE_INDEX).all()
            assert 1 <= (labels != IGNORE_INDEX).sum() <= 20
            # A is a span of one training document; a true B continues it there, a random B comes from elsewhere.
            homes_a = [d for d, t in enumerate(docs) if contains(t, a)]
            assert homes_a
            if batch["next_sentence_label"][i] == 0:
                # Untruncated pairs are one contiguous span; truncation may trim A's end or B's start.
                joined = np.concatenate([a, b]) if n < 64 else b
                assert any(contains(docs[d], joined) for d in homes_a)
            else:
                assert any(contains(t, b) for t in docs)


def test_same_seed_same_batches_and_every_epoch_is_new(tang_dir, tokenizer, take, same):
    first = take(PretrainingData(tang_dir, tokenizer, batch_size=32, num_workers=0), 3)
    again = take(PretrainingData(tang_dir, tokenizer, batch_size=32, num_workers=0), 3)
    other = take(PretrainingData(tang_dir, tokenizer, batch_size=32, num_workers=0, seed=1), 3)
    assert same(first, again) and not same(first, other)
    data = PretrainingData(tang_dir, tokenizer, batch_size=32, num_workers=0)
    per_epoch = data.batches_in_epoch()
    epoch0, epoch1 = take(data, per_epoch), take(data, per_epoch)
    assert data.state_dict() == {"epoch": 2, "batch_index": 0}
    assert not same(epoch0, epoch1)
    # A new epoch pairs and masks afresh, but covers the same text.
    nsp_0 = torch.cat([b["next_sentence_label"] for b in epoch0]).float().mean()
    assert 0.35 < nsp_0 < 0.65


@pytest.mark.parametrize("num_workers,group_by_length", [(0, False), (2, False), (0, True)])
def test_resuming_from_a_saved_position_gives_the_same_batches(
    tang_dir, tokenizer, num_workers, group_by_length, take, same
):
    kw = {"batch_size": 32, "mlm_probability": 0.3, "max_predictions_per_seq": 40, "whole_word_mask": True}
    kw["group_by_length"] = group_by_length
    reference = take(PretrainingData(tang_dir, tokenizer, num_workers=0, **kw), 25)  # crosses two epoch ends
    data = PretrainingData(tang_dir, tokenizer, num_workers=num_workers, **kw)
    assert same(take(data, 7), reference[:7])
    state = data.state_dict()
    resumed = PretrainingData(tang_dir, tokenizer, num_workers=num_workers, **kw)
    resumed.load_state_dict(state)
    assert same(take(resumed, 18), reference[7:])


def test_ranks_share_the_global_batch_of_a_single_process(tang_dir, tokenizer, take, same):
    single = take(PretrainingData(tang_dir, tokenizer, batch_size=16, num_workers=0), 12)
    rank0 = take(PretrainingData(tang_dir, tokenizer, batch_size=8, rank=0, world_size=2, num_workers=0), 12)
    rank1 = take(PretrainingData(tang_dir, tokenizer, batch_size=8, rank=1, world_size=2, num_workers=0), 12)
    joined = [{k: torch.cat([a[k], b[k]]) for k in a} for a, b in zip(rank0, rank1, strict=True)]
    # Rank r holds the r-th half of each global batch: disjoint instances, the same masks as one process.
    assert same(single, joined)


def test_whole_word_masking_masks_every_piece_of_a_word(data_dir, tokenizer, take):
    continuation = np.array([t.startswith("##") for t in tokenizer.ids_to_tokens])
    data = PretrainingData(data_dir, tokenizer, batch_size=32, whole_word_mask=True, num_workers=0)
    pieces_seen = 0
    for batch in take(data, 4):
        labels = batch["labels"].numpy()
        original = np.where(labels != IGNORE_INDEX, labels, batch["input_ids"].numpy())
        is_cont = continuation[original]
        is_cont[:, 0] = False
        # A ## piece is predicted exactly when the piece before it is (segment edges aside, which truncation cuts).
        inside = is_cont & ~np.isin(
            np.roll(original, 1, axis=1), [tokenizer.sep_token_id, tokenizer.cls_token_id]
        )
        picked = labels != IGNORE_INDEX
        assert (picked[inside] == np.roll(picked, 1, axis=1)[inside]).all()
        pieces_seen += (picked & inside).sum()
    assert pieces_seen > 0


def test_heldout_split_reads_only_heldout_documents_and_has_a_fixed_epoch(
    data_dir, tokenizer, documents_tokens, same
):
    data = PretrainingData(data_dir, tokenizer, split="heldout", batch_size=8, num_workers=0)
    first, again = list(data.one_epoch()), list(data.one_epoch())
    assert first and same(first, again) and data.state_dict() == {"epoch": 0, "batch_index": 0}
    held = [t for t, h in documents_tokens(data_dir) if h]
    for batch in first:
        labels, ids = batch["labels"].numpy(), batch["input_ids"].numpy()
        original = np.where(labels != IGNORE_INDEX, labels, ids)
        for row in original:
            a = row[1 : np.flatnonzero(row == tokenizer.sep_token_id)[0]]
            assert any(contains(t, a) for t in held)


def test_a_single_document_corpus_takes_negatives_from_far_away(tmp_path, tokenizer_dir, tokenizer, take):
    one = tmp_path / "one.txt"
    one.write_text("".join(f"This is sentence number {i} of the only document.\n" for i in range(200)))
    prepare_corpus([one], tokenizer_dir, tmp_path / "d", heldout_fraction=0.0, workers=0, show_progress=False)
    batch = take(PretrainingData(tmp_path / "d", tokenizer, batch_size=16, num_workers=0), 1)[0]
    assert 0 < batch["next_sentence_label"].sum() < 16
    short = tmp_path / "short.txt"
    short.write_text("One line.\nTwo lines.\n")
    prepare_corpus(
        [short], tokenizer_dir, tmp_path / "s", heldout_fraction=0.0, workers=0, show_progress=False
    )
    with pytest.raises(TrainingError, match="single document of fewer than 4 sentences"):
        PretrainingData(tmp_path / "s", tokenizer, batch_size=1)


def test_a_different_tokenizer_names_both_fingerprints_and_the_fix(tang_dir, tokenizer):
    other = WordPieceTokenizer(tokenizer.ids_to_tokens, lowercase=False)
    with pytest.raises(
        TrainingError,
        match=f"prepared with tokenizer {tokenizer.fingerprint()}.*given is "
        f"{other.fingerprint()}.*re-run `bertkit prepare`",
    ):
        PretrainingData(tang_dir, other)


def test_missing_manifest_empty_split_and_small_corpus_are_clear_errors(tmp_path, tang_dir, tokenizer):
    with pytest.raises(FileFormatError, match="no manifest.json; not a prepared data directory"):
        PretrainingData(tmp_path, tokenizer)
    unfinished = Manifest.load(tang_dir)
    unfinished.complete = False
    unfinished.save(tmp_path)
    with pytest.raises(TrainingError, match="did not finish.*rerun the same command"):
        PretrainingData(tmp_path, tokenizer)
    with pytest.raises(
        TrainingError,
        match="heldout split has no documents.*heldout_fraction 0.0, which held out none of its \\d+ documents",
    ):
        PretrainingData(tang_dir, tokenizer, split="heldout")
    with pytest.raises(TrainingError, match="fewer than one global batch"):
        PretrainingData(tang_dir, tokenizer, batch_size=100_000)


def test_a_heldout_split_smaller_than_a_batch_still_gives_its_partial_epoch(data_dir, tokenizer):
    data = PretrainingData(data_dir, tokenizer, split="heldout", batch_size=100_000, num_workers=0)
    (batch,) = data.one_epoch()
    assert 0 < len(batch["input_ids"]) < 100_000
    with pytest.raises(TrainingError, match="fewer than one global batch"):
        next(iter(data))


def test_every_rank_yields_its_share_of_every_global_batch_of_a_partial_epoch(data_dir, tokenizer, same):
    kw = {"split": "heldout", "max_seq_length": 32, "num_workers": 0}

    def one_epoch(size, rank=0, world_size=1):
        data = PretrainingData(data_dir, tokenizer, batch_size=size, rank=rank, world_size=world_size, **kw)
        return list(data.one_epoch())

    n = len(one_epoch(1))
    seen = set()
    for world_size in (2, 3):
        # Global batches past the split's end, and last global batches that leave a rank partial or empty.
        for batch_size in (4, 7, n // world_size + 1, n):
            whole = one_epoch(batch_size * world_size)
            shares = [one_epoch(batch_size, rank, world_size) for rank in range(world_size)]
            # The same number of batches on every rank (ranks taking the first k stay in step), and together
            # they are one process's batches: every instance once, with the same mask.
            assert [len(share) for share in shares] == [len(whole)] * world_size
            joined = [{k: torch.cat([s[i][k] for s in shares]) for k in whole[i]} for i in range(len(whole))]
            assert same(joined, whole)
            for batch in itertools.chain(*shares):
                rows = len(batch["next_sentence_label"])
                assert all(batch[k].shape == (rows, 32) for k in batch if k != "next_sentence_label")
                seen.add("empty" if rows == 0 else "partial" if rows < batch_size else "full")
    assert seen == {"empty", "partial", "full"}


def test_an_epoch_without_a_full_global_batch_is_stepped_over(tang_dir, tokenizer, take, same):
    # Each epoch pairs sentences afresh, so its instance count varies: with a global batch of exactly epoch 0's
    # instances, a smaller epoch has no batch, and the saved position must not stop in it.
    batch_size = PretrainingData(tang_dir, tokenizer, batch_size=1, num_workers=0).batches_in_epoch(0)
    data = PretrainingData(tang_dir, tokenizer, batch_size=batch_size, num_workers=0)
    assert [data.batches_in_epoch(epoch) for epoch in range(4)] == [1, 0, 1, 0]
    reference = take(PretrainingData(tang_dir, tokenizer, batch_size=batch_size, num_workers=0), 3)
    assert same(take(data, 2), reference[:2])
    assert data.state_dict() == {"epoch": 4, "batch_index": 0}
    resumed = PretrainingData(tang_dir, tokenizer, batch_size=batch_size, num_workers=0)
    resumed.load_state_dict(data.state_dict())
    assert same(take(resumed, 1), reference[2:])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"max_seq_length": 4}, "`max_seq_length` must be an integer >= 5, got 4"),
        ({"mlm_probability": 0.0}, r"`mlm_probability` must be a number in \(0, 1\), got 0.0"),
        ({"short_seq_prob": 1.5}, r"`short_seq_prob` must be a number in \[0, 1\], got 1.5"),
        ({"split": "test"}, "`split` must be one of train, heldout, got 'test'"),
        ({"rank": 2, "world_size": 2}, "rank=2, world_size=2"),
        ({"batch_size": 0}, "`batch_size` must be a positive integer, got 0"),
    ],
)
def test_bad_arguments_are_named(tang_dir, tokenizer, kw, message):
    with pytest.raises(InvalidArgumentError, match=message):
        PretrainingData(tang_dir, tokenizer, **kw)


def test_grouped_batches_hold_the_epochs_instances_padded_to_their_longest(tang_dir, tokenizer, take):
    kw = {"batch_size": 16, "max_seq_length": 64, "num_workers": 0}
    padded = PretrainingData(tang_dir, tokenizer, **kw)
    grouped = PretrainingData(tang_dir, tokenizer, group_by_length=True, **kw)
    per_epoch = padded.batches_in_epoch()
    assert grouped.batches_in_epoch() == per_epoch
    epoch, plain = take(grouped, per_epoch), take(padded, per_epoch)
    lengths = [b["attention_mask"].sum(1) for b in epoch]
    for batch, length in zip(epoch, lengths, strict=True):
        assert batch["input_ids"].shape[1] == int(length.max()) <= 64
        assert (batch["labels"] != IGNORE_INDEX).any(1).all()
    # The same instances as the padded epoch (the same plan, reordered), in batches of similar length.
    plans = [np.unique(d.maker.plan(0), axis=0) for d in (grouped, padded)]
    assert np.array_equal(*plans)
    planned = grouped.maker.instance_lengths(grouped.maker.plan(0))[: per_epoch * 16]
    assert torch.equal(torch.cat(lengths), torch.from_numpy(planned))
    spread = np.mean([int(n.max() - n.min()) for n in lengths])
    assert spread < np.mean(
        [int(b["attention_mask"].sum(1).max() - b["attention_mask"].sum(1).min()) for b in plain]
    )
    assert sum(b["input_ids"].numel() for b in epoch) < sum(b["input_ids"].numel() for b in plain)
