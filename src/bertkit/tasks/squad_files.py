"""SQuAD v1.1 and v2.0 files: `data[].paragraphs[].qas[]`, each question with its id and answers, v2 marking
unanswerable ones with `is_impossible`; and the same questions one record each (`id`, `question`, `context`,
`answers`), in JSON lines, Parquet or a `datasets` directory, as the Hub's squad and squad_v2 hold them: there
`answers` is `{"text": [...], "answer_start": [...]}` (or SQuAD's list of objects), and an empty one marks an
unanswerable question.

An answer whose text is not found at its `answer_start` in the context cannot be mapped to tokens; it is
left out and counted (a warning says how many), never silently shifted. A question whose every answer was left
out is dropped too, since keeping it would turn it into an unanswerable one.
"""

import json
import logging
from pathlib import Path

from bertkit.errors import FileFormatError
from bertkit.files import iter_lines
from bertkit.tasks.examples import Answer, QAExample, TaskData
from bertkit.tasks.tables import iter_records

logger = logging.getLogger(__name__)


def read_squad(path: Path, require_labels: bool) -> TaskData:
    """The questions of a SQuAD JSON file, in file order. Prediction inputs may omit `answers`."""
    # iter_lines reports a non-UTF-8 byte with its offset; JSON strings hold no raw line breaks, so joining
    # the lines with "\n" changes nothing a parser sees.
    text = "\n".join(iter_lines(path)).lstrip("\ufeff")
    if not text.strip():
        raise FileFormatError(f"{path}: empty file, no questions in it")
    try:
        top = json.loads(text)
    except json.JSONDecodeError as err:
        raise FileFormatError(
            f"{path}, line {err.lineno}: not valid JSON ({err.msg}, column {err.colno})"
        ) from None
    articles = _get(path, "the top level", top, "data", list)
    examples: list[QAExample] = []
    skipped = dropped = 0
    for i, article in enumerate(articles):
        for j, paragraph in enumerate(_get(path, f"data[{i}]", article, "paragraphs", list)):
            where = f"data[{i}].paragraphs[{j}]"
            context = _get(path, where, paragraph, "context", str)
            for k, qa in enumerate(_get(path, where, paragraph, "qas", list)):
                record = f"{where}.qas[{k}]"
                qid = str(_get(path, record, qa, "id", str | int))
                question = _get(path, record, qa, "question", str)
                impossible = qa.get("is_impossible", False) if isinstance(qa, dict) else False
                if not isinstance(impossible, bool):
                    raise FileFormatError(f"{path}, {record}: 'is_impossible' must be true or false")
                raw = qa.get("answers") if not require_labels else _get(path, record, qa, "answers", list)
                answers, bad = _answers(path, record, context, [] if raw is None or impossible else raw)
                skipped += bad
                if bad and not answers:
                    dropped += 1
                    continue
                examples.append(QAExample(qid, question, context, answers, impossible, record))
    return _squad_data(path, "json", examples, skipped, dropped, require_labels)


def read_squad_records(path: Path, fmt: str, require_labels: bool) -> TaskData:
    """The questions of a table of SQuAD records (`fmt`: jsonl, parquet or datasets), in file order."""
    examples: list[QAExample] = []
    skipped = dropped = 0
    for line, record in iter_records(path, fmt):
        where = f"line {line}" if isinstance(line, int) else line
        qid = str(_get(path, where, record, "id", str | int))
        question = _get(path, where, record, "question", str)
        context = _get(path, where, record, "context", str)
        raw = (
            record.get("answers") if not require_labels else _get(path, where, record, "answers", list | dict)
        )
        if isinstance(raw, dict):  # the Hub's columns of texts and offsets
            texts, starts = raw.get("text"), raw.get("answer_start")
            if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
                raise FileFormatError(
                    f"{path}, {where}: 'answers' must hold lists 'text' and 'answer_start' of one length"
                )
            raw = [{"text": t, "answer_start": a} for t, a in zip(texts, starts, strict=True)]
        answers, bad = _answers(path, where, context, [] if raw is None else raw)
        skipped += bad
        if bad and not answers:
            dropped += 1
            continue
        impossible = record.get("is_impossible", raw == [])
        if not isinstance(impossible, bool):
            raise FileFormatError(f"{path}, {where}: 'is_impossible' must be true or false")
        examples.append(QAExample(qid, question, context, answers, impossible, where))
    return _squad_data(path, fmt, examples, skipped, dropped, require_labels)


def _squad_data(
    path: Path, fmt: str, examples: list[QAExample], skipped: int, dropped: int, require_labels: bool
) -> TaskData:
    """The questions read, after the checks and the warning every SQuAD reader shares."""
    if not examples:
        why = f" (all {dropped} had answers not at their answer_start)" if dropped else ""
        raise FileFormatError(f"{path}: no questions in it{why}")
    if skipped:
        logger.warning(
            "%s: %d answer(s) whose text is not at their answer_start were left out; %d question(s) left "
            "without any answer were dropped",
            path,
            skipped,
            dropped,
        )
    # With labels required, `answers` is in every record and an empty list means "no answer" (run_qa's reading).
    labelled = require_labels or all(e.answers or e.is_impossible for e in examples)
    squad_v2 = any(e.is_impossible for e in examples)
    return TaskData("qa", path, fmt, examples, labelled, skipped, dropped, squad_v2)


def _get(path: Path, where: str, record: object, key: str, kind: type) -> object:
    if not isinstance(record, dict):
        raise FileFormatError(f"{path}, {where}: expected a JSON object, got {type(record).__name__}")
    if key not in record:
        raise FileFormatError(f"{path}, {where}: no {key!r}; keys found: {', '.join(record) or '(none)'}")
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise FileFormatError(f"{path}, {where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _answers(path: Path, record: str, context: str, raw: object) -> tuple[list[Answer], int]:
    """The answers found at their offsets, and how many were not."""
    if not isinstance(raw, list):
        raise FileFormatError(f"{path}, {record}: 'answers' must be a list")
    answers: list[Answer] = []
    bad = 0
    for n, answer in enumerate(raw):
        where = f"{record}.answers[{n}]"
        text = _get(path, where, answer, "text", str)
        start = _get(path, where, answer, "answer_start", int)
        if start < 0 or context[start : start + len(text)] != text:
            bad += 1
            continue
        answers.append(Answer(text, start))
    return answers, bad
