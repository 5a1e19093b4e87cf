"""Fine-tuning under torchrun with 2 CPU processes: the same run as one process with the same global batch."""

import os
import subprocess
import sys

import pytest
import torch

from bertkit.model import BertForTokenClassification
from bertkit.train.finetuning import finetune
from bertkit.train.metrics import read_metrics
from bertkit.train.state import checkpoint_dirs

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


@pytest.mark.slow
def test_two_processes_equal_one_process_with_grad_accum(
    files, settings, pretrained_without_dropout, tmp_path
):
    # Dropout off: two processes draw two mask streams where one process draws one.
    pretrained = pretrained_without_dropout
    paths = files("tag", n_train=30, n_dev=7)  # an odd validation set: the processes' shares differ
    common = dict(model=str(pretrained), batch_size=4, epochs=2, save_every=100)

    args = []
    for name, value in settings("tag", paths, tmp_path / "ddp", **common).items():
        flag = name.replace("_", "-")
        args += (
            [f"--{flag}" if value else f"--no-{flag}"]
            if isinstance(value, bool)
            else [f"--{flag}", str(value)]
        )
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run(
        [*TORCHRUN, "-m", "bertkit", "finetune", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("newly initialised") == 1  # said once, by rank 0

    finetune(**settings("tag", paths, tmp_path / "single", grad_accum=2, **common))
    ddp, single = read_metrics(tmp_path / "ddp"), read_metrics(tmp_path / "single")
    assert [(r["step"], r["split"]) for r in ddp] == [(r["step"], r["split"]) for r in single]
    assert [r["step"] for r in ddp if r["split"] == "validation"] == [4, 8]  # 30 examples, 8 a step: 4 steps
    for a, b in zip(ddp, single, strict=True):
        for key in ("loss", "accuracy", "f1", "precision", "recall"):
            if key in a:
                assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), (a["step"], key)
    assert [p.name for p in checkpoint_dirs(tmp_path / "ddp")] == ["step-4", "step-8"]
    trained = BertForTokenClassification.from_pretrained(tmp_path / "ddp" / "final").state_dict()
    for name, tensor in (
        BertForTokenClassification.from_pretrained(tmp_path / "single" / "final").state_dict().items()
    ):
        torch.testing.assert_close(trained[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
