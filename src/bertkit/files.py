"""Files in and out: users' text read line by line (streamed, errors naming the file and byte offset), and
every file or directory bertkit writes put in place atomically.

Every layer that reads text (the tokenizer's trainer, `bertkit tokenize`, `bertkit prepare`) goes through
here, so a non-UTF-8 file gets the same one-line message everywhere instead of a UnicodeDecodeError; every
layer that writes goes through `atomic_path`, so a crash never leaves a half-written file under a real name.
"""

import json
import os
import shutil
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from bertkit.errors import FileFormatError, InvalidArgumentError


def check_readable(path: str | Path) -> Path:
    """The path as a Path, or a FileFormatError saying why it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{path}: no such file")
    if path.is_dir():
        raise FileFormatError(f"{path}: is a directory, expected a text file")
    try:
        with path.open("rb"):
            pass
    except OSError as err:
        raise FileFormatError(f"{path}: cannot be read ({err.strerror})") from None
    return path


def check_writable_dir(path: str | Path, what: str) -> Path:
    """The directory `path`, created if missing, into which a file can be written; else an InvalidArgumentError
    naming `what` (the argument) and why, before any long job starts rather than at its first save."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InvalidArgumentError(f"{what} {path}: is a file, expected a directory (choose another {what})")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test{TMP_SUFFIX}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise InvalidArgumentError(f"{what} {path}: cannot be written to ({err.strerror})") from None
    return path


DECODING_ERRORS = ("strict", "replace")  # what invalid UTF-8 does: stop naming its offset, or become U+FFFD


def iter_lines(path: str | Path, errors: str = "strict") -> Iterator[str]:
    """Yield the lines of a UTF-8 file without their line endings, never holding the file in memory.

    errors="strict" raises FileFormatError naming the byte offset of the first invalid byte;
    errors="replace" substitutes U+FFFD, as Python's codec does.
    """
    if errors not in DECODING_ERRORS:
        raise InvalidArgumentError(f"errors={errors!r}: expected 'strict' or 'replace'")
    path = check_readable(path)
    offset = 0
    with path.open("rb") as f:
        for raw in f:
            try:
                line = raw.decode("utf-8", errors=errors)
            except UnicodeDecodeError as err:
                raise FileFormatError(
                    f"{path}: not valid UTF-8 at byte offset {offset + err.start}"
                    " (re-encode it as UTF-8, or read it with `errors`='replace', which substitutes U+FFFD)"
                ) from None
            offset += len(raw)
            yield line.rstrip("\r\n")


def count_text_lines(path: str | Path, job: str) -> int:
    """The number of lines of a file whose every line is one text, read once before a streamed job (`job`:
    "embed", "score") so that its progress bar and output can be sized; an empty line, or none at all, is an
    error naming it, since a text-per-line job has nothing to do with it."""
    count = 0
    for number, line in enumerate(iter_lines(path), start=1):
        if not line.strip():
            raise FileFormatError(f"{path}, line {number}: empty line; every line must hold a text")
        count = number
    if count == 0:
        raise FileFormatError(f"{path}: no lines to {job}")
    return count


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """`items` in lists of `size` (the last shorter), pulled as they are needed."""
    items = iter(items)
    while chunk := list(islice(items, size)):
        yield chunk


def iter_files_lines(paths: Iterable[str | Path], errors: str = "strict") -> Iterator[str]:
    """The lines of several files, one after another."""
    for path in paths:
        yield from iter_lines(path, errors=errors)


def read_settings(path: str | Path) -> dict[str, Any]:
    """The top-level object of a JSON or TOML settings file (by extension), or a FileFormatError naming it."""
    path = Path(path)
    toml = path.suffix == ".toml"
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if toml else json.loads(text)
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such config file") from None
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise FileFormatError(f"{path}: not a valid {'TOML' if toml else 'JSON'} file ({e})") from None
    if not isinstance(data, dict):
        raise FileFormatError(f"{path}: a config must be a JSON object, got {type(data).__name__}")
    return data


TMP_SUFFIX = ".tmp"  # what a write in progress is called: the final name plus this


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path` to write (a file, or a directory the caller creates); when the block
    ends without error it is renamed to `path` in one step, replacing what was there; on any error it is
    removed (a disk-full half file would only take more space) and `path` is untouched."""
    path = Path(path)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    _remove(tmp)  # left by a run that was killed mid-write
    try:
        yield tmp
        if path.is_dir() and tmp.is_dir():
            shutil.rmtree(path)  # os.replace cannot put a directory over a non-empty one
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def write_text_atomically(path: str | Path, text: str) -> None:
    """`path.write_text(text)` (UTF-8) that never leaves a half-written file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
