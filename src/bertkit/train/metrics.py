"""RUN_DIR/metrics.jsonl: one JSON object a line, appended and flushed as training goes, so a crash loses nothing.

Training records: {"step", "split": "train", the objective's figures ("loss", "mlm_acc", ...), "lr",
"tokens_per_s", "train_seconds" (training time so far, what a time budget counts), ...}; evaluation records: {"step", "split": "heldout", the objective's figures}, or for
fine-tuning {"step", "split": "validation", "epoch", the task's metrics}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bertkit.errors import FileFormatError
from bertkit.files import write_text_atomically
from bertkit.train.tensorboard import TensorBoardLog

METRICS_FILE = "metrics.jsonl"


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every record of a run, in order. A torn last line (killed mid-write) is ignored, any other bad line is not."""
    path = Path(run_dir) / METRICS_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as e:
        raise FileFormatError(
            f"{path}: no metrics file (is {run_dir} a `bertkit pretrain` or `finetune` run directory?)"
        ) from e
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            if number == len(lines):
                break
            raise FileFormatError(f"{path}:{number}: not a JSON object ({e})") from e
    return records


def training_seconds(records: list[dict[str, Any]]) -> list[float]:
    """Training time up to and including each record: every training record adds its logging window, the tokens
    since the previous one over its tokens/s; evaluation records add nothing (the loop does not time its pauses)."""
    elapsed, seconds, tokens = [], 0.0, 0
    for r in records:
        if r["split"] == "train":
            seconds += (r["tokens_seen"] - tokens) / r["tokens_per_s"]
            tokens = r["tokens_seen"]
        elapsed.append(seconds)
    return elapsed


class MetricsLog:
    """Appends records to metrics.jsonl, and with `tensorboard` the same figures to TensorBoard event files
    (tensorboard.py). On resume, records after the checkpoint's step are dropped first: the resumed run
    writes those steps again, and the file must read like one uninterrupted run."""

    def __init__(self, run_dir: str | Path, resume_step: int | None = None, tensorboard: bool = False):
        self.path = Path(run_dir) / METRICS_FILE
        kept = []
        if resume_step is not None and self.path.exists():
            kept = [r for r in read_metrics(run_dir) if r["step"] <= resume_step]
            write_text_atomically(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        elif resume_step is None:
            self.path.unlink(missing_ok=True)
        self._board = TensorBoardLog(run_dir, kept) if tensorboard else None
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (lives as long as the run)

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._board is not None:
            self._board.write(record)

    def close(self) -> None:
        self._file.close()
        if self._board is not None:
            self._board.close()
