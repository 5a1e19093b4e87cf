"""Loading a model and its tokenizer for inference: one Hugging Face-layout directory, in eval mode, in the
precision asked for (`dtype`: float32, bfloat16, int8 or auto; bertkit.precision resolves auto)."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.ao.nn.quantized import dynamic as quantized

from bertkit.checkpoint.load import load_pretrained, read_config
from bertkit.errors import InvalidArgumentError
from bertkit.hub import resolve_pretrained
from bertkit.model import BertForMaskedLM, BertLMHeadModel, BertModel, BertPreTrainedModel
from bertkit.precision import inference_dtype, int8_accumulates_in_int32
from bertkit.tokenizer import WordPieceTokenizer

NO_CAUSAL_HEAD = "has no causal language-model head; train one with `bertkit pretrain --objective clm`"


class Int8Linear(quantized.Linear):
    """torch's dynamically quantized linear layer (int8 weights per output channel, each input quantized as it
    comes), with one quantization scale per token instead of one per input.

    torch quantizes a whole input with one scale, so a token whose values are small next to another token's
    outliers keeps only a few levels. Dividing each token by its largest magnitude first, and multiplying its
    output back (a linear map commutes with the scale; the bias is added afterwards, in float), gives every
    token the whole range through the same kernel. Inputs keep 8 bits where the CPU sums int8 products in
    int32 (VNNI, AMX), 7 where AVX2's int16 pair sums would saturate on tokens that fill the range
    (precision.int8_accumulates_in_int32). docs/benchmarks.md has what each choice measured."""

    reduce_range = True

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> Int8Linear:
        layer = super().from_float(mod, use_precomputed_fake_quant)
        weight, bias = layer._weight_bias()
        layer.set_weight_bias(weight, None)
        layer.float_bias = None if bias is None else bias.detach().float()
        layer.reduce_range = not int8_accumulates_in_int32()
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        packed = self._packed_params._packed_params
        if x.numel() == x.shape[-1]:  # one token (a generation step): its own range already, skip the scaling
            y = torch.ops.quantized.linear_dynamic(x.float(), packed, reduce_range=self.reduce_range)
        else:
            scale = x.detach().abs().amax(dim=-1, keepdim=True).float().clamp_min(1e-12)  # (..., 1) per token
            y = torch.ops.quantized.linear_dynamic(x.float() / scale, packed, reduce_range=self.reduce_range)
            y = y * scale
        if self.float_bias is not None:
            y = y + self.float_bias
        return y.to(x.dtype)


def with_dtype(model: BertPreTrainedModel, dtype: str) -> BertPreTrainedModel:
    """`model`, converted in place to `dtype` for inference: bfloat16 casts its weights (transformers'
    `torch_dtype`), int8 swaps every linear layer for an Int8Linear (the tied MLM decoder gets its own int8
    copy; embeddings and LayerNorms stay fp32). float32 leaves it as it is."""
    dtype = inference_dtype(dtype, next(model.parameters()).device)
    if dtype == "bfloat16":
        model.to(torch.bfloat16)
    elif dtype == "int8":
        with warnings.catch_warnings():  # torch.ao's deprecation notices: still the CPU's int8 path in 2.13
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            torch.ao.quantization.quantize_dynamic(
                model,
                {nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig},
                mapping={nn.Linear: Int8Linear},
                inplace=True,
            )
    return model


def load_for_inference(
    directory: str | Path, model_class: type[BertPreTrainedModel] = BertForMaskedLM, dtype: str = "float32"
) -> tuple[BertPreTrainedModel, WordPieceTokenizer]:
    """The model (eval mode) and the tokenizer saved together in `directory` (e.g. a run's `final/`, or a Hub
    id: resolved once, here, for both)."""
    directory = resolve_pretrained(directory)
    model = with_dtype(model_class.from_pretrained(directory).eval(), dtype)
    return model, WordPieceTokenizer.from_pretrained(directory)


def load_bare_encoder(directory: str | Path, device: str | torch.device | None = None) -> BertModel:
    """The encoder (eval mode) of any checkpoint, whatever its heads, without the pooler: token vectors and
    sentence poolings never use it, and a checkpoint without one (a causal LM, a tagger) then loads without a
    "newly initialised" warning about it."""
    return load_pretrained(functools.partial(BertModel, add_pooling_layer=False), directory, device=device)


def load_causal_lm(
    directory: str | Path, dtype: str = "float32"
) -> tuple[BertLMHeadModel, WordPieceTokenizer]:
    """load_for_inference for `recite`: the directory must hold a causal model (`is_decoder: true`)."""
    directory = resolve_pretrained(directory)
    if not read_config(directory).causal:
        raise InvalidArgumentError(f"{directory} {NO_CAUSAL_HEAD} (its config.json is not is_decoder: true)")
    return load_for_inference(directory, BertLMHeadModel, dtype)
