"""Reading users' text files line by line, streamed, with errors that name the file and byte offset.

Every layer that reads text (the tokenizer's trainer, `bertkit tokenize`, `bertkit prepare`) goes through
here, so a non-UTF-8 file gets the same one-line message everywhere instead of a UnicodeDecodeError.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path

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


def iter_lines(path: str | Path, errors: str = "strict") -> Iterator[str]:
    """Yield the lines of a UTF-8 file without their line endings, never holding the file in memory.

    errors="strict" raises FileFormatError naming the byte offset of the first invalid byte;
    errors="replace" substitutes U+FFFD, as Python's codec does.
    """
    if errors not in ("strict", "replace"):
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
                    " (re-encode it as UTF-8, or read it with errors='replace' / `bertkit tokenize --errors replace`,"
                    " which substitute U+FFFD)"
                ) from None
            offset += len(raw)
            yield line.rstrip("\r\n")


def iter_files_lines(paths: Iterable[str | Path], errors: str = "strict") -> Iterator[str]:
    """The lines of several files, one after another."""
    for path in paths:
        yield from iter_lines(path, errors=errors)
