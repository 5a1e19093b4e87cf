import json
import math
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from bertkit.cli import main
from bertkit.errors import CheckpointError, TrainingError
from bertkit.model import BertForPreTraining
from bertkit.train.loop import pretrain
from bertkit.train.metrics import read_metrics
from bertkit.train.state import checkpoint_dirs


def train_losses(run_dir):
    return {r["step"]: r["loss"] for r in read_metrics(run_dir) if r["split"] == "train"}


def test_cli_pretrain_from_toml_then_plot(corpus, tmp_path, capsys):
    run_dir = tmp_path / "run"
    toml = tmp_path / "run.toml"
    toml.write_text(
        f'data = "{corpus["data"]}"\ntokenizer = "{corpus["tokenizer"]}"\npreset = "tiny"\n'
        "seq_len = 32\nbatch_size = 4\nlr = 0.002\nmax_steps = 50\nwarmup_steps = 5\n"
        "eval_every = 6\neval_batches = 2\nsave_every = 6\nkeep = 2\nnum_workers = 0\n"
    )
    # flags override the file (max_steps, log_every) and fill what it lacks (out)
    assert (
        main(
            [
                "pretrain",
                "--config",
                str(toml),
                "--out",
                str(run_dir),
                "--max-steps",
                "20",
                "--log-every",
                "2",
                "--grad-accum",
                "2",
            ]
        )
        == 0
    )

    records = read_metrics(run_dir)
    train = [r for r in records if r["split"] == "train"]
    heldout = [r for r in records if r["split"] == "heldout"]
    assert [r["step"] for r in train] == list(range(2, 21, 2))
    assert [r["step"] for r in heldout] == [6, 12, 18, 20]
    for r in train:
        assert {"step", "loss", "mlm_acc", "nsp_acc", "lr", "tokens_per_s"} <= set(r)
        assert 0 <= r["mlm_acc"] <= 1 and 0 <= r["nsp_acc"] <= 1 and r["tokens_per_s"] > 0
    assert train[-1]["loss"] < train[0]["loss"] - 0.3  # it learns
    assert heldout[-1]["loss"] < heldout[0]["loss"]
    assert train[3]["lr"] == pytest.approx(
        0.002 * (1 - 2 / 15)
    )  # step 8: warm-up was steps 1-5, decay over 15
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step-18", "step-20"]
    assert json.loads((run_dir / "run.json").read_text())["grad_accum"] == 2

    final = run_dir / "final"
    assert {"config.json", "model.safetensors", "vocab.txt"} <= {p.name for p in final.iterdir()}
    model = BertForPreTraining.from_pretrained(final)
    from transformers import BertForPreTraining as HFBertForPreTraining

    hf = HFBertForPreTraining.from_pretrained(final).eval()
    ids = torch.randint(5, model.config.vocab_size, (2, 12))
    with torch.no_grad():
        assert torch.allclose(model.eval()(ids).mlm_logits, hf(ids).prediction_logits, atol=1e-5)

    capsys.readouterr()
    assert main(["plot", str(run_dir)]) == 0
    assert (run_dir / "loss.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("objective", ["mlm", "clm"])
def test_resumed_run_repeats_the_uninterrupted_one_bit_for_bit(
    objective, small_run, subprocess_env, as_flags, tmp_path
):
    """Kill a run with SIGKILL after its first checkpoint, resume it, and compare every step's loss."""
    # A background worker makes the batches, as by default: prefetching must not disturb the data position.
    settings = dict(objective=objective, max_steps=60, save_every=5, eval_every=10, num_workers=1)
    pretrain(small_run(tmp_path / "reference", **settings))

    killed = small_run(tmp_path / "killed", **settings)
    args = [sys.executable, "-m", "bertkit", "pretrain", *as_flags(killed)]
    proc = subprocess.Popen(args, env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not checkpoint_dirs(tmp_path / "killed"):  # the first complete checkpoint
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "final").exists()  # it died mid-training
    steps_before_kill = max(train_losses(tmp_path / "killed"))
    assert steps_before_kill < settings["max_steps"]

    pretrain(small_run(tmp_path / "killed", **settings, resume=True))
    assert train_losses(tmp_path / "killed") == train_losses(tmp_path / "reference")  # exact equality
    heldout = [r for r in read_metrics(tmp_path / "killed") if r["split"] == "heldout"]
    assert heldout == [r for r in read_metrics(tmp_path / "reference") if r["split"] == "heldout"]
    original = load_file(tmp_path / "reference" / "final" / "model.safetensors")
    for name, tensor in load_file(tmp_path / "killed" / "final" / "model.safetensors").items():
        assert torch.equal(tensor, original[name]), name


def _poison_step(monkeypatch, bad_call):
    """Make the loss of the `bad_call`-th forward pass NaN."""
    forward, calls = BertForPreTraining.forward, []

    def poisoned(self, *args, **kwargs):
        out = forward(self, *args, **kwargs)
        if self.training:
            calls.append(1)
            if len(calls) == bad_call:
                out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(BertForPreTraining, "forward", poisoned)


def test_nonfinite_loss_stops_naming_the_step(small_run, tmp_path, monkeypatch):
    _poison_step(monkeypatch, bad_call=3)
    with pytest.raises(TrainingError, match="the loss is nan .* at step 3; lower `lr`"):
        pretrain(small_run(tmp_path / "run", eval_every=0))
    assert [r["step"] for r in read_metrics(tmp_path / "run")] == [1, 2]


def test_skip_nonfinite_skips_the_update(small_run, tmp_path, monkeypatch):
    _poison_step(monkeypatch, bad_call=3)
    final = pretrain(small_run(tmp_path / "run", eval_every=0, skip_nonfinite=True))
    records = read_metrics(tmp_path / "run")
    assert [r["step"] for r in records] == list(range(1, 9))
    assert records[2]["skipped"] and records[2]["loss"] is None  # nothing left to average in a 1-step window
    assert not any(r.get("skipped") for r in records[3:])
    assert all(math.isfinite(r["loss"]) for r in records[3:])
    assert all(
        torch.isfinite(t).all() for t in BertForPreTraining.from_pretrained(final).state_dict().values()
    )


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:121] DefaultCPUAllocator: can't allocate memory: you tried to "
            "allocate 68719476736 bytes. Error code 12 (Cannot allocate memory)"
        ),
    ],
)
def test_out_of_memory_gives_advice(small_run, tmp_path, monkeypatch, error):
    def oom(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(BertForPreTraining, "forward", oom)
    with pytest.raises(
        TrainingError, match=r"out of memory at step 1 .*lower `batch_size` and raise `grad_accum`"
    ):
        pretrain(small_run(tmp_path / "run"))


def test_resume_needs_a_checkpoint(corpus, tmp_path, capsys):
    args = [
        "pretrain",
        "--data",
        str(corpus["data"]),
        "--tokenizer",
        str(corpus["tokenizer"]),
        "--out",
        str(tmp_path / "run"),
        "--resume",
        "--num-workers",
        "0",
    ]
    assert main(args) == 2
    assert "bertkit: error: --resume: no checkpoint to resume from" in capsys.readouterr().err


def test_a_finished_run_is_not_overwritten(small_run, tmp_path):
    pretrain(small_run(tmp_path / "run", max_steps=4, eval_every=0))
    with pytest.raises(TrainingError, match="already holds checkpoints; pass `resume`"):
        pretrain(small_run(tmp_path / "run", max_steps=4, eval_every=0))


def test_corrupt_latest_checkpoint_on_resume(small_run, tmp_path):
    pretrain(small_run(tmp_path / "run", max_steps=4, eval_every=0))
    (tmp_path / "run" / "checkpoints" / "step-4" / "trainer.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="step-4: trainer.pt is missing or corrupt"):
        pretrain(small_run(tmp_path / "run", max_steps=8, eval_every=0, resume=True))


def test_bf16_autocast_on_cpu(small_run, tmp_path):
    pretrain(small_run(tmp_path / "run", max_steps=3, eval_every=0, bf16=True))
    losses = train_losses(tmp_path / "run")
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses.values())
    assert (
        BertForPreTraining.from_pretrained(
            tmp_path / "run" / "final"
        ).bert.embeddings.word_embeddings.weight.dtype
        == torch.float32
    )  # autocast computes in bf16, the weights stay fp32


def test_lamb_run_resumes_exactly(small_run, tmp_path):
    settings = dict(optimizer="lamb", lr=2e-2, schedule="cosine", max_steps=8, save_every=4, eval_every=0)
    pretrain(small_run(tmp_path / "run", **settings))
    losses = train_losses(tmp_path / "run")
    assert losses[8] < losses[1]
    shutil.rmtree(tmp_path / "run" / "checkpoints" / "step-8")
    shutil.rmtree(tmp_path / "run" / "final")
    pretrain(small_run(tmp_path / "run", **settings, resume=True))  # from step 4, LAMB's state and all
    assert train_losses(tmp_path / "run") == losses
