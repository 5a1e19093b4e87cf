"""`bertkit export --format onnx`: a checkpoint's encoder or head as an ONNX graph (opset 17, dynamic batch and
sequence axes), with its config and tokenizer, in the layout optimum's ORTModelFor... classes and
sentence-transformers' `backend="onnx"` load: `model.onnx` beside config.json, the tokenizer's files and, for
a sentence-transformers model, its modules.json and pooling files.

The graph is traced by torch's TorchScript exporter (`dynamo=False`). Its torch.export-based successor (the
default since torch 2.9) gives the same graph to 3e-6 on BERT, but took 7-17 s per export here against
0.2-4 s and needs onnxscript; BERT has no data-dependent control flow for it to capture.
`--quantize int8` is onnxruntime's dynamic quantization: int8 weights, activations quantized per batch.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bertkit.checkpoint.checkpoint import Checkpoint, opened
from bertkit.checkpoint.files import CONFIG_FILE
from bertkit.checkpoint.load import load_pretrained
from bertkit.checks import check_choice
from bertkit.errors import InvalidArgumentError
from bertkit.export.graphs import INPUTS, Graph, graph_for
from bertkit.export.runtime import EXPORT_KEY, ONNX_FILE, onnx_session, onnxruntime
from bertkit.files import atomic_path, write_text_atomically
from bertkit.model import MODEL_CLASSES, BertModel, BertPreTrainedModel

OPSET = 17
FORMATS = ("onnx",)
QUANTIZATIONS = ("int8",)
# What reads text for the graph: the tokenizer's files, and sentence-transformers' description of the model
# (modules.json names the pooling module's directory, copied too).
READING_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
)


@dataclass
class ExportReport:
    """What export_model wrote; format_export prints it."""

    directory: Path
    architecture: str  # the checkpoint's
    task: str
    outputs: list[str]
    quantize: str | None
    files: list[str]
    size_bytes: int  # of model.onnx
    max_abs_diff: float  # onnxruntime against bertkit's PyTorch forward pass, on inputs of another shape


def export_model(
    model: str | Path | Checkpoint,
    out: str | Path,
    *,
    format: str = "onnx",
    task: str | None = None,
    quantize: str | None = None,
    revision: str | None = None,
) -> ExportReport:
    """Export the checkpoint `model` (a directory, a Hub id at `revision`, or a Checkpoint) to `out` (created;
    an earlier export there is replaced).

    task: the graph to export, by default the checkpoint's head (graphs.TASK_OF); "feature-extraction" exports
    the encoder of any checkpoint. quantize: None (fp32) or "int8"."""
    check_choice("`format`", format, FORMATS)
    if quantize is not None:
        check_choice("`quantize`", quantize, QUANTIZATIONS)
    with opened(model, revision) as checkpoint:
        return _export(checkpoint, Path(out), format, task, quantize)


def _export(
    checkpoint: Checkpoint, out: Path, format: str, task: str | None, quantize: str | None
) -> ExportReport:
    source, architecture = checkpoint.path, checkpoint.architecture
    onnxruntime("export")
    _check_destination(source, out)
    graph = graph_for(architecture, task, str(checkpoint.config_path))
    checkpoint.tokenizer()  # the export carries the tokenizer: refuse a checkpoint without one
    network = _load(checkpoint, graph)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        _trace(network, graph, tmp / ONNX_FILE)
        if quantize:
            _quantize_int8(tmp / ONNX_FILE)
        diff = _max_abs_diff(network, graph, tmp / ONNX_FILE)
        record = {"format": format, "task": graph.task, "opset": OPSET, "quantize": quantize}
        config = network.config.to_dict() | {
            "architectures": [graph.architecture],
            "model_type": "bert",
            EXPORT_KEY: record,
        }
        write_text_atomically(tmp / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")
        _copy_reading_files(source, tmp)
        files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        size = (tmp / ONNX_FILE).stat().st_size
    return ExportReport(out, architecture, graph.task, list(graph.outputs), quantize, files, size, diff)


def format_export(report: ExportReport) -> str:
    """An ExportReport as a few human-readable lines."""
    precision = "int8 (dynamic quantization)" if report.quantize else "fp32"
    return "\n".join(
        [
            f"exported a {report.architecture} as {report.task} -> {report.directory / ONNX_FILE} "
            f"({report.size_bytes / 1e6:.1f} MB, opset {OPSET}, {precision}; outputs {', '.join(report.outputs)})",
            f"  onnxruntime vs PyTorch, max abs difference: {report.max_abs_diff:.2e}",
            f"  files: {', '.join(report.files)}",
        ]
    )


def _check_destination(source: Path, out: Path) -> None:
    """`out` is new, empty, or an earlier export (replaced whole): never a checkpoint or other files."""
    if out.exists() and out.resolve() == source.resolve():
        raise InvalidArgumentError(f"`out` {out} is the checkpoint directory itself; choose a new one")
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not (out / ONNX_FILE).is_file()):
        raise InvalidArgumentError(
            f"`out` {out} already holds files that are not an ONNX export; choose a new or empty directory"
        )


def _load(checkpoint: Checkpoint, graph: Graph) -> BertPreTrainedModel:
    """The network the graph computes: the encoder alone (no pooler: feature extraction never reads it) or the
    head's class, which for a BertForPreTraining loads its MLM head and leaves NSP out."""
    if graph.task == "feature-extraction":
        return load_pretrained(functools.partial(BertModel, add_pooling_layer=False), checkpoint)
    return load_pretrained(MODEL_CLASSES[graph.architecture], checkpoint)


