"""`max_minutes`: a run that ends when a budget of training time is spent, its learning rate laid out over
the fraction of the budget spent (Cramming's). Real time, budgets of about a second: the assertions hold
however loaded the machine is (they read the times the run recorded, never a stopwatch of their own)."""

import csv
import dataclasses
import itertools
import json
import math
import shutil
import subprocess
import sys
import time

import pytest
import torch

from bertkit.cli import main
from bertkit.data.prepare import prepare_corpus
from bertkit.errors import InvalidArgumentError
from bertkit.train import loop
from bertkit.train.config import PretrainConfig
from bertkit.train.finetuning import finetune
from bertkit.train.loop import pretrain
from bertkit.train.metrics import read_metrics
from bertkit.train.schedule import Schedule, time_lr_factor
from bertkit.train.state import checkpoint_dirs

from .conftest import CORPUS

BUDGET = dict(max_steps=None, warmup_steps=None, max_minutes=0.02)  # 1.2 s of training


def train_records(run_dir):
    return [r for r in read_metrics(run_dir) if r["split"] == "train"]


def assert_lr_follows_the_time_spent(records, cfg):
    """Each step's lr is the peak times the factor of the budget fraction spent when the step began: the
    training time the step before recorded (log_every=1)."""
    budget = 60 * cfg.max_minutes
    spent_before = [0.0] + [r["train_seconds"] for r in records[:-1]]
    for record, spent in zip(records, spent_before, strict=True):
        expected = cfg.lr * time_lr_factor(
            spent / budget, warmup_fraction=cfg.warmup_ratio, kind=cfg.schedule
        )
        assert record["lr"] == pytest.approx(expected, rel=1e-12, abs=1e-15), record["step"]


# --- the schedule, a pure function of the fraction spent ----------------------------------------------


def test_time_schedule_warms_up_then_decays_over_the_budget():
    assert [time_lr_factor(f, warmup_fraction=0.2) for f in (0.0, 0.1, 0.2, 0.6, 1.0, 1.5)] == pytest.approx(
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    )
    assert time_lr_factor(0.6, warmup_fraction=0.2, kind="cosine") == pytest.approx(0.5)
    assert time_lr_factor(0.0, warmup_fraction=0.0) == 1.0  # no warm-up: the peak at once
    assert time_lr_factor(0.5, warmup_fraction=1.0) == 0.5


def test_a_schedule_ends_by_steps_or_by_seconds():
    steps = Schedule("linear", max_steps=10, warmup_steps=2)
    assert (steps.ended(9, 1e9), steps.ended(10, 0.0), steps.limit) == (False, True, "max_steps")
    assert steps.factor(0, 1e9) == 0.5  # the time spent is no matter to a schedule of steps
    timed = Schedule("linear", seconds=60.0, warmup_fraction=0.5)
    assert (timed.ended(10**9, 59.9), timed.ended(1, 60.0), timed.limit) == (False, True, "max_minutes")
    assert timed.factor(10**9, 15.0) == 0.5


# --- bad settings: one line each ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings,message",
    [
        (dict(max_minutes=0), "`max_minutes` must be a positive number of minutes, got 0"),
        (dict(max_minutes=-1.5), "`max_minutes` must be a positive number of minutes, got -1.5"),
        (dict(max_minutes=math.inf), "`max_minutes` must be a positive number of minutes, got inf"),
        (
            dict(max_minutes=10, max_steps=500),
            r"`max_steps` \(500\) and `max_minutes` \(10\) both end the run",
        ),
        (dict(max_minutes=10, warmup_steps=50), "`warmup_steps` counts steps, but `max_minutes` lays"),
        (dict(max_minutes=10, warmup_ratio=1.5), "`warmup_ratio` must be between 0 and 1"),
    ],
)
def test_bad_budgets_name_the_settings(settings, message):
    with pytest.raises(InvalidArgumentError, match=message):
        PretrainConfig(data="d", tokenizer="t", out="o", **settings)


