"""The task heads on top of BertModel: MLM (tied to the word embeddings), NSP, the causal language model,
classification, multiple choice, tagging and question answering.

Every class names its submodules as Hugging Face does (`bert.`, `cls.predictions`, `classifier`, ...), so a
transformers state_dict loads with `model.load_state_dict(hf_model.state_dict())`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bertkit.config import ACTIVATIONS, BertConfig
from bertkit.constants import IGNORE_INDEX
from bertkit.errors import InvalidArgumentError
from bertkit.model.bert import BertModel, BertPreTrainedModel, ModelOutput
from bertkit.model.cache import KVCache
from bertkit.model.generate import generate
from bertkit.model.pooling import mean_pool

# --- pre-training heads --------------------------------------------------------------------------


class BertPredictionHeadTransform(nn.Module):
    """dense -> activation -> LayerNorm, before the vocabulary projection."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = ACTIVATIONS[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    """The MLM head: transform, then scores over the vocabulary with the (tied) word embedding matrix."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)  # weight tied by tie_weights()
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))  # zero at init: the decoder's (Linear) bias
        self.decoder.bias = self.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(x))  # (..., V)


class BertPreTrainingHeads(nn.Module):
    """Hugging Face's `cls`: the MLM head (`predictions`) and/or the NSP head (`seq_relationship`)."""

    def __init__(self, config: BertConfig, mlm: bool = True, nsp: bool = True):
        super().__init__()
        if mlm:
            self.predictions = BertLMPredictionHead(config)
        if nsp:
            self.seq_relationship = nn.Linear(config.hidden_size, 2)


def masked_lm(predictions: BertLMPredictionHead, hidden: torch.Tensor, labels: torch.Tensor | None):
    """MLM logits and loss. With labels, only the ~15% masked positions go through the head: projecting every
    position onto a 30k vocabulary (and a (B, T, V) log-softmax) is most of a pre-training step otherwise."""
    if labels is None:
        return predictions(hidden), None  # (B, T, V)
    if labels.shape != hidden.shape[:2]:
        raise InvalidArgumentError(
            f"labels has shape {tuple(labels.shape)}, expected {tuple(hidden.shape[:2])}"
        )
    selected = labels != IGNORE_INDEX  # (B, T)
    logits = predictions(hidden[selected])  # (n_masked, V)
    return logits, F.cross_entropy(logits.float(), labels[selected])


def next_sentence(seq_relationship: nn.Linear, pooled: torch.Tensor, labels: torch.Tensor | None):
    """NSP logits (B, 2) from the pooled [CLS] vector, and their cross-entropy when labels are given."""
    logits = seq_relationship(pooled)  # (B, 2)
    if labels is None:
        return logits, None
    labels = labels.view(-1)
    # The mean over labelled pairs, written out so that a batch of unlabelled ones (IGNORE_INDEX) adds 0, not NaN.
    loss = F.cross_entropy(logits.float(), labels, reduction="sum")
    return logits, loss / (labels != IGNORE_INDEX).sum().clamp(min=1)


def _sum_losses(*losses: torch.Tensor | None) -> torch.Tensor | None:
    given = [loss for loss in losses if loss is not None]
    return sum(given) if given else None


class BertForPreTraining(BertPreTrainedModel):
    """BERT's pre-training objective: masked language model + next sentence prediction.

    loss = MLM loss + NSP loss (either alone when only its labels are given).
    """

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertPreTrainingHeads(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
    ) -> ModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        out.mlm_logits, out.mlm_loss = masked_lm(self.cls.predictions, out.last_hidden_state, labels)
        out.nsp_logits, out.nsp_loss = next_sentence(
            self.cls.seq_relationship, out.pooler_output, next_sentence_label
        )
        out.loss = _sum_losses(out.mlm_loss, out.nsp_loss)
        return out


