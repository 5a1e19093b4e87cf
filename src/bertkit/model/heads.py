"""The bare encoder (BertModel) and the task heads on top of it, with Hugging Face BERT's parameter names.

Every class here names its submodules as Hugging Face does (`bert.`, `cls.predictions`, `classifier`, ...), so a
transformers state_dict loads with `model.load_state_dict(hf_model.state_dict())`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bertkit.config import BertConfig
from bertkit.errors import InvalidArgumentError
from bertkit.model.attention import attention_mask_for_sdpa
from bertkit.model.embeddings import BertEmbeddings
from bertkit.model.encoder import ACTIVATION_FUNCTIONS, BertEncoder, BertPooler

IGNORE_INDEX = -100  # label value that contributes no loss (padding, unmasked tokens, sub-word continuations)


@dataclass
class BertOutput:
    """What every model returns; fields a model does not compute stay None.

    mlm_logits: (B, T, V) without labels; with MLM labels only the masked positions are scored, so it is
    (n_masked, V), row i belonging to `labels[labels != -100][i]` (row-major order over the batch).
    """

    loss: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None  # (B, T, H)
    pooler_output: torch.Tensor | None = None  # (B, H)
    mlm_logits: torch.Tensor | None = None
    nsp_logits: torch.Tensor | None = None  # (B, 2); index 0 = "B follows A"
    mlm_loss: torch.Tensor | None = None
    nsp_loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # classification / multiple choice / tagging heads
    start_logits: torch.Tensor | None = None  # question answering, (B, T)
    end_logits: torch.Tensor | None = None


class BertPreTrainedModel(nn.Module):
    """Shared by all models: BERT's initialisation, weight tying, checkpoint loading and saving."""

    config_class = BertConfig
    base_model_prefix = "bert"

    def __init__(self, config: BertConfig):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise InvalidArgumentError(f"expected a BertConfig, got {type(config).__name__}")
        self.config = config

    def post_init(self) -> None:
        """Call at the end of a subclass's __init__: initialise the weights, then tie the MLM decoder.
        A BertModel inside (`self.bert`) initialised itself when built, so only the heads are left."""
        for child in self.children():
            if not isinstance(child, BertModel):
                child.apply(self._init_weights)
        self.tie_weights()

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                nn.init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, BertLMPredictionHead):
            nn.init.zeros_(module.bias)

    def tie_weights(self) -> None:
        """The MLM decoder shares the word embedding matrix (and its bias is `cls.predictions.bias`)."""
        predictions = getattr(getattr(self, "cls", None), "predictions", None)
        if predictions is not None:
            predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight
            predictions.decoder.bias = predictions.bias

    def set_gradient_checkpointing(self, enabled: bool = True) -> None:
        """Trade ~30% more compute for activation memory of one block instead of all of them."""
        self.config.gradient_checkpointing = enabled
        for module in self.modules():
            if isinstance(module, BertEncoder):
                module.gradient_checkpointing = enabled

    @classmethod
    def from_pretrained(cls, directory: str | Path, **overrides):
        """Load a Hugging Face BERT directory (config.json + weights); `overrides` change config fields."""
        from bertkit.model.checkpoint import load_pretrained

        return load_pretrained(cls, directory, **overrides)

    def save_pretrained(self, directory: str | Path, tokenizer=None) -> None:
        """Write Hugging Face's layout (config.json + model.safetensors, and the tokenizer when given)."""
        from bertkit.model import checkpoint

        checkpoint.save_pretrained(self, directory, tokenizer=tokenizer)


