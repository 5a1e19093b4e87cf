"""The pipeline one-liners: embed, similarity, classify, tag, answer, choose; each prints what the library
returns."""

import json

import numpy as np
import pytest

from bertkit import pipeline
from bertkit.cli import main

from .conftest import MINILM


def run(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    out, err = capsys.readouterr()
    return out


def test_embed_and_similarity(tmp_path, capsys):
    lines = tmp_path / "lines.txt"
    lines.write_text("cherry\ndigital\ninformation\n", encoding="utf-8")
    out = tmp_path / "emb.npy"
    printed = run(
        capsys, "embed", "--model", str(MINILM), "--input", str(lines), "--output", str(out), "--quiet"
    )
    assert printed == f"wrote 3 x 384 vectors to {out}\n"
    vectors = np.load(out)
    matrix = json.loads(
        run(capsys, "similarity", "--model", str(MINILM), "cherry", "digital", "information", "--json")
    )
    np.testing.assert_allclose(vectors @ vectors.T, matrix, atol=1e-5)
    table = run(capsys, "similarity", "--model", str(MINILM), "cherry", "digital", "information")
    assert table.splitlines()[1].split()[:2] == ["cherry", "1.0000"]
    assert (
        main(["embed", "--model", str(MINILM), "--input", str(tmp_path / "none.txt"), "--output", str(out)])
        == 2
    )
    assert "none.txt: no such file" in capsys.readouterr().err


def test_classify_tag_answer_choose(checkpoints, capsys):
    directory = checkpoints("text-classification")
    expected = pipeline("text-classification", model=directory)("Great film!")
    printed = json.loads(run(capsys, "classify", "--model", str(directory), "Great film!"))
    assert printed["label"] == expected["label"] and printed["score"] == pytest.approx(
        expected["score"], abs=1e-6
    )
    assert len(json.loads(run(capsys, "classify", "--model", str(directory), "A", "B", "--top-k", "2"))) == 2

    directory = checkpoints("token-classification")
    text = "Angela Merkel visited Paris."
    expected = pipeline("token-classification", model=directory, aggregation_strategy="first")(text)
    printed = json.loads(run(capsys, "tag", "--model", str(directory), text, "--aggregation", "first"))
    assert [e["word"] for e in printed] == [e["word"] for e in expected]

    directory = checkpoints("question-answering")
    printed = json.loads(
        run(capsys, "answer", "--model", str(directory), "Where?", "--context", "In Paris, at noon.")
    )
    assert set(printed) == {"answer", "score", "start", "end"}
    assert main(["answer", "--model", str(directory), "Where?", "--context", " "]) == 2
    assert "the context of question 0 is empty" in capsys.readouterr().err
    assert main(["answer", "--model", str(directory), "Where?", "--context", "Paris", "--top-k", "0"]) == 2
    assert "--top-k must be a positive integer" in capsys.readouterr().err

    directory = checkpoints("multiple-choice")
    printed = json.loads(run(capsys, "choose", "--model", str(directory), "He ate", "soup.", "a car."))
    assert printed["choice"] in (0, 1) and sum(printed["scores"]) == pytest.approx(1.0)
    assert main(["choose", "--model", str(MINILM), "He ate", "soup.", "a car."]) == 2
    assert "holds a BertModel" in capsys.readouterr().err
