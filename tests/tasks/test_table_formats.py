"""Task files in the forms datasets come in: Parquet, JSON lines and `datasets`' save_to_disk directories read
to the same examples as CSV/TSV, with the same column defaults and errors; integer labels named by
`label_names`; a missing column, a corrupt Parquet file or a DatasetDict each one line naming the file."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bertkit import FileFormatError, InvalidArgumentError
from bertkit.tasks import ChoiceExample, TagExample, TextExample, detect_format, label_names, read_task_file

ROWS = [
    {"sentence1": "it was good", "sentence2": "fine, really", "label": "pos"},
    {"sentence1": "awful", "sentence2": "bad\tmovie", "label": "neg"},
    {"sentence1": 'a "quoted" one', "sentence2": "ok", "label": "pos"},
]


def write_parquet(path, rows: list[dict] | dict) -> object:
    table = pa.table(rows) if isinstance(rows, dict) else pa.Table.from_pylist(rows)
    pq.write_table(table, path, row_group_size=2)  # several row groups: the reader walks them all
    return path


def write_csv(path, rows: list[dict]):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path, rows: list[dict]):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def texts(data):
    return [(e.text, e.pair, e.label) for e in data.examples]


def test_parquet_jsonl_and_csv_read_to_the_same_examples(tmp_path):
    csv = read_task_file(write_csv(tmp_path / "a.csv", ROWS), "classify")
    parquet = read_task_file(write_parquet(tmp_path / "a.parquet", ROWS), "classify")
    jsonl = read_task_file(write_jsonl(tmp_path / "a.jsonl", ROWS), "classify")
    assert (parquet.format, jsonl.format) == ("parquet", "jsonl")
    assert texts(parquet) == texts(csv) == texts(jsonl)
    assert [e.line for e in parquet.examples] == ["row 0", "row 1", "row 2"]
    assert label_names(parquet) == label_names(csv) == ["neg", "pos"]
    assert detect_format(tmp_path / "b.pq", "tag") == "parquet"


def test_parquet_integer_labels_stay_numbers_or_take_the_names_given(tmp_path):
    rows = {"text": ["a", "b", "c", "d"], "label": pa.array([1, 0, 2, 1], pa.int64())}
    path = write_parquet(tmp_path / "ints.parquet", rows)
    plain = read_task_file(path, "classify")
    assert [e.label for e in plain.examples] == ["1", "0", "2", "1"] and label_names(plain) == ["0", "1", "2"]

    named = read_task_file(path, "classify", label_names="neg,neu,pos")
    assert [e.label for e in named.examples] == ["neu", "neg", "pos", "neu"]
    assert label_names(named) == ["neg", "neu", "pos"]  # the order given, not sorted
    # a CSV of integer labels, and one whose labels already are the names, read alike
    csv = write_csv(
        tmp_path / "ints.csv", [{"text": t, "label": n} for t, n in zip("abcd", "1021", strict=True)]
    )
    assert texts(read_task_file(csv, "classify", label_names=["neg", "neu", "pos"])) == texts(named)
    names = write_csv(tmp_path / "names.csv", [{"text": "a", "label": "pos"}, {"text": "b", "label": "0"}])
    assert [e.label for e in read_task_file(names, "classify", label_names="neg,neu,pos").examples] == [
        "pos",
        "neg",
    ]

    with pytest.raises(
        FileFormatError, match=r"ints\.parquet, row 2: label '2' is neither one of `label_names`"
    ):
        read_task_file(path, "classify", label_names="neg,pos")
    with pytest.raises(InvalidArgumentError, match="`label_names` names a label twice"):
        read_task_file(path, "classify", label_names="a,a,b")
    with pytest.raises(InvalidArgumentError, match="`task`='regress' has no label names"):
        read_task_file(path, "regress", label_names="a,b")


def test_regression_and_pairs_from_parquet(tmp_path):
    rows = {"sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": [4.5, 1.0]}
    data = read_task_file(write_parquet(tmp_path / "r.parquet", rows), "regress")
    assert data.examples == [TextExample("a", "c", 4.5, "row 0"), TextExample("b", "d", 1.0, "row 1")]


def test_choice_from_parquet_swag_columns_or_a_list_of_choices(tmp_path):
    swag = {
        "sent1": ["the man", "a dog"],
        "sent2": ["he", "it"],
        "ending0": ["runs", "barks"],
        "ending1": ["sits", "sleeps"],
        "label": [1, 0],
    }
    data = read_task_file(write_parquet(tmp_path / "swag.parquet", swag), "choice")
    assert data.examples[0] == ChoiceExample("the man", ["he runs", "he sits"], 1, "row 0")
    listed = {"context": ["x"], "choices": [["a", "b", "c"]], "label": [2]}
    data = read_task_file(write_parquet(tmp_path / "list.parquet", listed), "choice")
    assert data.examples == [ChoiceExample("x", ["a", "b", "c"], 2, "row 0")]


def test_tagging_from_parquet_and_jsonl_with_integer_tags_named(tmp_path):
    # The Hub's conll2003 layout: `tokens` and integer `ner_tags`, whose names the dataset card gives.
    rows = [{"tokens": ["john", "went"], "ner_tags": [1, 0]}, {"tokens": ["rome"], "ner_tags": [2]}]
    for path in (write_parquet(tmp_path / "t.parquet", rows), write_jsonl(tmp_path / "t.jsonl", rows)):
        data = read_task_file(path, "tag", label_names=["O", "B-PER", "B-LOC"])
        assert [e.tags for e in data.examples] == [["B-PER", "O"], ["B-LOC"]]
        assert label_names(data) == ["O", "B-PER", "B-LOC"]
    data = read_task_file(tmp_path / "t.parquet", "tag", require_labels=False)
    assert data.examples[1] == TagExample(["rome"], ["2"], "row 1")


def test_prediction_inputs_need_no_label_column(tmp_path):
    path = write_parquet(tmp_path / "x.parquet", {"text": ["a", "b"]})
    data = read_task_file(path, "classify", require_labels=False)
    assert not data.labelled and [e.text for e in data.examples] == ["a", "b"]


def test_a_missing_column_or_a_null_names_file_row_and_column(tmp_path):
    path = write_parquet(tmp_path / "q.parquet", {"review": ["a"], "label": ["pos"]})
    with pytest.raises(FileFormatError) as err:
        read_task_file(path, "classify")
    assert str(err.value) == (
        f"{path}: no column 'text' or 'sentence' or 'sentence1'; columns found: review, label "
        "(choose one with `text_column`)"
    )
    with pytest.raises(FileFormatError, match=r"q\.parquet: no column 'body' \(`text_column`\)"):
        read_task_file(path, "classify", text_column="body")
    nulls = write_parquet(tmp_path / "n.parquet", {"text": ["a", None], "label": ["pos", "neg"]})
    with pytest.raises(FileFormatError, match=r"n\.parquet, row 1: 'text' must be text, got NoneType"):
        read_task_file(nulls, "classify")
    empty = write_parquet(tmp_path / "e.parquet", pa.table({"text": pa.array([], pa.string())}))
    with pytest.raises(FileFormatError, match="empty file"):
        read_task_file(empty, "classify")


def test_a_corrupt_parquet_file_is_one_line(tmp_path):
    good = write_parquet(tmp_path / "good.parquet", ROWS).read_bytes()
    for name, data in (("junk.parquet", b"not parquet at all"), ("cut.parquet", good[: len(good) // 2])):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(FileFormatError) as err:
            read_task_file(path, "classify")
        message = str(err.value)
        assert message.startswith(f"{path}: not a readable Parquet file (") and "\n" not in message


def test_a_datasets_directory_is_read_and_a_dataset_dict_names_its_splits(tmp_path):
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_list(ROWS)
    dataset.save_to_disk(str(tmp_path / "ds"))
    data = read_task_file(tmp_path / "ds", "classify")
    assert data.format == "datasets"
    assert texts(data) == texts(read_task_file(write_csv(tmp_path / "a.csv", ROWS), "classify"))

    datasets.DatasetDict({"train": dataset, "test": dataset}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(FileFormatError) as err:
        read_task_file(tmp_path / "dd", "classify")
    assert str(err.value) == (
        f"{tmp_path / 'dd'}: holds the splits train, test; give one split's directory, e.g. {tmp_path / 'dd' / 'train'}"
    )
    assert len(read_task_file(tmp_path / "dd" / "test", "classify")) == 3
    (tmp_path / "plain").mkdir()
    with pytest.raises(
        FileFormatError, match="is a directory, and not one that `datasets`' save_to_disk wrote"
    ):
        read_task_file(tmp_path / "plain", "classify")


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    import sys

    path = write_parquet(tmp_path / "a.parquet", ROWS)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` now raises ImportError
    with pytest.raises(InvalidArgumentError, match=r"pip install 'bertkit\[parquet\]'"):
        read_task_file(path, "classify")


SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "t",
            "paragraphs": [
                {
                    "context": "john went to paris .",
                    "qas": [
                        {"id": "a", "question": "who ?", "answers": [{"text": "john", "answer_start": 0}]},
                        {
                            "id": "b",
                            "question": "where ?",
                            "answers": [{"text": "paris", "answer_start": 13}],
                        },
                        {"id": "c", "question": "why ?", "answers": [], "is_impossible": True},
                    ],
                }
            ],
        }
    ],
}
# The same questions as the Hub's squad_v2 rows: answers as columns of texts and offsets, empty = unanswerable.
SQUAD_ROWS = [
    {"id": "a", "title": "t", "context": "john went to paris .", "question": "who ?",
     "answers": {"text": ["john"], "answer_start": [0]}},
    {"id": "b", "title": "t", "context": "john went to paris .", "question": "where ?",
     "answers": {"text": ["paris"], "answer_start": [13]}},
    {"id": "c", "title": "t", "context": "john went to paris .", "question": "why ?",
     "answers": {"text": [], "answer_start": []}},
]  # fmt: skip


def questions(data):
    return [(e.id, e.question, e.context, e.answers, e.is_impossible) for e in data.examples]


def test_qa_records_in_jsonl_and_parquet_read_as_the_squad_file(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps(SQUAD), encoding="utf-8")
    squad = read_task_file(tmp_path / "s.json", "qa")
    jsonl = read_task_file(write_jsonl(tmp_path / "s.jsonl", SQUAD_ROWS), "qa")
    parquet = read_task_file(write_parquet(tmp_path / "s.parquet", SQUAD_ROWS), "qa")
    assert questions(jsonl) == questions(parquet) == questions(squad)
    assert jsonl.squad_v2 and parquet.squad_v2 and squad.squad_v2
    assert (jsonl.examples[1].line, parquet.examples[1].line) == ("line 2", "row 1")
    # SQuAD's own list of answer objects in a record reads alike
    listed = [dict(r, answers=[{"text": "john", "answer_start": 0}]) for r in SQUAD_ROWS[:1]]
    assert questions(read_task_file(write_jsonl(tmp_path / "l.jsonl", listed), "qa")) == questions(squad)[:1]

    bad = [dict(SQUAD_ROWS[0], answers={"text": ["john"], "answer_start": []})]
    with pytest.raises(FileFormatError, match=r"b\.parquet, row 0: 'answers' must hold lists 'text' and"):
        read_task_file(write_parquet(tmp_path / "b.parquet", bad), "qa")
    with pytest.raises(FileFormatError, match=r"q\.jsonl, line 1: no 'context'; keys found: id, question"):
        read_task_file(write_jsonl(tmp_path / "q.jsonl", [{"id": "x", "question": "y"}]), "qa")
