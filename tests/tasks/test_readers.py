"""Task files: every format each task reads, the label names a training file defines, and every malformed input
a one-line error naming the file and line (or SQuAD record)."""

import json
import logging

import pytest

from bertkit import FileFormatError, InvalidArgumentError
from bertkit.tasks import (
    Answer,
    ChoiceExample,
    QAExample,
    TagExample,
    TextExample,
    check_labels,
    detect_format,
    label_names,
    read_task_file,
)


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def squad(*paragraphs, version="v2.0"):
    """A SQuAD file's JSON: paragraphs of (context, [qa, ...])."""
    return json.dumps(
        {
            "version": version,
            "data": [{"title": "t", "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs]}],
        },
        indent=1,
    )


# ----- classify / regress tables


def test_csv_pairs_quoted_fields_and_lines(tmp_path):
    path = write(
        tmp_path, "a.csv", 'sentence1,sentence2,label\n"Hi, you",there,pos\n\n"two\nlines",b,neg\nx,y,pos\n'
    )
    data = read_task_file(path, "classify")
    assert (data.format, data.labelled, len(data)) == ("csv", True, 3)
    assert data.examples == [
        TextExample("Hi, you", "there", "pos", 2),
        TextExample("two\nlines", "b", "neg", 4),
        TextExample("x", "y", "pos", 6),
    ]
    assert label_names(data) == ["neg", "pos"]


def test_tsv_glue_layout_keeps_bare_quotes(tmp_path):
    path = write(tmp_path, "train.tsv", 'sentence\tlabel\nit "works" well\t1\nno\t0\nyes\t10\n')
    data = read_task_file(path, "classify")
    assert [e.text for e in data.examples] == ['it "works" well', "no", "yes"]
    assert [e.pair for e in data.examples] == [None] * 3
    assert label_names(data) == ["0", "1", "10"]  # integers sort as numbers, as GLUE's 0/1 labels


def test_jsonl_with_integer_labels_and_chosen_columns(tmp_path):
    lines = [{"q": "a", "p": "b", "y": 2}, {"q": "c", "p": "d", "y": 0}]
    path = write(tmp_path, "d.jsonl", "\n".join(map(json.dumps, lines)) + "\n\n")
    data = read_task_file(path, "classify", text_column="q", pair_column="p", label_column="y")
    assert data.examples == [TextExample("a", "b", "2", 1), TextExample("c", "d", "0", 2)]
    assert label_names(data) == ["0", "2"]


def test_json_extension_is_json_lines_except_for_qa(tmp_path):
    assert detect_format(tmp_path / "x.json", "classify") == "jsonl"
    assert detect_format(tmp_path / "x.json", "qa") == "json"
    assert detect_format(tmp_path / "x.TXT", "tag") == "conll"
    with pytest.raises(InvalidArgumentError, match=r"x\.dat: `task`='classify' reads csv, tsv, jsonl, parquet, "
                       r"datasets files, and the extension '\.dat' is none of them; pass `format`"):  # fmt: skip
        detect_format(tmp_path / "x.dat", "classify")
    with pytest.raises(
        InvalidArgumentError, match=r"x\.txt: `task`='qa' reads json, jsonl, parquet, datasets files"
    ):
        detect_format(tmp_path / "x.txt", "qa")


def test_format_override_and_format_not_for_task(tmp_path):
    path = write(tmp_path, "data.dat", "text\tlabel\nhello\ta\n")
    assert read_task_file(path, "classify", format="tsv").examples == [TextExample("hello", None, "a", 2)]
    with pytest.raises(InvalidArgumentError, match="`format`='conll' cannot be read for `task`='classify'"):
        read_task_file(path, "classify", format="conll")
    with pytest.raises(InvalidArgumentError, match="`task` must be one of"):
        read_task_file(path, "summarise", format="tsv")


def test_regress_reads_numbers(tmp_path):
    path = write(tmp_path, "sts.csv", "sentence1,sentence2,label\na,b,3.8\nc,d,0\ne,f,-1e-1\n")
    assert [e.label for e in read_task_file(path, "regress").examples] == [3.8, 0.0, -0.1]
    assert label_names(read_task_file(path, "regress")) is None


@pytest.mark.parametrize("bad", ["high", "nan", "inf", ""])
def test_regress_non_numeric_label_names_its_line(tmp_path, bad):
    path = write(tmp_path, "sts.csv", f"text,label\na,1.5\nb,{bad}\n")
    with pytest.raises(FileFormatError, match=r"sts\.csv, line 3: .*(not a finite number|no label)"):
        read_task_file(path, "regress")


def test_regress_jsonl_rejects_text_label(tmp_path):
    path = write(tmp_path, "r.jsonl", '{"text": "a", "label": 2}\n{"text": "b", "label": "two"}\n')
    with pytest.raises(FileFormatError, match=r"r\.jsonl, line 2: label 'two' is not a finite number"):
        read_task_file(path, "regress")


def test_missing_columns_list_those_found(tmp_path):
    path = write(tmp_path, "a.csv", "body,category\nx,y\n")
    with pytest.raises(FileFormatError, match=r"a\.csv: no column 'text' or 'sentence' or 'sentence1'; columns "
                       r"found: body, category \(choose one with `text_column`\)"):  # fmt: skip
        read_task_file(path, "classify")
    with pytest.raises(FileFormatError, match=r"no column 'label'; columns found: body, category"):
        read_task_file(path, "classify", text_column="body")
    with pytest.raises(FileFormatError, match=r"no column 'other' \(`pair_column`\); columns found: body"):
        read_task_file(path, "classify", text_column="body", pair_column="other", label_column="category")


def test_jsonl_record_missing_a_key_names_its_line(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"text": "a", "label": "x"}\n{"txt": "b", "label": "y"}\n')
    with pytest.raises(FileFormatError, match=r"a\.jsonl, line 2: no 'text'; keys found: txt, label"):
        read_task_file(path, "classify")


def test_prediction_inputs_may_lack_labels(tmp_path):
    path = write(tmp_path, "test.tsv", "sentence\nfirst\nsecond\n")
    data = read_task_file(path, "classify", require_labels=False)
    assert not data.labelled
    assert data.examples == [TextExample("first", None, None, 2), TextExample("second", None, None, 3)]
    labelled = read_task_file(write(tmp_path, "v.csv", "text,label\na,x\n"), "classify", require_labels=False)
    assert labelled.labelled and labelled.examples[0].label == "x"


def test_unseen_validation_label_names_file_line_and_label(tmp_path):
    train = read_task_file(write(tmp_path, "train.csv", "text,label\na,sport\nb,news\n"), "classify")
    label2id = {name: i for i, name in enumerate(label_names(train))}
    valid = read_task_file(write(tmp_path, "valid.csv", "text,label\nc,news\nd,weather\n"), "classify")
    with pytest.raises(
        FileFormatError, match=r"valid\.csv, line 3: label 'weather' never appears in the training"
    ):
        check_labels(valid, label2id)


@pytest.mark.parametrize(
    ("name", "text"), [("e.csv", ""), ("e.csv", "\n\n"), ("h.csv", "text,label\n"), ("e.jsonl", "\n")]
)
def test_empty_file(tmp_path, name, text):
    with pytest.raises(FileFormatError, match=r"empty file, no examples"):
        read_task_file(write(tmp_path, name, text), "classify")


def test_row_with_wrong_field_count(tmp_path):
    path = write(tmp_path, "a.tsv", "sentence\tlabel\nfine\t1\nbroken\n")
    with pytest.raises(
        FileFormatError, match=r"a\.tsv, line 3: 1 fields, but the header has 2 \(sentence, label\)"
    ):
        read_task_file(path, "classify")


def test_csv_error_names_its_line(tmp_path):
    path = write(tmp_path, "big.csv", "text,label\na,b\n" + "x" * 200_000 + ",c\n")
    with pytest.raises(FileFormatError, match=r"big\.csv, line 3: not a valid CSV row \(field larger than"):
        read_task_file(path, "classify")


def test_invalid_json_line(tmp_path):
    with pytest.raises(FileFormatError, match=r"a\.jsonl, line 2: not valid JSON"):
        read_task_file(write(tmp_path, "a.jsonl", '{"text": "a", "label": 1}\n{"text": \n'), "classify")


@pytest.mark.parametrize(
    ("name", "task", "text"),
    [
        ("a.csv", "classify", "text,label\ngood,1\n"),
        ("a.conll", "tag", "EU B-ORG\nrejects O\n"),
        ("a.json", "qa", squad(("Paris is nice.", [{"id": "1", "question": "Q?", "answers": []}]))),
    ],
)
def test_non_utf8_names_file_and_byte_offset(tmp_path, name, task, text):
    raw = text.encode("utf-8")
    cut = raw.index(b"\n") + 3
    path = write(tmp_path, name, raw[:cut] + b"\xff" + raw[cut:])
    with pytest.raises(FileFormatError, match=rf"{name}: not valid UTF-8 at byte offset {cut}"):
        read_task_file(path, task)


def test_byte_order_mark_is_not_part_of_the_header(tmp_path):
    path = write(tmp_path, "bom.csv", "\ufefftext,label\nhi,a\n")
    assert read_task_file(path, "classify").examples == [TextExample("hi", None, "a", 2)]


# ----- choice


def test_swag_csv_options_are_sent2_plus_ending(tmp_path):
    header = "video-id,sent1,sent2,ending0,ending1,ending2,ending3,label\n"
    path = write(tmp_path, "swag.csv", header + "v,He sat.,Then he,ran.,ate.,slept.,sang.,2\n")
    assert read_task_file(path, "choice").examples == [
        ChoiceExample("He sat.", ["Then he ran.", "Then he ate.", "Then he slept.", "Then he sang."], 2, 2)
    ]


def test_swag_csv_without_sent2(tmp_path):
    path = write(tmp_path, "s.csv", "sent1,ending0,ending1,label\nHe sat.,He ran.,He ate.,1\n")
    assert read_task_file(path, "choice").examples == [ChoiceExample("He sat.", ["He ran.", "He ate."], 1, 2)]


def test_choice_jsonl(tmp_path):
    rows = [
        {"context": "c", "choices": ["a", "b", "c"], "label": 1},
        {"context": "d", "choices": ["x", "y", "z"]},
    ]
    path = write(tmp_path, "c.jsonl", "\n".join(map(json.dumps, rows)))
    data = read_task_file(path, "choice", require_labels=False)
    assert data.examples == [
        ChoiceExample("c", ["a", "b", "c"], 1, 1),
        ChoiceExample("d", ["x", "y", "z"], None, 2),
    ]
    assert not data.labelled


def test_choice_with_a_different_number_of_options(tmp_path):
    rows = [
        {"context": "c", "choices": ["a", "b", "c"], "label": 1},
        {"context": "d", "choices": ["x", "y"], "label": 0},
    ]
    path = write(tmp_path, "c.jsonl", "\n".join(map(json.dumps, rows)))
    with pytest.raises(FileFormatError, match=r"c\.jsonl, line 2: 2 options, but every example needs the same "
                       r"number \(3, as the first example\)"):  # fmt: skip
        read_task_file(path, "choice")
    header = "sent1,sent2,ending0,ending1,ending2,label\n"
    path = write(tmp_path, "s.csv", header + "a,b,c,d,e,0\na,b,c,,e,0\n")
    with pytest.raises(FileFormatError, match=r"s\.csv, line 3: 2 options, .*\(3, as the header's endings\)"):
        read_task_file(path, "choice")


@pytest.mark.parametrize("label", ["4", "-1", "b"])
def test_choice_label_must_be_an_option_index(tmp_path, label):
    path = write(tmp_path, "s.csv", f"sent1,sent2,ending0,ending1,label\na,b,c,d,{label}\n")
    with pytest.raises(
        FileFormatError, match=rf"s\.csv, line 2: label '{label}' must be an option index from 0 to 1"
    ):
        read_task_file(path, "choice")


def test_swag_csv_without_endings(tmp_path):
    with pytest.raises(
        FileFormatError, match=r"needs option columns ending0, ending1, \.\.\.; columns found: sent1"
    ):
        read_task_file(write(tmp_path, "s.csv", "sent1,label\na,0\n"), "choice")


# ----- tag


CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn\tNNP\tI-NP\tI-PER
"""


def test_conll_last_column_docstart_and_lines(tmp_path):
    data = read_task_file(write(tmp_path, "train.conll", CONLL), "tag")
    assert data.examples == [
        TagExample(["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"], 3),
        TagExample(["Peter", "Blackburn"], ["B-PER", "I-PER"], 7),
    ]
    assert label_names(data) == ["B-MISC", "B-ORG", "B-PER", "I-PER", "O"]


def test_conll_line_without_tag(tmp_path):
    path = write(tmp_path, "a.txt", "EU B-ORG\nrejects\n")
    with pytest.raises(FileFormatError, match=r"a\.txt, line 2: word 'rejects' has no tag"):
        read_task_file(path, "tag")
    data = read_task_file(path, "tag", require_labels=False)  # words to tag: tags kept only where complete
    assert data.examples == [TagExample(["EU", "rejects"], None, 1)] and not data.labelled


def test_conll_empty(tmp_path):
    with pytest.raises(FileFormatError, match=r"a\.conll: empty file, no sentences"):
        read_task_file(write(tmp_path, "a.conll", "-DOCSTART- O\n\n"), "tag")


def test_tag_jsonl_and_integer_tags(tmp_path):
    rows = [{"tokens": ["a", "b"], "tags": ["O", "B-X"]}, {"tokens": ["c"], "tags": [3]}]
    data = read_task_file(write(tmp_path, "t.jsonl", "\n".join(map(json.dumps, rows))), "tag")
    assert data.examples == [TagExample(["a", "b"], ["O", "B-X"], 1), TagExample(["c"], ["3"], 2)]


def test_tag_jsonl_length_mismatch(tmp_path):
    path = write(tmp_path, "t.jsonl", json.dumps({"tokens": ["a", "b"], "tags": ["O"]}))
    with pytest.raises(FileFormatError, match=r"t\.jsonl, line 1: 2 tokens but 1 tags"):
        read_task_file(path, "tag")


def test_tag_unseen_validation_tag(tmp_path):
    train = read_task_file(write(tmp_path, "train.conll", CONLL), "tag")
    valid = read_task_file(write(tmp_path, "valid.conll", "Paris B-LOC\n"), "tag")
    with pytest.raises(FileFormatError, match=r"valid\.conll, line 1: label 'B-LOC' never appears"):
        check_labels(valid, {n: i for i, n in enumerate(label_names(train))})


# ----- qa


def test_squad_v1_keeps_every_answer(tmp_path):
    qas = [{"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 0}] * 2}]
    data = read_task_file(write(tmp_path, "dev.json", squad(("Paris is nice.", qas), version="1.1")), "qa")
    assert data.examples == [
        QAExample(
            "q1", "Where?", "Paris is nice.", [Answer("Paris", 0)] * 2, False, "data[0].paragraphs[0].qas[0]"
        )
    ]
    assert (data.squad_v2, data.labelled, data.skipped_answers) == (False, True, 0)


def test_squad_v2_unanswerable(tmp_path):
    qas = [
        {
            "id": "a",
            "question": "Q",
            "answers": [{"text": "nice", "answer_start": 9}],
            "is_impossible": False,
        },
        {"id": "b", "question": "R", "answers": [], "plausible_answers": [], "is_impossible": True},
    ]
    data = read_task_file(write(tmp_path, "v2.json", squad(("Paris is nice.", qas))), "qa")
    assert [(e.id, e.answers, e.is_impossible) for e in data.examples] == [
        ("a", [Answer("nice", 9)], False),
        ("b", [], True),
    ]
    assert data.squad_v2 and data.labelled


def test_squad_misplaced_answers_are_skipped_counted_and_warned(tmp_path, caplog):
    qas = [
        {
            "id": "a",
            "question": "Q",
            "answers": [{"text": "nice", "answer_start": 8}, {"text": "is", "answer_start": 6}],
        },
        {"id": "b", "question": "R", "answers": [{"text": "Rome", "answer_start": 0}]},
        {"id": "c", "question": "S", "answers": [{"text": "Paris", "answer_start": 0}]},
    ]
    with caplog.at_level(logging.WARNING):
        data = read_task_file(write(tmp_path, "s.json", squad(("Paris is nice.", qas))), "qa")
    assert [(e.id, e.answers) for e in data.examples] == [
        ("a", [Answer("is", 6)]),
        ("c", [Answer("Paris", 0)]),
    ]
    assert (data.skipped_answers, data.dropped_questions) == (2, 1)
    assert "2 answer(s) whose text is not at their answer_start were left out; 1 question(s)" in caplog.text


def test_squad_prediction_input_without_answers(tmp_path):
    data = read_task_file(
        write(tmp_path, "p.json", squad(("ctx", [{"id": 7, "question": "Q"}]))), "qa", require_labels=False
    )
    assert data.examples == [QAExample("7", "Q", "ctx", [], False, "data[0].paragraphs[0].qas[0]")]
    assert not data.labelled
    with pytest.raises(FileFormatError, match=r"p\.json, data\[0\]\.paragraphs\[0\]\.qas\[0\]: no 'answers'; "
                       r"keys found: id, question"):  # fmt: skip
        read_task_file(tmp_path / "p.json", "qa")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"empty file"),
        ("[1, 2]", r"the top level: expected a JSON object, got list"),
        (
            '{"data": [{"paragraphs": [{"qas": []}]}]}',
            r"data\[0\]\.paragraphs\[0\]: no 'context'; keys found: qas",
        ),
        ('{"data": [\n{"title": }]}', r"line 2: not valid JSON"),
        ('{"data": []}', r"no questions in it"),
    ],
)
def test_squad_malformed(tmp_path, text, message):
    with pytest.raises(FileFormatError, match=rf"bad\.json(, |: ){message}"):
        read_task_file(write(tmp_path, "bad.json", text), "qa")


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match=r"nope\.csv: no such file"):
        read_task_file(tmp_path / "nope.csv", "classify")
