"""bertkit: BERT from scratch, exact against Hugging Face."""

from bertkit.config import BertConfig
from bertkit.data import PretrainingData, prepare_corpus
from bertkit.errors import BertkitError, CheckpointError, FileFormatError, InvalidArgumentError, TrainingError
from bertkit.model import (
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertLMHeadModel,
    BertModel,
    ModelOutput,
)
from bertkit.tokenizer import WordPieceTokenizer

__all__ = [
    "BertConfig",
    "BertForMaskedLM",
    "BertForMultipleChoice",
    "BertForNextSentencePrediction",
    "BertForPreTraining",
    "BertForQuestionAnswering",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertLMHeadModel",
    "BertModel",
    "BertkitError",
    "CheckpointError",
    "FileFormatError",
    "InvalidArgumentError",
    "ModelOutput",
    "PretrainingData",
    "TrainingError",
    "WordPieceTokenizer",
    "prepare_corpus",
]
