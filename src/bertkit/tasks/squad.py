"""SQuAD scoring: exact match and token F1 under the official normalisation, v1.1 and v2.0 rules.

The rules are the official evaluation scripts' (evaluate-v1.1.py and evaluate-v2.0.py), one function each,
so published numbers compare: answers are lower-cased, stripped of punctuation and of the articles a/an/the,
and whitespace-collapsed; each prediction scores its best gold answer; results are percentages.
v2.0 adds unanswerable questions (their only gold answer is "", so "" scores 1 there and 0 elsewhere), the
has-answer / no-answer breakdown, and, given per-question no-answer scores, the threshold on them that
would have scored best (`find_best_threshold`).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bertkit.checks import check_choice
from bertkit.errors import InvalidArgumentError

VERSIONS = ("1.1", "2.0")
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop ASCII punctuation, replace the articles a/an/the by a space, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(gold: str, prediction: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(prediction))


def token_f1(gold: str, prediction: str, version: str = "2.0") -> float:
    """F1 of the normalised tokens, counted with multiplicity.

    v2.0 scores two empty answers as a match (1.0), which is how "no answer" is right; v1.1 has no such
    case and gives 0 whenever no token is shared.
    """
    gold_tokens, pred_tokens = normalize_answer(gold).split(), normalize_answer(prediction).split()
    if version == "2.0" and not (gold_tokens and pred_tokens):
        return float(gold_tokens == pred_tokens)
    same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _gold_answers(answers: Sequence[str], version: str) -> list[str]:
    # v2.0 drops gold answers that normalise to nothing; a question left with none is unanswerable.
    if version == "1.1":
        return list(answers)
    return [a for a in answers if normalize_answer(a)] or [""]


def _percent(scores: Sequence[float], keep: Sequence[bool] | None = None) -> float:
    chosen = [s for i, s in enumerate(scores) if keep is None or keep[i]]
    return 100.0 * sum(chosen) / len(chosen)


def find_best_threshold(
    predictions: Sequence[str], scores: Sequence[float], na_probs: Sequence[float], has_answer: Sequence[bool]
) -> tuple[float, float]:
    """The official v2.0 search: (best score in percent, the no-answer threshold that gives it).

    Start from answering nothing (every unanswerable question right), then, in order of increasing
    no-answer score, let each question keep its prediction; the threshold is the no-answer score of the
    question where the running total peaked. A question is answered "no answer" when its score is above it.
    """
    total = best = float(sum(not h for h in has_answer))
    threshold = 0.0
    # Python's sort is stable, as the official script's `sorted(na_probs, key=...)` over questions in order.
    for i in sorted(range(len(scores)), key=lambda i: na_probs[i]):
        if has_answer[i]:
            total += scores[i]
        elif predictions[i]:
            total -= 1
        if total > best:
            best, threshold = total, na_probs[i]
    return 100.0 * best / len(scores), float(threshold)


def _check_inputs(predictions: Sequence[str], references: Sequence[Sequence[str]], na_probs: Any) -> None:
    if len(predictions) != len(references):
        raise InvalidArgumentError(
            f"`predictions` has {len(predictions)} answers but `references` has {len(references)} questions"
        )
    if not references:
        raise InvalidArgumentError("`references` is empty: there is nothing to evaluate")
    for i, (pred, golds) in enumerate(zip(predictions, references, strict=True)):
        if not isinstance(pred, str):
            raise InvalidArgumentError(
                f"`predictions` item {i} must be an answer text, got {type(pred).__name__}"
            )
        if isinstance(golds, str) or not all(isinstance(g, str) for g in golds):
            raise InvalidArgumentError(f"`references` item {i} must be a list of gold answer texts")
    if na_probs is not None and len(na_probs) != len(references):
        raise InvalidArgumentError(
            f"`na_probs` has {len(na_probs)} scores but there are {len(references)} questions"
        )
    if na_probs is not None and not all(math.isfinite(p) for p in na_probs):
        raise InvalidArgumentError("`na_probs` must be finite numbers, one no-answer score per question")


def squad_metrics(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    na_probs: Sequence[float] | None = None,
    version: str | None = None,
    na_prob_thresh: float = 1.0,
) -> dict[str, Any]:
    """`exact` and `f1` in percent over all questions, plus `examples`; v2.0 adds the breakdowns.

    `predictions`: one answer text per question ("" for no answer); `references`: the gold answer texts of
    each question, [] for an unanswerable one. `version` defaults to "2.0" when some question is
    unanswerable or `na_probs` is given, else "1.1". With v2.0, `has_answer_exact`/`has_answer_f1`/
    `has_answer_examples` come when some question is answerable and `no_answer_*` when some is not (as the
    official script's HasAns/NoAns). `na_probs` (a no-answer score per question, any scale) adds `best_exact`,
    `best_exact_thresh`, `best_f1`, `best_f1_thresh`; as in the official script, a question whose score is
    above `na_prob_thresh` counts as answered "no answer" in `exact` and `f1`.
    """
    if na_probs is not None:
        na_probs = [float(p) for p in na_probs]
    _check_inputs(predictions, references, na_probs)
    if version is None:
        version = "2.0" if na_probs is not None or any(not golds for golds in references) else "1.1"
    check_choice("`version`", version, VERSIONS)
    if version == "1.1" and na_probs is not None:
        raise InvalidArgumentError("`na_probs` needs SQuAD `version` 2.0: v1.1 has no unanswerable questions")
    has_answer = [bool(golds) for golds in references]
    if version == "1.1" and not all(has_answer):
        raise InvalidArgumentError(
            f"`references` item {has_answer.index(False)} has no gold answer; SQuAD `version` 1.1 needs one"
        )
    exact, f1 = [], []
    for pred, golds in zip(predictions, references, strict=True):
        golds = _gold_answers(golds, version)
        exact.append(float(max(exact_match(g, pred) for g in golds)))
        f1.append(max(token_f1(g, pred, version) for g in golds))
    result: dict[str, Any] = {"exact": _percent(exact), "f1": _percent(f1), "examples": len(references)}
    if version == "1.1":
        return result

    raw_exact, raw_f1 = exact, f1
    if na_probs is not None:  # the official apply_no_ans_threshold
        above = [prob > na_prob_thresh for prob in na_probs]
        exact = [float(not h) if a else s for s, a, h in zip(raw_exact, above, has_answer, strict=True)]
        f1 = [float(not h) if a else s for s, a, h in zip(raw_f1, above, has_answer, strict=True)]
        result.update(exact=_percent(exact), f1=_percent(f1))
    for name, keep in (("has_answer", has_answer), ("no_answer", [not h for h in has_answer])):
        if any(keep):
            result[f"{name}_exact"] = _percent(exact, keep)
            result[f"{name}_f1"] = _percent(f1, keep)
            result[f"{name}_examples"] = sum(keep)
    if na_probs is not None:
        for name, raw in (("exact", raw_exact), ("f1", raw_f1)):
            best, threshold = find_best_threshold(predictions, raw, na_probs, has_answer)
            result[f"best_{name}"], result[f"best_{name}_thresh"] = best, threshold
    return result
