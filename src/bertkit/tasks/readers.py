"""Task files in, examples out: which reader a file needs, and the label names a training file defines.

The format comes from the extension (.csv, .tsv, .jsonl/.json, .parquet, .conll/.txt; .json is SQuAD for
`qa`), or for a directory from `datasets`' save_to_disk files, unless `format` says otherwise; tables.py
reads CSV/TSV/JSONL/Parquet/datasets tables, conll.py CoNLL and tag records, squad_files.py SQuAD files and
question records. Label names are the training file's distinct labels, sorted (numerically when they all are
integers, as GLUE's "0"/"1"), so the same file always gives the same ids; or, with `label_names`, the names
given, which integer labels (Parquet's, a dataset's ClassLabel ids, "0"/"1" in a CSV) index. `check_labels`
stops a validation file whose labels the model cannot output, naming its file, line and label.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

from bertkit.checks import check_choice
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import check_readable
from bertkit.tasks.conll import read_conll, read_tag_records
from bertkit.tasks.examples import TASKS, TagExample, TaskData, TextExample
from bertkit.tasks.squad_files import read_squad, read_squad_records
from bertkit.tasks.tables import read_choice, read_text_table

TABLES = ("csv", "tsv", "jsonl", "parquet", "datasets")
FORMATS = {
    "classify": TABLES,
    "regress": TABLES,
    "choice": TABLES,
    "tag": ("conll", "jsonl", "parquet", "datasets"),
    "qa": ("json", "jsonl", "parquet", "datasets"),
}
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".conll": "conll",
    ".txt": "conll",
}
# What save_to_disk writes: a Dataset's state.json, a DatasetDict's dataset_dict.json (one directory per split).
DATASET_FILES = ("state.json", "dataset_dict.json")
LABELLED_TASKS = ("classify", "tag")  # tasks whose labels are names


def detect_format(path: str | Path, task: str) -> str:
    """The format of a task file from its extension (.json is SQuAD for `qa` and JSON lines otherwise), or
    `datasets` for a directory that save_to_disk wrote."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        if not any((path / name).is_file() for name in DATASET_FILES):
            raise FileFormatError(
                f"{path}: is a directory, and not one that `datasets`' save_to_disk wrote (no "
                f"{' or '.join(DATASET_FILES)}); give a task file"
            )
        fmt, kind = "datasets", "a `datasets` directory"
    else:
        fmt = ("json" if task == "qa" else "jsonl") if suffix == ".json" else EXTENSIONS.get(suffix)
        kind = f"the extension {suffix or '(none)'!r}"
    if fmt not in FORMATS[task]:
        raise InvalidArgumentError(
            f"{path}: `task`={task!r} reads {', '.join(FORMATS[task])} files, and {kind} is none of them; "
            "pass `format`"
        )
    return fmt


def read_task_file(
    path: str | Path,
    task: str,
    *,
    format: str | None = None,
    text_column: str | None = None,
    pair_column: str | None = None,
    label_column: str | None = None,
    label_names: str | Sequence[str] | None = None,
    require_labels: bool = True,
) -> TaskData:
    """The examples of a task file, in file order.

    task: classify, regress, choice, tag or qa. format: csv, tsv, jsonl, parquet, datasets (a save_to_disk
    directory), conll or json (SQuAD); None: from the extension. The column names pick fields of the tables
    (defaults: text = `text`, `sentence` or `sentence1`; pair = `text_pair` or `sentence2`, if present;
    label = `label`; for choice `context` (JSONL) or SWAG's `sent1`, and `label`; for tag records `tokens` and
    `tags` or `ner_tags`). label_names (classify, tag; a list or "a,b,c"): the names of integer labels, a
    label i becoming label_names[i] (a label that already is one of the names stays). require_labels=False
    reads prediction inputs: labels, tags and answers may then be absent (they are kept where present).
    Anything malformed is a FileFormatError naming the file and line (a table's row, a SQuAD record)."""
    check_choice("`task`", task, TASKS)
    names = split_label_names(label_names)
    if names is not None and task not in LABELLED_TASKS:
        raise InvalidArgumentError(
            f"`label_names` names classify labels or tags; `task`={task!r} has no label names"
        )
    fmt = format if format is not None else detect_format(path, task)
    path = Path(path) if fmt == "datasets" else check_readable(path)
    if fmt not in FORMATS[task]:
        raise InvalidArgumentError(
            f"`format`={fmt!r} cannot be read for `task`={task!r}; expected one of {', '.join(FORMATS[task])}"
        )
    if task == "qa" and fmt == "json":
        return read_squad(path, require_labels=require_labels)
    if task == "qa":
        return read_squad_records(path, fmt, require_labels=require_labels)
    if task == "tag" and fmt == "conll":
        examples = read_conll(path, require_labels=require_labels)
    elif task == "tag":
        examples = read_tag_records(path, fmt, text_column, label_column, require_labels=require_labels)
    elif task == "choice":
        examples = read_choice(path, fmt, text_column, label_column, require_labels=require_labels)
    else:
        examples = read_text_table(
            path, fmt, task, text_column, pair_column, label_column, require_labels=require_labels
        )
    data = TaskData(task, path, fmt, examples, labelled=all(_label_of(e) is not None for e in examples))
    if names is not None:
        _name_labels(data, names)
    return data


