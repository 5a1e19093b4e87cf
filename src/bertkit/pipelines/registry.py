"""`bertkit.pipeline(task, model=DIR, **options)`: the pipeline object of a task, by transformers' task names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bertkit.errors import InvalidArgumentError
from bertkit.pipelines.answer import QuestionAnsweringPipeline
from bertkit.pipelines.base import Pipeline
from bertkit.pipelines.classify import MultipleChoicePipeline, TextClassificationPipeline
from bertkit.pipelines.cloze import FillMaskPipeline, NextSentencePipeline
from bertkit.pipelines.embed import FeatureExtractionPipeline, SentenceEmbeddingPipeline
from bertkit.pipelines.tagging import TokenClassificationPipeline

TASKS: dict[str, type[Pipeline]] = {
    cls.task: cls
    for cls in (
        FillMaskPipeline,
        NextSentencePipeline,
        TextClassificationPipeline,
        TokenClassificationPipeline,
        QuestionAnsweringPipeline,
        MultipleChoicePipeline,
        FeatureExtractionPipeline,
        SentenceEmbeddingPipeline,
    )
}
# transformers' other names for the same tasks.
ALIASES = {"ner": "token-classification", "sentiment-analysis": "text-classification"}


def pipeline(task: str, model: str | Path, **options: Any) -> Pipeline:
    """Load `model` (a Hugging Face-layout directory) for `task` once; call the result on a text or a list.

    options: `batch_size` (rows per forward pass, default 32), `device`, and the task's own (e.g. `top_k`,
    `aggregation_strategy`), which a call may override. See docs/inference.md.
    """
    name = ALIASES.get(task, task)
    if name not in TASKS:
        raise InvalidArgumentError(f"unknown task {task!r}; bertkit's pipelines: {', '.join(TASKS)}")
    return TASKS[name](model, **options)
