"""Training precision: the `bf16` setting's automatic default follows the detected hardware (forced here both
ways), run.json records what was used, bf16 runs really compute in bf16 and resume; int8 is refused."""

import json
import math

import pytest
import torch
from torch import nn

from bertkit import precision
from bertkit.cli import main
from bertkit.train.loop import pretrain


def linear_dtypes(monkeypatch) -> set[torch.dtype]:
    """The dtypes of every linear layer's output in the runs that follow."""
    seen: set[torch.dtype] = set()
    forward = nn.Linear.forward
    monkeypatch.setattr(nn.Linear, "forward", lambda self, x: _seen(forward(self, x), seen))
    return seen


def _seen(out: torch.Tensor, seen: set) -> torch.Tensor:
    seen.add(out.dtype)
    return out


@pytest.mark.parametrize(("flags", "dtype"), [({"amx_bf16"}, torch.bfloat16), ({"avx2"}, torch.float32)])
def test_auto_trains_in_what_the_cpu_multiplies_fast(small_run, tmp_path, monkeypatch, flags, dtype):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags))
    seen = linear_dtypes(monkeypatch)
    run = tmp_path / "run"
    pretrain(small_run(run, max_steps=2, save_every=1, eval_every=0))
    recorded = json.loads((run / "run.json").read_text())["precision"]
    assert recorded["dtype"] == str(dtype).removeprefix("torch.") and recorded["reason"].startswith(
        "auto: CPU"
    )
    assert seen == {dtype}
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert losses and all(math.isfinite(v) for v in losses)
    if dtype == torch.bfloat16:  # resumes in bf16 from its fp32 weights and optimizer state
        pretrain(small_run(run, max_steps=3, save_every=1, eval_every=0, resume=True))
        assert (run / "checkpoints" / "step-3").is_dir()
        assert json.loads((run / "run.json").read_text())["precision"] == recorded


def test_int8_training_is_one_clear_error(corpus, tmp_path, capsys):
    args = ["pretrain", "--data", str(corpus["data"]), "--tokenizer", str(corpus["tokenizer"])]
    assert main([*args, "--out", str(tmp_path / "run"), "--dtype", "int8"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "bertkit: error: --dtype int8 is for inference only (quantized layers have no gradients); train in "
        "bfloat16 or float32 (or auto), then load the model with dtype int8"
    )
    assert main([*args, "--out", str(tmp_path / "run"), "--dtype", "bfloat16", "--no-bf16"]) == 2
    assert "--dtype and --bf16/--no-bf16 both set the precision" in capsys.readouterr().err
