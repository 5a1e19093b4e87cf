"""Tables of examples, read as one record per example with the place it starts: CSV, TSV (GLUE's layout: a
header row, tabs, no quoting) and JSON lines, a record per line; Parquet files and `datasets`' save_to_disk
directories (the forms the Hugging Face Hub serves and `datasets` keeps), a record per row. The records feed
`classify`, `regress`, `choice` and tag (conll.py) alike, so every format has the same columns, defaults and
errors.

Lines come from `bertkit.files.iter_lines`, so a non-UTF-8 file is reported with its byte offset; a quoted CSV
field may span lines (the record then carries the line it starts on). A row of a Parquet file or a dataset is
`row N`, counted from 0 as `dataset[N]` counts. pyarrow (`bertkit[parquet]`) and `datasets` are imported only
when such a file is read.
"""

import csv
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import iter_lines
from bertkit.tasks.examples import ChoiceExample, TextExample, location

TEXT_COLUMNS = ("text", "sentence", "sentence1")
PAIR_COLUMNS = ("text_pair", "sentence2")
LABEL_COLUMN = "label"
ENDING_RE = re.compile(r"ending(\d+)")  # SWAG's option columns: ending0, ending1, ...
NUMBER_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # what float() reads, less nan/inf/1_0
ROW_FORMATS = ("parquet", "datasets")  # records are rows of a table, not lines of a text
BATCH_ROWS = 4096  # Parquet rows converted to Python at a time: a big file is never all in memory twice

Record = dict[str, object]
Line = int | str  # a text file's 1-based line, or a table's "row N"


def iter_records(path: Path, fmt: str) -> Iterator[tuple[Line, Record]]:
    """(line or row, record) for every non-blank row: CSV/TSV rows keyed by the header, JSON-lines objects as
    they are, Parquet and dataset rows as dictionaries of their columns. An empty file (or a header without
    rows) is a FileFormatError."""
    sources = {"jsonl": _json_lines, "parquet": _parquet_rows, "datasets": _dataset_rows}
    records = sources[fmt](path) if fmt in sources else _table_rows(path, fmt)
    empty = True
    for line, record in records:
        empty = False
        yield line, record
    if empty:
        raise FileFormatError(f"{path}: empty file, no examples in it")


def _table_rows(path: Path, fmt: str) -> Iterator[tuple[Line, Record]]:
    # GLUE's own reader (and its TSVs, whose texts hold bare quotes) uses no quoting for TSV; CSV is RFC 4180.
    options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if fmt == "tsv" else {}
    rows = csv.reader((line + "\n" for line in iter_lines(path)), **options)
    header: list[str] | None = None
    end = 0  # the last line of the previous row
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as err:  # an over-long field, a stray quote in a quoted field
            raise FileFormatError(f"{path}, line {end + 1}: not a valid {fmt.upper()} row ({err})") from None
        start, end = end + 1, rows.line_num
        if not row or row == [""]:
            continue
        if header is None:
            header = [name.lstrip("\ufeff").strip() for name in row]  # an editor's byte-order mark
            continue
        if len(row) != len(header):
            raise FileFormatError(
                f"{path}, line {start}: {len(row)} fields, but the header has {len(header)} "
                f"({', '.join(header)})"
            )
        yield start, dict(zip(header, row, strict=True))


def _json_lines(path: Path) -> Iterator[tuple[Line, Record]]:
    for number, line in enumerate(iter_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.lstrip("\ufeff") if number == 1 else line)
        except json.JSONDecodeError as err:
            raise FileFormatError(
                f"{path}, line {number}: not valid JSON ({err.msg}, column {err.colno})"
            ) from None
        if not isinstance(record, dict):
            raise FileFormatError(
                f"{path}, line {number}: expected a JSON object, got {type(record).__name__}"
            )
        yield number, record


