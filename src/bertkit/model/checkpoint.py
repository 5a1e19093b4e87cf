"""Hugging Face BERT checkpoints in and out: the one place that knows Hugging Face's files and names.

Our modules carry Hugging Face's parameter names, so the mapping is a near-identity: old names renamed,
the `bert.` prefix added or stripped (BertModel checkpoints have none), tied copies of the word embeddings
skipped, and every key and shape checked before a single weight is copied.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import shutil
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from bertkit.config import BertConfig
from bertkit.errors import CheckpointError, FileFormatError, InvalidArgumentError

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
TORCH_FILE = "pytorch_model.bin"
TORCH_INDEX = "pytorch_model.bin.index.json"
WEIGHT_FILES = (SAFETENSORS_FILE, SAFETENSORS_INDEX, TORCH_FILE, TORCH_INDEX)  # Hugging Face's order of preference
# Weights we cannot read, named in the error so the user knows what they have.
OTHER_FORMATS = {"tf_model.h5": "TensorFlow 2", "model.ckpt.index": "TensorFlow 1 (Google's release)",
                 "flax_model.msgpack": "Flax"}

PREFIX = "bert."  # where a task model keeps its BertModel; a BertModel checkpoint's keys lack it
# Names from checkpoints converted by pytorch-pretrained-bert out of Google's TensorFlow release.
LEGACY_SUFFIXES = {".gamma": ".weight", ".beta": ".bias"}
# Second names of one tensor: the MLM decoder is the word embedding matrix, its bias is cls.predictions.bias.
# Read when the first name is absent; never written (transformers re-ties them on load).
TIED_ALIASES = {
    "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}
IGNORED_SUFFIXES = (".position_ids",)  # an index buffer older transformers saved; holds no learned values
# Without these a model's output is meaningless, so their absence is an error rather than "newly initialised".
ENCODER_PREFIXES = ("bert.embeddings.", "bert.encoder.")

# safetensors' dtype codes, for reporting a file's dtype without reading its tensors.
SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                      "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
                      "U8": torch.uint8, "BOOL": torch.bool}


# --- finding and reading weight files ------------------------------------------------------------


def checkpoint_directory(directory: str | Path) -> Path:
    directory = Path(directory)
    if directory.is_file():
        raise CheckpointError(f"{directory}: is a file; pass the checkpoint directory that holds config.json "
                              "and the weights")
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such checkpoint directory")
    return directory


def find_weight_files(directory: str | Path) -> list[Path]:
    """The files holding a checkpoint's tensors, in the first layout found (single or sharded)."""
    directory = checkpoint_directory(directory)
    for name in WEIGHT_FILES:
        path = directory / name
        if path.is_file():
            return _shards(path) if name.endswith(".index.json") else [path]
    others = [f"{name} ({fmt})" for name, fmt in OTHER_FORMATS.items() if (directory / name).exists()]
    hint = f"; found only {', '.join(others)}, which bertkit does not read" if others else ""
    raise CheckpointError(f"{directory}: no model weights; looked for {', '.join(WEIGHT_FILES)}{hint}")


def _shards(index_path: Path) -> list[Path]:
    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
        raise FileFormatError(f"{index_path}: not a valid shard index (a JSON object with a 'weight_map'): {e}") from e
    missing = [name for name in shards if not (index_path.parent / name).is_file()]
    if missing:
        raise FileFormatError(f"{index_path}: lists shard(s) that are not there: {', '.join(missing)}")
    return [index_path.parent / name for name in shards]


