"""The [CLS] A [SEP] B [SEP] template, as positions and as lists."""

import numpy as np

from bertkit.tokenizer.template import assemble, pair_template

CLS, SEP = 101, 102


def test_single_text():
    t = pair_template(3)
    assert (t.length, t.first, t.cls, t.sep) == (5, slice(1, 4), (0,), (4,))
    assert assemble([7, 8, 9], None, CLS, SEP) == ([CLS, 7, 8, 9, SEP], [0] * 5, [1, 0, 0, 0, 1])


def test_pair_puts_b_and_its_sep_in_segment_1():
    t = pair_template(2, 3)
    assert (t.length, t.first, t.second, t.cls, t.sep, t.segment_b) == (
        8, slice(1, 3), slice(4, 7), (0,), (3, 7), slice(4, 8)
    )  # fmt: skip
    ids, type_ids, special = assemble([7, 8], [4, 5, 6], CLS, SEP)
    assert ids == [CLS, 7, 8, SEP, 4, 5, 6, SEP]
    assert type_ids == [0, 0, 0, 0, 1, 1, 1, 1]
    assert special == [1, 0, 0, 1, 0, 0, 0, 1]


def test_empty_texts_and_no_special_tokens():
    assert assemble([], None, CLS, SEP) == ([CLS, SEP], [0, 0], [1, 1])
    assert assemble([], [], CLS, SEP) == ([CLS, SEP, SEP], [0, 0, 1], [1, 1, 1])
    assert assemble([7], [8, 9], CLS, SEP, add_special_tokens=False) == ([7, 8, 9], [0, 1, 1], [0, 0, 0])
    assert assemble([7], None, CLS, SEP, add_special_tokens=False) == ([7], [0], [0])
    assert (
        pair_template(0, 0).length == 3
        and pair_template(0).length == 2
        and pair_template(0, 0, False).length == 0
    )


def test_fills_fixed_size_numpy_arrays_as_the_pre_training_loader_does():
    a, b = np.array([7, 8], dtype=np.int32), np.array([4, 5, 6], dtype=np.int32)
    t = pair_template(len(a), len(b))
    ids = np.zeros(10, dtype=np.int64)
    ids[t.first], ids[t.second] = a, b
    for p in t.cls:
        ids[p] = CLS
    for p in t.sep:
        ids[p] = SEP
    token_type_ids = np.zeros(10, dtype=np.int64)
    token_type_ids[t.segment_b] = 1
    maskable = np.zeros(10, dtype=bool)
    maskable[t.first] = maskable[t.second] = True
    want_ids, want_type_ids, want_special = assemble(a.tolist(), b.tolist(), CLS, SEP)
    assert ids.tolist() == want_ids + [0, 0]
    assert token_type_ids.tolist() == want_type_ids + [0, 0]
    assert maskable[: t.length].tolist() == [not x for x in want_special] and not maskable[t.length :].any()
