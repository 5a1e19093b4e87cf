"""What the demo's two runs share: the vocabulary, a tiny model trained fast without dropout, and the
bookkeeping that makes an interrupted run resume."""

import os
import time
from pathlib import Path
from typing import Any

from bertkit.train.state import checkpoint_dirs


def demo_settings(out: Path, run_dir: Path, data: Path, max_steps: int, seed: int) -> dict[str, Any]:
    """PretrainConfig fields for a demo run in `run_dir` on the prepared `data`, with the vocabulary in `out`."""
    return dict(
        data=str(data),
        tokenizer=str(out / "tokenizer"),
        out=str(run_dir),
        preset="tiny",
        dropout=0.0,
        # Measured for time to quality (docs/benchmarks.md, "The demo: time to quality"): initial weights of
        # std 0.04 rather than 0.02, and Adam's beta2 0.98 (RoBERTa's), memorise the poems in fewer steps.
        initializer_range=0.04,
        beta2=0.98,
        warmup_steps=max(1, max_steps // 20),
        max_steps=max_steps,
        log_every=10,
        eval_every=0,
        save_every=max(1, max_steps // 5),
        keep=2,
        seed=seed,
        resume=bool(checkpoint_dirs(run_dir)),
        # Batches are made in the training process: a worker process would be one more busy thread on the
        # cores the products' threads wait on each other for (docs/benchmarks.md, "The demo: time to quality").
        num_workers=0,
    )


def idle_cores(window: float = 0.5) -> int:
    """The cores other processes leave free, measured over `window` seconds of /proc/stat while this process
    waits: at least 1 (every core where there is no /proc/stat).

    Torch's threads meet at a barrier after every product; on 2 cores beside one busy process, 2 threads
    spend their turns waiting for each other and trained the demo 3.9x slower than on a quiet machine, 1
    thread on the idle core 1.45x (docs/benchmarks.md). The load average would count this process's own
    last stage."""
    cores = os.cpu_count() or 1
    try:
        before = _cpu_times()
        time.sleep(window)
        after = _cpu_times()
    except (OSError, ValueError, IndexError):
        return cores
    total, idle = (a - b for a, b in zip(after, before, strict=True))
    busy = round((1 - idle / total) * cores) if total else 0
    return max(1, cores - busy)


def _cpu_times() -> tuple[int, int]:
    """(all, idle) jiffies of every CPU since boot, from the kernel's first line of /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # idle + iowait
