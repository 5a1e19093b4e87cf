"""Scoring files: every line of a file into JSON lines, and one perplexity for a body of held-out text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from tqdm import tqdm

from bertkit.checks import check_int
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import atomic_path, check_readable, chunked, count_text_lines, iter_lines
from bertkit.pipelines.score import TextScoringPipeline, perplexity


def _texts(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-blank line."""
    for number, line in enumerate(iter_lines(path), start=1):
        if line.strip():
            yield number, line


def score_file(
    scorer: TextScoringPipeline,
    input_path: str | Path,
    output_path: str | Path,
    chunk_size: int = 1024,
    progress: bool = True,
) -> int:
    """Score every line of a UTF-8 file (one text per line) into JSON lines, `{"text": ..., the pipeline's
    fields}` in the file's order, `chunk_size` lines at a time. An empty line is an error naming it. Returns
    the number of texts."""
    check_int("`chunk_size`", chunk_size)
    input_path = check_readable(input_path)
    count = count_text_lines(input_path, "score")
    with (
        atomic_path(output_path) as tmp,
        tmp.open("w", encoding="utf-8") as f,
        tqdm(total=count, unit="line", disable=not progress, desc="score") as bar,
    ):
        for chunk in chunked(iter_lines(input_path), chunk_size):
            for text, record in zip(chunk, scorer(chunk), strict=True):
                f.write(json.dumps({"text": text, **record}, ensure_ascii=False) + "\n")
            bar.update(len(chunk))
    return count


def corpus_perplexity(
    scorer: TextScoringPipeline, texts: Iterable[str], chunk_size: int = 1024, progress: bool = False
) -> dict[str, float | int]:
    """The perplexity of a body of text, token-weighted: exp(-(the log-probabilities of all its tokens) /
    (their number)), each text scored as the pipeline scores it (a masked model: the pseudo-perplexity).
    Returns `perplexity`, `log_prob`, `mean_log_prob`, `tokens` and `texts`."""
    check_int("`chunk_size`", chunk_size)
    total, tokens, count = 0.0, 0, 0
    with tqdm(unit="text", disable=not progress, desc="perplexity") as bar:
        for chunk in chunked(texts, chunk_size):
            for record in scorer(chunk):
                total += record["log_prob"]
                tokens += len(record["token_log_probs"])
            count += len(chunk)
            bar.update(len(chunk))
    if not count:
        raise InvalidArgumentError("there are no texts to compute a perplexity of")
    return {
        "perplexity": perplexity(total / tokens),
        "log_prob": total,
        "mean_log_prob": total / tokens,
        "tokens": tokens,
        "texts": count,
    }


def file_perplexity(
    scorer: TextScoringPipeline, path: str | Path, chunk_size: int = 1024, progress: bool = True
) -> dict[str, float | int]:
    """corpus_perplexity of a UTF-8 file's non-blank lines, each one text (blank lines may separate poems or
    paragraphs)."""
    path = check_readable(path)
    if not any(True for _ in _texts(path)):
        raise FileFormatError(f"{path}: no text to compute a perplexity of (every line is blank)")
    return corpus_perplexity(scorer, (text for _, text in _texts(path)), chunk_size, progress)
