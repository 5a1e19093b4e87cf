"""Question answering: `Who said "..."?` over a few attributed fortunes, the answer a span of the context.

Built from Debian's fortune files. An attributed fortune ends with `-- SOURCE`; its speaker is SOURCE up to
the first comma or parenthesis (`Mark Twain, "Pudd'nhead Wilson's Calendar"` -> `Mark Twain`), kept when it
starts with a capital letter and has at most five words. Each question's context is CONTEXT fortunes of
different speakers, each written as running text with its attribution after it and the `--` dropped
(`... they never believe me. Camillo Di Cavour`), the asked-about one at a seeded random position; the
question quotes PHRASE consecutive words of its text (from a seeded random start):
`Who said "the truth without lying"?`. The answer is the speaker's name where it stands after that fortune
(a character offset, SQuAD v1.1 style): the model must find the quoted fortune among the others, then tell
where its text ends and its attribution starts, and stop the name before the rest of the attribution.

Speakers are split 70/10/20 by a hash of their name: no speaker of the test set is seen in training, so
names cannot be memorised. Compared, on SQuAD's exact match and F1, with two readers that need no training:
a random speaker of the context (1/CONTEXT exact match expected), and a rule: the fortune sharing the most
words with the question (a lexical-matching baseline, as for SQuAD), then its capitalised words after the
last sentence end, up to a comma or parenthesis. The rule is given the line breaks between fortunes, which
the model's tokenizer does not see.

    python examples/tasks/fortune_quotes.py     # fine-tuning took 15 minutes on a busy 2-core machine
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
from corpora import FORTUNES_DIR, Fortune, fortune_files, hash_key, is_english, read_fortunes, split_by_key
from run_task import common_flags, finetune_and_evaluate, fresh_run, minilm_dir, report

from bertkit.tasks.squad import squad_metrics

CONTEXT = 3  # fortunes per context
PHRASE = 6  # words quoted by the question
MAX_CHARS = 150  # of a fortune's text (body and attribution), so a context mostly fits max_length 128
NAME = re.compile(r"[A-Z][^,(\"]*")
SIZES = {"train": 1500, "validation": 100, "test": 300}
FRACTIONS = (0.7, 0.1, 0.2)


def speaker(source: str) -> str | None:
    """The name an attribution starts with, or None when it does not start with one."""
    match = NAME.match(source)
    if not match or source[match.end() : match.end() + 1] == '"':  # `Mark "The Bard" Twain`: no plain name
        return None
    name = match.group(0).strip()
    return name if len(name.split()) <= 5 else None


def quoted_fortunes(directory: Path = FORTUNES_DIR) -> list[Fortune]:
    """Short English fortunes with a speaker and at least PHRASE words, each text once."""
    seen: dict[str, Fortune] = {}
    for path in fortune_files(directory):
        for f in read_fortunes(path):
            if (
                f.source
                and speaker(f.source)
                and len(f.text) <= MAX_CHARS
                and len(f.body.split()) >= PHRASE
                and is_english(f.text)
            ):
                seen.setdefault(f.text, f)
    return list(seen.values())


def running(fortune: Fortune) -> str:
    """A fortune as running text: its attribution after it, without the `--`."""
    return f"{fortune.body} {fortune.source}"


def question(fortune: Fortune, others: list[Fortune], rng: np.random.Generator, qid: str) -> dict:
    """One SQuAD paragraph: the context, the question about `fortune`, its answer span."""
    position = int(rng.integers(len(others) + 1))
    shown = others[:position] + [fortune] + others[position:]
    start = sum(len(running(f)) + 1 for f in shown[:position]) + len(fortune.body) + 1
    name = speaker(fortune.source)
    context = "\n".join(running(f) for f in shown)
    assert context[start : start + len(name)] == name
    body = fortune.body.split()
    first = int(rng.integers(len(body) - PHRASE + 1))
    asked = " ".join(body[first : first + PHRASE])
    return {
        "context": context,
        "qas": [
            {
                "id": qid,
                "question": f'Who said "{asked}"?',
                "answers": [{"text": name, "answer_start": start}],
            }
        ],
    }


def questions(fortunes: list[Fortune], size: int, seed: int, split: str) -> list[dict]:
    """`size` paragraphs: the first fortunes in the order of their text's hash, each asked about once, with
    CONTEXT - 1 others of other speakers from the same split."""
    rng = np.random.default_rng(seed)
    targets = sorted(fortunes, key=lambda f: hash_key(f.text))[:size]
    paragraphs = []
    for i, fortune in enumerate(targets):
        name = speaker(fortune.source).lower()
        pool = [f for f in fortunes if speaker(f.source).lower() != name]
        others: list[Fortune] = []
        for j in rng.permutation(len(pool)):
            if all(speaker(pool[j].source).lower() != speaker(o.source).lower() for o in others):
                others.append(pool[j])
            if len(others) == CONTEXT - 1:
                break
        if len(others) < CONTEXT - 1:
            raise SystemExit(f"the {split} split has fewer than {CONTEXT} speakers: no context can be made")
        paragraphs.append(question(fortune, others, rng, f"{split}-{i}"))
    return paragraphs


def build(
    out: Path, directory: Path = FORTUNES_DIR, sizes: dict[str, int] = SIZES, seed: int = 0
) -> dict[str, list[dict]]:
    """out/{train,validation,test}.json, SQuAD v1.1 files with one paragraph per question."""
    splits = split_by_key(quoted_fortunes(directory), lambda f: speaker(f.source).lower(), FRACTIONS)
    files = {}
    for i, (name, fortunes) in enumerate(splits.items()):
        files[name] = questions(fortunes, sizes[name], seed + i, name)
        path = out / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {"version": "1.1", "data": [{"title": f"fortunes, {name}", "paragraphs": files[name]}]}
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return files


def rule_speaker(line: str) -> str:
    """The rule's reading of a fortune line: its capitalised words after the last sentence end (`.`, `!`,
    `?`, a closing quote), up to a comma or parenthesis; "" when they do not start with a capital."""
    ends = list(re.finditer(r"[.!?][\"')]*\s", line))
    tail = line[ends[-1].end() :] if ends else line
    return speaker(tail) or ""


def baselines(paragraphs: list[dict]) -> dict[str, dict]:
    """SQuAD figures of the untrained readers: a random speaker of the context (its expected exact match,
    the speakers being distinct) and the rule (word overlap, then the capitalised words after the last
    sentence end)."""
    golds, overlap_answers = [], []
    for paragraph in paragraphs:
        qa = paragraph["qas"][0]
        gold = qa["answers"][0]["text"]
        lines = paragraph["context"].split("\n")
        asked = set(re.findall(r"\w+", qa["question"].lower()))
        best = max(lines, key=lambda line: len(asked & set(re.findall(r"\w+", line.lower()))))
        golds.append([gold])
        overlap_answers.append(rule_speaker(best))
    overlap = squad_metrics(overlap_answers, golds)
    return {"random": {"exact": 100 / CONTEXT}, "overlap": overlap}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common_flags(parser, "runs/examples/fortune_quotes", epochs=4, lr=2e-4, batch_size=16)
    parser.add_argument("--fortunes", type=Path, default=FORTUNES_DIR, help="Debian's fortune files")
    parser.add_argument("--limit", type=int, help="at most N examples per split (a quick try)")
    args = parser.parse_args(argv)
    sizes = {name: min(size, args.limit or size) for name, size in SIZES.items()}
    out = Path(args.out)
    fresh_run(out / "run")
    files = build(out / "data", args.fortunes, sizes, args.seed)
    print(", ".join(f"{name} {len(part)}" for name, part in files.items()), f"questions in {out / 'data'}")
    untrained = baselines(files["test"])
    ours, seconds = finetune_and_evaluate(
        "qa", minilm_dir(), out / "data", out / "run", args, max_length=128, doc_stride=48
    )
    report(
        f"test set: {len(files['test'])} questions, {CONTEXT} fortunes each, speakers never seen in training",
        [
            ("a random speaker of the context", untrained["random"]),
            ("rule: word overlap, then the last words", untrained["overlap"]),
            (f"all-MiniLM-L6-v2 fine-tuned ({seconds:.0f} s)", ours),
        ],
        ("exact", "f1"),
    )
    return {"baselines": untrained, "finetuned": ours, "seconds": seconds}


if __name__ == "__main__":
    main()
