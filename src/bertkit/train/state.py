"""Checkpoints of a run: what it takes to continue exactly where it stopped, written so a crash cannot break them.

RUN_DIR/checkpoints/step-N/ holds
  config.json         the model, in Hugging Face's layout (so every checkpoint also loads as a model:
  model.safetensors   `BertForPreTraining.from_pretrained(step_dir)`, transformers alike)
  trainer.pt          TrainState: step, training time, optimizer, RNG states and data position of every process,
                      all tensors and plain numbers, so `torch.load(weights_only=True)` reads it (no unpickling)
A checkpoint is written into a temporary directory (`step-N.tmp`) and renamed into place, so `step-N` either exists
complete or not at all; the newest `keep` are kept.
"""

from __future__ import annotations

import errno
import os
import random
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bertkit.checkpoint.files import WeightReader
from bertkit.checkpoint.load import load_weights
from bertkit.errors import CheckpointError, FileFormatError, TrainingError
from bertkit.files import TMP_SUFFIX, atomic_path

_STEP_DIR = re.compile(r"step-(\d+)")


@dataclass
class TrainState:
    """The resumable state of a run, apart from the model weights (kept in their own file, see STYLE.md #12).

    `data` and `rng` hold one entry per process: each rank reads its own share of the data and draws its own
    dropout masks, so each must get its own back for the resumed run to repeat the uninterrupted one.
    """

    step: int = 0  # optimizer updates done
    tokens_seen: int = 0  # non-padding tokens, all processes
    # Seconds of training (rank 0's clock; evaluation and checkpoints excluded): what a time budget counts.
    # The learning rate is a function of the step or of these seconds, so it needs no state of its own.
    train_seconds: float = 0.0
    optimizer: dict[str, Any] = field(default_factory=dict)
    data: list[dict[str, Any]] = field(default_factory=list)
    rng: list[dict[str, Any]] = field(default_factory=list)


# --- random number generators --------------------------------------------------------------------


def capture_rng() -> dict[str, Any]:
    """Python, numpy, torch (and CUDA) generator states as tensors and numbers (weights_only-loadable)."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(state: dict[str, Any]) -> None:
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(py["internal"].tolist()), py["gauss"]))
    np.random.set_state(
        (npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"], npy["cached"])
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --- writing -------------------------------------------------------------------------------------


def checkpoint_dirs(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _STEP_DIR.fullmatch(p.name))
    ]
    return [p for _, p in sorted(found)]


def save_checkpoint(run_dir: str | Path, model: nn.Module, state: TrainState, keep: int) -> Path:
    """Write checkpoints/step-N atomically, then delete all but the newest `keep`. Returns the new directory.

    On any failure (disk full, above all) the temporary directory is removed and the previous checkpoints are
    untouched, so resuming still works once the cause is fixed.
    """
    root = Path(run_dir) / "checkpoints"
    final = root / f"step-{state.step}"
    root.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(final) as tmp:  # a repeated save of the same step replaces it whole
            tmp.mkdir()
            model.save_pretrained(tmp)
            torch.save(asdict(state), tmp / "trainer.pt")
            _fsync_tree(tmp)
    except OSError as e:
        previous = checkpoint_dirs(run_dir)
        kept = (
            f"the previous checkpoint {previous[-1]} is intact"
            if previous
            else "no earlier checkpoint exists"
        )
        reason = "the disk is full" if e.errno == errno.ENOSPC else str(e)
        raise TrainingError(
            f"could not write checkpoint {final}: {reason}; {kept}. "
            "Free some space (or lower `keep`) and continue with `resume`"
        ) from e
    for old in checkpoint_dirs(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _fsync_tree(directory: Path) -> None:
    """Make the files durable before the rename publishes them (a power cut must not leave empty files)."""
    for path in directory.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def remove_partial_checkpoints(run_dir: str | Path) -> None:
    """Delete temporary directories a killed run left behind."""
    root = Path(run_dir) / "checkpoints"
    if root.is_dir():
        for path in root.glob(f"*{TMP_SUFFIX}"):
            shutil.rmtree(path, ignore_errors=True)


# --- reading -------------------------------------------------------------------------------------


def latest_checkpoint(run_dir: str | Path) -> Path:
    """The newest complete checkpoint; a TrainingError if the run has none."""
    found = checkpoint_dirs(run_dir)
    if not found:
        raise TrainingError(
            f"`resume`: no checkpoint to resume from in {Path(run_dir) / 'checkpoints'}; "
            "start without `resume` (or point `out` at the run to continue)"
        )
    return found[-1]


def load_checkpoint(path: str | Path, model: nn.Module) -> TrainState:
    """Load the weights into `model` (unwrapped; its parameters stay the ones the optimizer holds) and return
    the rest of the state; CheckpointError if anything is missing, corrupt or of another model size."""
    path = Path(path)
    try:
        with WeightReader(path) as reader:
            info = load_weights(model, reader, source=path)
    except (FileFormatError, CheckpointError) as e:
        raise CheckpointError(
            f"{path}: cannot load the model weights: {e}; "
            f"delete {path} to resume from the checkpoint before it"
        ) from e
    if info.newly_initialised or info.unused:
        raise CheckpointError(
            f"{path}: the weights do not match this model (missing {info.newly_initialised}, "
            f"unexpected {info.unused}); was the run started with another `preset` or `objective`?"
        )
    try:
        raw = torch.load(path / "trainer.pt", map_location="cpu", weights_only=True)
        raw.pop("scheduler", None)  # older checkpoints: a LambdaLR's counter, the same as `step`
        return TrainState(**raw)
    except Exception as e:  # torch.load raises many types for a truncated or foreign file
        raise CheckpointError(
            f"{path}: trainer.pt is missing or corrupt ({type(e).__name__}: {e}); "
            f"delete {path} to resume from the checkpoint before it"
        ) from e
