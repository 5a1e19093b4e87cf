"""RUN_DIR/tensorboard/: metrics.jsonl's figures as TensorBoard scalars, for a run with `report_to="tensorboard"`.

metrics.jsonl stays the record; the event files show it in TensorBoard: each record's numbers as scalars
named split/figure ("train/loss", "train/lr", "heldout/mlm_acc", "validation/f1") at its step. On resume they
are rebuilt from the records metrics.jsonl keeps (those up to the checkpoint's step), then the resumed run
goes on adding to them: a step the interrupted run logged after its last checkpoint is there once, as the
resumed run logs it again, however TensorBoard orders the event files of the two runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bertkit.errors import InvalidArgumentError

TENSORBOARD_DIR = "tensorboard"
NOT_FIGURES = {"step", "split", "epoch"}  # where a record sits, not what it measures


def require_tensorboard() -> type:
    """SummaryWriter, or one clear error naming the extra to install (every process asks before training
    starts, so a missing package stops them all alike)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise InvalidArgumentError(
            "`report_to` tensorboard needs the tensorboard package: pip install 'bertkit[tensorboard]'"
        ) from e
    return SummaryWriter


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """A record's figures as TensorBoard tags: numbers only (a None is a window of skipped steps: a gap)."""
    return {
        f"{record['split']}/{name}": value
        for name, value in record.items()
        if name not in NOT_FIGURES and isinstance(value, int | float) and not isinstance(value, bool)
    }


class TensorBoardLog:
    """Writes each record of metrics.jsonl as scalars, after those of `records` (the run so far)."""

    def __init__(self, run_dir: str | Path, records: list[dict[str, Any]]):
        summary_writer = require_tensorboard()
        log_dir = Path(run_dir) / TENSORBOARD_DIR
        for old in log_dir.glob("events.out.tfevents.*"):
            old.unlink()
        # purge_step 1: a TensorBoard already showing the interrupted run drops what it read of it.
        self._writer = summary_writer(str(log_dir), purge_step=1 if records else None)
        for record in records:
            self._add(record)
        self._writer.flush()

    def write(self, record: dict[str, Any]) -> None:
        self._add(record)
        self._writer.flush()  # as metrics.jsonl: a crash loses nothing logged

    def _add(self, record: dict[str, Any]) -> None:
        for tag, value in scalars(record).items():
            self._writer.add_scalar(tag, value, record["step"])

    def close(self) -> None:
        self._writer.close()