class WeightReader:
    """Every tensor of a checkpoint directory by its stored name, read one at a time (safetensors files are
    memory-mapped; pytorch_model.bin is loaded with weights_only=True, memory-mapped where its format allows).

    Use as a context manager: the files stay open until the block ends.
    """

    def __init__(self, directory: str | Path):
        self.files = find_weight_files(directory)
        self._stack = ExitStack()
        self._where: dict[str, Any] = {}  # stored name -> safetensors handle or loaded tensor
        self._file_of: dict[str, Path] = {}
        for path in self.files:
            if path.suffix == ".safetensors":
                handle = self._open_safetensors(path)
                names = handle.keys()
                self._where.update(dict.fromkeys(names, handle))
            else:
                tensors = _load_torch_file(path)
                names = tensors.keys()
                self._where.update(tensors)
            self._file_of.update(dict.fromkeys(names, path))

    def _open_safetensors(self, path: Path):
        try:
            return self._stack.enter_context(safe_open(str(path), framework="pt", device="cpu"))
        except (SafetensorError, OSError) as e:
            self.close()
            raise FileFormatError(f"{path}: not a readable safetensors file (truncated or corrupt?): {e}") from e

    def __enter__(self) -> WeightReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    def keys(self) -> list[str]:
        return list(self._where)

    def file_of(self, name: str) -> Path:
        return self._file_of[name]

    def shape(self, name: str) -> tuple[int, ...]:
        source = self._where[name]
        if isinstance(source, torch.Tensor):
            return tuple(source.shape)
        return tuple(source.get_slice(name).get_shape())

    def dtype(self, name: str) -> torch.dtype:
        source = self._where[name]
        if isinstance(source, torch.Tensor):
            return source.dtype
        return SAFETENSORS_DTYPES[source.get_slice(name).get_dtype()]

    def get(self, name: str) -> torch.Tensor:
        source = self._where[name]
        if isinstance(source, torch.Tensor):
            return source
        try:
            return source.get_tensor(name)
        except SafetensorError as e:
            raise FileFormatError(f"{self._file_of[name]}: cannot read tensor {name} (corrupt file?): {e}") from e


def _load_torch_file(path: Path) -> dict[str, torch.Tensor]:
    """A pytorch_model.bin, never unpickling anything but tensors (weights_only=True)."""
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e):
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)  # legacy (pre-zip) format
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{path}: holds Python objects other than tensors, which bertkit refuses to unpickle "
            f"(weights_only=True): {str(e).splitlines()[0]}") from e
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise FileFormatError(f"{path}: not a readable PyTorch weights file (truncated or corrupt?): {e}") from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FileFormatError(f"{path}: expected a dictionary of tensors (a state_dict), got {type(state).__name__}")
    return state


# --- names ---------------------------------------------------------------------------------------


def canonical_names(names: list[str]) -> dict[str, str]:
    """Map each stored name to Hugging Face's task-model name (`bert.` prefixed, current LayerNorm names).

    Keys with no learned values (position_ids buffers) are left out.
    """
    names = [n for n in names if not n.endswith(IGNORED_SUFFIXES)]
    add_prefix = not any(n.startswith(PREFIX) for n in names)  # a BertModel's own state_dict
    result = {}
    for name in names:
        canon = PREFIX + name if add_prefix else name
        for old, new in LEGACY_SUFFIXES.items():
            if canon.endswith(old):
                canon = canon.removesuffix(old) + new
        result[canon] = name
    for alias, target in TIED_ALIASES.items():
        if alias in result:
            stored = result.pop(alias)
            result.setdefault(target, stored)
    return result


def model_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state_dict tensors under canonical names, one entry per tensor (tied copies dropped)."""
    state = model.state_dict(keep_vars=True)
    by_name = canonical_names(list(state))
    seen: set[int] = set()
    result = {}
    for canon, name in by_name.items():
        tensor = state[name]
        if id(tensor) not in seen:
            seen.add(id(tensor))
            result[canon] = tensor
    return result


def _model_name(canon: str, model: nn.Module) -> str:
    """A canonical name as `model.state_dict()` spells it (a bare BertModel has no `bert.` prefix)."""
    return canon if hasattr(model, "bert") else canon.removeprefix(PREFIX)


# --- loading -------------------------------------------------------------------------------------


@dataclasses.dataclass
class LoadingInfo:
    """What a load did beyond a one-to-one copy, in the model's own names."""

    newly_initialised: list[str]  # in the model, not in the checkpoint: left at their fresh initialisation
    unused: list[str]  # in the checkpoint, not in the model


