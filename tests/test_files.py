import pytest

from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import iter_files_lines, iter_lines


def test_lines_without_endings(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"one\r\ntwo\n\nthree")
    assert list(iter_lines(path)) == ["one", "two", "", "three"]


def test_invalid_utf8_names_file_and_byte_offset(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine line\nbad \xff byte\n")
    with pytest.raises(FileFormatError, match=r"bad\.txt: not valid UTF-8 at byte offset 14"):
        list(iter_lines(path))
    assert list(iter_lines(path, errors="replace"))[1] == "bad \ufffd byte"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        list(iter_lines(tmp_path / "missing.txt"))
    with pytest.raises(FileFormatError, match="is a directory"):
        list(iter_lines(tmp_path))
    with pytest.raises(InvalidArgumentError, match="errors="):
        list(iter_lines(tmp_path / "x", errors="ignore"))


def test_several_files_in_order(tmp_path):
    (tmp_path / "a").write_text("a1\na2\n")
    (tmp_path / "b").write_text("b1\n")
    assert list(iter_files_lines([tmp_path / "a", tmp_path / "b"])) == ["a1", "a2", "b1"]
