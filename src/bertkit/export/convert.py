"""Any Hugging Face BERT directory (single or sharded safetensors, pytorch_model.bin, old names) to a clean one:
config.json + one model.safetensors (`bertkit convert`).

Above the model, beside the ONNX export: the weights go through the model class config.json names
(bertkit.model.MODEL_CLASSES), so every name and shape is checked.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import torch

from bertkit.checkpoint.checkpoint import Checkpoint, opened
from bertkit.checkpoint.files import CONFIG_FILE, SAFETENSORS_FILE, WEIGHT_FILES
from bertkit.checkpoint.load import build_model, load_weights
from bertkit.checkpoint.names import canonical_names, model_name
from bertkit.checkpoint.save import export_state_dict, save_pretrained
from bertkit.errors import CheckpointError, InvalidArgumentError
from bertkit.files import TMP_SUFFIX
from bertkit.model import MODEL_CLASSES

CAST_DTYPES = (
    "float32",
    "float16",
    "bfloat16",
)  # what `bertkit convert --dtype` offers; any float dtype works


@dataclasses.dataclass
class ConversionReport:
    """What convert_checkpoint read, wrote, renamed and left out; format_conversion prints it."""

    source_files: list[str]
    written_files: list[str]
    copied_files: list[str]
    architecture: str
    dtype: str
    num_tensors: int
    num_parameters: int
    renamed: dict[str, str]  # stored name -> name written, where they differ
    not_converted: list[str]  # checkpoint tensors the architecture has no place for


def convert_checkpoint(
    src: str | Path | Checkpoint,
    dst: str | Path,
    dtype: torch.dtype | str | None = None,
    revision: str | None = None,
) -> ConversionReport:
    """Any Hugging Face BERT directory (single or sharded safetensors, pytorch_model.bin, old names; or a Hub
    id at `revision`, or a Checkpoint) to a clean one: config.json + one model.safetensors, loadable by bertkit
    and transformers alike, other files copied.

    Weights go through the model class of config.json's `architectures`, so every name and shape is checked.
    dtype (e.g. "bfloat16") casts the weights; by default the stored precision is kept.
    """
    dst = Path(dst)
    if isinstance(dtype, str):
        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise InvalidArgumentError(f"convert: unknown dtype {dtype!r} (e.g. float32, float16, bfloat16)")
        dtype = getattr(torch, dtype)
    with opened(src, revision) as checkpoint:
        src = checkpoint.path
        if dst.exists() and src.resolve() == dst.resolve():
            raise InvalidArgumentError(
                f"convert: destination {dst} is the source directory; choose a new one"
            )
        architecture, reader = checkpoint.architecture, checkpoint.weights
        if architecture not in MODEL_CLASSES:
            raise CheckpointError(
                f"{src / CONFIG_FILE}: architecture {architecture} is not one bertkit implements "
                f"({', '.join(sorted(MODEL_CLASSES))})"
            )
        stored = canonical_names(reader.keys())
        if dtype is None:  # keep the stored precision
            dtype = next(
                (reader.dtype(n) for n in stored.values() if reader.dtype(n).is_floating_point), None
            )
        model = build_model(MODEL_CLASSES[architecture], checkpoint.config_with(), dtype=dtype)
        info = load_weights(model, reader, source=src, adopt=True)
        source_files = [str(p.relative_to(src)) for p in reader.files]
    save_pretrained(model, dst)
    written = export_state_dict(model)
    skip = {CONFIG_FILE, *WEIGHT_FILES, *source_files}
    copied = []
    for path in sorted(src.iterdir()):
        if path.name in skip or path.name.endswith(TMP_SUFFIX):
            continue
        if path.is_dir():
            shutil.copytree(path, dst / path.name, dirs_exist_ok=True)
        else:
            shutil.copy2(path, dst / path.name)
        copied.append(path.name)
    renamed = {
        stored[c]: model_name(c, model)
        for c in stored
        if model_name(c, model) in written and stored[c] != model_name(c, model)
    }
    return ConversionReport(
        source_files=source_files,
        written_files=[CONFIG_FILE, SAFETENSORS_FILE],
        copied_files=copied,
        architecture=architecture,
        dtype=str(next(iter(written.values())).dtype).removeprefix("torch."),
        num_tensors=len(written),
        num_parameters=sum(t.numel() for t in written.values()),
        renamed=renamed,
        not_converted=info.unused,
    )


def format_conversion(report: ConversionReport) -> str:
    """A ConversionReport as a few human-readable lines."""
    lines = [
        f"converted {', '.join(report.source_files)} -> {', '.join(report.written_files)}: "
        f"{report.architecture}, {report.num_tensors} tensors, {report.num_parameters:,} parameters, "
        f"{report.dtype}"
    ]
    if report.renamed:
        shown = [f"{a} -> {b}" for a, b in list(report.renamed.items())[:3]]
        more = f", ... ({len(report.renamed) - 3} more)" if len(report.renamed) > 3 else ""
        lines.append(f"  renamed {len(report.renamed)}: {', '.join(shown)}{more}")
    if report.not_converted:
        lines.append(
            f"  not converted (no place in {report.architecture}): {', '.join(report.not_converted)}"
        )
    if report.copied_files:
        lines.append(f"  copied: {', '.join(report.copied_files)}")
    return "\n".join(lines)
