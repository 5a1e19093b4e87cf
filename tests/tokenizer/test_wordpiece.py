"""WordPieceTokenizer against Hugging Face: tokens, ids, offsets, type ids and special-token masks equal to
the Rust `tokenizers` on real, mixed and adversarial text with the real uncased vocabulary and a cased one;
decode as transformers 5 decodes; files in and out; errors."""

import json
import pickle
import random
import unicodedata

import numpy as np
import pytest
from transformers import BertTokenizer

from bertkit import FileFormatError, InvalidArgumentError, WordPieceTokenizer
from bertkit.tokenizer import wordpiece
from bertkit.tokenizer.normalize import is_control


def reorders_marks(text: str | tuple[str, str]) -> bool:
    """Whether NFD reorders combining marks in `text`. Then, for marks tokenizers' old tables do not know, its
    offsets come from its reordering bookkeeping and can differ from ours by a character (docs/tokenizer.md)."""
    text = " ".join(text) if isinstance(text, tuple) else text
    text = "".join(c for c in text if not is_control(c) and c != "\ufffd")  # cleaning comes before NFD
    return unicodedata.normalize("NFD", text) != "".join(unicodedata.normalize("NFD", c) for c in text)


def assert_same_encoding(ours, theirs, text) -> None:
    assert ours.ids == theirs.ids, ascii(text)
    assert ours.tokens == theirs.tokens, ascii(text)
    assert ours.type_ids == theirs.type_ids, ascii(text)
    assert ours.special_tokens_mask == theirs.special_tokens_mask, ascii(text)
    assert ours.attention_mask == theirs.attention_mask, ascii(text)
    if not reorders_marks(text):
        assert ours.offsets == theirs.offsets, ascii(text)


def test_real_text_equals_tokenizers(uncased, reference, corpus_lines):
    for text in corpus_lines:
        assert_same_encoding(uncased.encode(text), reference.encode(text), text)
    assert uncased.tokenize_to_ids(corpus_lines) == [
        e.ids for e in reference.encode_batch(corpus_lines, add_special_tokens=False)
    ]


def test_mixed_pairs_equal_tokenizers(uncased, reference, corpus_lines):
    rng = random.Random(1)
    for _ in range(500):
        a, b = rng.choice(corpus_lines), rng.choice(corpus_lines)
        first = " ".join([a, rng.choice(corpus_lines)])  # English and Chinese mixed in one text
        assert_same_encoding(uncased.encode(first, b), reference.encode(first, b), (first, b))


def test_adversarial_unicode_equals_tokenizers(uncased, reference, adversarial_texts):
    """Seeded random strings from pools of troublesome characters (see conftest.ADVERSARIAL_POOLS)."""
    for text in adversarial_texts:
        assert_same_encoding(uncased.encode(text), reference.encode(text), text)
    pairs = list(zip(adversarial_texts[::2], adversarial_texts[1::2], strict=True))[:500]
    for a, b in pairs:
        assert_same_encoding(uncased.encode(a, b), reference.encode(a, b), (a, b))
    assert uncased.tokenize_to_ids(adversarial_texts) == [
        e.ids for e in reference.encode_batch(adversarial_texts, add_special_tokens=False)
    ]


@pytest.mark.parametrize(
    ("lowercase", "strip_accents", "split_chinese"),
    [(False, None, True), (False, True, True), (True, False, True), (False, False, False)],
)
def test_cased_and_other_settings_equal_tokenizers(
    lowercase,
    strip_accents,
    split_chinese,
    cased_vocab_file,
    make_bert_reference,
    corpus_lines,
    adversarial_texts,
):
    ours = WordPieceTokenizer(
        cased_vocab_file, lowercase=lowercase, strip_accents=strip_accents, split_chinese=split_chinese
    )
    theirs = make_bert_reference(
        cased_vocab_file, lowercase=lowercase, strip_accents=strip_accents, handle_chinese_chars=split_chinese
    )
    texts = corpus_lines[::5] + adversarial_texts[:800]
    for text in texts:
        assert_same_encoding(ours.encode(text), theirs.encode(text), text)


def test_cased_vocabulary_keeps_case_and_accents(cased_vocab_file):
    tok = WordPieceTokenizer(cased_vocab_file, lowercase=False)
    assert tok.tokenize("AllenNLP is naïve") == ["Allen", "##NL", "##P", "is", "na", "##ï", "##ve"]