class _Outputs(nn.Module):
    """The model called with the three inputs by position, returning the graph's outputs as a tuple, which is
    what the exporter traces."""

    def __init__(self, model: BertPreTrainedModel, graph: Graph):
        super().__init__()
        self.model, self.fields = model, [o.field for o in graph.outputs.values()]
        self.eval()  # the exporter restores the training flag it found, down to the model's dropout

    def forward(self, input_ids, attention_mask, token_type_ids) -> tuple[torch.Tensor, ...]:
        out = self.model(input_ids, attention_mask, token_type_ids)
        return tuple(getattr(out, field) for field in self.fields)


def example_inputs(config, graph: Graph, batch: int, length: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """input_ids, attention_mask, token_type_ids of random tokens, the last row padded to half its length, in
    the graph's shape (batch, [num_choices,] length)."""
    shape = (batch, 2, length) if len(graph.input_axes) == 3 else (batch, length)
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, config.vocab_size, shape, generator=generator)
    mask = torch.ones(shape, dtype=torch.long)
    mask[-1, ..., length // 2 :] = 0
    types = torch.zeros(shape, dtype=torch.long)
    if config.type_vocab_size > 1:
        types[..., length // 2 :] = 1
    return ids, mask, types


def _trace(network: BertPreTrainedModel, graph: Graph, path: Path) -> None:
    inputs = example_inputs(network.config, graph, batch=2, length=8)
    with warnings.catch_warnings(), torch.no_grad():
        # The legacy exporter's deprecation notice, and the tracer's notes on the model's argument checks (shape
        # and token-id checks that only ever raise): neither changes the graph.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            _Outputs(network, graph),
            inputs,
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=list(INPUTS),
            output_names=list(graph.outputs),
            dynamic_axes=graph.dynamic_axes(),
        )


def _quantize_int8(path: Path) -> None:
    """Replace the fp32 graph at `path` by its int8 one: weights of the matrix products and the embedding
    tables quantized once, one scale per output channel, activations per batch (onnxruntime's
    quantize_dynamic). One scale per tensor lost too much on all-MiniLM-L6-v2: sentence-embedding cosine to
    fp32 0.955 on average over 400 fortunes (0.89 at worst), against 0.991 (0.98) per channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = path.with_name("fp32_" + path.name)
    path.rename(fp32)
    with (
        _quiet_root_logger()
    ):  # its advice to pre-process first: symbolic shape inference fails on BERT's graph
        quantize_dynamic(fp32, path, weight_type=QuantType.QInt8, per_channel=True)
    fp32.unlink()


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _max_abs_diff(network: BertPreTrainedModel, graph: Graph, path: Path) -> float:
    """onnxruntime against PyTorch on inputs of another batch size and length than the traced ones: a graph
    that kept a traced shape fails here rather than in use."""
    inputs = example_inputs(network.config, graph, batch=3, length=13, seed=1)
    with torch.no_grad():
        expected = _Outputs(network, graph)(*inputs)
    got = onnx_session(path).run(
        list(graph.outputs), dict(zip(INPUTS, (t.numpy() for t in inputs), strict=True))
    )
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))


def _copy_reading_files(source: Path, out: Path) -> None:
    """The tokenizer's and sentence-transformers' files, and the module directories modules.json names."""
    for name in READING_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    if (source / "modules.json").is_file():
        for module in json.loads((source / "modules.json").read_text(encoding="utf-8")):
            path = module.get("path", "")
            if path and (source / path).is_dir():
                shutil.copytree(source / path, out / path, dirs_exist_ok=True)