def test_cli_says_which_flags_clash(corpus, tmp_path, capsys):
    base = ["pretrain", "--data", str(corpus["data"]), "--tokenizer", str(corpus["tokenizer"])]
    base += ["--out", str(tmp_path / "run")]
    assert main([*base, "--max-minutes", "10", "--max-steps", "500"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--max-steps (500) and --max-minutes (10.0) both end the run; give one" in err
    assert main([*base, "--max-minutes", "-1"]) == 2
    assert "--max-minutes must be a positive number of minutes, got -1.0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_corpus_too_small_for_next_sentence_pairs_is_one_line(corpus, tmp_path, capsys):
    (tmp_path / "tiny.txt").write_text(
        "床前明月光，\n疑是地上霜。\n", encoding="utf-8"
    )  # 1 document, 2 lines
    prepare_corpus(
        [tmp_path / "tiny.txt"], corpus["tokenizer"], tmp_path / "data", workers=1, show_progress=False
    )
    args = ["pretrain", "--data", str(tmp_path / "data"), "--tokenizer", str(corpus["tokenizer"])]
    assert main([*args, "--out", str(tmp_path / "run"), "--max-minutes", "1", "--num-workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "bertkit: error: the corpus is a single document of fewer than 4 sentences" in err


# --- runs -----------------------------------------------------------------------------------------------


def test_the_run_ends_when_the_budget_is_spent(small_run, tmp_path, monkeypatch):
    """And evaluation is not training time: a 2 s evaluation does not spend the 1.2 s budget."""
    evaluations = []

    def slow_first_evaluation(*args, **kwargs):
        if not evaluations:
            time.sleep(2.0)
        evaluations.append(1)
        return heldout_figures(*args, **kwargs)

    heldout_figures = loop.heldout_figures
    monkeypatch.setattr(loop, "heldout_figures", slow_first_evaluation)
    cfg = small_run(tmp_path / "run", **BUDGET, warmup_ratio=0.25, eval_every=2, save_every=1000)
    final = pretrain(cfg)

    records = train_records(tmp_path / "run")
    seconds = [r["train_seconds"] for r in records]
    assert [r["step"] for r in records] == list(range(1, len(records) + 1))
    assert all(a < b for a, b in itertools.pairwise(seconds))
    assert seconds[-1] >= 1.2 > seconds[-2]  # the first step past the budget is the last
    assert seconds[2] < 2.0  # step 3 came after the 2 s evaluation at step 2, which did not count
    assert_lr_follows_the_time_spent(records, cfg)
    assert records[0]["lr"] == 0.0 and max(r["lr"] for r in records) <= cfg.lr  # warm-up from 0, then decay
    last = records[-1]["step"]
    assert [p.name for p in checkpoint_dirs(tmp_path / "run")] == [f"step-{last}"]  # saved at the end
    assert (final / "model.safetensors").exists()
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["max_minutes"] == 0.02 and run["max_steps"] is None
    assert run["ended"] == {"by": "max_minutes", "step": last, "train_seconds": seconds[-1]}


def test_resume_counts_the_time_already_spent(small_run, tmp_path):
    cfg = small_run(tmp_path / "run", **BUDGET, warmup_ratio=0.1, eval_every=0, save_every=2, keep=2)
    pretrain(cfg)
    before = train_records(tmp_path / "run")
    latest = checkpoint_dirs(tmp_path / "run")[-1]
    earlier = checkpoint_dirs(tmp_path / "run")[-2]
    shutil.rmtree(latest)  # as if the run had died after its second-last checkpoint
    shutil.rmtree(tmp_path / "run" / "final")
    spent = torch.load(earlier / "trainer.pt", weights_only=True)["train_seconds"]
    resumed_at = int(earlier.name.removeprefix("step-"))
    assert 0 < spent < 1.2

    pretrain(dataclasses.replace(cfg, resume=True))
    records = train_records(tmp_path / "run")
    assert records[:resumed_at] == before[:resumed_at]
    assert [r["step"] for r in records] == list(range(1, len(records) + 1))  # no step twice
    seconds = [r["train_seconds"] for r in records]
    assert all(a < b for a, b in itertools.pairwise(seconds))  # counting on from the checkpoint, not from 0
    assert records[resumed_at]["train_seconds"] > spent
    assert seconds[-1] >= 1.2 > seconds[-2]
    assert_lr_follows_the_time_spent(records, cfg)  # across the resume too
    assert json.loads((tmp_path / "run" / "run.json").read_text())["ended"]["by"] == "max_minutes"


def test_finetuning_takes_a_budget_too(small_run, tmp_path):
    pretrained = pretrain(small_run(tmp_path / "pre", max_steps=1, warmup_steps=0, eval_every=0))
    lines = [line for line in CORPUS.read_text(encoding="utf-8").split() if len(line) in (6, 8)][:24]
    with open(tmp_path / "train.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("text", "label"), *((t, f"{len(t) - 1} characters") for t in lines)])
    cfg = dict(
        task="classify", model=str(pretrained), train=str(tmp_path / "train.csv"), out=str(tmp_path / "cls")
    )
    finetune(**cfg, max_length=16, batch_size=8, log_every=1, epochs=1, max_minutes=0.01, warmup_ratio=0.0)
    records = train_records(tmp_path / "cls")
    assert records[-1]["train_seconds"] >= 0.6 > records[-2]["train_seconds"]
    assert len(records) > 3  # past the one epoch (3 steps) that `epochs` would have made
    assert records[0]["lr"] == 5e-5  # no warm-up: the peak at once, then the decay over the budget
    assert json.loads((tmp_path / "cls" / "run.json").read_text())["ended"]["by"] == "max_minutes"


@pytest.mark.slow  # two processes start (about 20 s on 2 busy cores)
def test_two_processes_stop_together(small_run, as_flags, subprocess_env, tmp_path):
    """Each process has its own clock; rank 0's decides for all, or one would wait forever for the other."""
    cfg = small_run(tmp_path / "ddp", **BUDGET, eval_every=0, save_every=1000)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    command += ["-m", "bertkit", "pretrain", *as_flags(cfg)]
    result = subprocess.run(command, env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "the time budget of 0.02 min is spent" in result.stdout + result.stderr
    records = train_records(tmp_path / "ddp")
    assert records[-1]["train_seconds"] >= 1.2
    assert_lr_follows_the_time_spent(records, cfg)
    run = json.loads((tmp_path / "ddp" / "run.json").read_text())
    assert run["ended"]["step"] == records[-1]["step"]
    assert (tmp_path / "ddp" / "final" / "model.safetensors").exists()
