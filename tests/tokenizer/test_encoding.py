"""Pairs, truncation, padding and tensors against tokenizers and transformers."""

import random

import numpy as np
import pytest
import torch
from transformers import BertTokenizer

from bertkit import InvalidArgumentError, WordPieceTokenizer
from bertkit.tokenizer.encoding import truncated_lengths


@pytest.fixture(scope="module")
def pairs(corpus_lines) -> list[tuple[str, str]]:
    rng = random.Random(7)
    short = [line for line in corpus_lines if 0 < len(line) < 60]
    return [(rng.choice(corpus_lines), rng.choice(short)) for _ in range(40)] + [
        (rng.choice(short), rng.choice(corpus_lines)) for _ in range(40)
    ]


@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second"])
def test_truncation_equals_tokenizers(strategy, uncased, make_reference, pairs):
    for max_length in (3, 4, 5, 8, 13, 32, 64):
        reference = make_reference(max_length=max_length, strategy=strategy)
        for a, b in pairs[::3]:
            try:
                want = reference.encode(a, b)
            except Exception:  # tokenizers: "Sequence to truncate too short to respect the max_length"
                with pytest.raises(InvalidArgumentError, match="cannot lose"):
                    uncased.encode(a, b, max_length=max_length, truncation=strategy)
                continue
            got = uncased.encode(a, b, max_length=max_length, truncation=strategy)
            assert (got.ids, got.type_ids, got.offsets) == (want.ids, want.type_ids, want.offsets), (
                a,
                b,
                max_length,
            )
            assert len(got) <= max_length


def test_single_truncation_equals_tokenizers(uncased, make_reference, corpus_lines):
    for max_length in (2, 3, 10, 50):
        reference = make_reference(max_length=max_length)
        for text in corpus_lines[::97]:
            got = uncased.encode(text, max_length=max_length, truncation=True)
            want = reference.encode(text)
            assert (got.ids, got.offsets) == (want.ids, want.offsets)


def test_truncation_arithmetic_matches_tokenizers_own_table():
    """The cases of tokenizers' truncate_encodings_longest_first test (max_length 7)."""
    short, medium, long_ = 2, 4, 8
    table = {
        (0, 0): (0, 0), (0, short): (0, 2), (0, medium): (0, 4), (0, long_): (0, 7),
        (short, 0): (2, 0), (short, short): (2, 2), (short, medium): (2, 4), (short, long_): (2, 5),
        (medium, 0): (4, 0), (medium, short): (4, 2), (medium, medium): (3, 4), (medium, long_): (3, 4),
        (long_, 0): (7, 0), (long_, short): (5, 2), (long_, medium): (4, 3), (long_, long_): (3, 4),
    }  # fmt: skip
    for (n1, n2), want in table.items():
        assert truncated_lengths(n1, n2, 7, "longest_first") == want, (n1, n2)


@pytest.mark.parametrize(
    ("padding", "max_length", "multiple"),
    [
        (True, None, None),
        ("longest", None, 8),
        ("max_length", 64, None),
        ("max_length", 50, 16),
        (True, None, 3),
    ],
)
def test_padding_equals_tokenizers(padding, max_length, multiple, uncased, make_reference, pairs):
    reference = make_reference()
    reference.enable_padding(
        length=max_length if padding == "max_length" else None, pad_to_multiple_of=multiple
    )
    texts = [a for a, _ in pairs[:12]]
    want = reference.encode_batch(texts)
    got = uncased(
        texts, padding=padding, max_length=max_length, pad_to_multiple_of=multiple, return_tensors=None
    )
    assert got["input_ids"] == [e.ids for e in want]
    assert got["attention_mask"] == [e.attention_mask for e in want]
    assert got["token_type_ids"] == [e.type_ids for e in want]


