"""A fine-tuned model remembers how it was trained: `finetune --max-length 16` keeps its task and reading settings
in config.json (final/ and every checkpoint), and `evaluate`, `predict`, `bertkit.pipeline`, the one-liners and
the server read inputs as training did unless told otherwise; files in Parquet give what the same CSV gives."""

import csv
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import transformers

import bertkit
from bertkit import TrainingError, evaluate, finetune, predict
from bertkit.cli import main
from bertkit.train.metrics import read_metrics
from bertkit.train.state import checkpoint_dirs

# Words of conftest's vocabulary.
POSITIVE, NEGATIVE = ["good", "great", "fine", "nice"], ["bad", "awful", "poor", "sad"]
FILLER = ["and", "it", "was", "very", "nice"]


def write_table(path, header: list[str], rows) -> object:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def flags(fields: dict) -> list[str]:
    return [arg for name, value in fields.items() for arg in ("--" + name.replace("_", "-"), str(value))]


def long_reviews(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Reviews of 8 to 40 words whose verdict comes first: a max_length of 16 cuts most of them."""
    rows = []
    for _ in range(n):
        positive = rng.random() < 0.5
        word = rng.choice(POSITIVE if positive else NEGATIVE)
        tail = " ".join(rng.choice(FILLER) for _ in range(rng.randint(4, 36)))
        rows.append((f"the movie was {word} {tail}", "pos" if positive else "neg"))
    return rows


@pytest.fixture(scope="module")
def run(pretrained_128, tmp_path_factory):
    """`bertkit finetune --max-length 16` on long reviews, from the command line: (run dir, train, dev CSV)."""
    root = tmp_path_factory.mktemp("settings")
    rng = random.Random(0)
    train = write_table(root / "train.csv", ["text", "label"], long_reviews(rng, 32))
    dev = write_table(root / "dev.csv", ["text", "label"], long_reviews(rng, 12))
    fields = dict(task="classify", model=pretrained_128, train=train, validation=dev, out=root / "run")
    fields |= dict(batch_size=8, lr=1e-3, max_steps=4, save_every=2, max_length=16, seed=1)
    assert main(["finetune", *flags(fields)]) == 0
    return root / "run", train, dev


def test_the_settings_are_in_config_json_of_final_and_every_checkpoint(run):
    run_dir, _, _ = run
    expected = {
        "task": "classify",
        "max_length": 16,
        "doc_stride": None,
        "text_column": None,
        "pair_column": None,
        "label_column": None,
        "label_names": None,
    }
    checkpoints = checkpoint_dirs(run_dir)
    assert len(checkpoints) == 2
    for directory in [run_dir / "final", *checkpoints]:
        assert json.loads((directory / "config.json").read_text())["bertkit_task"] == expected, directory
    # transformers keeps the unknown key as a plain attribute and loads the model as it did
    model = transformers.AutoModelForSequenceClassification.from_pretrained(run_dir / "final")
    assert model.config.bertkit_task == expected and model.config.id2label == {0: "neg", 1: "pos"}


def test_predict_and_evaluate_read_as_training_did_unless_told(run, tmp_path, capsys, caplog):
    run_dir, _, dev = run
    final = run_dir / "final"

    def predicted(*extra):
        out = tmp_path / "p.jsonl"
        assert (
            main(["predict", "--model", str(final), "--input", str(dev), "--output", str(out), *extra]) == 0
        )
        return [json.loads(line) for line in out.read_text().splitlines()]

    default = predicted()  # neither --task nor --max-length: the model's own
    assert default == predicted("--task", "classify", "--max-length", "16")
    longer = predicted("--max-length", "64")
    assert [r["score"] for r in longer] != pytest.approx([r["score"] for r in default], abs=1e-6)

    capsys.readouterr()
    caplog.clear()
    assert main(["evaluate", "--model", str(final), "--data", str(dev), "--json"]) == 0
    assert "11 of 12 examples are longer than `max_length`=16 tokens and were truncated" in caplog.text
    metrics = json.loads(capsys.readouterr().out)
    validation = [r for r in read_metrics(run_dir) if r["split"] == "validation"][-1]
    assert metrics["mcc"] == pytest.approx(validation["mcc"], abs=1e-12)
    assert metrics == evaluate(final, "classify", dev, max_length=16)


def test_pipelines_one_liners_and_the_server_default_to_the_settings(run, capsys):
    run_dir, _, dev = run
    final = run_dir / "final"
    records = predict(final, None, dev)
    texts = [line.split(",")[0] for line in dev.read_text().splitlines()[1:]]

    classifier = bertkit.pipeline("text-classification", final)
    assert classifier.max_length == 16
    assert [r["score"] for r in classifier(texts)] == pytest.approx([r["score"] for r in records], abs=1e-5)
    assert bertkit.pipeline("text-classification", final, max_length=64).max_length == 64
    with pytest.raises(bertkit.InvalidArgumentError, match="`max_length`=200 is more than the model's 128"):
        bertkit.pipeline("text-classification", final, max_length=200)
    # a pipeline of another task over the same encoder keeps its own defaults
    assert bertkit.pipeline("feature-extraction", final).max_length == 128

    long = max(texts, key=len)
    assert main(["classify", long, "--model", str(final)]) == 0
    default = json.loads(capsys.readouterr().out)
    assert default["score"] == pytest.approx(classifier(long)["score"], abs=1e-6)
    assert main(["classify", long, "--model", str(final), "--max-length", "64"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] != pytest.approx(default["score"], abs=1e-6)

    explorer = pytest.importorskip("bertkit.serve.explorer")
    served = explorer.Explorer(final)
    assert served.heads["classify"].max_length == 16
    assert served.classify([long])[0][0]["score"] == pytest.approx(default["score"], abs=1e-6)


def write_parquet(path, columns: dict):
    pq.write_table(pa.table(columns), path)
    return path


def test_columns_and_label_names_travel_with_the_model(settings, pretrained, tmp_path):
    """Parquet with other column names and integer labels named by --label-names: evaluate and predict need
    none of those flags again, on Parquet or on the same rows as CSV; an explicit flag still wins."""
    rng = random.Random(2)
    rows = {split: long_reviews(rng, n) for split, n in (("train", 24), ("validation", 8))}
    paths = {}
    for split, pairs in rows.items():
        columns = {"review": [t for t, _ in pairs], "stars": [int(label == "pos") for _, label in pairs]}
        paths[split] = write_parquet(tmp_path / f"{split}.parquet", columns)
    csv = write_table(tmp_path / "validation.csv", ["review", "stars"], zip(*columns.values(), strict=True))
    reading = dict(text_column="review", label_column="stars", label_names="bad,good")
    final = finetune(**settings("classify", paths, tmp_path / "run", max_steps=2, **reading))
    saved = json.loads((final / "config.json").read_text())
    assert saved["id2label"] == {"0": "bad", "1": "good"}
    assert {k: saved["bertkit_task"][k] for k in reading} == {**reading, "label_names": ["bad", "good"]}

    validation = [r for r in read_metrics(tmp_path / "run") if r["split"] == "validation"][-1]
    metrics = evaluate(final, None, paths["validation"])
    assert metrics["accuracy"] == pytest.approx(validation["accuracy"]) and metrics["examples"] == 8
    assert evaluate(final, None, csv) == metrics  # the same rows as CSV: the same metrics
    records = predict(final, None, paths["validation"])
    assert predict(final, None, csv) == records and {r["label"] for r in records} <= {"bad", "good"}

    # prediction inputs need no label column; a column given explicitly overrides the saved one
    unlabelled = write_parquet(tmp_path / "new.parquet", {"body": columns["review"]})
    assert predict(final, None, unlabelled, text_column="body") == records
    with pytest.raises(bertkit.FileFormatError, match=r"new\.parquet: no column 'review' \(`text_column`\)"):
        predict(final, None, unlabelled)


def test_a_resumed_run_keeps_its_settings(settings, files, tmp_path):
    paths = files("classify")
    first = settings("classify", paths, tmp_path / "run", max_steps=2, save_every=1, max_length=16)
    finetune(**first)
    final = finetune(**first | dict(resume=True, max_steps=3))
    assert json.loads((final / "config.json").read_text())["bertkit_task"]["max_length"] == 16
    with pytest.raises(TrainingError, match=r"step-3 was trained with `max_length` 16 \(now 32\)"):
        finetune(**first | dict(resume=True, max_steps=4, max_length=32))


def test_qa_pipeline_reads_the_windows_training_read(settings, files, tmp_path):
    paths = files("qa")
    final = finetune(**settings("qa", paths, tmp_path / "run", max_steps=1, max_length=32, doc_stride=8))
    # the validation questions as the Hub's rows, in Parquet: the same predictions as from the SQuAD file
    squad = json.loads(paths["validation"].read_text())
    rows = [
        {"id": qa["id"], "question": qa["question"], "context": p["context"],
         "answers": {"text": [a["text"] for a in qa["answers"]],
                     "answer_start": [a["answer_start"] for a in qa["answers"]]}}
        for article in squad["data"] for p in article["paragraphs"] for qa in p["qas"]
    ]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "dev.parquet")
    assert predict(final, None, tmp_path / "dev.parquet") == predict(final, None, paths["validation"])
    assert evaluate(final, None, tmp_path / "dev.parquet") == evaluate(final, None, paths["validation"])

    assert json.loads((final / "config.json").read_text())["bertkit_task"]["doc_stride"] == 8
    reader = bertkit.pipeline("question-answering", final)
    context = "john went to paris" + " and it was very nice" * 6 + " ."
    question = {"question": "who went to paris ?", "context": context}
    assert reader(question) == reader(question, max_seq_len=32, doc_stride=8)
    assert reader(question)["score"] != pytest.approx(reader(question, max_seq_len=64)["score"], abs=1e-7)
