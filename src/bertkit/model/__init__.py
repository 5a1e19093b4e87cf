"""The BERT network: embeddings, attention, encoder, BertModel (bert.py) and the task heads (heads.py).

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
    "ModelOutput",
    "encoder_of",
]
