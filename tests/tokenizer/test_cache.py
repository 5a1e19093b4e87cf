"""The caches compute once and stay bounded."""

from bertkit import WordPieceTokenizer
from bertkit.tokenizer import cache
from bertkit.tokenizer.cache import Memo


def test_memo_computes_a_missing_value_once(monkeypatch):
    monkeypatch.setattr(cache, "CACHE_LIMIT", 3)
    calls = []
    memo = Memo(lambda key: calls.append(key) or key.upper())
    assert [memo["a"], memo["b"], memo["a"]] == ["A", "B", "A"] and calls == ["a", "b"]
    assert memo["c"] == "C" and len(memo) == 3
    assert memo["d"] == "D" and dict(memo) == {"d": "D"}  # full: emptied before the new entry


def test_caches_stay_bounded(uncased_vocab, monkeypatch):
    monkeypatch.setattr(cache, "CACHE_LIMIT", 10)
    tok = WordPieceTokenizer(uncased_vocab)
    texts = [f"word{i} other{i}" for i in range(50)]
    assert tok.tokenize_to_ids(texts) == WordPieceTokenizer(uncased_vocab).tokenize_to_ids(texts)
    assert len(tok._chunk_ids) <= 10 and len(tok._pieces) <= 10
