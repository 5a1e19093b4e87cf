"""bertkit.precision: the hardware's bf16 units detected from the CPU's flags, and one precision setting
resolved from them. The detector is forced both ways (monkeypatched flags), so each path runs on any CPU."""

import logging

import pytest
import torch

from bertkit import precision
from bertkit.errors import InvalidArgumentError
from bertkit.precision import fast_bf16, inference_dtype, training_bf16, training_precision


@pytest.fixture
def cpu(monkeypatch):
    """cpu(*flags): pretend the CPU lists `flags` in /proc/cpuinfo (and has warned about nothing yet)."""
    monkeypatch.setattr(precision, "_warned", set())
    return lambda *flags: monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))


def test_cpu_flags_are_read_from_proc_cpuinfo(monkeypatch, tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 amx_bf16 amx_tile\nbugs\t\t: spectre\n")
    monkeypatch.setattr(precision, "CPUINFO", info)
    precision.cpu_flags.cache_clear()
    try:
        assert {"avx2", "amx_bf16"} <= precision.cpu_flags() and "spectre" not in precision.cpu_flags()
        assert fast_bf16("cpu") == (True, "CPU has amx_bf16")
    finally:
        precision.cpu_flags.cache_clear()


@pytest.mark.parametrize("flags", [("amx_bf16",), ("avx512_bf16",), ("avx512f", "amx_bf16", "avx512_bf16")])
def test_a_cpu_with_bf16_units_gets_bf16_from_auto(cpu, flags):
    cpu(*flags)
    assert inference_dtype("auto", "cpu") == "bfloat16"
    assert training_precision(None, "cpu")["dtype"] == "bfloat16"


def test_a_cpu_without_them_gets_float32_from_auto(cpu):
    cpu("avx2", "avx512f")  # AVX512 alone multiplies bf16 by conversion to fp32: emulated
    assert inference_dtype("auto", "cpu") == "float32"
    record = training_precision(None, "cpu")
    assert record["dtype"] == "float32" and "emulated" in record["reason"]


def test_bf16_asked_for_where_emulated_runs_and_warns_once(cpu, caplog):
    cpu("avx2")
    with caplog.at_level(logging.WARNING, logger="bertkit.precision"):
        assert inference_dtype("bfloat16", "cpu") == "bfloat16"
        assert training_precision(True, "cpu")["dtype"] == "bfloat16"
    warnings = [r for r in caplog.records if "emulated" in r.getMessage()]
    assert len(warnings) == 1 and "slower than float32" in warnings[0].getMessage()


def test_bf16_where_fast_does_not_warn(cpu, caplog):
    cpu("amx_bf16")
    with caplog.at_level(logging.WARNING, logger="bertkit.precision"):
        inference_dtype("bfloat16", "cpu")
    assert not caplog.records


def test_explicit_settings_win_over_the_hardware(cpu):
    cpu("amx_bf16")
    assert inference_dtype("float32", "cpu") == "float32"
    assert inference_dtype("int8", "cpu") == "int8"
    assert training_precision(False, "cpu") == {
        "dtype": "float32",
        "reason": "bf16 = False (CPU has amx_bf16)",
    }


def test_training_settings_from_a_dtype():
    assert [training_bf16(d) for d in ("auto", "float32", "bfloat16")] == [None, False, True]
    with pytest.raises(InvalidArgumentError, match="`dtype` int8 is for inference only"):
        training_bf16("int8")


@pytest.mark.parametrize("bad", ["fp16", "float", None, "BF16"])
def test_an_unknown_dtype_is_one_clear_error(bad):
    with pytest.raises(InvalidArgumentError, match="`dtype` must be one of auto, float32, bfloat16, int8"):
        inference_dtype(bad, "cpu")


def test_int8_is_for_the_cpu():
    with pytest.raises(InvalidArgumentError, match="int8 .* runs on the CPU only"):
        inference_dtype("int8", torch.device("cuda", 0))
