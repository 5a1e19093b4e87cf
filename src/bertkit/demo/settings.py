"""What the demo's two runs share: the vocabulary, a tiny model trained fast without dropout, and the
bookkeeping that makes an interrupted run resume."""

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
        warmup_steps=max(1, max_steps // 20),
        max_steps=max_steps,
        log_every=10,
        eval_every=0,
        save_every=max(1, max_steps // 5),
        keep=2,
        seed=seed,
        resume=bool(checkpoint_dirs(run_dir)),
    )
