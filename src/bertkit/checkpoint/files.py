"""Finding a checkpoint's weight files and reading their tensors one at a time, with errors that name the file."""

from __future__ import annotations

import json
import pickle
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from bertkit.errors import CheckpointError, FileFormatError
from bertkit.hub import resolve_pretrained

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
TORCH_FILE = "pytorch_model.bin"
TORCH_INDEX = "pytorch_model.bin.index.json"
# Hugging Face's order of preference.
WEIGHT_FILES = (SAFETENSORS_FILE, SAFETENSORS_INDEX, TORCH_FILE, TORCH_INDEX)
# Weights we cannot read, named in the error so the user knows what they have.
OTHER_FORMATS = {
    "tf_model.h5": "TensorFlow 2",
    "model.ckpt.index": "TensorFlow 1 (Google's release)",
    "flax_model.msgpack": "Flax",
}

# safetensors' dtype codes, for reporting a file's dtype without reading its tensors.
SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def checkpoint_directory(directory: str | Path, revision: str | None = None) -> Path:
    """The checkpoint directory, checked to be one: a local directory, or a Hub id's snapshot in the Hugging
    Face cache at `revision` (downloaded when online, see bertkit.hub)."""
    directory = resolve_pretrained(directory, revision)
    if directory.is_file():
        raise CheckpointError(
            f"{directory}: is a file; pass the checkpoint directory that holds config.json and the weights"
        )
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such checkpoint directory")
    return directory


def find_weight_files(directory: str | Path) -> list[Path]:
    """The files holding a checkpoint's tensors, in the first layout found (single or sharded)."""
    directory = checkpoint_directory(directory)
    for name in WEIGHT_FILES:
        path = directory / name
        if path.is_file():
            return shard_files(path) if name.endswith(".index.json") else [path]
    others = [f"{name} ({fmt})" for name, fmt in OTHER_FORMATS.items() if (directory / name).exists()]
    hint = f"; found only {', '.join(others)}, which bertkit does not read" if others else ""
    raise CheckpointError(f"{directory}: no model weights; looked for {', '.join(WEIGHT_FILES)}{hint}")


def shard_files(index_path: Path) -> list[Path]:
    """The shards a `*.index.json` lists, each checked to be there."""
    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
        raise FileFormatError(
            f"{index_path}: not a valid shard index (a JSON object with a 'weight_map'): {e}"
        ) from e
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
            raise FileFormatError(
                f"{path}: not a readable safetensors file (truncated or corrupt?): {e}"
            ) from e

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
            raise FileFormatError(
                f"{self._file_of[name]}: cannot read tensor {name} (corrupt file?): {e}"
            ) from e


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
            f"(weights_only=True): {str(e).splitlines()[0]}"
        ) from e
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise FileFormatError(
            f"{path}: not a readable PyTorch weights file (truncated or corrupt?): {e}"
        ) from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FileFormatError(
            f"{path}: expected a dictionary of tensors (a state_dict), got {type(state).__name__}"
        )
    return state
