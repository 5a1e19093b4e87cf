"""BertModel (the bare encoder), the base class every model shares, and ModelOutput, what every model returns.

Submodules carry Hugging Face BERT's names (`embeddings`, `encoder.layer.N`, `pooler`), so a transformers
state_dict loads with `model.load_state_dict(hf_model.state_dict())`; files go through `bertkit.checkpoint`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from bertkit.checkpoint import load, save
from bertkit.config import BertConfig
from bertkit.errors import InvalidArgumentError
from bertkit.model.attention import build_attention_mask
from bertkit.model.batching import encode_bucketed
from bertkit.model.cache import KVCache
from bertkit.model.embeddings import BertEmbeddings
from bertkit.model.encoder import BertEncoder, BertPooler


@dataclass
class ModelOutput:
    """What every model returns; fields a model does not compute stay None.

    mlm_logits: (B, T, V) without labels; with MLM labels only the masked positions are scored, so it is
    (n_masked, V), row i belonging to `labels[labels != -100][i]` (row-major order over the batch).
    """

    loss: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None  # (B, T, H); (B, 1, H), [CLS] alone, with cls_only=True
    pooler_output: torch.Tensor | None = None  # (B, H)
    # Per layer (B, heads, T, T), with output_attentions=True (the last (B, heads, 1, T) with cls_only=True).
    attentions: tuple[torch.Tensor, ...] | None = None
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
        A BertModel inside (`self.bert`) initialised itself when built, so only the heads are left. A model built
        on the meta device (checkpoint.load.build_model) has no values to initialise: filling meta tensors
        costs ~40 ms a call through torch's reference kernels, seconds for a model."""
        if not next(self.parameters()).is_meta:
            for child in self.children():
                if not isinstance(child, BertModel):
                    child.apply(self._init_weights)
        self.tie_weights()

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:  # the MLM decoder's bias is `cls.predictions.bias`: zeroed here too
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                nn.init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def init_buffers(self) -> None:
        """Compute again the buffers no checkpoint holds (the sinusoidal position table), for a model whose
        memory was allocated empty (checkpoint.load.build_model)."""
        for module in self.modules():
            if isinstance(module, BertEmbeddings):
                module.init_buffers()

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
        return load.load_pretrained(cls, directory, **overrides)

    def save_pretrained(self, directory: str | Path, tokenizer=None) -> None:
        """Write Hugging Face's layout (config.json + model.safetensors, and the tokenizer when given)."""
        save.save_pretrained(self, directory, tokenizer=tokenizer)


class BertModel(BertPreTrainedModel):
    """The bare encoder: embeddings, the stack of blocks, and (optionally) the pooler."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        output_attentions: bool = False,
        position_ids: torch.Tensor | None = None,
        cache: KVCache | None = None,
        cls_only: bool = False,
    ) -> ModelOutput:
        """output_attentions: also return every layer's attention probabilities (`attentions`), computed by the
        written-out softmax(QK^T/sqrt(d_k)) instead of the fused kernel, so only when asked for.

        position_ids: (B, T) positions of the tokens (default: consecutive, after the cached ones).
        cache: a causal model's keys and values of the earlier positions (`bertkit.model.cache.KVCache`);
        input_ids are then only the new tokens and attention_mask covers the cached and new ones, (B, S).
        cls_only: compute the first position's ([CLS]'s) final vector alone, as the full pass gives it, for the
        heads that read only that (the pooler's); last_hidden_state is then (B, 1, H). The last layer skips the
        other positions' queries and feed-forward: 1.10-1.16x on MiniLM's six layers."""
        past = 0 if cache is None else cache.length
        T = input_ids.shape[-1]
        keys_shape = (*input_ids.shape[:-1], past + T)
        for name, t, shape in (
            ("attention_mask", attention_mask, keys_shape),
            ("token_type_ids", token_type_ids, input_ids.shape),
            ("position_ids", position_ids, input_ids.shape),
        ):
            if t is not None and t.shape != shape:
                raise InvalidArgumentError(f"{name} has shape {tuple(t.shape)}, expected {tuple(shape)}")
        if cls_only and cache is not None:
            raise InvalidArgumentError("`cls_only` reads the first position, [CLS]: it takes no `cache`")
        if cls_only and self.config.causal:
            # A causal model's [CLS] attends to itself alone in every layer: the other positions change nothing.
            input_ids, attention_mask, token_type_ids, position_ids = (
                None if t is None else t[..., :1]
                for t in (input_ids, attention_mask, token_type_ids, position_ids)
            )
            T = 1
        x = self.embeddings(input_ids, token_type_ids, position_ids, past)  # (B, T, H)
        if past and T > 1 and attention_mask is None:
            # Several new queries after cached keys need the triangle aligned to the end, which SDPA's
            # is_causal does not do: spell it out with an all-ones padding mask.
            attention_mask = input_ids.new_ones(keys_shape)
        mask = build_attention_mask(attention_mask, self.config.causal, T)
        x, attentions = self.encoder(x, mask, output_attentions, cache, cls_only)  # (B, T, H)
        pooled = self.pooler(x) if self.pooler is not None else None  # (B, H)
        return ModelOutput(last_hidden_state=x, pooler_output=pooled, attentions=attentions)

    def encode_bucketed(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        max_tokens: int = 8192,
    ) -> ModelOutput:
        """Inference on a padded batch with little padding work: see `bertkit.model.batching.encode_bucketed`."""
        return encode_bucketed(self, input_ids, attention_mask, token_type_ids, max_tokens=max_tokens)


def encoder_of(model: BertPreTrainedModel) -> BertModel:
    """The bare encoder of any bertkit model: a task model keeps it as `.bert`."""
    return model if isinstance(model, BertModel) else model.bert
