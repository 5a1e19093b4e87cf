"""A task model's outputs (inference.py) as one prediction per input example, and their metrics.

Records, one per example in file order (what `bertkit predict` writes):
    classify {"label": name, "score": p}            softmax probability of the chosen label
    regress  {"score": x}
    choice   {"label": i, "scores": [p0, p1, ...]}  softmax over the options
    tag      {"tokens": [...], "tags": [...]}       one tag per input word: the tag of its first sub-token;
                                                    a word truncated away gets "O" (or label 0 without one)
    qa       {"id": ..., "answer": text, "start": char offset, "score": p}

QA follows run_qa's post-processing (Hugging Face's SQuAD example): the best span over all windows of a
question by start + end logit, at most `max_answer_len` tokens, inside the context; with SQuAD v2 data the
answer is "" (start None) when the [CLS] "no answer" logits of the window where they are lowest beat it, and
that difference is the question's no-answer score for the official threshold search. `score` is the span's
probability within its window, as transformers' question-answering pipeline gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bertkit.config import BertConfig
from bertkit.tasks.examples import TaskData
from bertkit.tasks.features import Features, word_values
from bertkit.tasks.metrics import compute_metrics
from bertkit.tasks.models import model_labels
from bertkit.tasks.spans import best_spans

MAX_ANSWER_LEN = 30  # run_qa's default: SQuAD answers are short, but not all under the pipeline's 15


@dataclass
class Predictions:
    records: list[dict[str, Any]]  # one per example, in file order
    no_answer: list[float] | None = None  # qa on SQuAD v2 data: no-answer score per question


def predictions(
    data: TaskData,
    features: Features,
    outputs: list[np.ndarray],
    config: BertConfig,
    max_answer_len: int = MAX_ANSWER_LEN,
) -> Predictions:
    """The prediction of every example of `data`, from the outputs of every feature of `features`."""
    if data.task == "qa":
        return _answers(data, features, outputs, max_answer_len)
    if data.task == "tag":
        names = model_labels(config)
        missing = "O" if "O" in names else names[0]
        records = []
        for example, word_ids, scores in zip(data.examples, features.word_ids, outputs, strict=True):
            tags = [names[i] for i in scores.argmax(-1)]
            records.append(
                {"tokens": example.tokens, "tags": word_values(word_ids, tags, len(example.tokens), missing)}
            )
        return Predictions(records)
    if data.task == "regress":
        return Predictions([{"score": float(scores[0])} for scores in outputs])
    probabilities = [_softmax(scores) for scores in outputs]
    if data.task == "choice":
        return Predictions([{"label": int(p.argmax()), "scores": p.tolist()} for p in probabilities])
    names = model_labels(config)
    return Predictions([{"label": names[int(p.argmax())], "score": float(p.max())} for p in probabilities])


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores.astype(np.float64) - scores.max())
    return exp / exp.sum()


def _answers(
    data: TaskData, features: Features, outputs: list[np.ndarray], max_answer_len: int
) -> Predictions:
    windows: list[list[int]] = [[] for _ in data.examples]
    for f, example in enumerate(features.example_index):
        windows[example].append(f)
    records, no_answer = [], []
    for example, indices in zip(data.examples, windows, strict=True):
        best = best_window = null = None
        for f in indices:
            start, end = torch.from_numpy(outputs[f])
            context = torch.tensor([o is not None for o in features.offsets[f]])
            spans, window_null = best_spans(start, end, context, max_answer_len=max_answer_len)
            if spans and (best is None or spans[0].logit > best.logit):
                best, best_window = spans[0], f
            if null is None or window_null.logit < null.logit:
                null = window_null
        if best is None or (data.squad_v2 and null.logit > best.logit):
            records.append({"id": example.id, "answer": "", "start": None, "score": null.score})
        else:
            offsets = features.offsets[best_window]
            first, last = offsets[best.start][0], offsets[best.end][1]
            records.append(
                {"id": example.id, "answer": example.context[first:last], "start": first, "score": best.score}
            )
        no_answer.append(null.logit - (best.logit if best is not None else null.logit))
    return Predictions(records, no_answer if data.squad_v2 else None)


def score(data: TaskData, predicted: Predictions) -> dict[str, Any]:
    """The task's metrics (`bertkit.tasks.metrics.compute_metrics`) of the predictions against `data`'s labels."""
    records, examples = predicted.records, data.examples
    if data.task == "qa":
        answers = [r["answer"] for r in records]
        golds = [[] if e.is_impossible else [a.text for a in e.answers] for e in examples]
        version = "2.0" if data.squad_v2 else "1.1"
        return compute_metrics("qa", answers, golds, na_probs=predicted.no_answer, version=version)
    if data.task == "tag":
        return compute_metrics("tag", [r["tags"] for r in records], [e.tags for e in examples])
    key = "score" if data.task == "regress" else "label"
    return compute_metrics(data.task, [r[key] for r in records], [e.label for e in examples])