class BertModel(BertPreTrainedModel):
    """The bare encoder: embeddings, the stack of blocks, and (optionally) the pooler."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> BertOutput:
        for name, t in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
            if t is not None and t.shape != input_ids.shape:
                raise InvalidArgumentError(
                    f"{name} has shape {tuple(t.shape)} but input_ids has shape {tuple(input_ids.shape)}")
        x = self.embeddings(input_ids, token_type_ids)  # (B, T, H)
        mask = attention_mask_for_sdpa(attention_mask, self.config.causal, input_ids.shape[1])
        x = self.encoder(x, mask)  # (B, T, H)
        pooled = self.pooler(x) if self.pooler is not None else None  # (B, H)
        return BertOutput(last_hidden_state=x, pooler_output=pooled)

    def encode_bucketed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                        token_type_ids: torch.Tensor | None = None, max_tokens: int = 8192) -> BertOutput:
        """Inference on a padded batch with little padding work: see `bertkit.model.batching.encode_bucketed`."""
        from bertkit.model.batching import encode_bucketed

        return encode_bucketed(self, input_ids, attention_mask, token_type_ids, max_tokens=max_tokens)


# --- pre-training heads --------------------------------------------------------------------------


class BertPredictionHeadTransform(nn.Module):
    """dense -> activation -> LayerNorm, before the vocabulary projection."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = ACTIVATION_FUNCTIONS[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    """The MLM head: transform, then scores over the vocabulary with the (tied) word embedding matrix."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)  # weight tied by tie_weights()
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
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
        raise InvalidArgumentError(f"labels has shape {tuple(labels.shape)}, expected {tuple(hidden.shape[:2])}")
    selected = labels != IGNORE_INDEX  # (B, T)
    logits = predictions(hidden[selected])  # (n_masked, V)
    return logits, F.cross_entropy(logits.float(), labels[selected])


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

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                next_sentence_label: torch.Tensor | None = None) -> BertOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        out.mlm_logits, out.mlm_loss = masked_lm(self.cls.predictions, out.last_hidden_state, labels)
        out.nsp_logits = self.cls.seq_relationship(out.pooler_output)  # (B, 2)
        if next_sentence_label is not None:
            out.nsp_loss = F.cross_entropy(out.nsp_logits.float(), next_sentence_label.view(-1))
        out.loss = _sum_losses(out.mlm_loss, out.nsp_loss)
        return out


class BertForMaskedLM(BertPreTrainedModel):
    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertPreTrainingHeads(config, nsp=False)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> BertOutput:
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

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> BertOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        out.nsp_logits = self.cls.seq_relationship(out.pooler_output)  # (B, 2)
        if labels is not None:
            out.nsp_loss = out.loss = F.cross_entropy(out.nsp_logits.float(), labels.view(-1))
        return out


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
    """BERT, dropout, one linear layer: the shape the classification heads share."""

    def __init__(self, config: BertConfig, out_features: int, pooled: bool):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=pooled)
        p = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if p is None else p)
        self.classifier = nn.Linear(config.hidden_size, out_features)
        self.post_init()


class BertForSequenceClassification(_BertWithClassifier):
    """A linear classifier (or regressor) on the pooled [CLS] vector."""

    def __init__(self, config: BertConfig):
        super().__init__(config, config.num_labels, pooled=True)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> BertOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        out.logits = self.classifier(self.dropout(out.pooler_output))  # (B, num_labels)
        if labels is not None:
            out.loss = classification_loss(out.logits, labels, self.config)
        return out


class BertForMultipleChoice(_BertWithClassifier):
    """Scores each (context, choice) pair with one number from its pooled vector; softmax across choices."""

    def __init__(self, config: BertConfig):
        super().__init__(config, 1, pooled=True)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> BertOutput:
        if input_ids.dim() != 3:
            raise InvalidArgumentError(
                f"multiple choice input_ids must have shape (batch, num_choices, seq_len), got {tuple(input_ids.shape)}")
        B, C, T = input_ids.shape

        def flat(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.reshape(B * C, T)  # every choice is its own sequence

        out = self.bert(flat(input_ids), flat(attention_mask), flat(token_type_ids))
        out.logits = self.classifier(self.dropout(out.pooler_output)).view(B, C)  # (B, C)
        if labels is not None:
            out.loss = F.cross_entropy(out.logits.float(), labels)
        return out


class BertForTokenClassification(_BertWithClassifier):
    """A label per token (NER, tagging); labels of -100 (padding, continuation pieces) are ignored."""

    def __init__(self, config: BertConfig):
        super().__init__(config, config.num_labels, pooled=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> BertOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        out.logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        if labels is not None:
            out.loss = F.cross_entropy(out.logits.float().view(-1, self.config.num_labels), labels.view(-1))
        return out


class BertForQuestionAnswering(BertPreTrainedModel):
    """Extractive QA: a start and an end score for every token."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        if config.num_labels != 2:
            raise InvalidArgumentError(
                f"question answering needs num_labels=2 (start and end scores), got {config.num_labels}")
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, start_positions: torch.Tensor | None = None,
                end_positions: torch.Tensor | None = None) -> BertOutput:
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
