"""`report_to="tensorboard"`: metrics.jsonl's figures as TensorBoard event files, read back with TensorBoard's
own readers; a resumed run leaves each step in them once."""

import csv
import dataclasses
import shutil
import sys
from collections import Counter

import pytest
from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from bertkit.cli import main
from bertkit.errors import InvalidArgumentError
from bertkit.train.finetuning import finetune
from bertkit.train.loop import pretrain
from bertkit.train.metrics import read_metrics
from bertkit.train.tensorboard import require_tensorboard

from .conftest import CORPUS

PRETRAIN_TAGS = {
    *(f"train/{name}" for name in ("loss", "mlm_acc", "nsp_acc", "lr", "grad_norm", "tokens_per_s")),
    *(f"train/{name}" for name in ("tokens_seen", "train_seconds")),
    *(f"heldout/{name}" for name in ("loss", "mlm_acc", "nsp_acc")),
}


def tensorboard_scalars(run_dir) -> dict[str, dict[int, float]]:
    """{tag: {step: value}} as TensorBoard shows the run."""
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={SCALARS: 0})  # 0: keep every one
    events.Reload()
    shown = {}
    for tag in events.Tags()["scalars"]:
        steps = [e.step for e in events.Scalars(tag)]
        assert len(steps) == len(set(steps)), f"{tag}: a step shown twice"
        shown[tag] = {e.step: e.value for e in events.Scalars(tag)}
    return shown


def written_steps(run_dir) -> Counter:
    """(tag, step) of every scalar event in the event files, however TensorBoard would show them."""
    written = Counter()
    for path in (run_dir / "tensorboard").glob("events.out.tfevents.*"):
        for event in EventFileLoader(str(path)).Load():
            written.update((value.tag, event.step) for value in event.summary.value)
    return written


def assert_same_figures(run_dir) -> None:
    """Every number of every metrics.jsonl record is in TensorBoard at its step (as a float32), and nothing else."""
    shown = tensorboard_scalars(run_dir)
    expected = {}
    for record in read_metrics(run_dir):
        for name, value in record.items():
            if name not in ("step", "split", "epoch") and isinstance(value, int | float):
                expected.setdefault(f"{record['split']}/{name}", {})[record["step"]] = value
    assert shown.keys() == expected.keys()
    for tag, values in expected.items():
        assert shown[tag].keys() == values.keys(), tag
        for step, value in values.items():
            assert shown[tag][step] == pytest.approx(value, rel=1e-6), (tag, step)


def test_pretraining_and_finetuning_figures_in_tensorboard(small_run, tmp_path):
    pretrained = pretrain(small_run(tmp_path / "pre", report_to="tensorboard"))
    assert set(tensorboard_scalars(tmp_path / "pre")) == PRETRAIN_TAGS
    assert_same_figures(tmp_path / "pre")

    lines = [line for line in CORPUS.read_text(encoding="utf-8").split() if len(line) in (6, 8)][:48]
    for name, rows in (("train", lines[:32]), ("validation", lines[32:])):
        with open(tmp_path / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([("text", "label"), *((t, f"{len(t) - 1} characters") for t in rows)])
    settings = dict(task="classify", model=str(pretrained), max_length=16, batch_size=8, log_every=2)
    files = dict(train=str(tmp_path / "train.csv"), validation=str(tmp_path / "validation.csv"))
    finetune(**settings, **files, epochs=2, out=str(tmp_path / "cls"), report_to="tensorboard")
    shown = tensorboard_scalars(tmp_path / "cls")
    assert {"train/loss", "train/accuracy", "train/lr", "validation/accuracy", "validation/mcc"} <= set(shown)
    assert sorted(shown["validation/accuracy"]) == [4, 8]  # each epoch's end
    assert_same_figures(tmp_path / "cls")


def test_resume_leaves_each_step_once(small_run, tmp_path):
    cfg = small_run(tmp_path / "run", report_to="tensorboard", eval_every=0, save_every=4)
    pretrain(cfg)
    assert max(written_steps(tmp_path / "run").values()) == 1
    shutil.rmtree(
        tmp_path / "run" / "checkpoints" / "step-8"
    )  # as if it had died after its step-4 checkpoint
    shutil.rmtree(tmp_path / "run" / "final")
    # Another learning rate from step 5: figures the first run logged there are not the ones to show.
    before = {r["step"]: r for r in read_metrics(tmp_path / "run")}
    pretrain(dataclasses.replace(cfg, resume=True, lr=5e-4))
    after = {r["step"]: r for r in read_metrics(tmp_path / "run")}
    assert [after[s]["lr"] == before[s]["lr"] for s in range(1, 9)] == [True] * 4 + [False] * 4

    written = written_steps(tmp_path / "run")
    assert max(written.values()) == 1  # not written twice, not merely hidden
    assert sorted(step for tag, step in written if tag == "train/loss") == list(range(1, 9))
    assert_same_figures(tmp_path / "run")  # the resumed run's figures from step 5


def test_without_report_to_no_event_files(small_run, tmp_path):
    pretrain(small_run(tmp_path / "run", max_steps=2, eval_every=0, report_to="none"))
    assert (tmp_path / "run" / "metrics.jsonl").exists()
    assert not (tmp_path / "run" / "tensorboard").exists()


@pytest.mark.parametrize("command", ["pretrain", "finetune"])
def test_unknown_report_to_is_one_line(command, corpus, tmp_path, capsys):
    needed = {
        "pretrain": ["--data", str(corpus["data"]), "--tokenizer", str(corpus["tokenizer"])],
        "finetune": ["--task", "classify", "--model", str(corpus["tokenizer"]), "--train", "t.csv"],
    }
    args = [command, *needed[command], "--out", str(tmp_path / "run"), "--report-to", "wandb"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == "bertkit: error: --report-to must be one of none, tensorboard, got 'wandb'\n"


def test_missing_tensorboard_names_the_extra(corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(
        sys.modules, "torch.utils.tensorboard", None
    )  # what `import` finds when not installed
    with pytest.raises(InvalidArgumentError, match=r"pip install 'bertkit\[tensorboard\]'"):
        require_tensorboard()
    args = ["pretrain", "--data", str(corpus["data"]), "--tokenizer", str(corpus["tokenizer"])]
    assert main([*args, "--out", str(tmp_path / "run"), "--report-to", "tensorboard"]) == 2
    assert "--report-to tensorboard needs the tensorboard package" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # stopped before training started
