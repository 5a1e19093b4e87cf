"""The tutorial's 4-way choice on the Tang poems: given a line of a poem, which of four lines comes next?

Examples come from data/tang300.txt (title line, author line, then one line per couplet, e.g.
`床前明月光，疑是地上霜。`). Every pair of consecutive lines of a poem is one question: the first line is the
context, the second the right answer, and the three wrong options are lines of other poems of the same split
with exactly as many characters as the right one (so length and punctuation give nothing away), drawn with a
seeded generator; the right answer's position is drawn too. A question whose answer length no three other
poems of its split share is left out (counted). Whole poems are held out: the poems are cut 70/10/20 into
train/validation/test by a hash of their title, author and first line.

The model is the demo's cloze model (BERT's masked LM + next-sentence prediction, `bertkit.demo`'s recipe),
pre-trained here on the training poems only, vocabulary included, so that no test poem is seen before the
test. (`--pretrained runs/demo/final` uses `make demo`'s model instead; it saw every poem, test poems and
their true next lines included, so its figures are not held-out ones.) It is compared with chance (25%) and
with the pre-trained next-sentence head used zero-shot: the option with the highest P(option follows line)
(pairs cut to the 27 tokens the model was pre-trained on, `bertkit.demo.cloze.follows_probability`).

    python examples/tasks/poem_next_line.py     # pre-training 18,000 steps: about 25 minutes on one AMX core
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np
from corpora import TANG300, read_jsonl, split_by_key, write_jsonl
from run_task import common_flags, finetune_and_evaluate, fresh_run, machine, report

import bertkit
from bertkit import WordPieceTokenizer
from bertkit.data.prepare import prepare_corpus
from bertkit.demo.cloze import cloze_config, follows_probability
from bertkit.demo.poems import Poem, couplets, read_poems, write_texts
from bertkit.demo.run import CLOZE_STEPS
from bertkit.model import BertForPreTraining
from bertkit.pipelines import load_for_inference
from bertkit.train.loop import pretrain

OPTIONS = 4
FRACTIONS = (0.7, 0.1, 0.2)


def poem_key(poem: Poem) -> str:
    return f"{poem.title}\n{poem.author}\n{poem.lines[0]}"


def next_line_questions(poems: list[Poem], seed: int) -> tuple[list[dict], int]:
    """The questions of `poems` (one split) as {"context", "choices", "label"}, and how many were left out
    for want of three same-length lines in other poems."""
    rng = np.random.default_rng(seed)
    chosen, left_out = couplets(poems, OPTIONS - 1, rng)
    questions = []
    for first, second, wrong in chosen:
        label = int(rng.integers(OPTIONS))
        questions.append(
            {"context": first, "choices": wrong[:label] + [second] + wrong[label:], "label": label}
        )
    return questions, left_out


def build(out: Path, corpus: Path = TANG300, seed: int = 0) -> dict[str, list[Poem]]:
    """out/{train,validation,test}.jsonl (choice questions) and out/train_poems.txt (the training poems'
    text, for pre-training); returns the poems of each split."""
    splits = split_by_key(read_poems(corpus), poem_key, FRACTIONS)
    for i, (name, poems) in enumerate(splits.items()):
        questions, left_out = next_line_questions(poems, seed + i)
        write_jsonl(out / f"{name}.jsonl", questions)
        print(
            f"{name}: {len(poems)} poems, {len(questions)} questions ({left_out} left out: no 3 same-length lines)"
        )
    write_texts(splits["train"], out / "train_poems.txt", clauses=splits["train"])
    return splits


def pretrain_on(poems_txt: Path, out: Path, steps: int) -> Path:
    """The demo's cloze model trained on `poems_txt` alone (vocabulary learned from it too); reused if done."""
    final = out / "final"
    if (final / "config.json").exists():
        print(f"using the cloze model already pre-trained in {final}")
        return final
    tokenizer_dir = out / "tokenizer"
    if not (tokenizer_dir / "vocab.txt").exists():
        WordPieceTokenizer.train([poems_txt], vocab_size=8000, min_frequency=1).save_pretrained(tokenizer_dir)
    prepare_corpus([poems_txt], tokenizer_dir, out / "data", heldout_fraction=0.0, workers=1)
    print(f"pre-training the cloze model on {poems_txt} for {steps} steps ({machine()})")
    start = time.perf_counter()
    final = pretrain(cloze_config(out, steps))
    print(f"pre-trained in {time.perf_counter() - start:.0f} s")
    return final


