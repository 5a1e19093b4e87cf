"""An exported directory run by onnxruntime. OnnxModel answers the calls bertkit's pipelines make of a model
(input_ids, attention_mask, token_type_ids -> a ModelOutput with the fields its graph computes), so
`bertkit.pipeline(task, model=EXPORTED_DIR)` runs the export with the same pre- and post-processing.

Needs the onnx extra (`pip install 'bertkit[onnx]'`); onnxruntime is imported when a model is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from bertkit.checkpoint.files import CONFIG_FILE, WEIGHT_FILES, checkpoint_directory
from bertkit.config import BertConfig
from bertkit.errors import CheckpointError, FileFormatError, InvalidArgumentError
from bertkit.export.graphs import GRAPHS, INPUTS, TASK_OF, Graph
from bertkit.files import read_settings
from bertkit.model import ModelOutput

ONNX_FILE = "model.onnx"
EXPORT_KEY = "bertkit_export"  # config.json's record of the export: format, task, opset, quantization


def is_onnx_export(directory: Path) -> bool:
    """A directory to run through onnxruntime: model.onnx beside config.json (bertkit's export or optimum's), or
    one without weights whose config.json records an export, so that its missing model.onnx is reported."""
    if (directory / ONNX_FILE).is_file():
        return True
    config = directory / CONFIG_FILE
    return (
        config.is_file()
        and not any((directory / name).is_file() for name in WEIGHT_FILES)
        and EXPORT_KEY in read_settings(config)
    )


def onnxruntime(where: str) -> Any:
    """The onnxruntime module, or an error naming the extra that installs it."""
    try:
        import onnxruntime
    except ImportError as e:
        raise InvalidArgumentError(f"{where}: ONNX needs onnxruntime: pip install 'bertkit[onnx]'") from e
    return onnxruntime


def onnx_session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime session of the ONNX file at `path` on the CPU, `threads` threads per operator (None:
    onnxruntime's default, one per core)."""
    ort = onnxruntime(str(path))
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's errors (InvalidProtobuf, Fail, ...) share no narrower base class
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise FileFormatError(
            f"{path}: onnxruntime cannot load it (truncated or not ONNX?): {message}"
        ) from e


