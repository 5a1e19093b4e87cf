"""torchrun with 2 CPU processes (gloo): trains, rank 0 checkpoints, resumes, and equals one process."""

import subprocess
import sys

import pytest
import torch

from bertkit.errors import TrainingError
from bertkit.model import BertForPreTraining
from bertkit.train.loop import pretrain
from bertkit.train.metrics import read_metrics
from bertkit.train.state import checkpoint_dirs


def torchrun(args, env):
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "bertkit", "pretrain", *args], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_two_processes_match_one_process_with_the_same_global_batch(small_run, as_flags, subprocess_env,
                                                                     tmp_path):
    # Dropout off: two processes draw two mask streams where one process draws one.
    settings = dict(max_steps=8, save_every=4, keep=3, eval_every=4, dropout=0.0)
    ddp_dir = tmp_path / "ddp"
    torchrun(as_flags(small_run(ddp_dir, batch_size=4, **settings)), subprocess_env)

    records = read_metrics(ddp_dir)
    assert [(r["step"], r["split"]) for r in records if r["step"] <= 4] == [
        (1, "train"), (2, "train"), (3, "train"), (4, "train"), (4, "heldout")]  # rank 0 alone writes metrics
    assert [p.name for p in checkpoint_dirs(ddp_dir)] == ["step-4", "step-8"]
    saved = torch.load(ddp_dir / "checkpoints" / "step-4" / "trainer.pt", weights_only=True)
    assert len(saved["rng"]) == 2 and not torch.equal(saved["rng"][0]["torch"], saved["rng"][1]["torch"])
    assert saved["data"] == [{"epoch": 0, "batch_index": 4}] * 2

    # The same global batch in one process: per-process batches of 4 come out of the loader as consecutive
    # batches of the one-process stream, and accumulating 2 of them averages gradients as DDP does. Evaluation
    # reads eval_batches per process, so one process reads twice as many to cover the same held-out batches.
    single_dir = tmp_path / "single"
    pretrain(small_run(single_dir, batch_size=4, grad_accum=2, eval_batches=4, **settings))
    ddp, single = read_metrics(ddp_dir), read_metrics(single_dir)
    assert [(r["step"], r["split"]) for r in ddp] == [(r["step"], r["split"]) for r in single]
    for a, b in zip(ddp, single, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5, abs=1e-6), a["step"]
        assert a["mlm_acc"] == pytest.approx(b["mlm_acc"]) and a["nsp_acc"] == pytest.approx(b["nsp_acc"])
    ddp_weights = BertForPreTraining.from_pretrained(ddp_dir / "final").state_dict()
    for name, tensor in BertForPreTraining.from_pretrained(single_dir / "final").state_dict().items():
        torch.testing.assert_close(ddp_weights[name], tensor, rtol=1e-4, atol=1e-5, msg=name)

    # Resume the two-process run from step 4, as after a crash: steps 5-8 come out the same to the bit.
    losses = [(r["step"], r["split"], r["loss"]) for r in ddp]
    for later in (ddp_dir / "checkpoints" / "step-8", ddp_dir / "final"):
        for f in later.iterdir():
            f.unlink()
        later.rmdir()
    torchrun([*as_flags(small_run(ddp_dir, batch_size=4, **settings)), "--resume"], subprocess_env)
    assert [(r["step"], r["split"], r["loss"]) for r in read_metrics(ddp_dir)] == losses
    assert (ddp_dir / "final" / "model.safetensors").exists()

    # One process cannot take over the two processes' data shares and RNG streams.
    with pytest.raises(TrainingError, match="step-8 was written by 2 process"):
        pretrain(small_run(ddp_dir, batch_size=4, resume=True, **settings | {"max_steps": 12}))


def test_device_choice():
    from bertkit.errors import InvalidArgumentError
    from bertkit.train.distributed import pick_device, setup

    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto") == (torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu"))
    with pytest.raises(InvalidArgumentError, match="--device"):
        pick_device("tpu:banana")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidArgumentError, match="--device cuda: CUDA is not available"):
            pick_device("cuda")
    single = setup("cpu")  # no torchrun variables: one process, no process group
    assert (single.rank, single.world_size, single.is_main, single.enabled) == (0, 1, True, False)