def _label_of(example) -> object:
    return example.tags if isinstance(example, TagExample) else example.label


def split_label_names(names: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Label names as a tuple: from a list, or from one comma-separated text (`--label-names neg,pos`)."""
    if names is None:
        return None
    parts = names.split(",") if isinstance(names, str) else list(names)
    if not all(isinstance(n, str) for n in parts):
        raise InvalidArgumentError(f"`label_names` must be texts, got {names!r}")
    parts = [n.strip() for n in parts]
    if "" in parts:
        raise InvalidArgumentError(f"`label_names` has an empty name: {names!r}")
    if len(set(parts)) != len(parts):
        raise InvalidArgumentError(f"`label_names` names a label twice: {names!r}")
    return tuple(parts)


def _name_labels(data: TaskData, names: tuple[str, ...]) -> None:
    """Integer labels (tags) of `data` replaced by their names, in place; any other label not among the
    names is an error naming its file and line."""

    def named(example, label: str) -> str:
        if label in names:
            return label
        if _is_int(label) and 0 <= int(label) < len(names):
            return names[int(label)]
        raise FileFormatError(
            f"{data.where(example)}: label {label!r} is neither one of `label_names` ({', '.join(names)}) "
            f"nor an index into them (0 to {len(names) - 1})"
        )

    for e in data.examples:
        if isinstance(e, TagExample) and e.tags is not None:
            e.tags = [named(e, t) for t in e.tags]
        elif isinstance(e, TextExample) and e.label is not None:
            e.label = named(e, e.label)
    data.label_names = names


def label_names(data: TaskData) -> list[str] | None:
    """The label names a training file defines: the `label_names` it was read with, else its labels sorted;
    `classify` labels, `tag` tags; None for the other tasks (regress predicts a number, choice an option
    index, qa a span). The position is the label's id."""
    if data.label_names is not None:
        return list(data.label_names)
    if data.task == "classify":
        names = {e.label for e in data.examples if isinstance(e, TextExample) and e.label is not None}
    elif data.task == "tag":
        names = {t for e in data.examples if isinstance(e, TagExample) for t in e.tags or ()}
    else:
        return None
    if not names:
        raise FileFormatError(f"{data.path}: no labels to learn from (every example is unlabelled)")
    if all(_is_int(n) for n in names):
        return sorted(names, key=int)
    return sorted(names)


def _is_int(name: str) -> bool:
    try:
        int(name)
    except ValueError:
        return False
    return True


def check_labels(data: TaskData, label2id: Mapping[str, int]) -> None:
    """A FileFormatError naming file, line and label for the first label of `data` (a validation or evaluation
    file) that `label2id` (the training file's, or a fine-tuned model's) does not have."""
    if data.task not in ("classify", "tag"):
        return
    for example in data.examples:
        labels = example.tags if isinstance(example, TagExample) else [example.label]
        for label in labels or ():
            if label is not None and label not in label2id:
                known = ", ".join(map(repr, list(label2id)[:20])) + (" ..." if len(label2id) > 20 else "")
                raise FileFormatError(
                    f"{data.where(example)}: label {label!r} never appears in the training data "
                    f"(the model knows {known})"
                )