class OnnxModel:
    """An exported directory's graph under onnxruntime, called as the bertkit model it was exported from.

    Its `config` is the directory's config.json; the graph's inputs and outputs are checked against it when
    loaded, so files of two different models are refused before the first call. It runs on the CPU."""

    device = torch.device("cpu")

    def __init__(self, directory: str | Path, threads: int | None = None):
        self.directory = checkpoint_directory(directory)
        config_path = self.directory / CONFIG_FILE
        if not config_path.is_file():
            raise CheckpointError(
                f"{self.directory}: no {CONFIG_FILE} beside the ONNX graph; export it again"
            )
        settings = read_settings(config_path)
        try:
            self.config = BertConfig.from_dict(settings)
        except (TypeError, InvalidArgumentError) as e:
            raise FileFormatError(f"{config_path}: {e}") from e
        self.graph = _graph_of(settings, config_path)
        path = self.directory / ONNX_FILE
        if not path.is_file():
            raise CheckpointError(
                f"{self.directory}: no {ONNX_FILE}, though {CONFIG_FILE} describes an ONNX export "
                f"({self.graph.task}); export the model again with `bertkit export --format onnx`"
            )
        self.session = onnx_session(path, threads)
        self.inputs = [i.name for i in self.session.get_inputs()]
        self._check(path)

    def _check(self, path: Path) -> None:
        """The graph's inputs, outputs and their sizes are those config.json describes."""
        outputs = {o.name: o.shape for o in self.session.get_outputs()}
        if missing := [name for name in self.graph.outputs if name not in outputs]:
            raise CheckpointError(
                f"{path}: no output {', '.join(missing)} (it has {', '.join(outputs)}), but {CONFIG_FILE} "
                f"describes a {self.graph.task} graph: the files are from different exports"
            )
        if "input_ids" not in self.inputs or set(self.inputs) - set(INPUTS):
            raise CheckpointError(
                f"{path}: inputs {', '.join(self.inputs)}; bertkit feeds input_ids and optionally "
                "attention_mask, token_type_ids"
            )
        for name, output in self.graph.outputs.items():
            size = outputs[name][-1] if output.size else None
            expected = getattr(self.config, output.size) if output.size else None
            if isinstance(size, int) and size != expected:
                raise CheckpointError(
                    f"{path}: output {name} has {size} values per position, but {CONFIG_FILE} says "
                    f"{output.size} {expected}: the files are from different models"
                )

    def __call__(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        cls_only: bool = False,
    ) -> ModelOutput:
        """The graph's outputs as bertkit's model returns them. A missing mask means no padding and missing
        token types mean segment 0, as in BertModel. `cls_only` is accepted for the pipelines that pass it: the
        graph computes every position and gives the same numbers either way."""
        feed = {"input_ids": input_ids.cpu().numpy()}
        if "attention_mask" in self.inputs:
            mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
            feed["attention_mask"] = mask.cpu().numpy()
        if "token_type_ids" in self.inputs:
            types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
            feed["token_type_ids"] = types.cpu().numpy()
        values = self.session.run(list(self.graph.outputs), feed)
        fields = (o.field for o in self.graph.outputs.values())
        return ModelOutput(**{f: torch.from_numpy(v) for f, v in zip(fields, values, strict=True)})

    def eval(self) -> OnnxModel:
        """An onnxruntime session only ever infers: as nn.Module.eval, for the callers that call it."""
        return self

    def __repr__(self) -> str:
        return f"OnnxModel({str(self.directory)!r}, task={self.graph.task!r})"


def _graph_of(settings: dict[str, Any], where: Path) -> Graph:
    """The graph config.json describes: bertkit's export record, else (optimum's export) its architecture."""
    task = (settings.get(EXPORT_KEY) or {}).get("task")
    if task is None:
        architecture = (settings.get("architectures") or ["BertModel"])[0]
        task = TASK_OF.get(architecture)
        if task is None:
            raise CheckpointError(f"{where}: architecture {architecture} is not one bertkit runs from ONNX")
    if task not in GRAPHS:
        raise CheckpointError(f"{where}: {EXPORT_KEY} task {task!r} is not one of {', '.join(GRAPHS)}")
    return GRAPHS[task]


def onnx_model_for(
    directory: Path,
    task: str,
    heads: tuple[str, ...],
    device: str | torch.device | None = None,
    dtype: str | None = None,
) -> OnnxModel:
    """The export in `directory` for a pipeline of `task`, whose models are `heads` (none: the encoder's
    feature-extraction graph), with as many onnxruntime threads as torch uses. It runs on the CPU, in the
    precision it was exported in: `dtype` None, "auto" or "float32" (the CLI's default; the graph's outputs are
    fp32 also when its weights are int8)."""
    if device is not None and torch.device(device).type != "cpu":
        raise InvalidArgumentError(
            f"`device` {device}: {directory} is an ONNX export, which bertkit runs on the CPU with onnxruntime"
        )
    if dtype not in (None, "auto", "float32"):
        raise InvalidArgumentError(
            f"`dtype` {dtype}: {directory} is an ONNX export, whose precision was fixed when it was exported "
            "(`bertkit export --quantize int8` for int8)"
        )
    model = OnnxModel(directory, threads=torch.get_num_threads())
    if model.graph.architecture not in (heads or ("BertModel",)):
        needs = f"an export of one of {', '.join(heads)}" if heads else "a feature-extraction export"
        raise CheckpointError(
            f"{directory} holds a {model.graph.task} ONNX export, which has no head for {task!r}; "
            f"that task needs {needs}"
        )
    return model
