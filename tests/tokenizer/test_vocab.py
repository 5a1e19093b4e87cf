"""vocab.txt and tokenizer_config.json: read as tokenizers reads them, written so transformers loads them."""

import json

import pytest
from transformers import BertTokenizer

from bertkit import FileFormatError, InvalidArgumentError, WordPieceTokenizer
from bertkit.tokenizer.vocab import save_vocab


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


def test_missing_vocabulary_file(tmp_path):
    with pytest.raises(FileFormatError, match="no such vocabulary file"):
        WordPieceTokenizer(tmp_path / "vocab.txt")
    with pytest.raises(FileFormatError, match="no such file or directory"):
        WordPieceTokenizer.from_pretrained(tmp_path / "nothing")
    with pytest.raises(FileFormatError, match="is a directory; pass its vocab.txt"):
        WordPieceTokenizer(tmp_path)
    with pytest.raises(FileFormatError, match="no such vocabulary file"):
        WordPieceTokenizer.from_pretrained(tmp_path)  # a directory without vocab.txt


def test_unreadable_vocabulary_and_config(tmp_path):
    (tmp_path / "vocab.txt").write_bytes(b"[PAD]\n\xff\xfe\n")
    with pytest.raises(FileFormatError, match="not valid UTF-8 at byte offset 6"):
        WordPieceTokenizer(tmp_path / "vocab.txt")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(FileFormatError, match="tokenizer_config.json: not a valid JSON file"):
        WordPieceTokenizer.from_pretrained(tmp_path)


def test_vocabulary_lines_lose_trailing_whitespace_only(tmp_path, make_bert_reference):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nab \r\ncd\t\n gh\n", encoding="utf-8")
    tok = WordPieceTokenizer(path)
    assert tok.ids_to_tokens[5:] == ["ab", "cd", " gh"]
    assert tok.vocab == make_bert_reference(path).get_vocab()


def test_save_vocab_refuses_tokens_a_vocab_txt_cannot_hold(tmp_path):
    for bad in ("trailing ", "line\nbreak", "cr\r"):
        with pytest.raises(InvalidArgumentError, match="cannot be written to vocab.txt"):
            save_vocab(tmp_path / "tok", ["[PAD]", bad], True, None, True)
    assert not (tmp_path / "tok").exists()
    save_vocab(tmp_path / "tok", ["[PAD]", " leading"], False, None, True)
    assert (tmp_path / "tok" / "vocab.txt").read_text(encoding="utf-8") == "[PAD]\n leading\n"
    assert sorted(p.name for p in (tmp_path / "tok").iterdir()) == ["tokenizer_config.json", "vocab.txt"]
