"""Forked workers give what one process gives."""

import gc

from bertkit import WordPieceTokenizer
from bertkit.tokenizer import parallel
from bertkit.tokenizer.parallel import gc_paused, map_texts


def test_map_texts_in_forked_workers_equals_serial(monkeypatch):
    monkeypatch.setattr(parallel, "PARALLEL_MIN_TEXTS", 10)
    texts = [f"text {i}" for i in range(101)]
    assert map_texts(str.upper, texts, num_workers=3) == [t.upper() for t in texts]
    assert parallel._FORK_STATE is None  # the batch is not kept alive after it is done


def test_parallel_ids_equal_serial(uncased_vocab, corpus_lines, monkeypatch):
    monkeypatch.setattr(parallel, "PARALLEL_MIN_TEXTS", 100)
    serial = WordPieceTokenizer(uncased_vocab).tokenize_to_ids(corpus_lines, num_workers=1)
    assert WordPieceTokenizer(uncased_vocab).tokenize_to_ids(corpus_lines, num_workers=2) == serial
    texts = corpus_lines[:300]
    batch = WordPieceTokenizer(uncased_vocab).encode_batch(
        list(zip(texts, texts[::-1], strict=True))
    )  # in workers
    alone = [WordPieceTokenizer(uncased_vocab).encode(a, b) for a, b in zip(texts, texts[::-1], strict=True)]
    assert [(e.ids, e.offsets, e.type_ids) for e in batch] == [(e.ids, e.offsets, e.type_ids) for e in alone]


def test_gc_paused_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
