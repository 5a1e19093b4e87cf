"""Saving in Hugging Face's layout: config.json + model.safetensors, the unwrapped model under transformers' names.

Takes the model instance as an argument and never imports bertkit.model, which sits above it.
"""

from __future__ import annotations

import json
import logging
import weakref
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from bertkit.checkpoint.files import CONFIG_FILE, SAFETENSORS_FILE, WEIGHT_FILES, shard_files
from bertkit.checkpoint.names import model_name, model_parameters
from bertkit.files import atomic_path, write_text_atomically

logger = logging.getLogger(__name__)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The bare model inside DistributedDataParallel / DataParallel (`.module`) and torch.compile (`._orig_mod`)."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            return model


def export_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The tensors transformers' matching class expects, under its names: one per tensor (the tied decoder
    is re-tied on load), no wrapper prefixes, contiguous and detached."""
    model = unwrap_model(model)
    return {
        model_name(canon, model).replace("_orig_mod.", ""): t.detach().contiguous()
        for canon, t in model_parameters(model).items()
    }


_WARNED: weakref.WeakSet[nn.Module] = weakref.WeakSet()


def _warn_what_transformers_cannot_load(model: nn.Module) -> None:
    """Once per model: a run saves the same model at every checkpoint, and the caveat does not change."""
    if model in _WARNED:
        return
    _WARNED.add(model)
    if model.config.position_embedding != "learned":
        logger.warning(
            "%s: %s position embeddings have no Hugging Face equivalent; this directory loads in "
            "bertkit, but transformers would initialise position embeddings afresh",
            type(model).__name__,
            model.config.position_embedding,
        )
    if hasattr(model, "mean_classifier"):
        logger.warning(
            "%s: a classifier on the tokens' mean (classifier_pooling 'mean') has no Hugging Face "
            "equivalent; this directory loads in bertkit, but transformers would initialise the classifier "
            "and pooler afresh",
            type(model).__name__,
        )


def save_pretrained(model: nn.Module, directory: str | Path, tokenizer: Any = None) -> Path:
    """Write Hugging Face's layout: config.json + model.safetensors (+ the tokenizer's files when given).

    Each file is written under a temporary name and renamed, so an interrupted save never leaves a broken file.
    """
    model = unwrap_model(model)
    _warn_what_transformers_cannot_load(model)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = export_state_dict(model)
    dtype = next(iter(state.values())).dtype
    config = model.config.to_dict() | {
        "architectures": [type(model).__name__],
        "model_type": "bert",
        "dtype": str(dtype).removeprefix("torch."),  # transformers' dtype="auto" reads this
    }
    with atomic_path(directory / SAFETENSORS_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt"})
    write_text_atomically(directory / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")
    _remove_stale_weights(directory)  # only now: a failed write must not leave the directory with no weights
    if tokenizer is not None:
        tokenizer.save_pretrained(directory)
    return directory


def _remove_stale_weights(directory: Path) -> None:
    """Weights of another layout from an earlier save would shadow or confuse the new model.safetensors."""
    for name in WEIGHT_FILES[1:]:
        path = directory / name
        if path.is_file():
            shards = shard_files(path) if name.endswith(".index.json") else []
            for stale in [*shards, path]:
                stale.unlink()
