"""Does the poem LM generalise to Song poems when it has read some? (issue 19: "the poem LM's held-out
perplexity on Song poems when pre-trained with and without them")

One command runs the whole experiment:
1. the Song poems of Debian's `fortunes-zh` (song100, read as examples/score_poems.py reads them) cut into a
   training half and a held-out half by a hash of each poem's text (examples/tasks/corpora.py's
   split_by_key), so the split never changes;
2. ONE character vocabulary (the demo's WordPiece settings: at most 8,000 entries, every character seen once
   kept) learned from the text both arms train on, the Tang poems and the Song training half; every arm uses
   it, so their perplexities are over the same tokens. Held-out characters outside it become [UNK]: their
   count and rate are reported, and the held-out perplexity is also given with the [UNK] tokens read as
   context but not scored (no model ever trained on [UNK], so each costs it many nats);
3. the demo's poem LM (bertkit.demo.run.lm_config: tiny causal model, each poem its own row, lr 2e-3,
   batch 16, `--steps` steps) trained on
   - `tang`: the Tang poems alone (data/tang300.txt, what `bertkit demo` learns),
   - `tang+song`: the Tang poems and the Song training half, for the same steps,
   - with `--scaled`, also `tang+song scaled`: the same data for steps scaled with the number of poems
     (each poem is one row, so each is then read as often as in `tang`);
4. each model's token-weighted perplexity (the `text-scoring` pipeline, each poem one text, [SEP] scored) on
   the held-out Song half, the Song training half and the Tang poems; and, as the floor a model of the poems
   should beat, a unigram model of each training set (add-one-smoothed token frequencies) on the same texts.

Writes OUT/results.json and prints a markdown table. Each arm's model is kept under OUT/ (named by its data,
steps and seed) and reused by a later run; an interrupted training resumes.

    OMP_NUM_THREADS=1 python examples/poem_perplexity.py --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "tasks"))

from corpora import TANG300, split_by_key  # noqa: E402
from run_task import machine  # noqa: E402
from score_poems import SONG, song_poems  # noqa: E402

from bertkit import WordPieceTokenizer, pipeline  # noqa: E402
from bertkit.constants import UNK  # noqa: E402
from bertkit.data.prepare import prepare_corpus  # noqa: E402
from bertkit.demo.poems import Poem, read_poems, write_texts  # noqa: E402
from bertkit.demo.run import LM_STEPS, lm_config, train_once  # noqa: E402
from bertkit.pipelines import corpus_perplexity  # noqa: E402
from bertkit.pipelines.score import perplexity, unknown_characters  # noqa: E402

VOCAB_SIZE = 8000  # the demo's (bertkit.demo.run.prepare_poems): far more than the poems' characters
EVALUATED = ("song held-out", "song held-out, [UNK] not scored", "song train", "tang")


def split_song(path: Path) -> dict[str, list[Poem]]:
    """The Song poems cut in two by a hash of their text: `train` and `heldout` (poems with the same text
    share a half)."""
    if not path.is_file():
        raise SystemExit(f"{path} not found: `sudo apt-get install fortunes-zh`, or pass --song FILE")
    poems = [Poem("", "", tuple(lines)) for lines in song_poems(path)]
    halves = split_by_key(poems, key=lambda p: p.text, fractions=(0.5, 0.0, 0.5))
    return {"train": halves["train"], "heldout": halves["test"]}


def learn_vocabulary(out: Path, poems: list[Poem]) -> WordPieceTokenizer:
    """The one vocabulary of every arm, learned from `poems`' text (kept in OUT/tokenizer and reused)."""
    directory = out / "tokenizer"
    if not (directory / "vocab.txt").exists():
        texts = iter(["\n".join(p.lines) for p in poems])
        tokenizer = WordPieceTokenizer.train(
            texts, vocab_size=VOCAB_SIZE, min_frequency=1, show_progress=False
        )
        tokenizer.save_pretrained(directory)
    tokenizer = WordPieceTokenizer.from_pretrained(directory)
    if unknown(tokenizer, poems)["unk_tokens"]:
        raise SystemExit(
            f"{directory}: this vocabulary misses characters of the training poems (learned from other "
            "poems?); delete it, and the arms trained with it, or pass another --out"
        )
    return tokenizer


def unknown(tokenizer: WordPieceTokenizer, poems: list[Poem]) -> dict[str, Any]:
    """How much of `poems` the vocabulary misses: [UNK] tokens among the scored ones (the text and [SEP]) and
    the distinct characters behind them."""
    encodings = [tokenizer.encode(p.text) for p in poems]
    missed = [unknown_characters(tokenizer, p.text, e) for p, e in zip(poems, encodings, strict=True)]
    tokens = sum(len(e.ids) - 1 for e in encodings)  # all but [CLS]
    unk = sum(map(len, missed))
    return {
        "unk_tokens": unk,
        "tokens": tokens,
        "unk_rate": unk / tokens,
        "poems_with_unk": sum(map(bool, missed)),
        "poems": len(poems),
        "characters_outside_vocabulary": "".join(sorted({c for m in missed for c in m})),
    }


def train_arm(out: Path, name: str, poems: list[Poem], steps: int, seed: int) -> tuple[Path, float | None]:
    """The demo's poem LM trained on `poems` with the shared vocabulary; its final directory and training
    seconds (None when an earlier run's model is reused)."""
    arm = out / f"{name.replace(' ', '-')}-{steps}steps-seed{seed}"
    arm.mkdir(parents=True, exist_ok=True)
    prepare_corpus(
        [write_texts(poems, arm / "poems.txt")],
        out / "tokenizer",
        arm / "lm_data",
        heldout_fraction=0.0,
        workers=0,
        show_progress=False,
    )
    cfg = dataclasses.replace(lm_config(arm, steps, seed), tokenizer=str(out / "tokenizer"))
    finished = (Path(cfg.out) / "final" / "config.json").exists()
    start = time.perf_counter()
    final = train_once(cfg, f"poem LM on {name} ({len(poems)} poems)", f"[{name}]")
    return final, None if finished else time.perf_counter() - start