class BertForMaskedLM(BertPreTrainedModel):
    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertPreTrainingHeads(config, nsp=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> ModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        out.mlm_logits, out.mlm_loss = masked_lm(self.cls.predictions, out.last_hidden_state, labels)
        out.loss = out.mlm_loss
        return out


class BertForNextSentencePrediction(BertPreTrainedModel):
    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertPreTrainingHeads(config, mlm=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> ModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        out.nsp_logits, out.nsp_loss = next_sentence(self.cls.seq_relationship, out.pooler_output, labels)
        out.loss = out.nsp_loss
        return out


def next_token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each position's scores against the label one step later, as transformers'
    ForCausalLMLoss: labels are shifted left inside (the last position predicts nothing), -100 is ignored and
    the mean is over the predicted tokens."""
    if labels.shape != logits.shape[:2]:
        raise InvalidArgumentError(
            f"labels has shape {tuple(labels.shape)}, expected {tuple(logits.shape[:2])}"
        )
    # Padding the labels rather than slicing the logits keeps the (B, T, V) scores a view, not a copy.
    targets = F.pad(labels, (0, 1), value=IGNORE_INDEX)[:, 1:]  # (B, T)
    return F.cross_entropy(
        logits.float().view(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX
    )


class BertLMHeadModel(BertPreTrainedModel):
    """A left-to-right language model: causal BERT (no pooler) and the tied MLM head, which here scores the next
    token. Hugging Face's class of the same name (`is_decoder: true` in its config.json)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        if not config.causal:
            # transformers only warns; but a model that sees both sides of a token cannot generate text.
            raise InvalidArgumentError(
                "BertLMHeadModel needs a causal config (BertConfig(causal=True); `is_decoder: true` in "
                "config.json): a model that attends to the right of a token cannot generate text"
            )
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertPreTrainingHeads(config, nsp=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> ModelOutput:
        """labels: (B, T), usually input_ids with -100 at padding; position t is scored against labels[t+1].
        position_ids, cache: as BertModel's, for decoding step by step."""
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids=position_ids, cache=cache)
        out.logits = self.cls.predictions(out.last_hidden_state)  # (B, T, V)
        if labels is not None:
            out.loss = next_token_loss(out.logits, labels)
        return out

    # model.generate(input_ids, attention_mask=None, max_new_tokens=20, ...): the function, with the model as self.
    generate = generate


# --- fine-tuning heads ---------------------------------------------------------------------------


def classification_loss(logits: torch.Tensor, labels: torch.Tensor, config: BertConfig) -> torch.Tensor:
    """Hugging Face's rule: problem_type if set, else regression for one label, single-label for integer
    labels, multi-label (independent sigmoids) for float labels."""
    problem = config.problem_type
    if problem is None:
        if config.num_labels == 1:
            problem = "regression"
        elif labels.dtype in (torch.long, torch.int):
            problem = "single_label_classification"
        else:
            problem = "multi_label_classification"
    logits = logits.float()
    if problem == "regression":
        if config.num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        return F.mse_loss(logits, labels.to(logits.dtype))
    if problem == "single_label_classification":
        return F.cross_entropy(logits.view(-1, config.num_labels), labels.view(-1))
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


class _BertWithClassifier(BertPreTrainedModel):
    """BERT, dropout, one linear layer: the shape the classification heads share.

    A sequence head (pooled=True) classifies one vector per sequence, by config.classifier_pooling: "cls" the
    pooler on [CLS] (Hugging Face's), "mean" the mean of the last hidden states over the real tokens, with no
    pooler. The mean's layer is `mean_classifier`: transformers, which knows only the first, then says the
    head is newly initialised instead of applying a trained classifier to a random pooler."""

    def __init__(self, config: BertConfig, out_features: int, pooled: bool):
        super().__init__(config)
        self.pooling = config.classifier_pooling if pooled else None
        self.bert = BertModel(config, add_pooling_layer=self.pooling == "cls")
        p = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if p is None else p)
        linear = nn.Linear(config.hidden_size, out_features)
        if self.pooling == "mean":
            self.mean_classifier = linear
        else:
            self.classifier = linear
        self.post_init()

    def _sequence_logits(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        token_type_ids: torch.Tensor | None,
        cls_only: bool,
    ) -> ModelOutput:
        """The encoder's output with `logits`, (N, out_features): the classifier on each sequence's vector.
        cls_only is for the pooler, which reads [CLS] alone; the mean needs every position."""
        cls_only = cls_only and self.pooling == "cls"
        out = self.bert(input_ids, attention_mask, token_type_ids, cls_only=cls_only)
        if self.pooling == "cls":
            out.logits = self.classifier(self.dropout(out.pooler_output))
            return out
        hidden = out.last_hidden_state  # (N, T, H)
        mask = hidden.new_ones(hidden.shape[:2]) if attention_mask is None else attention_mask
        out.logits = self.mean_classifier(self.dropout(mean_pool(hidden, mask)))
        return out


class BertForSequenceClassification(_BertWithClassifier):
    """A linear classifier (or regressor) on the pooled [CLS] vector, or on the mean of the tokens' vectors
    (config.classifier_pooling "mean").

    cls_only=True (as BertModel's) gives the same logits faster, [CLS]'s last hidden state alone."""

    def __init__(self, config: BertConfig):
        super().__init__(config, config.num_labels, pooled=True)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        cls_only: bool = False,
    ) -> ModelOutput:
        out = self._sequence_logits(input_ids, attention_mask, token_type_ids, cls_only)  # (B, num_labels)
        if labels is not None:
            out.loss = classification_loss(out.logits, labels, self.config)
        return out


