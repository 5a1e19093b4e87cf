"""Draws the demo's time-to-quality curves from the JSON lines `time_to_accuracy.py --curve N` prints: training
seconds against the famous lines filled in, the couplets told apart, and Li Bai's poems recited, one line per
recipe and seed.

    .venv/bin/python benchmarks/time_to_accuracy.py --curve 2000 > after.jsonl   # and --recipe before
    .venv/bin/python scripts/plot_time_to_quality.py after.jsonl before.jsonl --out docs/images/time_to_quality.png
"""

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = [
    ("cloze", lambda p: p["whole"] + p["fragment"], "famous lines right (whole + fragment, of 24)"),
    ("cloze", lambda p: 100 * p["couplets"], "couplets: true next line ranked first (%)"),
    ("lm", lambda p: int(p["李白"].split("/")[0]), "Li Bai's poems recited exactly (of 25)"),
]


def read_runs(paths: list[Path]) -> list[dict]:
    """Every result line with a curve (other lines, such as the torch header, are skipped)."""
    lines = (line for path in paths for line in path.read_text(encoding="utf-8").splitlines())
    runs = [json.loads(line) for line in lines if line.startswith("{")]
    return [r for r in runs if any("curve" in r.get(model, {}) for model in ("cloze", "lm"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("time_to_quality.png"))
    args = parser.parse_args()
    runs = read_runs(args.results)
    if not runs:
        raise SystemExit(f"{', '.join(map(str, args.results))}: no results with a curve (run with --curve N)")
    fig, axes = plt.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 4))
    for ax, (model, value, label) in zip(axes, PANELS, strict=True):
        for run in runs:
            curve = run.get(model, {}).get("curve")
            if curve:
                points = [(0, 0)] + [(p["train_seconds"], value(p)) for p in curve]
                ax.plot(*zip(*points, strict=True), marker="o", label=f"{run['recipe']}, seed {run['seed']}")
        ax.set_xlabel("training seconds")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title("cloze model: fill-mask")
    axes[1].set_title("cloze model: next sentence")
    axes[2].set_title("poem language model: recitation")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
