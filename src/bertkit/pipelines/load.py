"""Loading a model and its tokenizer for inference: one Hugging Face-layout directory, in eval mode."""

from __future__ import annotations

from pathlib import Path

from bertkit.checkpoint.load import read_config
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertForMaskedLM, BertLMHeadModel, BertPreTrainedModel
from bertkit.tokenizer import WordPieceTokenizer

NO_CAUSAL_HEAD = "has no causal language-model head; train one with `bertkit pretrain --objective clm`"


def load_for_inference(
    directory: str | Path, model_class: type[BertPreTrainedModel] = BertForMaskedLM
) -> tuple[BertPreTrainedModel, WordPieceTokenizer]:
    """The model (eval mode) and the tokenizer saved together in `directory` (e.g. a run's `final/`)."""
    model = model_class.from_pretrained(directory).eval()
    return model, WordPieceTokenizer.from_pretrained(directory)


def load_causal_lm(directory: str | Path) -> tuple[BertLMHeadModel, WordPieceTokenizer]:
    """load_for_inference for `recite`: the directory must hold a causal model (`is_decoder: true`)."""
    if not read_config(directory).causal:
        raise InvalidArgumentError(f"{directory} {NO_CAUSAL_HEAD} (its config.json is not is_decoder: true)")
    return load_for_inference(directory, BertLMHeadModel)
