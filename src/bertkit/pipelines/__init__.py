"""Inference on raw text. A pipeline is a model and its tokenizer, in eval mode, loaded from one Hugging
Face-layout directory (e.g. a run's `final/`) or given already loaded: `pipeline(task, model=DIR)` or
`pipeline(task, model=model, tokenizer=tokenizer)` for each task (registry.py), and the functions on a loaded
model (fill_mask, next_sentence_probability, recite)."""

from bertkit.pipelines.base import Pipeline
from bertkit.pipelines.cloze import fill_mask, next_sentence_probability
from bertkit.pipelines.embed import (
    SentenceEmbeddingPipeline,
    SentencePooling,
    embed_file,
    read_pooling,
    similarity,
)
from bertkit.pipelines.load import load_causal_lm, load_for_inference
from bertkit.pipelines.recite import recite
from bertkit.pipelines.registry import TASKS, pipeline

__all__ = [
    "TASKS",
    "Pipeline",
    "SentenceEmbeddingPipeline",
    "SentencePooling",
    "embed_file",
    "fill_mask",
    "load_causal_lm",
    "load_for_inference",
    "next_sentence_probability",
    "pipeline",
    "read_pooling",
    "recite",
    "similarity",
]
