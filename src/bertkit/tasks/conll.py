"""Tagging files: CoNLL (one word per line, its tag in the last column, a blank line between sentences,
`-DOCSTART-` lines skipped, as CoNLL-2003 and Hugging Face's conll2003 loader read them), and records
{"tokens": [...], "tags": [...]} in JSON lines, Parquet or a `datasets` directory (the Hub's conll2003 calls
the tags `ner_tags`, integers whose names `label_names` gives)."""

from pathlib import Path

from bertkit.errors import FileFormatError
from bertkit.files import iter_lines
from bertkit.tasks.examples import TagExample, location
from bertkit.tasks.tables import Line, field, iter_records, pick_column

DOCSTART = "-DOCSTART-"
TAG_COLUMNS = ("tags", "ner_tags")


def read_conll(path: Path, require_labels: bool) -> list[TagExample]:
    """Sentences of a CoNLL file. Columns are split on whitespace; the first is the word, the last its tag (the
    columns between, POS and chunk tags in CoNLL-2003, are ignored). Unlabelled inputs may have one column."""
    examples: list[TagExample] = []
    words: list[str] = []
    tags: list[str | None] = []
    start = 0

    def flush() -> None:
        if words:
            labelled = all(t is not None for t in tags)
            examples.append(TagExample(list(words), list(tags) if labelled else None, start))  # type: ignore[arg-type]
            words.clear()
            tags.clear()

    for number, line in enumerate(iter_lines(path), start=1):
        columns = line.lstrip("\ufeff").split() if number == 1 else line.split()
        if not columns or columns[0] == DOCSTART:
            flush()
            continue
        if len(columns) == 1 and require_labels:
            raise FileFormatError(
                f"{path}, line {number}: word {columns[0]!r} has no tag (expected the tag in the last column, "
                "separated by a space or tab)"
            )
        if not words:
            start = number
        words.append(columns[0])
        tags.append(columns[-1] if len(columns) > 1 else None)
    flush()
    if not examples:
        raise FileFormatError(f"{path}: empty file, no sentences in it")
    return examples


def read_tag_records(
    path: Path, fmt: str, tokens_column: str | None, tags_column: str | None, require_labels: bool
) -> list[TagExample]:
    """Records {"tokens": [...], "tags": [...]} of a `fmt` table (keys overridable; the tags default to
    `tags`, else `ner_tags`); tags may be names or integers, and there must be exactly one per token."""
    examples: list[TagExample] = []
    columns: tuple[str, str | None] | None = None
    for line, record in iter_records(path, fmt):
        if columns is None:
            found = list(record)
            columns = (
                pick_column(path, found, tokens_column, ("tokens",), "text_column", required=True),
                pick_column(path, found, tags_column, TAG_COLUMNS, "label_column", require_labels),
            )
        tokens = _strings(path, line, field(path, line, record, columns[0]), columns[0], (str,))
        if not tokens:
            raise FileFormatError(f"{location(path, line)}: {columns[0]!r} is empty; a sentence needs a word")
        raw = record.get(columns[1]) if columns[1] else None
        if raw is None and require_labels:
            field(path, line, record, columns[1])  # names the missing key
        tags = None
        if raw is not None:
            tags = [str(t) for t in _strings(path, line, raw, columns[1], (str, int))]
            if len(tags) != len(tokens):
                raise FileFormatError(
                    f"{location(path, line)}: {len(tokens)} tokens but {len(tags)} tags; every token needs one tag"
                )
        examples.append(TagExample(tokens, tags, line))
    return examples


def _strings(path: Path, line: Line, value: object, name: str | None, kinds: tuple[type, ...]) -> list:
    """A JSON list of texts (or texts and integers, for tags), or an error naming the line."""
    if not isinstance(value, list) or not all(
        isinstance(v, kinds) and not isinstance(v, bool) for v in value
    ):
        wanted = "texts" if kinds == (str,) else "names or integers"
        raise FileFormatError(f"{location(path, line)}: {name!r} must be a list of {wanted}")
    return value
