"""`bertkit plot RUN_DIR`: loss and accuracy curves of a run, training and held-out, into one PNG."""

from __future__ import annotations

from pathlib import Path

from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.train.metrics import read_metrics


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw loss (left) and MLM/NSP accuracy (right) against step; returns the PNG path (default RUN_DIR/loss.png)."""
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

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for split, style in (("train", "-"), ("heldout", "o--")):
        rows = [r for r in records if r.get("split", "train") == split]
        if not rows:
            continue
        steps = [r["step"] for r in rows]
        ax_loss.plot(steps, [r["loss"] for r in rows], style, label=f"{split} loss")
        ax_acc.plot(steps, [r["mlm_acc"] for r in rows], style, label=f"{split} MLM accuracy")
        ax_acc.plot(steps, [r["nsp_acc"] for r in rows], style, label=f"{split} NSP accuracy")
    ax_loss.set(xlabel="step", ylabel="loss (MLM + NSP)", title=f"{Path(run_dir).name}: loss")
    ax_acc.set(xlabel="step", ylabel="accuracy", ylim=(0, 1), title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
