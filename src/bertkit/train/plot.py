"""`bertkit plot RUN_DIR`: the curves of a run, training and held-out (or validation), into one PNG: whatever
figures its metrics.jsonl holds (MLM runs: loss, MLM and NSP accuracy; causal-LM runs: loss, next-token
accuracy, perplexity; fine-tuning runs: loss, accuracy, and the task's validation metrics)."""

from __future__ import annotations

import math
from pathlib import Path

from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.train.metrics import read_metrics

# What a record holds besides the objective's figures.
BOOKKEEPING = {
    "step",
    "split",
    "epoch",
    "lr",
    "grad_norm",
    "tokens_per_s",
    "tokens_seen",
    "train_seconds",
    "skipped",
}
STYLES = (("train", "-"), ("heldout", "o--"), ("validation", "o--"))


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw each figure against the step, one panel each (all accuracies in one, 0 to 1), loss first;
    returns the PNG path (default RUN_DIR/loss.png)."""
    try:  # an optional extra: training must not need a plotting library
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise InvalidArgumentError("bertkit plot needs matplotlib: pip install 'bertkit[plot]'") from e
    records = read_metrics(run_dir)
    if not records:
        raise FileFormatError(f"{Path(run_dir) / 'metrics.jsonl'}: no records to plot yet")
    out = Path(out) if out is not None else Path(run_dir) / "loss.png"

    figures = [
        k
        for k in dict.fromkeys(k for r in records for k in r)
        if k not in BOOKKEEPING and not k.endswith("examples")
    ]
    accuracies = [k for k in figures if k.endswith("_acc") or k == "accuracy"]
    panels = [[k] for k in figures if k not in accuracies]  # loss first, as the loop writes it
    if accuracies:
        panels.insert(1, accuracies)
    splits = [  # the splits the run has: no held-out curves when evaluation was off
        (split, style, rows)
        for split, style in STYLES
        if (rows := [r for r in records if r.get("split", "train") == split])
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, names in zip(axes[0], panels, strict=True):
        for split, style, rows in splits:
            for name in names:  # None is a window of skipped steps: a gap
                if not any(name in r for r in rows):
                    continue  # a figure of the other split only (a task metric of validation)
                values = [math.nan if r.get(name) is None else r[name] for r in rows]
                ax.plot([r["step"] for r in rows], values, style, label=f"{split} {name}")
        is_accuracy = names is accuracies
        ax.set(
            xlabel="step", title="accuracy" if is_accuracy else names[0], ylim=(0, 1) if is_accuracy else None
        )
        if names == ["perplexity"]:
            ax.set_yscale("log")  # it falls by orders of magnitude early on
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(Path(run_dir).name)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
