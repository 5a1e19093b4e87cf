import json

import pytest

from bertkit.data.corpus import iter_documents, resolve_inputs, split_sentences
from bertkit.errors import FileFormatError


def documents(*paths):
    return [sentences for sentences, _ in iter_documents(resolve_inputs(paths))]


def test_text_files_have_one_sentence_per_line_and_blank_lines_between_documents(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("\n\nFirst one.\n  Second one.  \n\n\n\nOther doc.\r\n\n")
    assert documents(path) == [["First one.", "Second one."], ["Other doc."]]


def test_bytes_read_add_up_to_the_file_size(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("床前明月光，\n疑是地上霜。\n\nHello.\n")
    sizes = [size for _, size in iter_documents([path])]
    assert sum(sizes) == path.stat().st_size


def test_jsonl_records_are_documents_split_into_sentences(tmp_path):
    path = tmp_path / "a.jsonl"
    records = [
        {"text": "One. Two! Three?\nFour", "id": 1},
        {"text": "   "},
        {"text": "床前明月光。疑是地上霜！"},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records) + "\n")
    assert documents(path) == [["One.", "Two!", "Three?", "Four"], ["床前明月光。", "疑是地上霜！"]]


def test_split_sentences_keeps_abbreviation_like_dots_inside_words():
    assert split_sentences("e.g.no split. Split here") == ["e.g.no split.", "Split here"]


def test_directories_stand_for_their_corpus_files_sorted(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("B\n")
    (tmp_path / "a.jsonl").write_text('{"text": "A"}\n')
    (tmp_path / "notes.md").write_text("ignored\n")
    assert [p.name for p in resolve_inputs([tmp_path])] == ["a.jsonl", "b.txt"]
    assert documents(tmp_path) == [["A"], ["B"]]


def test_missing_inputs_and_empty_directories_are_clear_errors(tmp_path):
    with pytest.raises(FileFormatError, match="nope.txt: no such file"):
        resolve_inputs([tmp_path / "nope.txt"])
    with pytest.raises(FileFormatError, match="holds no .txt or .jsonl files"):
        resolve_inputs([tmp_path])


def test_non_utf8_and_binary_files_name_the_file_and_place(tmp_path):
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match=r"latin1.txt: not valid UTF-8 at byte offset 6"):
        documents(latin)
    binary = tmp_path / "data.txt"
    binary.write_bytes(b"\x00\x01\x02 header\n")
    with pytest.raises(FileFormatError, match=r"data.txt:1: contains NUL bytes"):
        documents(binary)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"body": "x"}', "string field 'text'"),
        ("[1, 2]", "string field 'text'"),
    ],
)
def test_bad_jsonl_records_name_the_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n' + line + "\n")
    with pytest.raises(FileFormatError, match=f"bad.jsonl:2: .*{message}"):
        documents(path)
