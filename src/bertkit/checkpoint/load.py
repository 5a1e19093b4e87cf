"""Building a model for a checkpoint and loading its weights: every name and shape checked before a single
weight is copied.

Takes the model class (or instance) as an argument and never imports bertkit.model, which sits above it.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bertkit.checkpoint.checkpoint import Checkpoint, opened
from bertkit.checkpoint.files import CONFIG_FILE, WeightReader
from bertkit.checkpoint.names import PREFIX, canonical_names, head_modules, model_name, model_parameters
from bertkit.config import BertConfig
from bertkit.errors import CheckpointError, InvalidArgumentError

logger = logging.getLogger(__name__)

# Without these a model's output is meaningless, so their absence is an error rather than "newly initialised".
ENCODER_PREFIXES = ("bert.embeddings.", "bert.encoder.")


@dataclasses.dataclass
class LoadingInfo:
    """What a load did beyond a one-to-one copy, in the model's own names."""

    newly_initialised: list[str]  # in the model, not in the checkpoint: left at their fresh initialisation
    unused: list[str]  # in the checkpoint, not in the model


def read_config(
    directory: str | Path | Checkpoint, revision: str | None = None, **overrides: Any
) -> BertConfig:
    """config.json of a checkpoint (a directory, a Hub id at `revision`, or a Checkpoint), with `overrides`
    (e.g. num_labels=3) applied."""
    return Checkpoint.of(directory, revision).config_with(**overrides)


def load_pretrained(
    cls: type[nn.Module],
    directory: str | Path | Checkpoint,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    revision: str | None = None,
    **overrides: Any,
) -> nn.Module:
    """Build `cls` from a Hugging Face BERT directory (or a Hub id, at `revision`: see bertkit.hub; or a
    Checkpoint already open) and load its weights; the model is returned in eval mode.

    dtype/device: where the parameters live. They are created there without random initialisation, and each
    stored tensor becomes its parameter (cast or moved one tensor at a time where needed), so no second copy
    of the model is ever held.
    """
    with opened(directory, revision) as checkpoint:
        model = build_model(cls, checkpoint.config_with(**overrides), dtype=dtype, device=device)
        load_weights(model, checkpoint.weights, source=checkpoint.path, adopt=True)
    return model.eval()


def build_model(
    cls: type[nn.Module],
    config: BertConfig,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
) -> nn.Module:
    """`cls(config)` with uninitialised parameters, for weights about to be loaded: random initialisation of a
    base-size model takes seconds, the load a fraction of one. load_weights initialises what it does not load.

    The model is built on the meta device (shapes, no memory, no initialisation: nothing to undo, no
    process-wide setting changed), cast there, then given empty memory on `device` (`to_empty`); the buffers
    no checkpoint holds are computed again (`init_buffers`, the sinusoidal position table). `cls` builds a
    BertPreTrainedModel (its tie_weights, init_buffers and _init_weights are used)."""
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise InvalidArgumentError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    with torch.device("meta"):
        model = cls(config)
    if dtype is not None:
        model.to(dtype)  # on the meta device: the parameters are then allocated in it, nothing to cast later
    model.to_empty(device=device or "cpu")  # new Parameters: tie the MLM decoder to the embeddings again
    model.tie_weights()
    model.init_buffers()
    return model


def _initialise(model: nn.Module, names: list[str]) -> None:
    """Give parameters the checkpoint lacks the model's own initialisation (zeros first, so a parameter its
    _init_weights does not cover is never left as uninitialised memory)."""
    owners = {}
    with torch.no_grad():
        for name in names:
            path, _, leaf = name.rpartition(".")
            owner = model.get_submodule(path)
            getattr(owner, leaf).zero_()
            owners[path] = owner
        for owner in owners.values():
            model._init_weights(owner)


