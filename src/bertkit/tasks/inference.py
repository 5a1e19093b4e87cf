"""Running a task model over encoded features: length-bucketed batches under torch.inference_mode.

Features are sorted by length and batched with their neighbours, so a batch is padded only to the longest
of similar lengths instead of to the longest of a random handful: on real text most of a padded batch's
work is [PAD] positions otherwise. The outputs come back in feature order, trimmed to each feature's tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np
import torch

from bertkit.model import BertPreTrainedModel
from bertkit.model.batching import length_batches
from bertkit.tasks.features import Features, collate
from bertkit.tasks.models import POOLED_TASKS

MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


def default_device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def run_model(
    model: BertPreTrainedModel,
    features: Features,
    pad_id: int,
    *,
    rows: Sequence[int] | None = None,
    batch_size: int = 64,
    autocast: torch.autocast | None = None,
) -> list[np.ndarray]:
    """The head's float32 outputs for features `rows` (default all), in that order, each trimmed to its
    feature's tokens: classify/regress (num_labels,), choice (options,), tag (T, num_labels), qa (2, T) for
    start and end. The model stays where it is; batches go to its device."""
    rows = list(range(len(features))) if rows is None else list(rows)
    lengths = features.lengths()
    device = next(model.parameters()).device
    outputs: list[np.ndarray | None] = [None] * len(rows)
    # The pooled heads read [CLS] alone: the last layer need not run for the other positions (a head on the
    # tokens' mean, classifier_pooling "mean", ignores cls_only).
    options = {"cls_only": True} if features.task in POOLED_TASKS else {}
    with torch.inference_mode(), autocast or nullcontext():
        for batch in length_batches([lengths[r] for r in rows], batch_size):
            inputs = collate([features.inputs[rows[j]] for j in batch], pad_id)
            out = model(**{k: inputs[k].to(device, non_blocking=True) for k in MODEL_INPUTS}, **options)
            for j, values in zip(batch, _per_feature(features.task, out), strict=True):
                outputs[j] = _trimmed(features.task, values, lengths[rows[j]])
    return outputs


def _per_feature(task: str, out) -> np.ndarray:
    """A batch's outputs as float32 numpy, one row per feature (qa: start and end stacked, (B, 2, T))."""
    scores = torch.stack([out.start_logits, out.end_logits], dim=1) if task == "qa" else out.logits
    return scores.float().cpu().numpy()


def _trimmed(task: str, values: np.ndarray, length: int) -> np.ndarray:
    """One feature's outputs without its padding positions."""
    if task == "tag":
        return values[:length]  # (T, L)
    if task == "qa":
        return values[:, :length]  # (2, T)
    return values
