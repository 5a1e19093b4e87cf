"""Fine-tuning fixtures: a tiny random BERT with an English word-level vocabulary (as a pre-training run's final/
would be), and small task files of every kind, written into tmp directories."""

import csv
import dataclasses
import json
import random
from pathlib import Path

import pytest
import torch

from bertkit import BertConfig, WordPieceTokenizer
from bertkit.model import BertForPreTraining

POSITIVE = ["good", "great", "fine", "nice"]
NEGATIVE = ["bad", "awful", "poor", "sad"]
NAMES = ["john", "mary", "smith", "jones"]
PLACES = ["paris", "london", "rome"]
FILLER = [
    "the",
    "a",
    "movie",
    "was",
    "is",
    "very",
    "not",
    "and",
    "he",
    "she",
    "said",
    "went",
    "to",
    "in",
    "of",
    "it",
    "who",
    "where",
    "what",
]
WORDS = POSITIVE + NEGATIVE + NAMES + PLACES + FILLER


def tiny_config(vocab_size: int) -> BertConfig:
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )


@pytest.fixture(scope="session")
def tokenizer() -> WordPieceTokenizer:
    letters = "abcdefghijklmnopqrstuvwxyz"
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = specials + list(letters) + ["##" + c for c in letters] + list(".,!?") + WORDS
    # "a" is a letter and a word: its first place becomes an [unusedN] token, so every id stays where it was.
    tokens = [f"[unused{i}]" if t in tokens[i + 1 :] else t for i, t in enumerate(tokens)]
    return WordPieceTokenizer(tokens)


def make_pretrained(directory: Path, tokenizer: WordPieceTokenizer, **config: object) -> Path:
    """A 'pre-trained' BERT directory (random weights, MLM + NSP heads) with its tokenizer."""
    torch.manual_seed(0)
    model = BertForPreTraining(dataclasses.replace(tiny_config(len(tokenizer)), **config))
    model.save_pretrained(directory, tokenizer=tokenizer)
    return directory


@pytest.fixture(scope="session")
def pretrained(tokenizer, tmp_path_factory) -> Path:
    return make_pretrained(tmp_path_factory.mktemp("pretrained"), tokenizer)


@pytest.fixture(scope="session")
def pretrained_128(tokenizer, tmp_path_factory) -> Path:
    """The same model with 128 positions: room to read inputs longer than a short fine-tuning max_length."""
    return make_pretrained(tmp_path_factory.mktemp("pretrained_128"), tokenizer, max_position_embeddings=128)