def test_batch_of_pairs_equals_transformers(uncased, model_dir, pairs):
    hf = BertTokenizer.from_pretrained(model_dir)
    first, second = [a for a, _ in pairs[:16]], [b for _, b in pairs[:16]]
    for truncation in ("longest_first", "only_first"):
        want = hf(first, second, padding=True, truncation=truncation, max_length=48, return_tensors="pt")
        got = uncased(first, second, padding=True, truncation=truncation, max_length=48, return_tensors="pt")
        assert set(got) == {"input_ids", "token_type_ids", "attention_mask"}
        for key in got:
            assert got[key].dtype == torch.int64
            assert torch.equal(got[key], want[key]), key


def test_encode_batch_takes_texts_and_pairs(uncased):
    encs = uncased.encode_batch(["a b", ("first", "second")])
    assert encs[0].type_ids == [0, 0, 0, 0]
    assert encs[1].tokens == ["[CLS]", "first", "[SEP]", "second", "[SEP]"]
    assert encs[1].type_ids == [0, 0, 0, 1, 1]
    assert encs[1].special_tokens_mask == [1, 0, 1, 0, 1]
    assert encs[1].offsets == [(0, 0), (0, 5), (0, 0), (0, 6), (0, 0)]


def test_return_tensors(uncased):
    texts = ["hello world", "a much longer piece of text"]
    as_np = uncased(texts, return_tensors="np")
    assert isinstance(as_np["input_ids"], np.ndarray) and as_np["input_ids"].shape == (2, 8)
    as_pt = uncased(texts)
    assert torch.equal(as_pt["attention_mask"], torch.from_numpy(as_np["attention_mask"]))
    as_lists = uncased(texts, padding=False, return_tensors=None)
    assert [len(ids) for ids in as_lists["input_ids"]] == [4, 8]
    assert uncased("one text")["input_ids"].shape == (1, 4)
    assert uncased([])["input_ids"].shape == (0, 0)
    with pytest.raises(InvalidArgumentError, match="needs equal lengths; pass padding=True"):
        uncased(texts, padding=False)
    with pytest.raises(InvalidArgumentError, match="return_tensors='tf'"):
        uncased(texts, return_tensors="tf")


def test_bad_lengths_and_strategies(uncased):
    with pytest.raises(InvalidArgumentError, match="max_length=1 is smaller than the 2 special tokens"):
        uncased.encode("hello", max_length=1, truncation=True)
    with pytest.raises(InvalidArgumentError, match="max_length=2 is smaller than the 3 special tokens"):
        uncased.encode("hello", "world", max_length=2, truncation=True)
    with pytest.raises(InvalidArgumentError, match="needs a pair"):
        uncased.encode("hello there you", max_length=3, truncation="only_second")
    with pytest.raises(InvalidArgumentError, match="needs max_length"):
        uncased.encode("hello", truncation=True)
    with pytest.raises(InvalidArgumentError, match="truncation='middle'"):
        uncased.encode("hello", max_length=5, truncation="middle")
    with pytest.raises(InvalidArgumentError, match="padding='max_length' needs max_length"):
        uncased(["hello"], padding="max_length")
    with pytest.raises(InvalidArgumentError, match="pairs has 1 texts but texts has 2"):
        uncased(["a", "b"], ["c"])
    with pytest.raises(InvalidArgumentError, match=r"expected a text or a \(text, pair\) tuple"):
        uncased.encode_batch([("only one",)])
    with pytest.raises(InvalidArgumentError, match="pair must be a string, got int"):
        uncased.encode("text", 3)
    assert uncased.encode("hello world", max_length=2, truncation=True).tokens == ["[CLS]", "[SEP]"]


def test_encoding_of_a_trained_vocabulary_loads_in_transformers(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("床前明月光，疑是地上霜。\nThe moon is bright tonight.\n" * 5, encoding="utf-8")
    tok = WordPieceTokenizer.train(corpus, vocab_size=80, min_frequency=1, show_progress=False)
    hf = BertTokenizer.from_pretrained(tok.save_pretrained(tmp_path / "tok"))
    for text in ["床前明月光", "the moon is bright", "月光 moon!"]:
        assert hf(text)["input_ids"] == tok.encode(text).ids
