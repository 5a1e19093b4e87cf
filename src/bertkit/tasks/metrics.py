"""Evaluation metrics of every fine-tuning task, computed the way the reference libraries compute them.

Each rule is the reference's, so that numbers are comparable with published ones and tested against it:
scikit-learn for classification (accuracy, macro F1, Matthews correlation), scipy for correlations
(Pearson, Spearman with average ranks for ties), seqeval for entity-level tagging scores, and the official
SQuAD scripts for question answering (`bertkit.tasks.squad`). Only numpy at run time; the references are test
extras. Scores are fractions in [0, 1] like scikit-learn's and seqeval's, except SQuAD's, which are
percentages like the official script's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from bertkit.checks import check_choice
from bertkit.errors import InvalidArgumentError
from bertkit.tasks.squad import squad_metrics


def _check_lengths(predictions: Sequence, references: Sequence) -> int:
    if len(predictions) != len(references):
        raise InvalidArgumentError(
            f"`predictions` has {len(predictions)} examples but `references` has {len(references)}"
        )
    if len(references) == 0:
        raise InvalidArgumentError("`references` is empty: there is nothing to evaluate")
    return len(references)


def _array(values: Any) -> np.ndarray:
    # numpy has no bfloat16: half-precision logits from mixed-precision evaluation are widened first.
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        values = values.float() if values.is_floating_point() else values
    return np.asarray(values)


def _labels(values: Any, name: str) -> np.ndarray:
    """Class ids or label names as a 1-D array; a 2-D array of scores becomes its argmax per row."""
    array = _array(values)
    if array.ndim == 2 and array.dtype.kind in "iuf":
        return array.argmax(axis=1)
    if array.ndim != 1:
        raise InvalidArgumentError(
            f"`{name}` must be one label per example, got an array of shape {array.shape}"
        )
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array) & (array == np.round(array))):
            raise InvalidArgumentError(f"`{name}` must be class ids or label names, got non-integer numbers")
        return array.astype(np.int64)
    if array.dtype.kind not in "biuU":
        raise InvalidArgumentError(
            f"`{name}` must be all class ids or all label names, got {array.dtype} values"
        )
    return array


def _class_pairs(predictions: Any, references: Any) -> tuple[np.ndarray, np.ndarray]:
    pred, ref = _labels(predictions, "predictions"), _labels(references, "references")
    _check_lengths(pred, ref)
    if (pred.dtype.kind == "U") != (ref.dtype.kind == "U"):
        raise InvalidArgumentError(
            "`predictions` and `references` must both be class ids or both be label names, got one of each"
        )
    return pred, ref


def classification_metrics(predictions: Any, references: Any) -> dict[str, Any]:
    """Accuracy, macro F1 and Matthews correlation, as scikit-learn's defaults compute them.

    Macro F1 averages over the labels that occur in `references` or `predictions` (scikit-learn's default
    label set); a label never predicted has F1 0. MCC is the multi-class form (Gorodkin's R_K) and is 0 when
    undefined (only one class in references or predictions), as scikit-learn returns.
    """
    pred, ref = _class_pairs(predictions, references)
    classes, index = np.unique(np.concatenate([ref, pred]), return_inverse=True)
    k, n = len(classes), len(ref)
    true_ids, pred_ids = index[:n], index[n:]
    confusion = np.bincount(true_ids * k + pred_ids, minlength=k * k).reshape(k, k).astype(np.float64)
    true_sum, pred_sum, correct = confusion.sum(axis=1), confusion.sum(axis=0), np.trace(confusion)
    # 2TP / (2TP + FP + FN) is scikit-learn's F1; its denominator is true_sum + pred_sum, never 0 here.
    f1 = 2.0 * np.diag(confusion) / (true_sum + pred_sum)
    cov_true_pred = correct * n - true_sum @ pred_sum
    cov_pred = n * n - pred_sum @ pred_sum
    cov_true = n * n - true_sum @ true_sum
    mcc = cov_true_pred / np.sqrt(cov_pred * cov_true) if cov_pred * cov_true != 0 else 0.0
    return {"accuracy": float(correct / n), "macro_f1": float(f1.mean()), "mcc": float(mcc), "examples": n}


def _numbers(values: Any, name: str) -> np.ndarray:
    array = _array(values)
    if array.dtype.kind not in "biuf":
        raise InvalidArgumentError(f"`{name}` must be numbers, got {array.dtype} values")
    array = array.astype(np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InvalidArgumentError(
            f"`{name}` must be one number per example, got an array of shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise InvalidArgumentError(f"`{name}` contains NaN or infinite values")
    return array


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing the mean of their ranks (scipy.stats.rankdata's "average")."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    group = np.cumsum(starts)  # 1-based group of each sorted position
    bounds = np.concatenate([np.flatnonzero(starts), [len(values)]])
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = 0.5 * (bounds[group - 1] + 1 + bounds[group])
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r as scipy.stats.pearsonr computes it; NaN when either input is constant (r is undefined).

    scipy also returns NaN there, with a ConstantInputWarning; we return it silently because a regression
    head predicting one value for everything is common early in training and is not the user's error.
    """
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    xm, ym = x - x.mean(), y - y.mean()
    r = float((xm / np.linalg.norm(xm)) @ (ym / np.linalg.norm(ym)))
    return max(-1.0, min(1.0, r))


def regression_metrics(predictions: Any, references: Any) -> dict[str, Any]:
    """Pearson and Spearman correlations (NaN for constant inputs, as scipy) and the mean squared error."""
    pred, ref = _numbers(predictions, "predictions"), _numbers(references, "references")
    n = _check_lengths(pred, ref)
    return {
        "pearson": pearson(pred, ref),
        "spearman": pearson(average_ranks(pred), average_ranks(ref)),
        "mse": float(np.mean((pred - ref) ** 2)),
        "examples": n,
    }


def choice_metrics(predictions: Any, references: Any) -> dict[str, Any]:
    """Accuracy of the chosen option: `predictions` are option indices or (N, options) scores."""
    pred, ref = _class_pairs(predictions, references)
    return {"accuracy": float(np.mean(pred == ref)), "examples": len(ref)}


def _split_tag(tag: str) -> tuple[str, str]:
    # seqeval's parse (prefix mode): the first character is the position, the rest after a '-' the type.
    return tag[0], tag[1:].split("-", maxsplit=1)[-1] or "_"


def _chunk_ends(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _chunk_starts(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def entities(sentences: Sequence[Sequence[str]]) -> list[tuple[str, int, int]]:
    """The (type, first, last) entity chunks of tagged sentences, with seqeval's default (non-strict) rules.

    As seqeval does, sentences are joined with an "O" between them and positions count in the joined
    sequence. BIO and BIOES both parse: an I- (or E-) after O or after another type starts an entity, a
    change of type ends one, E- and S- end one.
    """
    joined = [tag for sentence in sentences for tag in [*sentence, "O"]]
    prev_tag, prev_type, begin, chunks = "O", "", 0, []
    for i, label in enumerate([*joined, "O"]):
        tag, type_ = _split_tag(label)
        if _chunk_ends(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _chunk_starts(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def _check_tags(sentences: Sequence[Sequence[str]], name: str) -> None:
    for i, sentence in enumerate(sentences):
        if isinstance(sentence, str) or not all(isinstance(tag, str) and tag for tag in sentence):
            raise InvalidArgumentError(f"`{name}` sentence {i} must be a list of non-empty tag strings")


def tagging_metrics(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]
) -> dict[str, Any]:
    """Entity-level micro precision/recall/F1 (seqeval's defaults, 0 when undefined) and token accuracy.

    One list of tag names per sentence, one tag per word (e.g. "B-PER", "I-PER", "O").
    """
    n = _check_lengths(predictions, references)
    _check_tags(predictions, "predictions")
    _check_tags(references, "references")
    for i, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        if len(pred) != len(ref):
            raise InvalidArgumentError(
                f"`predictions` sentence {i} has {len(pred)} tags but its reference has {len(ref)}"
            )
    true, found = set(entities(references)), set(entities(predictions))
    correct = len(true & found)
    precision = correct / len(found) if found else 0.0
    recall = correct / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    tokens = sum(len(ref) for ref in references)
    same = sum(
        p == r
        for pred, ref in zip(predictions, references, strict=True)
        for p, r in zip(pred, ref, strict=True)
    )
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": same / tokens if tokens else 0.0,
        "examples": n,
    }


METRICS: dict[str, Callable[..., dict[str, Any]]] = {
    "classify": classification_metrics,
    "regress": regression_metrics,
    "choice": choice_metrics,
    "tag": tagging_metrics,
    "qa": squad_metrics,
}


def compute_metrics(task: str, predictions: Any, references: Any, **extra: Any) -> dict[str, Any]:
    """The evaluation metrics of one task: a dict of plain floats plus `examples` (the number of examples).

    What each task takes (lists, numpy arrays or tensors), N the number of examples:

    - `classify`: predictions (N,) class ids or label names, or (N, num_labels) logits (argmax taken);
      references (N,) of the same kind. Returns `accuracy`, `macro_f1`, `mcc`.
    - `regress`: predictions (N,) or (N, 1) numbers; references (N,). Returns `pearson`, `spearman` (NaN
      when either side is constant), `mse`.
    - `choice`: predictions (N,) chosen option indices or (N, options) scores; references (N,) indices.
      Returns `accuracy`.
    - `tag`: predictions and references are N lists of tag names, one per word of each sentence.
      Returns entity-level `precision`, `recall`, `f1` (seqeval) and token `accuracy`.
    - `qa`: predictions N answer texts ("" = no answer); references N lists of gold answer texts ([] =
      unanswerable, SQuAD v2). Extra keywords: `na_probs` (N no-answer scores, for the best thresholds),
      `version` ("1.1" or "2.0"), `na_prob_thresh`. Returns `exact`, `f1` in percent, and for v2
      `has_answer_*`, `no_answer_*` and the `best_*` thresholds; see `bertkit.tasks.squad.squad_metrics`.
    """
    check_choice("`task`", task, tuple(METRICS))
    return METRICS[task](predictions, references, **extra)