@pytest.fixture(scope="session")
def pretrained_without_dropout(tokenizer, tmp_path_factory) -> Path:
    """The same model with dropout 0, for runs compared step by step across process counts."""
    directory = tmp_path_factory.mktemp("pretrained_no_dropout")
    return make_pretrained(directory, tokenizer, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def sentiment(rng: random.Random, n: int) -> list[tuple[str, str]]:
    rows = []
    for _ in range(n):
        positive = rng.random() < 0.5
        word = rng.choice(POSITIVE if positive else NEGATIVE)
        rows.append((f"the movie was {'very ' * rng.randint(0, 4)}{word}", "pos" if positive else "neg"))
    return rows


def write_table(path: Path, header: list[str], rows: list, delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def task_files(
    task: str, directory: Path, n_train: int = 48, n_dev: int = 12, seed: int = 0
) -> dict[str, Path]:
    """Training and validation files of `task` in `directory`: {"train": ..., "validation": ...}."""
    rng = random.Random(seed)
    files = {}
    for split, n in (("train", n_train), ("validation", n_dev)):
        make = WRITERS[task]
        files[split] = make(directory / split, rng, n)
    return files


def _classify(stem: Path, rng: random.Random, n: int) -> Path:
    return write_table(stem.with_suffix(".csv"), ["text", "label"], sentiment(rng, n))


def _regress(stem: Path, rng: random.Random, n: int) -> Path:
    rows = []
    for _ in range(n):
        a, b = rng.choice(POSITIVE + NEGATIVE), rng.choice(POSITIVE + NEGATIVE)
        score = 5.0 * ((a in POSITIVE) == (b in POSITIVE)) - rng.random()
        rows.append((f"it was {a}", f"it was {b}", f"{score:.2f}"))
    return write_table(stem.with_suffix(".tsv"), ["sentence1", "sentence2", "label"], rows, "\t")


def _choice(stem: Path, rng: random.Random, n: int) -> Path:
    records = []
    for _ in range(n):
        positive = rng.random() < 0.5
        right = rng.choice(POSITIVE if positive else NEGATIVE)
        wrong = [rng.choice(NEGATIVE if positive else POSITIVE) for _ in range(3)]
        label = rng.randrange(4)
        choices = wrong[:label] + [f"it was {right}"] + wrong[label:]
        choices = [c if c.startswith("it") else f"it was {c}" for c in choices]
        context = f"the movie was {'good' if positive else 'bad'} ."
        records.append({"context": context, "choices": choices, "label": label})
    return write_jsonl(stem.with_suffix(".jsonl"), records)


def _tag(stem: Path, rng: random.Random, n: int) -> Path:
    lines = ["-DOCSTART- -X- -X- O", ""]
    for _ in range(n):
        first, last, place = rng.choice(NAMES[:2]), rng.choice(NAMES[2:]), rng.choice(PLACES)
        words = [(first, "B-PER"), (last, "I-PER"), ("went", "O"), ("to", "O"), (place, "B-LOC")]
        if rng.random() < 0.5:
            words = [("she" if first == "mary" else "he", "O"), ("said", "O"), *words]
        lines += [f"{w} NN O {t}" for w, t in words] + [""]
    path = stem.with_suffix(".conll")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def squad(rng: random.Random, n: int, v2: bool = False) -> dict:
    """A SQuAD file: who went where, some contexts long enough to need several windows at max_length 32."""
    paragraphs = []
    for i in range(n):
        name, place = rng.choice(NAMES), rng.choice(PLACES)
        padding = " and it was very nice" * rng.randint(0, 4)
        context = f"{name} went to {place}{padding} ."
        qas = [
            {
                "id": f"q{i}-who",
                "question": f"who went to {place} ?",
                "answers": [{"text": name, "answer_start": 0}],
            },
            {
                "id": f"q{i}-where",
                "question": f"where did {name} go ?",
                "answers": [{"text": place, "answer_start": context.index(place)}],
            },
        ]
        if v2:
            for qa in qas:
                qa["is_impossible"] = False
            qas.append(
                {"id": f"q{i}-none", "question": "who said what ?", "answers": [], "is_impossible": True}
            )
        paragraphs.append({"context": context, "qas": qas})
    return {"version": "v2.0" if v2 else "1.1", "data": [{"title": "trips", "paragraphs": paragraphs}]}


def _qa(stem: Path, rng: random.Random, n: int) -> Path:
    path = stem.with_suffix(".json")
    path.write_text(json.dumps(squad(rng, n // 2)), encoding="utf-8")
    return path


WRITERS = {"classify": _classify, "regress": _regress, "choice": _choice, "tag": _tag, "qa": _qa}


@pytest.fixture
def files(tmp_path):
    """files(task, **sizes): a task's training and validation files in tmp_path/data."""
    (tmp_path / "data").mkdir(exist_ok=True)
    return lambda task, **sizes: task_files(task, tmp_path / "data", **sizes)


@pytest.fixture
def settings(pretrained):
    """settings(task, files, out, **overrides): FinetuneConfig fields for a few seconds of fine-tuning."""

    def make(task: str, files: dict[str, Path], out: Path, **overrides) -> dict:
        fields = dict(
            task=task,
            model=str(pretrained),
            train=str(files["train"]),
            validation=str(files["validation"]),
            out=str(out),
            batch_size=8,
            lr=1e-3,
            epochs=2,
            max_length=32,
            log_every=1,
            seed=3,
            bf16=False,  # fp32 on every CPU: the tests compare validation with fp32 evaluate to 1e-9
        )
        return fields | overrides

    return make


@pytest.fixture
def squad_file():
    """squad_file(path, n, v2=False, seed=0): a SQuAD file of `n` paragraphs written at `path`."""

    def write(path: Path, n: int, v2: bool = False, seed: int = 0) -> Path:
        path.write_text(json.dumps(squad(random.Random(seed), n, v2=v2)), encoding="utf-8")
        return path

    return write
