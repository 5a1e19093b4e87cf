"""`bertkit finetune`, `bertkit evaluate`, `bertkit predict`, and a fine-tuning run killed with SIGKILL and resumed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from bertkit.cli import main
from bertkit.train.metrics import read_metrics
from bertkit.train.state import checkpoint_dirs


def flags(fields: dict) -> list[str]:
    out = []
    for name, value in fields.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + flag[2:])
        elif value is not None:
            out += [flag, str(value)]
    return out


@pytest.mark.parametrize("task", ["classify", "tag"])
def test_finetune_evaluate_predict_from_the_command_line(task, files, settings, tmp_path, capsys):
    paths = files(task)
    assert main(["finetune", *flags(settings(task, paths, tmp_path / "run", max_steps=3))]) == 0
    final = tmp_path / "run" / "final"
    assert capsys.readouterr().out.strip().endswith(f"{final}: the fine-tuned model")

    reading = ["--model", str(final), "--task", task, "--max-length", "32"]
    assert main(["evaluate", *reading, "--data", str(paths["validation"]), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["examples"] == 12 and ("mcc" in metrics if task == "classify" else "f1" in metrics)
    last = [r for r in read_metrics(tmp_path / "run") if r["split"] == "validation"][-1]
    assert metrics["accuracy"] == pytest.approx(last["accuracy"])

    out = tmp_path / "preds.jsonl"
    assert main(["predict", *reading, "--input", str(paths["validation"]), "--output", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: 12 predictions"
    assert len(out.read_text().splitlines()) == 12

    assert main(["plot", str(tmp_path / "run")]) == 0  # training and validation curves
    assert (tmp_path / "run" / "loss.png").stat().st_size > 0


def test_cli_errors_are_one_line_with_flag_names(files, settings, tmp_path, capsys):
    paths = files("classify")
    assert main(["finetune", *flags(settings("classify", paths, tmp_path / "run", max_steps=1))]) == 0
    capsys.readouterr()
    args = settings("tag", files("tag"), tmp_path / "tag", model=str(tmp_path / "run" / "final"))
    assert main(["finetune", *flags(args)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bertkit: error: ") and "\n" not in err
    assert "holds a `classify` head, not a `tag` one; pass --reinit-head to train a new tag head" in err

    assert main(["finetune", *flags(settings("classify", paths, tmp_path / "x", warmup_ratio=2.0))]) == 2
    assert "--warmup-ratio must be between 0 and 1" in capsys.readouterr().err
    assert main(["finetune", *flags(settings("classify", paths, tmp_path / "x", pooling="max"))]) == 2
    assert "--pooling must be one of cls, mean, got 'max'" in capsys.readouterr().err

    final = tmp_path / "run" / "final"
    assert main(["evaluate", "--model", str(final), "--task", "qa", "--data", str(paths["validation"])]) == 2
    assert "holds a `classify` head, not a `qa` one" in capsys.readouterr().err


@pytest.mark.slow
def test_a_killed_run_resumes_with_the_same_losses(files, settings, tmp_path):
    """SIGKILL after the first checkpoint, --resume, and every step's loss, every validation and the final
    weights equal the uninterrupted run's."""
    paths = files("classify", n_train=64)
    common = dict(epochs=10, save_every=5, keep=2)  # 8 steps an epoch, 80 in all
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def run(out, *extra):
        args = [
            sys.executable,
            "-m",
            "bertkit",
            "finetune",
            *flags(settings("classify", paths, out, **common)),
            *extra,
        ]
        return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    reference = run(tmp_path / "reference")
    killed = run(tmp_path / "killed")
    deadline = time.monotonic() + 120
    while not checkpoint_dirs(tmp_path / "killed"):
        assert killed.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert reference.wait(timeout=300) == 0, reference.stderr.read()[-2000:]
    assert not (tmp_path / "killed" / "final").exists()

    resumed = run(tmp_path / "killed", "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()[-2000:]
    records, expected = read_metrics(tmp_path / "killed"), read_metrics(tmp_path / "reference")
    assert [(r["step"], r["split"], r.get("loss"), r.get("accuracy")) for r in records] == [
        (r["step"], r["split"], r.get("loss"), r.get("accuracy")) for r in expected
    ]
    original = load_file(tmp_path / "reference" / "final" / "model.safetensors")
    for name, tensor in load_file(tmp_path / "killed" / "final" / "model.safetensors").items():
        assert torch.equal(tensor, original[name]), name
