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
    BertModel,
    BertOutput,
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
    "BertModel",
    "BertOutput",
    "BertkitError",
    "CheckpointError",
    "FileFormatError",
    "InvalidArgumentError",
    "PretrainingData",
    "TrainingError",
    "WordPieceTokenizer",
    "prepare_corpus",
]
