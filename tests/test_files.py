import pytest

from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import (
    TMP_SUFFIX,
    atomic_path,
    iter_files_lines,
    iter_lines,
    read_settings,
    write_text_atomically,
)


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


def test_atomic_path_publishes_only_complete_files(tmp_path):
    target = tmp_path / "out.json"
    write_text_atomically(target, "old")
    with pytest.raises(OSError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise OSError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary file left behind
    write_text_atomically(target, "new")
    assert target.read_text() == "new"


def test_atomic_path_replaces_a_directory_whole(tmp_path):
    target = tmp_path / "step-5"
    for content in ("first", "second"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / f"{content}.txt").write_text(content)
    assert [p.name for p in target.iterdir()] == ["second.txt"]


def test_atomic_path_clears_a_temporary_left_by_a_killed_run(tmp_path):
    (tmp_path / f"out{TMP_SUFFIX}").mkdir()
    write_text_atomically(tmp_path / "out", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_read_settings_json_and_toml(tmp_path):
    (tmp_path / "a.json").write_text('{"lr": 0.1}')
    (tmp_path / "a.toml").write_text("lr = 0.1\n")
    assert read_settings(tmp_path / "a.json") == read_settings(tmp_path / "a.toml") == {"lr": 0.1}
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(FileFormatError, match="list.json: a config must be a JSON object, got list"):
        read_settings(tmp_path / "list.json")
    (tmp_path / "bad.toml").write_text("lr = \n")
    with pytest.raises(FileFormatError, match="bad.toml: not a valid TOML file"):
        read_settings(tmp_path / "bad.toml")
