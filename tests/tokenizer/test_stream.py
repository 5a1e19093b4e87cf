"""Streaming a text file to .npy ids."""

import numpy as np
import pytest

from bertkit import FileFormatError, InvalidArgumentError
from bertkit.tokenizer import encode_file


def test_encode_file_streams_to_npy(uncased, corpus_lines, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(corpus_lines) + "\n", encoding="utf-8")
    ids_path, offsets_path = encode_file(
        uncased, corpus, tmp_path / "ids.npy", batch_lines=1000, show_progress=False
    )
    ids, offsets = np.load(ids_path), np.load(offsets_path)
    assert ids.dtype == np.int32 and offsets.dtype == np.int64 and len(offsets) == len(corpus_lines) + 1
    expected = uncased.tokenize_to_ids(corpus_lines)
    assert [ids[offsets[i] : offsets[i + 1]].tolist() for i in range(len(corpus_lines))] == expected
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("*.tmp"))


def test_encode_file_errors(uncased, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbroken \xff here\n")
    with pytest.raises(FileFormatError, match=r"bad.txt: not valid UTF-8 at byte offset 17"):
        encode_file(uncased, bad, tmp_path / "ids.npy", show_progress=False)
    ids_path, offsets_path = encode_file(
        uncased, bad, tmp_path / "ids.npy", errors="replace", show_progress=False
    )
    replaced = uncased.tokenize_to_ids(["fine line", "broken \ufffd here"])
    assert np.load(ids_path).tolist() == replaced[0] + replaced[1]
    assert np.load(offsets_path).tolist() == [0, len(replaced[0]), len(replaced[0]) + len(replaced[1])]
    with pytest.raises(FileFormatError, match="no such file"):
        encode_file(uncased, tmp_path / "missing.txt", tmp_path / "ids.npy")
    with pytest.raises(InvalidArgumentError, match="expected a .npy file name"):
        encode_file(uncased, bad, tmp_path / "ids.bin")