def read_config(directory: str | Path, **overrides: Any) -> BertConfig:
    """config.json of a checkpoint directory, with `overrides` (e.g. num_labels=3) applied."""
    directory = checkpoint_directory(directory)
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory}: no {CONFIG_FILE}; a Hugging Face BERT directory holds {CONFIG_FILE} "
                              f"and {SAFETENSORS_FILE} (or {TORCH_FILE})")
    config = BertConfig.from_json_file(path)
    if not overrides:
        return config
    if overrides.get("num_labels", config.num_labels) != config.num_labels and "id2label" not in overrides:
        overrides |= {"id2label": None, "label2id": None}  # a new label count replaces the stored label names
    try:
        return dataclasses.replace(config, **overrides)
    except TypeError as e:
        raise InvalidArgumentError(f"from_pretrained: {e} (overrides must be BertConfig fields)") from e


def load_pretrained(cls: type[nn.Module], directory: str | Path, *, dtype: torch.dtype | None = None,
                    device: str | torch.device | None = None, **overrides: Any) -> nn.Module:
    """Build `cls` from a Hugging Face BERT directory and load its weights; the model is returned in eval mode.

    dtype/device: where the parameters live. They are created there without random initialisation, and each
    stored tensor becomes its parameter (cast or moved one tensor at a time where needed), so no second copy
    of the model is ever held.
    """
    config = read_config(directory, **overrides)
    with WeightReader(directory) as reader:
        model = build_model(cls, config, dtype=dtype, device=device)
        load_weights(model, reader, source=Path(directory), adopt=True)
    return model.eval()


def build_model(cls: type[nn.Module], config: BertConfig, *, dtype: torch.dtype | None = None,
                device: str | torch.device | None = None) -> nn.Module:
    """`cls(config)` with uninitialised parameters, for weights about to be loaded: random initialisation of a
    base-size model takes seconds, the load a fraction of one. load_weights initialises what it does not load."""
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise InvalidArgumentError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    previous = torch.get_default_dtype()
    init_functions = {name: getattr(nn.init, name) for name in INIT_FUNCTIONS}
    try:
        if dtype is not None:
            torch.set_default_dtype(dtype)  # parameters are born in the target dtype: nothing to cast later
        for name in INIT_FUNCTIONS:  # transformers skips initialisation the same way (no_init_weights)
            setattr(nn.init, name, _leave_as_is)
        with torch.device(device or "cpu"):
            return cls(config)
    finally:
        torch.set_default_dtype(previous)
        for name, function in init_functions.items():
            setattr(nn.init, name, function)


# Everything torch's layers and our _init_weights call to fill parameters.
INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_", "xavier_uniform_",
                  "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_")


