"""The number format matrix products run in: one setting, resolved here for training and inference alike.

bf16 pays only where the hardware multiplies it natively: a GPU with bf16, a CPU with AMX (`amx_bf16`) or
AVX512-BF16. Elsewhere PyTorch emulates it with fp32 instructions plus conversions, slower than fp32 itself,
so `auto` never picks it there and asking for it explicitly warns once. The CPU is read from the kernel's
flags (`/proc/cpuinfo`), not assumed: torch's own `get_cpu_capability()` stops at "AVX512" and cannot tell
an AVX512 CPU with bf16 units from one without.

Training keeps fp32 weights and optimizer state and runs the products under `torch.autocast` (the loop owns
that); inference converts the model itself (pipelines/load.py): bf16 weights, or int8 linear layers.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import torch

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
