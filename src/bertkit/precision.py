"""The number format matrix products run in: one setting, resolved here for training and inference alike.

bf16 pays only where the hardware multiplies it natively: a GPU with bf16, a CPU with AMX (`amx_bf16`) or
AVX512-BF16. Elsewhere PyTorch emulates it with fp32 instructions plus conversions, slower than fp32 itself,
so `auto` never picks it there and asking for it explicitly warns once. The CPU is read from the kernel's
flags (`/proc/cpuinfo`), not assumed: torch's own `get_cpu_capability()` stops at "AVX512" and cannot tell
an AVX512 CPU with bf16 units from one without.

Training keeps fp32 weights and optimizer state and runs the products under `torch.autocast` (the loop owns
that); inference converts the model itself (with_dtype, called by the loaders): bf16 weights, or int8 linear
layers (Int8Linear), so that model code is written once for every precision.
"""

from __future__ import annotations

import functools
import logging
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.ao.nn.quantized import dynamic as quantized

from bertkit.checks import check_choice
from bertkit.errors import InvalidArgumentError

DTYPES = ("auto", "float32", "bfloat16", "int8")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# int8 products accumulated in int32 (VNNI, AMX): without them, AVX2 sums pairs of 8-bit products in int16.
INT8_CPU_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni")
CPUINFO = Path("/proc/cpuinfo")

logger = logging.getLogger(__name__)


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as the Linux kernel lists them (empty where there is no /proc/cpuinfo)."""
    try:
        text = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def int8_accumulates_in_int32() -> bool:
    """Whether the CPU multiplies int8 with int32 sums; else an input of all 8 bits can saturate AVX2's int16
    pair sums, and int8 layers quantize their inputs to 7 bits (torch's `reduce_range`)."""
    return any(flag in cpu_flags() for flag in INT8_CPU_FLAGS)


def fast_bf16(device: str | torch.device) -> tuple[bool, str]:
    """Whether `device` multiplies bf16 natively, and what was detected (for run.json and warnings)."""
    device = torch.device(device)
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return ok, f"GPU {torch.cuda.get_device_name(device)} {'supports' if ok else 'lacks'} bf16"
    if device.type == "cpu":
        found = [flag for flag in BF16_CPU_FLAGS if flag in cpu_flags()]
        if found:
            return True, f"CPU has {', '.join(found)}"
        capability = torch.backends.cpu.get_cpu_capability()
        return False, f"CPU ({capability}) has none of {', '.join(BF16_CPU_FLAGS)}: bf16 is emulated"
    return False, f"bf16 is not known to be fast on {device.type}"


_warned: set[str] = set()


def _warn_if_emulated(device: str | torch.device) -> None:
    """One warning per process and device type: bf16 asked for where it is emulated."""
    fast, why = fast_bf16(device)
    kind = torch.device(device).type
    if not fast and kind not in _warned:
        _warned.add(kind)
        logger.warning("bfloat16 on this %s runs emulated and slower than float32 (%s)", kind, why)


def inference_dtype(dtype: str, device: str | torch.device) -> str:
    """`dtype` ("auto", "float32", "bfloat16" or "int8") as the one a model is loaded in on `device`: auto
    is bfloat16 where it is fast, else float32 (never int8, which costs more accuracy; see docs/inference.md)."""
    check_choice("`dtype`", dtype, DTYPES)
    if dtype == "auto":
        return "bfloat16" if fast_bf16(device)[0] else "float32"
    if dtype == "bfloat16":
        _warn_if_emulated(device)
    if dtype == "int8" and torch.device(device).type != "cpu":
        raise InvalidArgumentError(
            f"`dtype` int8 (dynamically quantized linear layers) runs on the CPU only, not {device}; "
            "use bfloat16 there"
        )
    return dtype


def training_bf16(dtype: str) -> bool | None:
    """A `dtype` given to a training command as the loop's `bf16` setting (None: decided by the hardware)."""
    check_choice("`dtype`", dtype, DTYPES)
    if dtype == "int8":
        raise InvalidArgumentError(
            "`dtype` int8 is for inference only (quantized layers have no gradients); train in bfloat16 or "
            "float32 (or auto), then load the model with dtype int8"
        )
    return {"auto": None, "float32": False, "bfloat16": True}[dtype]


def training_precision(bf16: bool | None, device: str | torch.device) -> dict[str, str]:
    """What a run trains in, from its `bf16` setting (None: bf16 where the device multiplies it fast):
    {"dtype": "bfloat16" | "float32", "reason": ...}, which run.json records."""
    fast, why = fast_bf16(device)
    if bf16 is None:
        return {"dtype": "bfloat16" if fast else "float32", "reason": f"auto: {why}"}
    if bf16:
        _warn_if_emulated(device)
    return {"dtype": "bfloat16" if bf16 else "float32", "reason": f"bf16 = {bf16} ({why})"}


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


def with_dtype(model: nn.Module, dtype: str) -> nn.Module:
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
