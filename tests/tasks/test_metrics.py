"""Every task metric against its reference: scikit-learn, scipy and seqeval, on fixed edge cases and fuzz."""

import re
import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from seqeval import metrics as seqeval
from sklearn import metrics as sk

from bertkit.errors import InvalidArgumentError
from bertkit.tasks.metrics import average_ranks, compute_metrics, entities

TOL = dict(rel=1e-12, abs=1e-12)


def sklearn_classify(pred, ref):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single-label and undefined-metric warnings are the cases under test
        return {
            "accuracy": sk.accuracy_score(ref, pred),
            "macro_f1": sk.f1_score(ref, pred, average="macro"),
            "mcc": sk.matthews_corrcoef(ref, pred),
            "examples": len(ref),
        }


CLASSIFY_CASES = {
    "perfect binary": ([0, 1, 1, 0], [0, 1, 1, 0]),
    "inverted binary": ([1, 0, 0, 1], [0, 1, 1, 0]),
    "a class never predicted": ([0, 0, 0, 2, 2], [0, 1, 1, 2, 2]),
    "a class predicted but never true": ([0, 3, 1, 1], [0, 1, 1, 1]),
    "one class only": ([1, 1, 1], [1, 1, 1]),
    "constant prediction": ([1, 1, 1, 1], [0, 1, 0, 1]),
    "constant reference": ([0, 1, 0, 1], [1, 1, 1, 1]),
    "one example": ([2], [0]),
    "label names": (["neg", "pos", "pos", "neu"], ["neg", "neu", "pos", "neu"]),
}


@pytest.mark.parametrize("pred, ref", CLASSIFY_CASES.values(), ids=CLASSIFY_CASES.keys())
def test_classify_matches_sklearn_on_edge_cases(pred, ref):
    got = compute_metrics("classify", pred, ref)
    assert got == pytest.approx(sklearn_classify(pred, ref), **TOL)
    assert set(got) == {"accuracy", "macro_f1", "mcc", "examples"}
    assert all(type(v) is float for k, v in got.items() if k != "examples")


def test_classify_matches_sklearn_on_random_multiclass():
    rng = np.random.default_rng(0)
    for _ in range(60):
        n, k = int(rng.integers(1, 60)), int(rng.integers(2, 7))
        ref = rng.integers(0, k, n)
        # Predictions that are often right, so MCC spans negative to positive values.
        pred = np.where(rng.random(n) < rng.random(), ref, rng.integers(0, k, n))
        assert compute_metrics("classify", pred, ref) == pytest.approx(sklearn_classify(pred, ref), **TOL)


def test_classify_takes_logits_and_gives_their_argmax():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5], [0.0, 0.1, 0.2]])
    assert compute_metrics("classify", logits, [1, 0, 0]) == compute_metrics("classify", [1, 0, 2], [1, 0, 0])


def test_tensors_are_accepted_half_precision_included():
    logits = torch.tensor([[0.1, 2.0], [3.0, 0.0], [0.0, 0.1]], dtype=torch.bfloat16)
    assert compute_metrics("classify", logits, torch.tensor([1, 0, 0])) == compute_metrics(
        "classify", [1, 0, 1], [1, 0, 0]
    )
    scores = torch.tensor([[0.5], [1.5], [3.0]], dtype=torch.float16)
    assert compute_metrics("regress", scores, torch.tensor([0.5, 1.5, 3.0]))["mse"] == 0.0


def test_regress_matches_scipy_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(3, 50))
        ref = rng.integers(0, 6, n).astype(float)  # STS-B-like scores with many ties
        pred = np.round(ref + rng.normal(0, rng.uniform(0.1, 3), n), int(rng.integers(0, 3)))
        if np.all(pred == pred[0]) or np.all(ref == ref[0]):
            continue
        got = compute_metrics("regress", pred[:, None], ref)
        assert got["pearson"] == pytest.approx(stats.pearsonr(pred, ref).statistic, rel=1e-10, abs=1e-12)
        assert got["spearman"] == pytest.approx(stats.spearmanr(pred, ref).statistic, rel=1e-10, abs=1e-12)
        assert got["mse"] == pytest.approx(sk.mean_squared_error(ref, pred), **TOL)
        assert got["examples"] == n
        np.testing.assert_array_equal(average_ranks(pred), stats.rankdata(pred, method="average"))