class BertForMultipleChoice(_BertWithClassifier):
    """Scores each (context, choice) pair with one number from its pooled vector (or its tokens' mean, as
    BertForSequenceClassification); softmax across choices.

    cls_only=True (as BertModel's) gives the same logits faster, each pair's [CLS] last hidden state alone."""

    def __init__(self, config: BertConfig):
        super().__init__(config, 1, pooled=True)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        cls_only: bool = False,
    ) -> ModelOutput:
        if input_ids.dim() != 3:
            raise InvalidArgumentError(
                f"multiple choice input_ids must have shape (batch, num_choices, seq_len), got {tuple(input_ids.shape)}"
            )
        B, C, T = input_ids.shape

        def flat(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.reshape(B * C, T)  # every choice is its own sequence

        out = self._sequence_logits(flat(input_ids), flat(attention_mask), flat(token_type_ids), cls_only)
        out.logits = out.logits.view(B, C)  # (B, C)
        if labels is not None:
            out.loss = F.cross_entropy(out.logits.float(), labels)
        return out


class BertForTokenClassification(_BertWithClassifier):
    """A label per token (NER, tagging); labels of -100 (padding, continuation pieces) are ignored."""

    def __init__(self, config: BertConfig):
        super().__init__(config, config.num_labels, pooled=False)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> ModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        out.logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        if labels is not None:
            out.loss = F.cross_entropy(
                out.logits.float().view(-1, self.config.num_labels),
                labels.view(-1),
                ignore_index=IGNORE_INDEX,
            )
        return out


class BertForQuestionAnswering(BertPreTrainedModel):
    """Extractive QA: a start and an end score for every token."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        if config.num_labels != 2:
            raise InvalidArgumentError(
                f"question answering needs num_labels=2 (start and end scores), got {config.num_labels}"
            )
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
    ) -> ModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        start, end = self.qa_outputs(out.last_hidden_state).unbind(dim=-1)  # (B, T) each
        out.start_logits, out.end_logits = start.contiguous(), end.contiguous()
        if start_positions is not None and end_positions is not None:
            # As Hugging Face: positions outside the sequence (answer truncated away) are clamped to T and ignored.
            T = input_ids.shape[1]
            start_positions = start_positions.view(-1).clamp(0, T)
            end_positions = end_positions.view(-1).clamp(0, T)
            start_loss = F.cross_entropy(start.float(), start_positions, ignore_index=T)
            end_loss = F.cross_entropy(end.float(), end_positions, ignore_index=T)
            out.loss = (start_loss + end_loss) / 2
        return out