def known_perplexity(scorer: Any, texts: list[str]) -> dict[str, float | int]:
    """The perplexity of the tokens that are not [UNK]: each [UNK] still read as context, but not scored. A model
    that never met [UNK] in training gives it almost no probability, so a few of them would decide the figure."""
    kept = [
        log_prob
        for record in scorer(texts)
        for token, log_prob in zip(record["tokens"], record["token_log_probs"], strict=True)
        if token != UNK
    ]
    return {"perplexity": perplexity(sum(kept) / len(kept)), "log_prob": sum(kept), "tokens": len(kept)}


class Unigram:
    """The baseline a language model of the poems should beat: each token's add-one-smoothed frequency in the
    training poems, whatever came before it. Called like the text-scoring pipeline, with the records it gives."""

    def __init__(self, tokenizer: WordPieceTokenizer, poems: list[Poem]) -> None:
        self.tokenizer = tokenizer
        counts = np.bincount([i for p in poems for i in self.scored(p.text)], minlength=len(tokenizer))
        self.log_probs = np.log((counts + 1) / (counts.sum() + len(tokenizer)))

    def scored(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids[1:]  # what the pipeline scores: all but [CLS]

    def __call__(self, texts: list[str]) -> list[dict[str, Any]]:
        records = []
        for text in texts:
            ids = self.scored(text)
            log_probs = self.log_probs[ids].tolist()
            tokens = self.tokenizer.convert_ids_to_tokens(ids)
            records.append({"tokens": tokens, "token_log_probs": log_probs, "log_prob": sum(log_probs)})
        return records


def evaluate(scorer: Any, song: dict[str, list[Poem]], tang: list[Poem]) -> dict[str, dict[str, float | int]]:
    """Each EVALUATED corpus's token-weighted perplexity under `scorer` (a text-scoring pipeline or a Unigram),
    each poem one text."""
    heldout = [p.text for p in song["heldout"]]
    return {
        "song held-out": corpus_perplexity(scorer, heldout),
        "song held-out, [UNK] not scored": known_perplexity(scorer, heldout),
        "song train": corpus_perplexity(scorer, [p.text for p in song["train"]]),
        "tang": corpus_perplexity(scorer, [p.text for p in tang]),
    }


def table(results: dict[str, Any]) -> str:
    """Each arm's perplexities, one row per arm, then the unigram baselines'."""
    header = "| arm (training poems) | steps | training | " + " | ".join(EVALUATED) + " |"
    rows = [header, "|" + " --- |" * (3 + len(EVALUATED))]
    for name, arm in {**results["arms"], **results["unigram"]}.items():
        seconds = arm.get("train_seconds")
        trained = "-" if "steps" not in arm else "reused" if seconds is None else f"{seconds / 60:.1f} min"
        cells = [f"{arm['perplexity'][corpus]['perplexity']:,.2f}" for corpus in EVALUATED]
        rows.append(
            f"| {name} ({arm['poems']}) | {arm.get('steps', '-')} | {trained} | " + " | ".join(cells) + " |"
        )
    return "\n".join(rows)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole experiment; returns what it writes to OUT/results.json."""
    out = args.out
    tang = read_poems(args.tang)
    song = split_song(args.song)
    training = {"tang": tang, "tang+song": tang + song["train"]}
    tokenizer = learn_vocabulary(out, training["tang+song"])
    arms = {name: (poems, args.steps) for name, poems in training.items()}
    if args.scaled:
        scaled = round(args.steps * len(training["tang+song"]) / len(tang))
        arms["tang+song scaled"] = (training["tang+song"], scaled)
    results: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": machine(),
        "seed": args.seed,
        "vocabulary": len(tokenizer),
        "song_poems": {half: len(poems) for half, poems in song.items()},
        "tang_poems": len(tang),
        "heldout_unknown": unknown(tokenizer, song["heldout"]),
        "arms": {},
        "unigram": {
            f"unigram {name}": {
                "poems": len(poems),
                "perplexity": evaluate(Unigram(tokenizer, poems), song, tang),
            }
            for name, poems in training.items()
        },
    }
    for name, (poems, steps) in arms.items():
        final, seconds = train_arm(out, name, poems, steps, args.seed)
        results["arms"][name] = {
            "model": str(final),
            "poems": len(poems),
            "steps": steps,
            "train_seconds": seconds,
            "perplexity": evaluate(pipeline("text-scoring", model=final), song, tang),
        }
    (out / "results.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/poem-perplexity"))
    parser.add_argument("--steps", type=int, default=LM_STEPS, help="training steps of each arm")
    parser.add_argument(
        "--scaled", action="store_true", help="also train tang+song for steps scaled by poems"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tang", type=Path, default=TANG300, help="the demo's Tang poems")
    parser.add_argument("--song", type=Path, default=SONG, help="fortunes-zh's song100")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    results = run(args)
    oov = results["heldout_unknown"]
    print(f"\n# {results['date']}; {results['machine']}; {time.perf_counter() - started:.0f} s in all")
    print(
        f"Vocabulary {results['vocabulary']} tokens; Song poems {results['song_poems']}; held-out [UNK] "
        f"{oov['unk_tokens']} of {oov['tokens']} tokens ({oov['unk_rate']:.2%}) in {oov['poems_with_unk']} "
        f"poems, characters {oov['characters_outside_vocabulary']}\n"
    )
    print(table(results))
    print(f"\nWritten: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