def _leave_as_is(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    return tensor


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
    mismatched = [(c, reader.shape(stored[c]), tuple(t.shape)) for c, t in params.items()
                  if c in stored and reader.shape(stored[c]) != tuple(t.shape)]
    if mismatched:
        canon, theirs, ours = mismatched[0]
        more = f" (and {len(mismatched) - 1} more)" if len(mismatched) > 1 else ""
        raise CheckpointError(
            f"{reader.file_of(stored[canon])}: {stored[canon]} has shape {theirs}, but {type(model).__name__} "
            f"built from the config ({source / CONFIG_FILE} and any overrides) has {_model_name(canon, model)} "
            f"of shape {ours}{more}; the weights do not match the config")
    missing = [c for c in params if c not in stored]
    broken = [c for c in missing if c.startswith(ENCODER_PREFIXES)]
    if broken:
        raise CheckpointError(
            f"{source}: the checkpoint has no {', '.join(_model_name(c, model) for c in broken[:3])}"
            f"{', ...' if len(broken) > 3 else ''} ({len(broken)} encoder tensors missing); does num_hidden_layers "
            f"({model.config.num_hidden_layers}, from config.json and any overrides) match the weights?")
    _initialise(model, [_model_name(c, model) for c in missing])
    with torch.no_grad():
        for canon, tensor in params.items():
            if canon in stored:
                loaded = reader.get(stored[canon])
                if adopt and loaded.dtype == tensor.dtype and loaded.device == tensor.device and loaded.is_contiguous():
                    # Take the tensor just read (a private copy-on-write mapping of the file): copying it into
                    # the parameter would touch every page twice and take seconds for a base-size model.
                    tensor.data = loaded
                else:
                    tensor.copy_(loaded)  # casts or moves as it copies
    if hasattr(model, "tie_weights"):
        model.tie_weights()
    info = LoadingInfo(newly_initialised=[_model_name(c, model) for c in missing],
                       unused=[stored[c] for c in stored if c not in params])
    kind = type(model).__name__
    if info.newly_initialised:
        logger.warning("%s: newly initialised (not in %s; train before use): %s",
                       kind, source, ", ".join(info.newly_initialised))
    if info.unused:
        logger.warning("%s: checkpoint weights not used (no such module in this model): %s",
                       kind, ", ".join(info.unused))
    return info


# --- saving --------------------------------------------------------------------------------------


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
    return {_model_name(canon, model).replace("_orig_mod.", ""): t.detach().contiguous()
            for canon, t in model_parameters(model).items()}


def save_pretrained(model: nn.Module, directory: str | Path, tokenizer: Any = None) -> Path:
    """Write Hugging Face's layout: config.json + model.safetensors (+ the tokenizer's files when given).

    Files are written under a temporary name and renamed, so an interrupted save never leaves a broken file.
    """
    model = unwrap_model(model)
    if model.config.position_embedding != "learned":
        logger.warning("%s: %s position embeddings have no Hugging Face equivalent; this directory loads in "
                       "bertkit, but transformers would initialise position embeddings afresh",
                       type(model).__name__, model.config.position_embedding)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = export_state_dict(model)
    dtype = next(iter(state.values())).dtype
    config = model.config.to_dict() | {
        "architectures": [type(model).__name__],
        "model_type": "bert",
        "dtype": str(dtype).removeprefix("torch."),  # transformers' dtype="auto" reads this
    }
    _write_atomically(directory / SAFETENSORS_FILE, lambda tmp: save_file(state, tmp, metadata={"format": "pt"}))
    _write_atomically(directory / CONFIG_FILE,
                      lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n"))
    _remove_stale_weights(directory)  # only now: a failed write must not leave the directory with no weights
    if tokenizer is not None:
        tokenizer.save_pretrained(directory)
    return directory


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a disk-full half file would only take more space
        raise


def _remove_stale_weights(directory: Path) -> None:
    """Weights of another layout from an earlier save would shadow or confuse the new model.safetensors."""
    for name in WEIGHT_FILES[1:]:
        path = directory / name
        if path.is_file():
            shards = _shards(path) if name.endswith(".index.json") else []
            for stale in [*shards, path]:
                stale.unlink()


# --- convert and info ----------------------------------------------------------------------------


def model_classes() -> dict[str, type[nn.Module]]:
    """bertkit's models by Hugging Face class name (the `architectures` entry of config.json)."""
    from bertkit.model import heads  # heads imports this module; import it only when needed

    return {cls.__name__: cls for cls in vars(heads).values()
            if isinstance(cls, type) and issubclass(cls, heads.BertPreTrainedModel)
            and cls is not heads.BertPreTrainedModel}


# A checkpoint without `architectures` in config.json: its model class told by the heads its weights have.
ARCHITECTURE_BY_HEADS = {
    frozenset(): "BertModel",
    frozenset({"cls.predictions", "cls.seq_relationship"}): "BertForPreTraining",
    frozenset({"cls.predictions"}): "BertForMaskedLM",
    frozenset({"cls.seq_relationship"}): "BertForNextSentencePrediction",
    frozenset({"qa_outputs"}): "BertForQuestionAnswering",
}


def _heads(canonical: list[str]) -> frozenset[str]:
    """The head modules among canonical names: `cls.predictions`, `classifier`, ... (everything outside `bert.`)."""
    return frozenset(".".join(c.split(".")[:2]) if c.startswith("cls.") else c.split(".")[0]
                     for c in canonical if not c.startswith(PREFIX))


def architecture_of(directory: str | Path, stored_names: list[str]) -> str:
    """The Hugging Face class a checkpoint was saved from: config.json's `architectures`, else told by its heads."""
    path = Path(directory) / CONFIG_FILE
    listed = json.loads(path.read_text(encoding="utf-8")).get("architectures") or []
    if listed:
        return listed[0]
    heads = _heads(list(canonical_names(stored_names)))
    if heads not in ARCHITECTURE_BY_HEADS:
        raise CheckpointError(f"{path}: no 'architectures' entry, and the weights' heads ({', '.join(sorted(heads))}) "
                              "fit several models; add the class name, e.g. \"architectures\": "
                              "[\"BertForSequenceClassification\"]")
    return ARCHITECTURE_BY_HEADS[heads]


@dataclasses.dataclass
class ConversionReport:
    source_files: list[str]
    written_files: list[str]
    copied_files: list[str]
    architecture: str
    dtype: str
    num_tensors: int
    num_parameters: int
    renamed: dict[str, str]  # stored name -> name written, where they differ
    not_converted: list[str]  # checkpoint tensors the architecture has no place for


def convert_checkpoint(src: str | Path, dst: str | Path, dtype: torch.dtype | str | None = None) -> ConversionReport:
    """Any Hugging Face BERT directory (single or sharded safetensors, pytorch_model.bin, old names) to a clean
    one: config.json + one model.safetensors, loadable by bertkit and transformers alike, other files copied.

    Weights go through the model class of config.json's `architectures`, so every name and shape is checked.
    dtype (e.g. "bfloat16") casts the weights; by default the stored precision is kept.
    """
    src, dst = Path(src), Path(dst)
    if isinstance(dtype, str):
        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise InvalidArgumentError(f"convert: unknown dtype {dtype!r} (e.g. float32, float16, bfloat16)")
        dtype = getattr(torch, dtype)
    if dst.exists() and src.resolve() == dst.resolve():
        raise InvalidArgumentError(f"convert: destination {dst} is the source directory; choose a new one")
    config = read_config(src)
    with WeightReader(src) as reader:
        architecture = architecture_of(src, reader.keys())
        classes = model_classes()
        if architecture not in classes:
            raise CheckpointError(f"{src / CONFIG_FILE}: architecture {architecture} is not one bertkit implements "
                                  f"({', '.join(sorted(classes))})")
        stored = canonical_names(reader.keys())
        if dtype is None:  # keep the stored precision
            dtype = next((reader.dtype(n) for n in stored.values() if reader.dtype(n).is_floating_point), None)
        model = build_model(classes[architecture], config, dtype=dtype)
        info = load_weights(model, reader, source=src, adopt=True)
        source_files = [str(p.relative_to(src)) for p in reader.files]
    save_pretrained(model, dst)
    written = export_state_dict(model)
    skip = {CONFIG_FILE, *WEIGHT_FILES, *source_files}
    copied = []
    for path in sorted(src.iterdir()):
        if path.name in skip or path.name.endswith(".tmp"):
            continue
        if path.is_dir():
            shutil.copytree(path, dst / path.name, dirs_exist_ok=True)
        else:
            shutil.copy2(path, dst / path.name)
        copied.append(path.name)
    renamed = {stored[c]: _model_name(c, model) for c in stored
               if _model_name(c, model) in written and stored[c] != _model_name(c, model)}
    return ConversionReport(
        source_files=source_files, written_files=[CONFIG_FILE, SAFETENSORS_FILE], copied_files=copied,
        architecture=architecture, dtype=str(next(iter(written.values())).dtype).removeprefix("torch."),
        num_tensors=len(written), num_parameters=sum(t.numel() for t in written.values()),
        renamed=renamed, not_converted=info.unused)


def format_conversion(report: ConversionReport) -> str:
    """A ConversionReport as a few human-readable lines."""
    lines = [f"converted {', '.join(report.source_files)} -> {', '.join(report.written_files)}: "
             f"{report.architecture}, {report.num_tensors} tensors, {report.num_parameters:,} parameters, "
             f"{report.dtype}"]
    if report.renamed:
        shown = [f"{a} -> {b}" for a, b in list(report.renamed.items())[:3]]
        more = f", ... ({len(report.renamed) - 3} more)" if len(report.renamed) > 3 else ""
        lines.append(f"  renamed {len(report.renamed)}: {', '.join(shown)}{more}")
    if report.not_converted:
        lines.append(f"  not converted (no place in {report.architecture}): {', '.join(report.not_converted)}")
    if report.copied_files:
        lines.append(f"  copied: {', '.join(report.copied_files)}")
    return "\n".join(lines)


FLOPS_FORMULA = ("L * (2 * (4*H*H + 2*H*I) + 4*T*H): the encoder's matmuls at sequence length T, 2 FLOPs per "
                 "multiply-add (Q, K, V, output and FFN projections, then QK^T and attention x V); embeddings, "
                 "pooler and heads excluded")
MLM_HEAD_FLOPS_FORMULA = "2 * (H*H + H*V) per scored position: the MLM transform and the tied vocabulary projection"


def checkpoint_info(directory: str | Path, seq_len: int | None = None) -> dict[str, Any]:
    """What a checkpoint directory holds, read from config.json and the weight files' headers (no model built).

    Parameters are counted once per tensor (the tied decoder shares the word embeddings).
    """
    directory = Path(directory)
    config = read_config(directory)
    seq_len = seq_len or config.max_position_embeddings
    if seq_len < 1:
        raise InvalidArgumentError(f"info: seq_len must be positive, got {seq_len}")
    with WeightReader(directory) as reader:
        stored = canonical_names(reader.keys())
        try:
            architecture = architecture_of(directory, reader.keys())
        except CheckpointError:  # only convert needs to know; info reports what it can
            architecture = "unknown (no 'architectures' in config.json)"
        groups: dict[str, int] = {}
        for canon, name in stored.items():
            parts = canon.split(".")
            group = parts[1] if parts[0] == "bert" else "heads"  # embeddings, encoder, pooler, heads
            groups[group] = groups.get(group, 0) + _numel(reader.shape(name))
        dtypes = sorted({str(reader.dtype(n)).removeprefix("torch.") for n in stored.values()})
        files = [str(p.relative_to(directory)) for p in reader.files]
    fields = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
              "hidden_act", "max_position_embeddings", "type_vocab_size", "num_labels", "position_embedding",
              "causal")
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
    if "cls.predictions" in _heads(list(stored)):
        h, v = config.hidden_size, config.vocab_size
        info["mlm_head_flops_per_token"] = 2 * (h * h + h * v)
        info["mlm_head_flops_formula"] = MLM_HEAD_FLOPS_FORMULA
    return info


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def format_info(info: dict[str, Any]) -> str:
    """checkpoint_info as a few human-readable lines."""
    c = info["config"]
    parts = ", ".join(f"{k} {v:,}" for k, v in info["parameters_by_part"].items())
    return "\n".join([
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
    ] + ([f"  MLM head FLOPs per scored position: {info['mlm_head_flops_per_token']:,} "
          f"({info['mlm_head_flops_formula']})"] if "mlm_head_flops_per_token" in info else []))
