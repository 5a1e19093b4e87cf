"""bertkit: BERT from scratch, exact against Hugging Face."""

from bertkit.checkpoint.checkpoint import Checkpoint
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
from bertkit.pipelines import pipeline
from bertkit.tasks.predict import evaluate, predict
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train.config import FinetuneConfig
from bertkit.train.finetuning import finetune

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
    "Checkpoint",
    "CheckpointError",
    "FileFormatError",
    "FinetuneConfig",
    "InvalidArgumentError",
    "ModelOutput",
    "PretrainingData",
    "TrainingError",
    "WordPieceTokenizer",
    "evaluate",
    "finetune",
    "pipeline",
    "predict",
    "prepare_corpus",
]