def test_regress_hand_computed_values():
    got = compute_metrics("regress", [1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    assert got["mse"] == pytest.approx(1 / 3)
    assert got["spearman"] == pytest.approx(1.0)
    # r = cov / (sx sy): deviations (-1, 0, 1) and (-4/3, -1/3, 5/3): 3 / sqrt(2 * 14/3).
    assert got["pearson"] == pytest.approx(3 / np.sqrt(2 * 14 / 3))
    assert compute_metrics("regress", [3.0, 2.0, 1.0], [1.0, 2.0, 3.0])["pearson"] == pytest.approx(-1.0)


def test_regress_constant_input_gives_nan_like_scipy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        assert np.isnan(stats.pearsonr([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]).statistic)
        assert np.isnan(stats.spearmanr([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]).statistic)
    got = compute_metrics("regress", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert np.isnan(got["pearson"]) and np.isnan(got["spearman"])
    assert got["mse"] == pytest.approx((1 + 0 + 1) / 3)


def test_choice_accuracy_from_indices_and_scores():
    scores = [[0.1, 0.9, 0.0, 0.0], [0.5, 0.1, 0.2, 0.2], [0.0, 0.0, 0.0, 1.0]]
    assert compute_metrics("choice", scores, [1, 2, 3]) == {"accuracy": pytest.approx(2 / 3), "examples": 3}
    assert compute_metrics("choice", [1, 2, 3], [1, 2, 3]) == {"accuracy": 1.0, "examples": 3}


def seqeval_tag(pred, ref):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "seems not to be NE tag" and undefined-metric warnings
        return {
            "precision": seqeval.precision_score(ref, pred),
            "recall": seqeval.recall_score(ref, pred),
            "f1": seqeval.f1_score(ref, pred),
            "accuracy": seqeval.accuracy_score(ref, pred),
            "examples": len(ref),
        }


TAG_CASES = {
    "conll example": (
        [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
        [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
    ),
    "I- without B- starts an entity": (
        [["I-PER", "I-PER", "O", "I-LOC"]],
        [["B-PER", "I-PER", "O", "B-LOC"]],
    ),
    "type change splits": ([["B-PER", "I-LOC", "I-LOC"]], [["B-PER", "B-LOC", "I-LOC"]]),
    "IOBES": ([["S-PER", "B-LOC", "E-LOC", "E-LOC"]], [["S-PER", "B-LOC", "I-LOC", "E-LOC"]]),
    "no entities anywhere": ([["O", "O"]], [["O", "O"]]),
    "no predicted entities": ([["O", "O"]], [["B-PER", "O"]]),
    "only predicted entities": ([["B-PER", "O"]], [["O", "O"]]),
    "bare and odd tags": ([["B", "I", "X-FOO", ".", "PER"]], [["B", "O", "X-FOO", "I-FOO", "PER"]]),
    "entity at sentence end": ([["O", "B-PER"], ["I-PER"]], [["O", "B-PER"], ["B-PER"]]),
}


@pytest.mark.parametrize("pred, ref", TAG_CASES.values(), ids=TAG_CASES.keys())
def test_tag_matches_seqeval_on_edge_cases(pred, ref):
    assert compute_metrics("tag", pred, ref) == pytest.approx(seqeval_tag(pred, ref), **TOL)


def test_entities_match_seqeval_get_entities():
    from seqeval.metrics.sequence_labeling import get_entities

    sentences = [["B-PER", "I-PER", "O", "I-LOC", "E-LOC", "S-ORG"], ["I-ORG", "B-ORG", "E-PER"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert entities(sentences) == get_entities(sentences)


def test_tag_fuzz_matches_seqeval():
    # Random BIO and BIOES sequences, malformed ones included (I- after O, E- after B- of another type, ...).
    rng = np.random.default_rng(2)
    vocab = ["O", "O", "O"] + [f"{p}-{t}" for p in "BIES" for t in ("PER", "LOC", "ORG")] + ["B", "I", "."]
    for _ in range(300):
        ref, pred = [], []
        for _ in range(int(rng.integers(1, 5))):
            length = int(rng.integers(1, 12))
            ref.append([vocab[i] for i in rng.integers(0, len(vocab), length)])
            # Half the tags copied from the reference, so predictions share entities with it.
            pred.append([r if rng.random() < 0.5 else vocab[rng.integers(len(vocab))] for r in ref[-1]])
        assert compute_metrics("tag", pred, ref) == pytest.approx(seqeval_tag(pred, ref), **TOL)


def test_tag_hand_computed_values():
    pred = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    ref = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "I-ORG"]]
    # Found PER(0-1), LOC(3), ORG(5); true PER(0-1), ORG(5-6): 1 right of 3 found and of 2 true.
    got = compute_metrics("tag", pred, ref)
    assert got == pytest.approx(
        {"precision": 1 / 3, "recall": 1 / 2, "f1": 0.4, "accuracy": 4 / 6, "examples": 2}
    )


BAD_INPUTS = {
    "length mismatch": ("classify", [0, 1], [0, 1, 1], "`predictions` has 2 examples but `references` has 3"),
    "empty": ("classify", [], [], "`references` is empty"),
    "ids against names": ("classify", [0, 1], ["a", "b"], "both be class ids or both be label names"),
    "fractional labels": ("classify", [0.5, 1.0], [0, 1], "non-integer numbers"),
    "nan regression": ("regress", [0.5, float("nan")], [0.0, 1.0], "`predictions` contains NaN"),
    "text regression": (
        "regress",
        [0.5, 1.0],
        ["high", "low"],
        "`references` must be numbers, got <U4 values",
    ),
    "tag count": ("tag", [["O", "O"]], [["O"]], "sentence 0 has 2 tags but its reference has 1"),
    "tag is not a list": ("tag", ["O"], [["O"]], "`predictions` sentence 0 must be a list of non-empty tag"),
    "empty tag": ("tag", [[""]], [["O"]], "`predictions` sentence 0 must be a list of non-empty tag"),
    "unknown task": ("summarize", [0], [0], "`task` must be one of classify, regress, choice, tag, qa"),
}


@pytest.mark.parametrize("task, pred, ref, message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_a_clear_error(task, pred, ref, message):
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        compute_metrics(task, pred, ref)
