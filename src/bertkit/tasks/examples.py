"""What a task file holds once read: one small dataclass per kind of example, and the file's examples together.

Every example remembers where it came from (`line`, or the record path for SQuAD) so that an error found
later, such as a validation label never seen in training, can still name the file and the line.
"""

from dataclasses import dataclass, field
from pathlib import Path

TASKS = ("classify", "regress", "choice", "tag", "qa")


@dataclass
class TextExample:
    """`classify` and `regress`: one text or a pair; the label is a name (classify) or a number (regress)."""

    text: str
    pair: str | None = None
    label: str | float | None = None  # None: an unlabelled input to predict
    line: int | str = 0  # 1-based line of the file where the example starts; "row N" of a Parquet file


@dataclass
class ChoiceExample:
    """`choice`: a context and its options (each option is the second text of a pair); label = the right one."""

    context: str
    choices: list[str]
    label: int | None = None
    line: int | str = 0


@dataclass
class TagExample:
    """`tag`: words and one tag per word (None: an unlabelled input)."""

    tokens: list[str]
    tags: list[str] | None = None
    line: int | str = 0  # line of the first word (CoNLL) or of the record (JSONL); "row N" of a table


@dataclass
class Answer:
    """A SQuAD answer: its text and the character offset in the context where it starts."""

    text: str
    start: int


@dataclass
class QAExample:
    """`qa`: a SQuAD question. Training uses the first answer; evaluation scores against all of them."""

    id: str
    question: str
    context: str
    answers: list[Answer] = field(default_factory=list)
    is_impossible: bool = False  # SQuAD v2: the context holds no answer
    line: str = ""  # the record, as `data[i].paragraphs[j].qas[k]`


Example = TextExample | ChoiceExample | TagExample | QAExample


@dataclass
class TaskData:
    """The examples of one file, in file order, and what reading it found."""

    task: str
    path: Path
    format: str  # csv, tsv, jsonl, parquet, datasets, conll or json (SQuAD)
    examples: list[Example]
    labelled: bool = True  # every example has its label (tags, answers); False for some prediction inputs
    skipped_answers: int = 0  # qa: answers whose text is not at answer_start, left out
    dropped_questions: int = 0  # qa: questions whose every answer was left out, so not kept at all
    squad_v2: bool = False  # qa: the file has unanswerable questions (`is_impossible`)
    label_names: tuple[str, ...] | None = None  # classify/tag: the names given to integer labels 0, 1, ...

    def __len__(self) -> int:
        return len(self.examples)

    def where(self, example: Example) -> str:
        """`path, line N` (or `path, row N`, `path, data[i]...` for SQuAD), to start an error message about
        `example`."""
        return location(self.path, example.line)


def location(path: Path, line: int | str) -> str:
    """Where a record is: `path, line N` for a line of a text file, else `path, ` and the place as given (a
    table's `row N`, SQuAD's `data[i].paragraphs[j].qas[k]`)."""
    return f"{path}, line {line}" if isinstance(line, int) else f"{path}, {line}"