def test_special_tokens_in_text_are_never_split(uncased, reference):
    for text in ["[MASK]", "a[MASK]b", "x [CLS] y [SEP] z [PAD][UNK]", "[mask] [MASK", "[[MASK]]", "é[SEP]é"]:
        assert_same_encoding(uncased.encode(text), reference.encode(text), text)
    enc = uncased.encode("Paris is the [MASK] of France.")
    assert enc.tokens == ["[CLS]", "paris", "is", "the", "[MASK]", "of", "france", ".", "[SEP]"]
    assert enc.offsets[4] == (13, 19)
    assert enc.special_tokens_mask[4] == 0  # written in the text, not added: as in tokenizers


def test_long_words_become_unk(uncased):
    assert uncased.tokenize("a" * 100) != ["[UNK]"]
    assert uncased.tokenize("a" * 101) == ["[UNK]"]
    assert uncased.encode("ok " + "é" * 101).offsets[2] == (3, 104)


def test_empty_text_gives_cls_sep(uncased):
    enc = uncased.encode("")
    assert enc.tokens == ["[CLS]", "[SEP]"] and enc.offsets == [(0, 0), (0, 0)]
    assert uncased.encode(" \u200b\t").tokens == ["[CLS]", "[SEP]"]
    assert uncased.tokenize_to_ids(["", "  "]) == [[], []]
    assert uncased.tokenize_to_ids(iter(["a", "b"])) == [[1037], [1038]]
    with pytest.raises(InvalidArgumentError, match="texts must be strings, got NoneType"):
        uncased.tokenize_to_ids(["fine", None])


def test_vocabulary_accessors(uncased):
    assert len(uncased) == 30522
    assert (uncased.pad_token_id, uncased.unk_token_id, uncased.cls_token_id) == (0, 100, 101)
    assert (uncased.sep_token_id, uncased.mask_token_id) == (102, 103)
    assert uncased.vocab["hello"] == 7592 and uncased.ids_to_tokens[7592] == "hello"
    assert uncased.convert_tokens_to_ids(["hello", "no-such-token"]) == [7592, 100]
    assert uncased.convert_ids_to_tokens([101, 7592]) == ["[CLS]", "hello"]
    assert uncased.convert_ids_to_tokens(np.array([101, 7592])) == ["[CLS]", "hello"]
    assert uncased.convert_ids_to_tokens([np.int64(101)]) == ["[CLS]"]
    for bad in ([30522], [-1], ["101"], [1.0]):
        with pytest.raises(InvalidArgumentError, match=r"ids must be integers in \[0, 30522\)"):
            uncased.convert_ids_to_tokens(bad)
    with pytest.raises(InvalidArgumentError, match="ids must be integers"):
        uncased.decode([7592, 99999])


def test_decode_equals_transformers(uncased, model_dir, corpus_lines, adversarial_texts):
    hf = BertTokenizer.from_pretrained(model_dir)
    for text in (
        corpus_lines[::9] + adversarial_texts[:300] + ["I don't think it's 3.5, isn't it?!", "un ##want"]
    ):
        ids = uncased.encode(text).ids
        for skip in (True, False):
            assert uncased.decode(ids, skip_special_tokens=skip) == hf.decode(
                ids, skip_special_tokens=skip
            ), ascii(text)


def test_decode_accepts_tensors(uncased):
    batch = uncased(["hello world"], return_tensors="pt")
    assert uncased.decode(batch["input_ids"][0]) == "hello world"


def test_save_pretrained_loads_in_transformers_and_back(uncased, cased_vocab_file, tmp_path, corpus_lines):
    cased = WordPieceTokenizer(cased_vocab_file, lowercase=False)
    for tok, name in ((uncased, "uncased"), (cased, "cased")):
        directory = tok.save_pretrained(tmp_path / name)
        hf = BertTokenizer.from_pretrained(directory)
        again = WordPieceTokenizer.from_pretrained(directory)
        assert again.fingerprint() == tok.fingerprint()
        for text in corpus_lines[::50] + ["Ünïcödé Straße [MASK] 東京"]:
            assert hf(text)["input_ids"] == tok.encode(text).ids == again.encode(text).ids


def test_from_pretrained_honours_tokenizer_config(model_dir, tmp_path):
    (tmp_path / "vocab.txt").write_bytes((model_dir / "vocab.txt").read_bytes())
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": False, "tokenize_chinese_chars": False})
    )
    tok = WordPieceTokenizer.from_pretrained(tmp_path)
    assert (tok.lowercase, tok.strip_accents, tok.split_chinese) == (False, None, False)
    assert WordPieceTokenizer.from_pretrained(tmp_path / "vocab.txt").lowercase is True


