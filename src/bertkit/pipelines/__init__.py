"""Inference on raw text. A pipeline is a model and its tokenizer, in eval mode, loaded from one Hugging
Face-layout directory (e.g. a run's `final/`) or given already loaded: `pipeline(task, model=DIR)` or
`pipeline(task, model=model, tokenizer=tokenizer)` for each task (registry.py), and the functions on a loaded
model (fill_mask, next_sentence_probability, recite); scoring a file or a corpus (score_file,
file_perplexity)."""

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
from bertkit.pipelines.recite import recite, recite_explained
from bertkit.pipelines.registry import TASKS, pipeline
from bertkit.pipelines.score_files import corpus_perplexity, file_perplexity, score_file

__all__ = [
    "TASKS",
    "Pipeline",
    "SentenceEmbeddingPipeline",
    "SentencePooling",
    "corpus_perplexity",
    "embed_file",
    "file_perplexity",
    "fill_mask",
    "load_causal_lm",
    "load_for_inference",
    "next_sentence_probability",
    "pipeline",
    "read_pooling",
    "recite",
    "recite_explained",
    "score_file",
    "similarity",
]