def _parquet_rows(path: Path) -> Iterator[tuple[Line, Record]]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidArgumentError(
            f"{path}: reading Parquet needs pyarrow: pip install 'bertkit[parquet]'"
        ) from None
    row = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            for record in batch.to_pylist():
                yield f"row {row}", record
                row += 1
    except (pa.ArrowException, OSError) as err:  # not Parquet, truncated, a corrupt page
        raise FileFormatError(f"{path}: not a readable Parquet file ({_first_line(err)})") from None


def _dataset_rows(path: Path) -> Iterator[tuple[Line, Record]]:
    try:
        import datasets
    except ImportError:
        raise InvalidArgumentError(
            f"{path}: reading a `datasets` save_to_disk directory needs datasets: pip install datasets"
        ) from None
    try:
        dataset = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError, OSError) as err:
        raise FileFormatError(f"{path}: not a readable `datasets` directory ({_first_line(err)})") from None
    if isinstance(dataset, datasets.DatasetDict):
        splits = ", ".join(dataset)
        raise FileFormatError(
            f"{path}: holds the splits {splits}; give one split's directory, e.g. {path / next(iter(dataset))}"
        )
    for row, record in enumerate(dataset):
        yield f"row {row}", record


def _first_line(err: Exception) -> str:
    """An exception's message on one line (pyarrow's may span several)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def pick_column(
    path: Path, columns: list[str], given: str | None, defaults: tuple[str, ...], param: str, required: bool
) -> str | None:
    """The column `given`, or the first of `defaults` the file has; an error listing the columns found when
    a required one is missing (or a `given` one, required or not)."""
    if given is not None:
        if given in columns:
            return given
        raise FileFormatError(
            f"{path}: no column {given!r} (`{param}`); columns found: {', '.join(columns) or '(none)'}"
        )
    found = next((c for c in defaults if c in columns), None)
    if found is None and required:
        raise FileFormatError(
            f"{path}: no column {' or '.join(map(repr, defaults))}; columns found: "
            f"{', '.join(columns) or '(none)'} (choose one with `{param}`)"
        )
    return found


def field(path: Path, line: Line, record: Record, column: str) -> object:
    """record[column], or an error naming the line and the columns that record has (JSON lines vary)."""
    if column not in record:
        raise FileFormatError(
            f"{location(path, line)}: no {column!r}; keys found: {', '.join(record) or '(none)'}"
        )
    return record[column]


def text_field(path: Path, line: Line, record: Record, column: str) -> str:
    value = field(path, line, record, column)
    if not isinstance(value, str):
        raise FileFormatError(f"{location(path, line)}: {column!r} must be text, got {type(value).__name__}")
    return value


def label_value(path: Path, line: Line, record: Record, column: str | None, required: bool) -> object | None:
    """The record's raw label, or None where it has none (an empty cell, a JSON null, no label column),
    which is an error when labels are `required`."""
    value = record.get(column) if column else None
    if value is None or value == "":
        if required:
            raise FileFormatError(f"{location(path, line)}: no label in column {column!r}")
        return None
    return value


def _class_label(path: Path, line: Line, value: object) -> str:
    """A classification label as its name: text, or an integer (JSON) written as text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FileFormatError(
            f"{location(path, line)}: label {value!r} must be a name or an integer, got {type(value).__name__}"
        )
    return str(value)


def _number(path: Path, line: Line, value: object) -> float:
    """A regression target: a JSON number or a number written as text; anything else names its line."""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not (numeric or isinstance(value, str) and NUMBER_RE.fullmatch(value.strip())) or not math.isfinite(
        float(value)
    ):
        raise FileFormatError(
            f"{location(path, line)}: label {value!r} is not a finite number, and `regress` needs one on every "
            "line (for named classes use `task`='classify')"
        )
    return float(value)


