"""`bertkit info`: a checkpoint's architecture, parameters by part and FLOPs per token, from config.json and the
weight files' headers.

The architecture is a class *name* here (Checkpoint.architecture); bertkit.model.MODEL_CLASSES turns it into
a class.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bertkit.checkpoint.checkpoint import Checkpoint, architecture_from, opened
from bertkit.checkpoint.names import canonical_names, head_modules
from bertkit.errors import CheckpointError, InvalidArgumentError


def architecture_of(checkpoint: str | Path | Checkpoint, stored_names: list[str] | None = None) -> str:
    """The Hugging Face class a checkpoint was saved from: config.json's `architectures`, else told by its
    heads (those of `stored_names` when given, else of its weights). See Checkpoint.architecture."""
    checkpoint = Checkpoint.of(checkpoint)
    if stored_names is None:
        return checkpoint.architecture
    return architecture_from(checkpoint.settings, stored_names, checkpoint.config_path)


FLOPS_FORMULA = (
    "L * (2 * (4*H*H + 2*H*I) + 4*T*H): the encoder's matmuls at sequence length T, 2 FLOPs per "
    "multiply-add (Q, K, V, output and FFN projections, then QK^T and attention x V); embeddings, "
    "pooler and heads excluded"
)
MLM_HEAD_FLOPS_FORMULA = (
    "2 * (H*H + H*V) per scored position: the MLM transform and the tied vocabulary projection"
)


def checkpoint_info(
    directory: str | Path | Checkpoint, seq_len: int | None = None, revision: str | None = None
) -> dict[str, Any]:
    """What a checkpoint (a directory, a Hub id at `revision`, or a Checkpoint) holds, read from config.json
    and the weight files' headers (no model built).

    Parameters are counted once per tensor (the tied decoder shares the word embeddings).
    """
    with opened(directory, revision) as checkpoint:
        return _info(checkpoint, seq_len)


def _info(checkpoint: Checkpoint, seq_len: int | None) -> dict[str, Any]:
    directory, config = checkpoint.path, checkpoint.config
    seq_len = seq_len or config.max_position_embeddings
    if seq_len < 1:
        raise InvalidArgumentError(f"info: seq_len must be positive, got {seq_len}")
    reader = checkpoint.weights
    stored = canonical_names(reader.keys())
    try:
        architecture = checkpoint.architecture
    except CheckpointError:  # only convert needs to know; info reports what it can
        architecture = "unknown (no 'architectures' in config.json)"
    groups: dict[str, int] = {}
    for canon, name in stored.items():
        parts = canon.split(".")
        group = parts[1] if parts[0] == "bert" else "heads"  # embeddings, encoder, pooler, heads
        groups[group] = groups.get(group, 0) + math.prod(reader.shape(name))
    dtypes = sorted({str(reader.dtype(n)).removeprefix("torch.") for n in stored.values()})
    files = [str(p.relative_to(directory)) for p in reader.files]
    fields = (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "hidden_act",
        "max_position_embeddings",
        "type_vocab_size",
        "num_labels",
        "position_embedding",
        "causal",
    )
    info = {
        "directory": str(directory),
        "architecture": architecture,
        "config": {f: getattr(config, f) for f in fields},
        "weight_files": files,
        "dtypes": dtypes,
        "num_tensors": len(stored),
        "num_parameters": sum(groups.values()),
        "parameters_by_part": groups,
        "seq_len": seq_len,
        "forward_flops_per_token": config.forward_flops_per_token(seq_len),
        "flops_formula": FLOPS_FORMULA,
    }
    if "cls.predictions" in head_modules(list(stored)):
        h, v = config.hidden_size, config.vocab_size
        info["mlm_head_flops_per_token"] = 2 * (h * h + h * v)
        info["mlm_head_flops_formula"] = MLM_HEAD_FLOPS_FORMULA
    return info


def format_info(info: dict[str, Any]) -> str:
    """checkpoint_info as a few human-readable lines."""
    c = info["config"]
    parts = ", ".join(f"{k} {v:,}" for k, v in info["parameters_by_part"].items())
    return "\n".join(
        [
            f"{info['directory']}: {info['architecture']}",
            f"  layers {c['num_hidden_layers']}, hidden {c['hidden_size']}, heads {c['num_attention_heads']}, "
            f"FFN {c['intermediate_size']} ({c['hidden_act']}), vocab {c['vocab_size']:,}, "
            f"positions {c['max_position_embeddings']} ({c['position_embedding']}), segments {c['type_vocab_size']}"
            + (", causal" if c["causal"] else ""),
            f"  weights: {', '.join(info['weight_files'])} ({'/'.join(info['dtypes'])}, {info['num_tensors']} tensors)",
            f"  parameters: {info['num_parameters']:,} ({parts})",
            f"  forward FLOPs per token at seq_len {info['seq_len']}: {info['forward_flops_per_token']:,} "
            f"({info['forward_flops_per_token'] / 1e9:.3f} GFLOP)",
            f"  formula: {info['flops_formula']}",
        ]
        + (
            [
                f"  MLM head FLOPs per scored position: {info['mlm_head_flops_per_token']:,} "
                f"({info['mlm_head_flops_formula']})"
            ]
            if "mlm_head_flops_per_token" in info
            else []
        )
    )
