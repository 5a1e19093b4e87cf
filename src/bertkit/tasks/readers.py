"""Task files in, examples out: which reader a file needs, and the label names a training file defines.

The format comes from the extension (.csv, .tsv, .jsonl/.json, .conll/.txt; .json is SQuAD for `qa`) unless
`format` says otherwise; tables.py reads CSV/TSV/JSONL, conll.py CoNLL, squad_files.py SQuAD. Label names are
the training file's distinct labels, sorted (numerically when they all are integers, as GLUE's "0"/"1"), so
the same file always gives the same ids, and `check_labels` stops a validation file whose labels the model
cannot output, naming its file, line and label.
"""

from collections.abc import Mapping
from pathlib import Path

from bertkit.checks import check_choice
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import check_readable
from bertkit.tasks.conll import read_conll, read_tag_jsonl
from bertkit.tasks.examples import TASKS, TagExample, TaskData, TextExample
from bertkit.tasks.squad_files import read_squad
from bertkit.tasks.tables import read_choice, read_text_table

FORMATS = {
    "classify": ("csv", "tsv", "jsonl"),
    "regress": ("csv", "tsv", "jsonl"),
    "choice": ("csv", "tsv", "jsonl"),
    "tag": ("conll", "jsonl"),
    "qa": ("json",),
}
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".conll": "conll", ".txt": "conll"}


def detect_format(path: str | Path, task: str) -> str:
    """The format of a task file from its extension: .json is SQuAD for `qa` and JSON lines otherwise."""
    suffix = Path(path).suffix.lower()
    fmt = ("json" if task == "qa" else "jsonl") if suffix == ".json" else EXTENSIONS.get(suffix)
    if fmt not in FORMATS[task]:
        raise InvalidArgumentError(
            f"{path}: `task`={task!r} reads {', '.join(FORMATS[task])} files, and the extension "
            f"{suffix or '(none)'!r} is none of them; pass `format`"
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
    require_labels: bool = True,
) -> TaskData:
    """The examples of a task file, in file order.

    task: classify, regress, choice, tag or qa. format: csv, tsv, jsonl, conll or json (SQuAD); None: from the
    extension. The column names pick fields of CSV/TSV/JSONL tables (defaults: text = `text`, `sentence` or
    `sentence1`; pair = `text_pair` or `sentence2`, if present; label = `label`; for choice JSONL `context`
    and `label`, for tag JSONL `tokens` and `tags`). require_labels=False reads prediction inputs: labels,
    tags and answers may then be absent (they are kept where present). Anything malformed is a
    FileFormatError naming the file and line (or SQuAD record)."""
    check_choice("`task`", task, TASKS)
    path = check_readable(path)
    fmt = format if format is not None else detect_format(path, task)
    if fmt not in FORMATS[task]:
        raise InvalidArgumentError(
            f"`format`={fmt!r} cannot be read for `task`={task!r}; expected one of {', '.join(FORMATS[task])}"
        )
    if task == "qa":
        return read_squad(path, require_labels=require_labels)
    if task == "tag" and fmt == "conll":
        examples = read_conll(path, require_labels=require_labels)
    elif task == "tag":
        examples = read_tag_jsonl(path, text_column, label_column, require_labels=require_labels)
    elif task == "choice":
        examples = read_choice(path, fmt, text_column, label_column, require_labels=require_labels)
    else:
        examples = read_text_table(
            path, fmt, task, text_column, pair_column, label_column, require_labels=require_labels
        )
    labelled = all(_label_of(e) is not None for e in examples)
    return TaskData(task, path, fmt, examples, labelled=labelled)


def _label_of(example) -> object:
    return example.tags if isinstance(example, TagExample) else example.label


def label_names(data: TaskData) -> list[str] | None:
    """The label names a training file defines, sorted: `classify` labels, `tag` tags; None for the other
    tasks (regress predicts a number, choice an option index, qa a span). The position is the label's id."""
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