def read_text_table(
    path: Path,
    fmt: str,
    task: str,
    text_column: str | None,
    pair_column: str | None,
    label_column: str | None,
    require_labels: bool,
) -> list[TextExample]:
    """`classify`/`regress` examples: a text, maybe a pair, and a label (a name, or a number for regress)."""
    examples: list[TextExample] = []
    columns: tuple[str, str | None, str | None] | None = None
    for line, record in iter_records(path, fmt):
        if columns is None:
            found = list(record)
            columns = (
                pick_column(path, found, text_column, TEXT_COLUMNS, "text_column", required=True),
                pick_column(path, found, pair_column, PAIR_COLUMNS, "pair_column", required=False),
                pick_column(path, found, label_column, (LABEL_COLUMN,), "label_column", require_labels),
            )
        text_col, pair_col, label_col = columns
        text = text_field(path, line, record, text_col)
        pair = text_field(path, line, record, pair_col) if pair_col else None
        value = label_value(path, line, record, label_col, require_labels)
        if value is None:
            label = None
        else:
            label = _number(path, line, value) if task == "regress" else _class_label(path, line, value)
        examples.append(TextExample(text, pair, label, line))
    return examples


def read_choice(
    path: Path, fmt: str, context_column: str | None, label_column: str | None, require_labels: bool
) -> list[ChoiceExample]:
    """`choice` examples. SWAG's table (CSV, TSV, or Parquet/dataset rows without a `choices` column):
    context = sent1, option i = sent2 + " " + ending_i (as Hugging Face's run_swag builds them); JSON lines,
    and Parquet/dataset rows with a list column `choices`: {"context": ..., "choices": [...], "label": i}.
    Every example must have as many options as the first."""
    examples: list[ChoiceExample] = []
    context_col = label_col = None
    listed = fmt == "jsonl"  # the options as one list, not SWAG's ending columns
    endings: list[str] = []
    for line, record in iter_records(path, fmt):
        if context_col is None:
            found = list(record)
            listed = listed or (fmt in ROW_FORMATS and "choices" in found)
            default = ("context",) if listed else ("sent1",)
            context_col = pick_column(path, found, context_column, default, "text_column", required=True)
            label_col = pick_column(
                path, found, label_column, (LABEL_COLUMN,), "label_column", require_labels
            )
            if not listed:
                endings = _ending_columns(path, found)
        context = text_field(path, line, record, context_col)
        if listed:
            choices = field(path, line, record, "choices")
            if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
                raise FileFormatError(f"{location(path, line)}: 'choices' must be a list of texts")
        else:
            header = record.get("sent2")  # absent: the options are the endings alone
            options = [text_field(path, line, record, e) for e in endings if record[e] not in ("", None)]
            choices = [o if header is None else f"{header} {o}" for o in options]
        expected = len(examples[0].choices) if examples else len(endings) or len(choices)
        if len(choices) < 2:
            raise FileFormatError(
                f"{location(path, line)}: {len(choices)} options; a choice needs at least 2"
            )
        if len(choices) != expected:
            first = "the header's endings" if endings else "the first example"
            raise FileFormatError(
                f"{location(path, line)}: {len(choices)} options, but every example needs the same number "
                f"({expected}, as {first})"
            )
        value = label_value(path, line, record, label_col, require_labels)
        label = None if value is None else _option_index(path, line, value, len(choices))
        examples.append(ChoiceExample(context, choices, label, line))
    return examples


def _ending_columns(path: Path, columns: list[str]) -> list[str]:
    numbers = sorted(int(m.group(1)) for c in columns if (m := ENDING_RE.fullmatch(c)))
    if len(numbers) < 2 or numbers != list(range(len(numbers))):
        raise FileFormatError(
            f"{path}: a SWAG table needs option columns ending0, ending1, ...; columns found: {', '.join(columns)}"
        )
    return [f"ending{i}" for i in numbers]


def _option_index(path: Path, line: Line, value: object, n: int) -> int:
    index = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        index = int(value)
    if index is None or not 0 <= index < n:
        raise FileFormatError(
            f"{location(path, line)}: label {value!r} must be an option index from 0 to {n - 1}"
        )
    return index
