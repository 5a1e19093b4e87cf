"""Tagging: find who (or what) a fortune is attributed to, once the attribution's dash is gone.

Labels come from the fortune files' own layout: an attributed fortune ends with an indented line starting
with `-- ` (`\t\t-- Mark Twain, "Pudd'nhead Wilson's Calendar"`). The example writes each fortune on one line
with that `--` removed, cuts it into words (runs of letters and digits, with inner `'`/`-`, and single
punctuation marks, as CoNLL files hold them) and tags the attribution's words `B-SOURCE`, `I-SOURCE`, the
rest `O`. A fortune without an attribution line has only `O` tags, so the model must also decide whether
there is a source at all. Nothing is tagged by hand and nothing by rule beyond reading the file's `--` line.

Fortunes come from every English fortune file (not `chinese`, `song100` or `tang300`, not `ascii-art`), those
of at most MAX_WORDS words with no Chinese in them; split 70/10/20 by a hash of the attribution (the body for unattributed ones), so
no source of the test set appears in training: the model cannot memorise names, it must read.

Compared with a rule a reader of fortune files would write: the words after the last sentence end (`.`, `!`,
`?`, optionally followed by a closing quote) are the source when there are 1 to RULE_WORDS of them and the
first is capitalised. Metrics: entity-level precision, recall and F1 (seqeval's) and token accuracy.

    python examples/tasks/fortune_sources.py    # fine-tuning took 6 minutes on a busy 2-core machine
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from corpora import (
    FORTUNES_DIR,
    Fortune,
    fortune_files,
    hash_key,
    is_english,
    read_fortunes,
    split_by_key,
    write_jsonl,
)
from run_task import common_flags, finetune_and_evaluate, fresh_run, minilm_dir, report

from bertkit.tasks.metrics import tagging_metrics

SKIPPED_FILES = ("chinese", "song100", "tang300", "ascii-art")  # Chinese poems; pictures
MAX_WORDS = 60
RULE_WORDS = 8
SIZES = {"train": 1000, "validation": 150, "test": 400}
FRACTIONS = (0.7, 0.1, 0.2)
WORD = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")
SENTENCE_END = re.compile(r"[.!?]")
CLOSING = ('"', "'", ")")


def words(text: str) -> list[str]:
    return WORD.findall(text)


def tagged(fortune: Fortune) -> dict:
    """{"tokens", "tags"}: the body's words tagged O, the attribution's B-SOURCE then I-SOURCE."""
    body = words(fortune.body)
    source = words(fortune.source) if fortune.source else []
    tags = (
        ["O"] * len(body) + ["B-SOURCE"] + ["I-SOURCE"] * (len(source) - 1) if source else ["O"] * len(body)
    )
    return {"tokens": body + source, "tags": tags}


def source_fortunes(directory: Path = FORTUNES_DIR) -> list[Fortune]:
    """Every short English fortune once (the first copy of a repeated text), attributed or not."""
    seen: dict[str, Fortune] = {}
    for path in fortune_files(directory):
        if path.name in SKIPPED_FILES:
            continue
        for fortune in read_fortunes(path):
            if fortune.source is not None and not words(fortune.source):
                continue  # a `--` line of dashes only, a separator rather than a source
            if (
                is_english(fortune.text)
                and len(words(fortune.body)) + len(words(fortune.source or "")) <= MAX_WORDS
            ):
                seen.setdefault(fortune.text, fortune)
    return list(seen.values())


def split_key(fortune: Fortune) -> str:
    return f"source: {fortune.source.lower()}" if fortune.source else f"body: {fortune.body}"


def build(out: Path, directory: Path = FORTUNES_DIR, sizes: dict[str, int] = SIZES) -> dict[str, list[dict]]:
    """out/{train,validation,test}.jsonl of {"tokens", "tags"}: each split's first `sizes[split]` fortunes in
    the order of their text's hash (a sample that does not depend on file order)."""
    splits = split_by_key(source_fortunes(directory), split_key, FRACTIONS)
    records = {}
    for name, fortunes in splits.items():
        chosen = sorted(fortunes, key=lambda f: hash_key(f.text))[: sizes[name]]
        records[name] = [tagged(f) for f in chosen]
        write_jsonl(out / f"{name}.jsonl", records[name])
    return records


def rule(tokens: list[str]) -> list[str]:
    """The baseline: the words after the last sentence end, if 1 to RULE_WORDS and capitalised, are the source."""
    end = max((i for i, t in enumerate(tokens) if SENTENCE_END.fullmatch(t)), default=-1)
    while end + 1 < len(tokens) and tokens[end + 1] in CLOSING:
        end += 1
    rest = len(tokens) - end - 1
    if not 1 <= rest <= RULE_WORDS or not tokens[end + 1][:1].isupper():
        return ["O"] * len(tokens)
    return ["O"] * (end + 1) + ["B-SOURCE"] + ["I-SOURCE"] * (rest - 1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common_flags(parser, "runs/examples/fortune_sources", epochs=3, lr=1e-4, batch_size=32)
    parser.add_argument("--fortunes", type=Path, default=FORTUNES_DIR, help="Debian's fortune files")
    parser.add_argument("--limit", type=int, help="at most N examples per split (a quick try)")
    args = parser.parse_args(argv)
    sizes = {name: min(size, args.limit or size) for name, size in SIZES.items()}
    out = Path(args.out)
    fresh_run(out / "run")
    records = build(out / "data", args.fortunes, sizes)
    for name, part in records.items():
        attributed = sum("B-SOURCE" in r["tags"] for r in part)
        print(f"{name}: {len(part)} fortunes, {attributed} of them attributed")
    test = records["test"]
    baseline = tagging_metrics([rule(r["tokens"]) for r in test], [r["tags"] for r in test])
    ours, seconds = finetune_and_evaluate(
        "tag", minilm_dir(), out / "data", out / "run", args, max_length=128
    )
    report(
        f"test set: {len(test)} fortunes, sources never seen in training",
        [
            ("rule: capitalised words after the last sentence", baseline),
            (f"all-MiniLM-L6-v2 fine-tuned ({seconds:.0f} s)", ours),
        ],
        ("precision", "recall", "f1", "accuracy"),
    )
    return {"baseline": baseline, "finetuned": ours, "seconds": seconds}


if __name__ == "__main__":
    main()
