"""What the demo's two models believe about the poems (issue 18, "Use it on the poems"), measured with the
`text-scoring` and `next-token` pipelines on the models `make demo` builds (runs/demo/final, the cloze model;
runs/demo/lm/final, the poem language model):

1. Minimal pairs: each of the twelve famous lines of the demo's cloze test (bertkit.demo.cloze.CLOZE_LINES), as
   written against the same text with its third and fourth characters swapped (床前明月光 vs 床前月明光), as the
   clause alone and as the whole line; a model prefers the true one when it gives it the higher log-probability
   (the language model: the chain of P(character | the ones before it); the cloze model: the
   pseudo-log-likelihood).
2. The lazy student: the language model's five most likely characters after 床前.
3. Perplexity (token-weighted, each poem one text) of the language model on the poems it learned (the 300 Tang
   poems, data/tang300.txt) and on Song poems it never saw (Debian's `fortunes-zh`, song100); the cloze model's
   pseudo-perplexity on the same poems' lines (it learned lines and clauses) as well.

Run: .venv/bin/python examples/score_poems.py [--cloze runs/demo/final] [--lm runs/demo/lm/final]
"""

import argparse
import re
from datetime import UTC, datetime
from pathlib import Path

import torch

from bertkit import pipeline
from bertkit.demo.cloze import CLOZE_LINES
from bertkit.demo.poems import read_poems
from bertkit.pipelines import corpus_perplexity

ROOT = Path(__file__).resolve().parents[1]
SONG = Path("/usr/share/games/fortunes/song100")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def song_poems(path: Path) -> list[list[str]]:
    """The lines of each poem of a fortunes-zh file: poems end at `%`; titles and authors are the lines in
    colour (题目:, 作者:)."""
    poems = []
    for block in path.read_text(encoding="utf-8").split("\n%\n"):
        lines = [
            line.strip()
            for line in block.splitlines()
            if line.strip() not in ("", "%") and not COLOUR.search(line)
        ]
        if lines:
            poems.append(lines)
    return poems


def swapped(text: str, i: int = 2) -> str:
    """`text` with characters i and i + 1 swapped."""
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def minimal_pairs(scorer, name: str) -> None:
    """For the clause and the whole line of each famous line: the true text's log-probability against the swapped
    one's, and how many the model prefers."""
    for kind in ("clause", "whole line"):
        wins, rows = 0, []
        for whole, fragment, answer in CLOZE_LINES:
            clause = fragment.replace("[MASK]", answer)
            true = clause if kind == "clause" else whole.replace("[MASK]", answer)
            false = true.replace(clause, swapped(clause), 1)
            good, bad = (r["log_prob"] for r in scorer([true, false]))
            wins += good > bad
            rows.append(f"    {true} {good:8.2f}  {false} {bad:8.2f}  {'ok' if good > bad else 'WRONG'}")
        print(f"{name}, {kind}: prefers the true text for {wins} of {len(CLOZE_LINES)}")
        print("\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cloze", type=Path, default=ROOT / "runs" / "demo" / "final")
    parser.add_argument("--lm", type=Path, default=ROOT / "runs" / "demo" / "lm" / "final")
    parser.add_argument("--song", type=Path, default=SONG, help="held-out poems (fortunes-zh's song100)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; cloze model {args.cloze}, language model {args.lm}")
    lm = pipeline("text-scoring", model=args.lm)
    cloze = pipeline("text-scoring", model=args.cloze)
    minimal_pairs(lm, "language model (log-probability)")
    minimal_pairs(cloze, "cloze model (PLL, within_word_l2r)")

    ranked = pipeline("next-token", model=lm.model, tokenizer=lm.tokenizer)("床前")
    print("next after 床前: " + "  ".join(f"{c['token_str']} {c['score']:.3f}" for c in ranked))

    learned = [list(p.lines) for p in read_poems(ROOT / "data" / "tang300.txt")]
    held_out = song_poems(args.song)
    # The language model learned whole poems; the cloze model, lines and clauses (27-token inputs).
    for name, scorer, unit in (
        ("language model", lm, "poems"),
        ("cloze model (pseudo-perplexity)", cloze, "lines"),
    ):
        for corpus, poems in (("learned Tang poems", learned), ("held-out Song poems", held_out)):
            texts = ["".join(p) for p in poems] if unit == "poems" else [line for p in poems for line in p]
            result = corpus_perplexity(scorer, texts)
            print(
                f"{name}, {corpus}: perplexity {result['perplexity']:.2f} "
                f"({result['tokens']} tokens, {result['texts']} {unit})"
            )


if __name__ == "__main__":
    main()