def load_weights(model: nn.Module, reader: WeightReader, source: Path, *, adopt: bool = False) -> LoadingInfo:
    """Copy a checkpoint's tensors into `model`, after checking every name and shape.

    adopt: let parameters take the tensors read instead of copying into them; only for a model nothing else
    refers to yet (a compiled graph or CUDA graph may hold the old storage), as from build_model.

    Parameters the checkpoint lacks (a new head) get the model's initialisation, and checkpoint tensors the
    model has no place for are skipped, each reported on one log line; missing encoder weights or a shape that
    disagrees with the config are errors.
    """
    params = model_parameters(model)
    stored = canonical_names(reader.keys())
    mismatched = [
        (c, reader.shape(stored[c]), tuple(t.shape))
        for c, t in params.items()
        if c in stored and reader.shape(stored[c]) != tuple(t.shape)
    ]
    if mismatched:
        canon, theirs, ours = mismatched[0]
        more = f" (and {len(mismatched) - 1} more)" if len(mismatched) > 1 else ""
        raise CheckpointError(
            f"{reader.file_of(stored[canon])}: {stored[canon]} has shape {theirs}, but {type(model).__name__} "
            f"built from the config ({source / CONFIG_FILE} and any overrides) has {model_name(canon, model)} "
            f"of shape {ours}{more}; the weights do not match the config"
        )
    missing = [c for c in params if c not in stored]
    broken = [c for c in missing if c.startswith(ENCODER_PREFIXES)]
    if broken:
        raise CheckpointError(
            f"{source}: the checkpoint has no {', '.join(model_name(c, model) for c in broken[:3])}"
            f"{', ...' if len(broken) > 3 else ''} ({len(broken)} encoder tensors missing); does num_hidden_layers "
            f"({model.config.num_hidden_layers}, from config.json and any overrides) match the weights?"
        )
    _initialise(model, [model_name(c, model) for c in missing])
    with torch.no_grad():
        for canon, tensor in params.items():
            if canon in stored:
                loaded = reader.get(stored[canon])
                if (
                    adopt
                    and loaded.dtype == tensor.dtype
                    and loaded.device == tensor.device
                    and loaded.is_contiguous()
                ):
                    # Take the tensor just read (a private copy-on-write mapping of the file): copying it into
                    # the parameter would touch every page twice and take seconds for a base-size model.
                    tensor.data = loaded
                else:
                    tensor.copy_(loaded)  # casts or moves as it copies
    if hasattr(model, "tie_weights"):
        model.tie_weights()
    info = LoadingInfo(
        newly_initialised=[model_name(c, model) for c in missing],
        unused=[stored[c] for c in stored if c not in params],
    )
    kind = type(model).__name__
    if info.newly_initialised:
        logger.warning(
            "%s: newly initialised (not in %s; train before use): %s",
            kind,
            source,
            ", ".join(info.newly_initialised),
        )
    # Heads this class does not have (an NSP head read into BertForMaskedLM, any head into BertModel) are left
    # out by choice: said, not warned about. Unused tensors inside modules the model has mean a mismatch.
    left_out = [stored[c] for c in stored if c not in params and _head_left_out(model, c)]
    odd = [name for name in info.unused if name not in left_out]
    if left_out:
        logger.info(
            "%s: checkpoint heads this model has no place for, not loaded: %s", kind, ", ".join(left_out)
        )
    if odd:
        logger.warning(
            "%s: checkpoint weights not used (no such parameter in this model): %s", kind, ", ".join(odd)
        )
    return info


def _head_left_out(model: nn.Module, canon: str) -> bool:
    """Whether a canonical name belongs to a head (or the pooler) that this model class does not have."""
    if canon.startswith("bert.pooler."):
        owner = "bert.pooler"
    elif canon.startswith(PREFIX):
        return False  # the encoder's own tensors: a model always has a place for them
    else:
        owner = next(iter(head_modules([canon])))
    try:
        model.get_submodule(model_name(owner, model))
    except AttributeError:
        return True
    return False
