"""Reading a pre-training corpus as a stream of documents, each a list of sentences.

Two formats, told apart by the file name:
- plain text (any name but `*.jsonl`), Google's format: one sentence per line, a blank line between documents;
- `*.jsonl`: one JSON object per line whose `text` field is one document. Its text is split into sentences
  at line breaks and after sentence-ending punctuation (`.` `!` `?` followed by a space, and the full-width
  `。` `！` `？`), a deliberately simple rule: the splits only decide where NSP segments may start.
A directory stands for its `*.txt` and `*.jsonl` files, recursively, in sorted order.
"""

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from bertkit.errors import FileFormatError
from bertkit.files import iter_lines

CORPUS_SUFFIXES = (".txt", ".jsonl")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


def resolve_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """The files to read, in order: each argument file as given, each directory's corpus files sorted."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in CORPUS_SUFFIXES)
            if not found:
                raise FileFormatError(f"{path}: directory holds no {' or '.join(CORPUS_SUFFIXES)} files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FileFormatError(f"{path}: no such file or directory")
    if not files:
        raise FileFormatError("no input files given")
    return files


def iter_documents(files: Iterable[Path]) -> Iterator[tuple[list[str], int]]:
    """(sentences, UTF-8 bytes read) per non-empty document, streamed file by file."""
    for path in files:
        reader = _jsonl_documents if path.suffix == ".jsonl" else _text_documents
        yield from reader(path)


def _text_documents(path: Path) -> Iterator[tuple[list[str], int]]:
    sentences: list[str] = []
    size = 0
    for line in _checked_lines(path):
        size += len(line.encode("utf-8")) + 1
        line = line.strip()
        if line:
            sentences.append(line)
        elif sentences:
            yield sentences, size
            sentences, size = [], 0
    if sentences:
        yield sentences, size


def _jsonl_documents(path: Path) -> Iterator[tuple[list[str], int]]:
    for number, line in enumerate(_checked_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise FileFormatError(f"{path}:{number}: not valid JSON ({err.msg})") from None
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str):
            raise FileFormatError(f"{path}:{number}: expected a JSON object with a string field 'text'")
        sentences = split_sentences(text)
        if sentences:
            yield sentences, len(line.encode("utf-8")) + 1


def split_sentences(text: str) -> list[str]:
    """Sentences of a document: split at line breaks and after sentence-ending punctuation."""
    return [s for line in text.splitlines() for s in (p.strip() for p in _SENTENCE_END.split(line)) if s]


def _checked_lines(path: Path) -> Iterator[str]:
    # Valid UTF-8 can still be binary (NUL is valid UTF-8); text never holds NUL bytes.
    for number, line in enumerate(iter_lines(path), start=1):
        if "\x00" in line:
            raise FileFormatError(
                f"{path}:{number}: contains NUL bytes; this looks like a binary file, not text"
            )
        yield line
