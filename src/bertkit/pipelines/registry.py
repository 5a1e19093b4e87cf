"""`bertkit.pipeline(task, model=DIR or a loaded model, **options)`: the pipeline object of a task, by
transformers' task names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bertkit.errors import InvalidArgumentError
from bertkit.model import BertPreTrainedModel
from bertkit.pipelines.answer import QuestionAnsweringPipeline
from bertkit.pipelines.base import Pipeline
from bertkit.pipelines.classify import MultipleChoicePipeline, TextClassificationPipeline
from bertkit.pipelines.cloze import FillMaskPipeline, NextSentencePipeline
from bertkit.pipelines.embed import FeatureExtractionPipeline, SentenceEmbeddingPipeline
from bertkit.pipelines.score import NextTokenPipeline, TextScoringPipeline
from bertkit.pipelines.tagging import TokenClassificationPipeline
from bertkit.tokenizer import WordPieceTokenizer

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
        TextScoringPipeline,
        NextTokenPipeline,
    )
}
# transformers' other names for the same tasks.
ALIASES = {"ner": "token-classification", "sentiment-analysis": "text-classification"}


def pipeline(
    task: str,
    model: str | Path | BertPreTrainedModel,
    tokenizer: WordPieceTokenizer | str | Path | None = None,
    **options: Any,
) -> Pipeline:
    """The pipeline of `task` over `model`: a Hugging Face-layout directory, loaded now, once; or a model
    already loaded, with its `tokenizer`, which several pipelines may share (one copy in memory, as
    transformers' `pipeline(task, model=model, tokenizer=tokenizer)`). Call the result on a text or a list.

    options: `batch_size` (rows per forward pass, default 32), `device`, and the task's own (e.g. `top_k`,
    `aggregation_strategy`), which a call may override; `sentence-embedding` also takes `pooling`; `text-scoring`
    `pll`, `score_end`, `stride` and `top_k_alternatives`. See
    docs/inference.md.
    """
    name = ALIASES.get(task, task)
    if name not in TASKS:
        raise InvalidArgumentError(f"unknown task {task!r}; bertkit's pipelines: {', '.join(TASKS)}")
    return TASKS[name](model, tokenizer=tokenizer, **options)
