"""The BERT network: embeddings, attention, encoder, BertModel (bert.py) and the task heads (heads.py), with
MODEL_CLASSES (registry.py), every model by its Hugging Face class name.

Files in and out (Hugging Face checkpoints) live one layer down, in `bertkit.checkpoint`.
"""

from bertkit.model.bert import BertModel, BertPreTrainedModel, ModelOutput, encoder_of
from bertkit.model.heads import (
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertLMHeadModel,
)
from bertkit.model.registry import MODEL_CLASSES

__all__ = [
    "BertForMaskedLM",
    "BertForMultipleChoice",
    "BertForNextSentencePrediction",
    "BertForPreTraining",
    "BertForQuestionAnswering",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertLMHeadModel",
    "BertModel",
    "BertPreTrainedModel",
    "MODEL_CLASSES",
    "ModelOutput",
    "encoder_of",
]
