"""examples/pretrain_then_finetune.py: its pre-training corpus never holds a fine-tuning text, and the whole
experiment runs end to end (every arm, a budget of about a second, a few fine-tuning steps) into a results file
with every arm's figures. Fortune files are written here in Debian's layout, so the `fortunes` package is not
needed."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import pretrain_then_finetune as experiment  # noqa: E402

WORDS = {
    "computers": ["program", "bug", "compiler", "disk", "memory", "unix"],
    "science": ["atom", "theory", "physics", "energy", "experiment", "mass"],
    "politics": ["vote", "senator", "party", "election", "law", "president"],
    "food": ["bread", "cheese", "dinner", "soup", "apple", "cook"],
    "art": ["painting", "artist", "museum", "colour", "sculpture", "canvas"],
    "wisdom": ["patience", "virtue", "friend", "truth", "time", "fool"],
    "people": ["mother", "neighbour", "child", "stranger", "king", "poet"],
}
SHARED = "A fortune filed under food and under wisdom: soup is patience."


def fortune(topic: str, i: int) -> str:
    words = WORDS[topic]
    text = f"The {words[i % 6]} and the {words[(i * 5 + 1) % 6]} make {i} of the {words[(i + 3) % 6]}."
    return text + (f" Then the {words[(i * 7) % 6]} said no." if i % 2 else "")


@pytest.fixture
def fortunes_dir(tmp_path) -> Path:
    """The five topic files and two others (one shares a fortune with `food`), 30 fortunes each; an index file
    and a Chinese file the corpus leaves out."""
    directory = tmp_path / "fortunes"
    directory.mkdir()
    for topic in WORDS:
        records = [fortune(topic, i) for i in range(30)]
        if topic in ("food", "wisdom"):
            records.append(SHARED)
        (directory / topic).write_text("\n%\n".join(records) + "\n%\n", encoding="utf-8")
        (directory / f"{topic}.dat").write_bytes(b"\x00\x01index")
    (directory / "chinese").write_text("\x1b[32m床前明月光\x1b[m\n%\n", encoding="utf-8")
    return directory


def test_pretraining_corpus_leaves_out_every_topic_text(fortunes_dir, tmp_path):
    data = experiment.build_data(
        tmp_path / "out", fortunes_dir, per_topic=20, vocab_size=300, documents="fortune"
    )
    corpus = set(data["pretrain"]) | set(data["heldout"])
    assert corpus == {fortune(t, i) for t in ("wisdom", "people") for i in range(30)}  # SHARED left out
    assert data["heldout"] and not set(data["heldout"]) & set(data["pretrain"])
    tuned = {f.text for part in data["splits"].values() for f in part}
    assert {f.topic for f in data["splits"]["test"]} == set(experiment.TOPICS)
    assert not tuned & corpus
    text = (tmp_path / "out" / "corpus" / "pretrain.txt").read_text(encoding="utf-8")
    assert text.count("\n\n") == len(data["pretrain"])  # one document per fortune
    assert "床" not in text

    # One document per fortune file instead: the same sentences, in the same order, cut after each file.
    files = experiment.build_data(
        tmp_path / "out", fortunes_dir, per_topic=20, vocab_size=300, documents="file"
    )
    assert files["prepared"] != data["prepared"] and files["pretrain"] == data["pretrain"]
    by_file = (tmp_path / "out" / "corpus" / "pretrain-files.txt").read_text(encoding="utf-8")
    documents = by_file.strip("\n").split("\n\n")
    first_words = [document.split("\n")[0].split()[1] for document in documents]
    assert first_words == ["mother", "patience"]  # people, then wisdom: the files in order
    assert by_file.replace("\n\n", "\n") == text.replace("\n\n", "\n")


def test_every_arm_end_to_end(fortunes_dir, tmp_path):
    out = tmp_path / "run"
    # A budget of about a second; the masked LM alone here, with next-sentence prediction in the rerun below.
    args = [
        "--out", str(out), "--fortunes", str(fortunes_dir), "--per-topic", "20", "--vocab-size", "300",
        "--seq-len", "32", "--pretrain-batch-size", "8", "--max-length", "32", "--batch-size", "8",
        "--epochs", "1", "--max-steps", "2", "--seeds", "0", "--mlm-probability", "0.3",
    ]  # fmt: skip
    results = experiment.main([*args, "--minutes", "0.02", "--objective", "mlm"])
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(results))
    runs = {r["name"]: r for r in results["runs"]}
    assert set(runs) == {
        "random-seed0",
        "bertkit-mlm-0.02min-seed0",
        "transformers-mlm-0.02min-seed0",
        "TF-IDF + logistic regression",
        "TF-IDF + the corpus's word vectors",
    }
    n = results["task"]["sizes"]["test"]
    for run in results["runs"]:
        tuned = run["finetuned"]
        assert 0 <= tuned["accuracy"] <= 1 and tuned["n"] == n
        assert tuned["accuracy_se"] == pytest.approx((tuned["accuracy"] * (1 - tuned["accuracy"]) / n) ** 0.5)
        if run["arm"] in ("bertkit", "hf"):
            pre = run["pretraining"]
            assert pre["steps"] >= 1 and 0 < pre["seconds"] < 60
            assert 0 <= pre["heldout_mlm_acc"] <= 1 and pre["heldout_masked"] > 0
    # The pre-training masked 30% of the tokens, as asked.
    run_file = out / "pretrain" / "bertkit-mlm-0.02min-seed0" / "run.json"
    assert json.loads(run_file.read_text())["mlm_probability"] == 0.3
    assert set(results["curve"]) == {"bertkit", "transformers"}
    # Every arm's classifier reads the mean of the tokens' vectors by default (--pooling mean).
    assert results["settings"]["pooling"] == "mean"
    for name in ("random-seed0", "bertkit-mlm-0.02min-seed0", "transformers-mlm-0.02min-seed0"):
        config = json.loads((out / "finetune" / name / "final" / "config.json").read_text())
        assert config["classifier_pooling"] == "mean", name
    assert set(results["curve"]["bertkit"]) == {"0", "0.02"}
    # The masked LM alone: no next-sentence figures in the run's log.
    log = (out / "pretrain" / "bertkit-mlm-0.02min-seed0" / "metrics.jsonl").read_text().splitlines()
    assert all("mlm_acc" in json.loads(line) and "nsp_acc" not in json.loads(line) for line in log)

    # Pre-trained models are reused by a rerun with the same settings; MLM + NSP logs both figures; the
    # pooler on [CLS] when asked for.
    rerun = ["--minutes", "0.02", "--objective", "mlm+nsp", "--arms", "bertkit", "random", "--pooling", "cls"]
    rerun += ["--documents", "file"]
    again = experiment.main([*args, *rerun])
    config = json.loads((out / "finetune" / "random-seed0" / "final" / "config.json").read_text())
    assert "classifier_pooling" not in config and again["settings"]["pooling"] == "cls"
    assert {r["name"] for r in again["runs"]} == {"random-seed0", "bertkit-mlm+nsp-files-0.02min-seed0"}
    assert again["runs"][0]["pretraining"] == runs["random-seed0"]["pretraining"]
    trained = json.loads((out / "pretrain" / "bertkit-mlm+nsp-files-0.02min-seed0" / "run.json").read_text())
    assert trained["data"].endswith("prepared-300-files")
    log = (
        (out / "pretrain" / "bertkit-mlm+nsp-files-0.02min-seed0" / "metrics.jsonl").read_text().splitlines()
    )
    assert "nsp_acc" in json.loads(log[-1])


def test_corpus_word_vectors_place_words_of_shared_contexts_together():
    pets = [f"the {a} sat on the mat and the {a} ate its food" for a in ("cat", "dog")]
    roads = [f"my {a} drove down the road with its engine running" for a in ("car", "truck")]
    vocab, vectors = experiment.corpus_word_vectors((pets + roads) * 10, dims=4)
    assert vectors.shape == (len(vocab), 4)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1)
    similarity = vectors @ vectors.T
    for word, twin, stranger in [("cat", "dog", "car"), ("truck", "car", "dog")]:
        assert similarity[vocab[word], vocab[twin]] > similarity[vocab[word], vocab[stranger]] + 0.5


@pytest.mark.parametrize(
    "flag", [["--minutes", "0"], ["--mlm-probability", "0"], ["--mlm-probability", "1.5"]]
)
def test_bad_settings_stop_before_any_work(flag, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        experiment.main(["--out", str(tmp_path / "run"), *flag])
    assert stop.value.code == 2 and flag[0] in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
