"""BertConfig: the shape of a BERT network, with Hugging Face's config.json field names, and the presets."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch.nn.functional as F

from bertkit.checks import check_choice, check_int, check_probability
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import read_settings, write_text_atomically

# The hidden_act names config.json may hold and the function each one means. Defined here, below the model, so
# the config validates against the very table the model's layers look functions up in.
ACTIVATIONS = {
    "gelu": F.gelu,  # exact erf GELU, as in Google's BERT
    "gelu_new": partial(F.gelu, approximate="tanh"),
    "gelu_pytorch_tanh": partial(F.gelu, approximate="tanh"),
    "relu": F.relu,
}
POSITION_EMBEDDINGS = ("learned", "sinusoidal")
PROBLEM_TYPES = (None, "single_label_classification", "multi_label_classification", "regression")
# What a sequence head (classification, multiple choice) classifies: the pooler on [CLS] (BERT's, Hugging
# Face's), or the mean of the last hidden states over the real tokens (no pooler). A model pre-trained by the
# masked LM alone never trains [CLS] or the pooler: docs/finetuning.md#pooling.
CLASSIFIER_POOLINGS = ("cls", "mean")

# Google's BERT release (github.com/google-research/bert): (layers, hidden, heads); FFN is 4x hidden.
PRESETS: dict[str, tuple[int, int, int]] = {
    "tiny": (2, 128, 2),
    "mini": (4, 256, 4),
    "small": (4, 512, 8),
    "medium": (8, 512, 8),
    "base": (12, 768, 12),
    "large": (24, 1024, 16),
}

# Keys Hugging Face writes that describe its own machinery, not the network; read and dropped.
_HF_BOOKKEEPING = {"transformers_version", "architectures", "model_type", "torch_dtype", "dtype", "use_cache"}


@dataclass
class BertConfig:
    """Everything needed to build a BERT network. Field names are Hugging Face's, so config.json maps 1:1."""

    # The encoder (defaults are bert-base-uncased).
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"  # "gelu" is the exact erf form BERT uses; "gelu_new" the tanh approximation
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    # Regularisation and initialisation.
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    initializer_range: float = 0.02

    # Task heads: classifier_dropout None means hidden_dropout_prob; id2label, when given, fixes num_labels.
    classifier_dropout: float | None = None
    num_labels: int = 2
    id2label: dict[int, str] | None = None
    label2id: dict[str, int] | None = None
    problem_type: str | None = None

    # bertkit's own switches (not in Hugging Face's BERT).
    position_embedding: str = "learned"  # or "sinusoidal": the vanilla Transformer's fixed table
    causal: bool = False  # left-context only: a BERT-shaped causal language model
    gradient_checkpointing: bool = False  # recompute each block in backward: less memory, ~30% more time
    classifier_pooling: str = "cls"  # CLASSIFIER_POOLINGS; written to config.json only when "mean"

    # Unknown keys from a config.json, written back unchanged so nothing a user stored is lost.
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
            "num_labels",
        ):
            check_int(f"BertConfig.{name}", getattr(self, name))
        if self.hidden_size % self.num_attention_heads:
            raise InvalidArgumentError(
                f"BertConfig.hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads})"
            )
        check_choice("BertConfig.hidden_act", self.hidden_act, tuple(ACTIVATIONS))
        check_choice("BertConfig.position_embedding", self.position_embedding, POSITION_EMBEDDINGS)
        check_choice("BertConfig.problem_type", self.problem_type, PROBLEM_TYPES)
        check_choice("BertConfig.classifier_pooling", self.classifier_pooling, CLASSIFIER_POOLINGS)
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            if getattr(self, name) is not None:
                check_probability(f"BertConfig.{name}", getattr(self, name))
        if self.id2label is not None:
            # JSON object keys are strings; Hugging Face stores label ids that way.
            self.id2label = {int(k): v for k, v in self.id2label.items()}
            if self.num_labels not in (2, len(self.id2label)):  # 2 is the default: not a stated count
                raise InvalidArgumentError(
                    f"BertConfig.num_labels ({self.num_labels}) disagrees with id2label ({len(self.id2label)} "
                    "labels); give one of them, or set id2label=None for a new label count"
                )
            self.num_labels = len(self.id2label)
        if self.label2id is not None:
            self.label2id = {k: int(v) for k, v in self.label2id.items()}

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> BertConfig:
        """A Google BERT release size (tiny, mini, small, medium, base, large), with any field overridden."""
        if name not in PRESETS:
            raise InvalidArgumentError(f"unknown BERT preset {name!r}; choose one of {', '.join(PRESETS)}")
        layers, hidden, heads = PRESETS[name]
        fields = dict(
            num_hidden_layers=layers,
            hidden_size=hidden,
            num_attention_heads=heads,
            intermediate_size=4 * hidden,
        )
        return cls(**(fields | overrides))

    def forward_flops_per_token(self, seq_len: int) -> int:
        """Matmul FLOPs of one encoder forward pass per token (2 per multiply-add; embeddings and heads excluded)."""
        h, f, n = self.hidden_size, self.intermediate_size, self.num_hidden_layers
        projections = 2 * (4 * h * h + 2 * h * f)  # Q, K, V, output; FFN in and out
        attention = 2 * 2 * seq_len * h  # QK^T and attention @ V
        return n * (projections + attention)

    # --- JSON round trip -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BertConfig:
        """Build from a config.json dictionary; Hugging Face bookkeeping dropped, other unknown keys kept in `extra`."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        data = dict(data)
        if data.get("model_type", "bert") != "bert":
            raise InvalidArgumentError(
                f"config model_type is {data['model_type']!r}, bertkit reads only 'bert'"
            )
        if data.get("position_embedding_type", "absolute") != "absolute":
            raise InvalidArgumentError(
                f"position_embedding_type {data['position_embedding_type']!r} is not supported (only 'absolute')"
            )
        if data.pop("is_decoder", False):
            data["causal"] = True
        if "id2label" in data:
            data["num_labels"] = len(data["id2label"])  # id2label wins, as in Hugging Face
            if data["id2label"] == _default_labels(data["num_labels"]):
                data.pop("id2label"), data.pop("label2id", None)  # generated names: num_labels says it all
        fields = {k: v for k, v in data.items() if k in known}
        extra = {
            k: v
            for k, v in data.items()
            if k not in known and k not in _HF_BOOKKEEPING and k != "position_embedding_type"
        }
        return cls(**fields, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """A config.json dictionary that Hugging Face's BertConfig reads back to the same network."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        data = self.extra | data
        data["model_type"] = "bert"
        if self.classifier_pooling == "cls":  # Hugging Face's head: its config.json as ever
            del data["classifier_pooling"]
        if self.causal:
            data["is_decoder"] = True
        # Hugging Face derives num_labels from id2label, so always write it (with generated names if none).
        id2label = self.id2label if self.id2label is not None else _default_labels(self.num_labels)
        data["id2label"] = {str(k): v for k, v in id2label.items()}
        data["label2id"] = (
            self.label2id if self.label2id is not None else {v: int(k) for k, v in id2label.items()}
        )
        return data

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path: str | Path) -> None:
        write_text_atomically(path, self.to_json_string())

    @classmethod
    def from_json_file(cls, path: str | Path) -> BertConfig:
        data = read_settings(path)
        try:
            return cls.from_dict(data)
        except (TypeError, InvalidArgumentError) as e:
            raise FileFormatError(f"{path}: {e}") from e


def _default_labels(num_labels: int) -> dict[str, str]:
    """Hugging Face's generated label names, keyed by string ids as in config.json."""
    return {str(i): f"LABEL_{i}" for i in range(num_labels)}
