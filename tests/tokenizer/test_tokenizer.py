"""WordPieceTokenizer against Hugging Face: tokens, ids, offsets, type ids and special-token masks equal to
the Rust `tokenizers` on real, mixed and adversarial text with the real uncased vocabulary and a cased one;
the vocabulary it accepts; pickling; training; the `bertkit tokenize` command."""

import pickle
import random
import unicodedata

import numpy as np
import pytest

from bertkit import FileFormatError, InvalidArgumentError, WordPieceTokenizer
from bertkit.cli import main as cli_main
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


def test_train_returns_a_working_tokenizer(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20, encoding="utf-8")
    tok = WordPieceTokenizer.train([corpus], vocab_size=60, show_progress=False)
    assert tok.tokenize("The cat sat.")[:3] == ["the", "cat", "sat"]
    assert tok.tokenize("cog") == ["c", "##og"] or "[UNK]" not in tok.tokenize("cog")


def test_vocabulary_without_special_tokens(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\nhello\n", encoding="utf-8")
    with pytest.raises(
        FileFormatError, match=r"vocab.txt: missing special token\(s\) \[CLS\], \[SEP\], \[MASK\]"
    ):
        WordPieceTokenizer(path)
    with pytest.raises(InvalidArgumentError, match=r"missing special token\(s\) \[CLS\]"):
        WordPieceTokenizer(["[PAD]", "[UNK]", "[SEP]", "[MASK]"])


def test_word_limit_and_decoder_arguments(uncased_vocab):
    with pytest.raises(InvalidArgumentError, match="max_word_chars must be an integer >= 0, got -1"):
        WordPieceTokenizer(uncased_vocab, max_word_chars=-1)
    with pytest.raises(
        InvalidArgumentError, match=r"decoder must be one of \('WordPiece', None\), got 'BPE'"
    ):
        WordPieceTokenizer(uncased_vocab, decoder="BPE")
    tok = WordPieceTokenizer(uncased_vocab, max_word_chars=3, decoder=None)
    assert tok.tokenize("abc abcd") == ["abc", "[UNK]"]
    assert tok.decode(tok.encode("unwanted, abc").ids, skip_special_tokens=False) == "[CLS] [UNK] , abc [SEP]"
    assert tok.decode(tok.convert_tokens_to_ids(["una", "##ffa", "##ble", ","])) == "una ##ffa ##ble ,"


def test_cli_tokenize(model_dir, tmp_path, capsys):
    assert cli_main(["tokenize", "--vocab", str(model_dir), "Hello, naïve [MASK]!"]) == 0
    assert capsys.readouterr().out == "[CLS] hello , naive [MASK] ! [SEP]\n"
    assert cli_main(["tokenize", "--vocab", str(model_dir), "--ids", "--no-special", "Hello"]) == 0
    assert capsys.readouterr().out == "7592\n"
    assert cli_main(["tokenize", "--vocab", str(model_dir), "--json", "hi"]) == 0
    assert (
        capsys.readouterr().out
        == '{"tokens": ["[CLS]", "hi", "[SEP]"], "ids": [101, 7632, 102], "offsets": [[0, 0], [0, 2], [0, 0]]}\n'
    )
    corpus = tmp_path / "in.txt"
    corpus.write_text("one line\n\nthird 第三\n", encoding="utf-8")
    assert (
        cli_main(
            [
                "tokenize",
                "--vocab",
                str(model_dir),
                "--input",
                str(corpus),
                "--output",
                str(tmp_path / "o.npy"),
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "o.offsets.npy").tolist() == [0, 2, 2, 5]
    assert cli_main(["tokenize", "--vocab", str(tmp_path), "x"]) == 2
    assert "no such vocabulary file" in capsys.readouterr().err
    assert cli_main(["tokenize", "--vocab", str(model_dir), "--input", str(corpus)]) == 2
    assert "--input needs --output" in capsys.readouterr().err
