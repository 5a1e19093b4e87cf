"""Inference on raw text. A pipeline is a model and its tokenizer, loaded from one Hugging Face-layout
directory (e.g. a run's `final/`), in eval mode."""

from bertkit.pipelines.cloze import fill_mask, next_sentence_probability
from bertkit.pipelines.load import load_causal_lm, load_for_inference
from bertkit.pipelines.recite import recite

__all__ = ["fill_mask", "load_causal_lm", "load_for_inference", "next_sentence_probability", "recite"]