def test_fingerprint_is_stable_and_tracks_settings(uncased, uncased_vocab):
    assert uncased.fingerprint() == WordPieceTokenizer(uncased_vocab).fingerprint()
    assert len(uncased.fingerprint()) == 16
    assert uncased.fingerprint() != WordPieceTokenizer(uncased_vocab, lowercase=False).fingerprint()
    assert uncased.fingerprint() != WordPieceTokenizer(uncased_vocab[:-1]).fingerprint()


def test_pickles_without_its_caches(uncased, corpus_lines):
    uncased.tokenize_to_ids(corpus_lines[:50])
    data = pickle.dumps(uncased)
    assert len(data) < 1_000_000
    again = pickle.loads(data)
    assert again.fingerprint() == uncased.fingerprint()
    assert again.encode(corpus_lines[0]).offsets == uncased.encode(corpus_lines[0]).offsets


def test_parallel_ids_equal_serial(uncased_vocab, corpus_lines, monkeypatch):
    monkeypatch.setattr(wordpiece, "PARALLEL_MIN_TEXTS", 100)
    serial = WordPieceTokenizer(uncased_vocab).tokenize_to_ids(corpus_lines, num_workers=1)
    assert WordPieceTokenizer(uncased_vocab).tokenize_to_ids(corpus_lines, num_workers=2) == serial
    texts = corpus_lines[:300]
    batch = WordPieceTokenizer(uncased_vocab).encode_batch(
        list(zip(texts, texts[::-1], strict=True))
    )  # in workers
    alone = [WordPieceTokenizer(uncased_vocab).encode(a, b) for a, b in zip(texts, texts[::-1], strict=True)]
    assert [(e.ids, e.offsets, e.type_ids) for e in batch] == [(e.ids, e.offsets, e.type_ids) for e in alone]


def test_caches_stay_bounded(uncased_vocab, monkeypatch):
    monkeypatch.setattr(wordpiece, "CACHE_LIMIT", 10)
    tok = WordPieceTokenizer(uncased_vocab)
    texts = [f"word{i} other{i}" for i in range(50)]
    assert tok.tokenize_to_ids(texts) == WordPieceTokenizer(uncased_vocab).tokenize_to_ids(texts)
    assert len(tok._chunk_ids) <= 10 and len(tok._pieces) <= 10


def test_train_returns_a_working_tokenizer(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20, encoding="utf-8")
    tok = WordPieceTokenizer.train([corpus], vocab_size=60, show_progress=False)
    assert tok.tokenize("The cat sat.")[:3] == ["the", "cat", "sat"]
    assert tok.tokenize("cog") == ["c", "##og"] or "[UNK]" not in tok.tokenize("cog")


def test_missing_vocabulary_file(tmp_path):
    with pytest.raises(FileFormatError, match="no such vocabulary file"):
        WordPieceTokenizer(tmp_path / "vocab.txt")
    with pytest.raises(FileFormatError, match="no such file or directory"):
        WordPieceTokenizer.from_pretrained(tmp_path / "nothing")
    with pytest.raises(FileFormatError, match="is a directory; pass its vocab.txt"):
        WordPieceTokenizer(tmp_path)
    with pytest.raises(FileFormatError, match="no such vocabulary file"):
        WordPieceTokenizer.from_pretrained(tmp_path)  # a directory without vocab.txt


def test_vocabulary_without_special_tokens(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\nhello\n", encoding="utf-8")
    with pytest.raises(
        FileFormatError, match=r"vocab.txt: missing special token\(s\) \[CLS\], \[SEP\], \[MASK\]"
    ):
        WordPieceTokenizer(path)
    with pytest.raises(InvalidArgumentError, match=r"missing special token\(s\) \[CLS\]"):
        WordPieceTokenizer(["[PAD]", "[UNK]", "[SEP]", "[MASK]"])


def test_unreadable_vocabulary_and_config(tmp_path):
    (tmp_path / "vocab.txt").write_bytes(b"[PAD]\n\xff\xfe\n")
    with pytest.raises(FileFormatError, match="not valid UTF-8 at byte offset 6"):
        WordPieceTokenizer(tmp_path / "vocab.txt")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(FileFormatError, match="tokenizer_config.json: not valid JSON"):
        WordPieceTokenizer.from_pretrained(tmp_path)


def test_vocabulary_lines_lose_trailing_whitespace_only(tmp_path, make_bert_reference):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nab \r\ncd\t\n gh\n", encoding="utf-8")
    tok = WordPieceTokenizer(path)
    assert tok.ids_to_tokens[5:] == ["ab", "cd", " gh"]
    assert tok.vocab == make_bert_reference(path).get_vocab()
