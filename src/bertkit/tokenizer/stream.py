"""Tokenizing a text file of any size into .npy arrays of ids, streamed so memory stays bounded by one batch."""

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import atomic_path, check_readable, iter_lines
from bertkit.tokenizer.tokenizer import WordPieceTokenizer


def encode_file(
    tokenizer: WordPieceTokenizer,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    errors: str = "strict",
    batch_lines: int = 20_000,
    show_progress: bool = True,
) -> tuple[Path, Path]:
    """Tokenize a UTF-8 text file, one line at a time, into two .npy files.

    `output_path` (e.g. ids.npy) gets every line's ids (no special tokens) back to back as int32;
    `<stem>.offsets.npy` gets int64 line boundaries: line i is ids[offsets[i]:offsets[i + 1]]. Lines are
    tokenized in batches (large enough for tokenize_to_ids' worker processes) and ids appended to a raw file;
    the .npy headers are written once the totals are known. Returns both paths.
    """
    input_path = check_readable(input_path)
    ids_path = Path(output_path)
    offsets_path = ids_path.with_name(ids_path.stem + ".offsets.npy")
    if ids_path.suffix != ".npy":
        raise InvalidArgumentError(f"`output_path` {ids_path}: expected a .npy file name")
    if not ids_path.parent.is_dir():
        raise FileFormatError(f"`output_path` {ids_path}: directory {ids_path.parent} does not exist")
    ids_raw = ids_path.with_name(ids_path.name + ".part")
    offsets_raw = offsets_path.with_name(offsets_path.name + ".part")
    n_ids, n_lines = 0, 0
    with (
        open(ids_raw, "wb") as ids_out,
        open(offsets_raw, "wb") as offsets_out,
        tqdm(
            total=input_path.stat().st_size,
            unit="B",
            unit_scale=True,
            desc=f"tokenize {input_path.name}",
            disable=not show_progress,
        ) as bar,
    ):
        offsets_out.write(np.zeros(1, dtype=np.int64).tobytes())
        for lines in _batches(iter_lines(input_path, errors=errors), batch_lines):
            ids = tokenizer.tokenize_to_ids(lines)
            lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
            flat = np.fromiter((i for line in ids for i in line), dtype=np.int32, count=int(lengths.sum()))
            ids_out.write(flat.tobytes())
            offsets_out.write((np.cumsum(lengths) + n_ids).tobytes())
            n_ids += len(flat)
            n_lines += len(lines)
            bar.update(sum(len(line.encode("utf-8")) + 1 for line in lines))
    _raw_to_npy(ids_raw, ids_path, np.int32, n_ids)
    _raw_to_npy(offsets_raw, offsets_path, np.int64, n_lines + 1)
    return ids_path, offsets_path


def _batches(lines: Iterable[str], size: int) -> Iterable[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _raw_to_npy(raw: Path, path: Path, dtype: type, count: int) -> None:
    """Prefix a raw array file with a .npy header, streaming, into `path` (atomically), then delete it."""
    with atomic_path(path) as tmp, open(tmp, "wb") as out, open(raw, "rb") as src:
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False,
            "shape": (count,),
        }
        np.lib.format.write_array_header_1_0(out, header)
        while block := src.read(1 << 24):
            out.write(block)
    raw.unlink()