def zero_shot_nsp(model_dir: Path, questions_file: Path) -> dict:
    """Accuracy of the pre-trained next-sentence head with no fine-tuning: per question, the option it finds
    most likely to follow the line."""
    model, tokenizer = load_for_inference(model_dir, BertForPreTraining)
    questions = read_jsonl(questions_file)
    scores = follows_probability(
        model,
        tokenizer,
        [q["context"] for q in questions for _ in q["choices"]],
        [c for q in questions for c in q["choices"]],
    )
    chosen = np.array(scores).reshape(len(questions), OPTIONS).argmax(1)
    accuracy = float(np.mean(chosen == [q["label"] for q in questions]))
    return {
        "accuracy": accuracy,
        "examples": len(questions),
        "standard_error": standard_error(accuracy, len(questions)),
    }


def standard_error(accuracy: float, examples: int) -> float:
    return (accuracy * (1 - accuracy) / examples) ** 0.5


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common_flags(parser, "runs/examples/poem_next_line", epochs=3, lr=1e-4, batch_size=16)
    parser.add_argument(
        "--corpus", type=Path, default=TANG300, help="poems: title, author, lines; blank line between"
    )
    parser.add_argument(
        "--pretrained", type=Path, help="a cloze model to start from instead of pre-training one"
    )
    parser.add_argument("--pretrain-steps", type=int, default=CLOZE_STEPS, help=f"default: {CLOZE_STEPS}")
    args = parser.parse_args(argv)
    out = Path(args.out)
    fresh_run(out / "run")
    build(out / "data", args.corpus, args.seed)
    if args.pretrained is None:
        model = pretrain_on(out / "data" / "train_poems.txt", out / "pretrained", args.pretrain_steps)
    else:
        if not (args.pretrained / "config.json").exists():
            raise SystemExit(
                f"{args.pretrained}: no model there; `make demo` (or `bertkit demo`) makes runs/demo/final"
            )
        print(
            f"starting from {args.pretrained}: if it saw the test poems (make demo's did), test figures are not held-out"
        )
        model = args.pretrained
    data = out / "data"
    zero_shot = {split: zero_shot_nsp(model, data / f"{split}.jsonl") for split in ("train", "test")}
    ours, seconds = finetune_and_evaluate("choice", model, data, out / "run", args, max_length=64)
    seen = bertkit.evaluate(out / "run" / "final", "choice", data / "train.jsonl", max_length=64)
    positions = Counter(q["label"] for q in read_jsonl(data / "test.jsonl"))
    errors = f"{standard_error(ours['accuracy'], ours['examples']):.3f} fine-tuned, "
    errors += f"{zero_shot['test']['standard_error']:.3f} zero-shot"
    report(
        f"accuracy on {ours['examples']} test questions from held-out poems (standard error about {errors}; "
        f"right answer's positions {dict(sorted(positions.items()))}), and on the {seen['examples']} training "
        "questions, whose poems the model saw in pre-training and fine-tuning",
        [
            ("chance", {"test": 1 / OPTIONS, "train": 1 / OPTIONS}),
            ("pre-trained NSP head, zero-shot", {s: m["accuracy"] for s, m in zero_shot.items()}),
            (
                f"fine-tuned for choice ({seconds:.0f} s)",
                {"test": ours["accuracy"], "train": seen["accuracy"]},
            ),
        ],
        ("test", "train"),
    )
    return {"zero_shot": zero_shot, "finetuned": ours, "finetuned_train": seen, "seconds": seconds}


if __name__ == "__main__":
    main()
