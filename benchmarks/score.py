"""Scoring texts: bertkit's `text-scoring` pipeline vs minicons' scorers, in one process, on the same texts,
checkpoints and threads.

Checkpoints: the all-MiniLM-L6-v2 encoder under a seeded random MLM head (a BertForMaskedLM), and the same
weights as a causal BertLMHeadModel (`is_decoder: true`), both saved by transformers in Hugging Face's layout;
and the demo's cloze model (runs/demo/final; where `make demo` has not run, a stand-in of its shape: the `tiny`
preset under the vocabulary the demo learns from data/tang300.txt, random weights). Speed does not depend on
what the weights learned. Texts: Debian's fortunes (harness.fortune_lines) of 4 to 40 words
(the pseudo-log-likelihood runs one masked copy per token, so its cost grows with the square of the length);
for the demo model, the lines of Song poems it never saw (Debian's `fortunes-zh` song100), then Tang lines.

- PLL (`pll="original"`) of 500 texts vs `MaskedLMScorer.sequence_score` given `--pll-reference-batch-size`
  texts per call (default 1, minicons' command line's default batch size; it runs all the masked copies of
  the texts of one call in one forward pass, padded to the longest): English on MiniLM (`pll`), poem lines on
  the demo's model (`pll-poems`).
- Causal scoring of 2,000 texts vs `IncrementalLMScorer.sequence_score`, `--causal-reference-batch-size`
  texts per call (default 32, bertkit's batch size).

The per-text mean log-probabilities (minicons' default reduction) are checked equal within 1e-4.
Rounds alternate the two (harness.interleaved); the medians of the per-round wall-clock and CPU-time (this
process's) ratios are reported. minicons 0.3.39 calls the tokenizer's `batch_encode_plus`, which transformers 5 removed; the
benchmark gives its tokenizer that name for calling the tokenizer, which is what the method did.

    python benchmarks/score.py [--threads 2] [--rounds 3] [--jobs pll causal]
"""

import tempfile
from collections.abc import Callable
from pathlib import Path

import harness
import torch
from minicons import scorer

from bertkit import BertConfig, BertForPreTraining, WordPieceTokenizer, pipeline

DEMO_CLOZE = harness.ROOT / "runs" / "demo" / "final"


def demo_cloze_model(root: Path) -> Path:
    """runs/demo/final, or a random model of its shape and vocabulary (see the module's docstring)."""
    if (DEMO_CLOZE / "config.json").exists():
        return DEMO_CLOZE
    tokenizer = WordPieceTokenizer.train([harness.DATA / "tang300.txt"], vocab_size=8000, min_frequency=1)
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig.preset("tiny", vocab_size=len(tokenizer)))
    model.save_pretrained(root / "demo-shaped", tokenizer=tokenizer)
    return root / "demo-shaped"


def minicons_scorer(cls, directory: Path):
    reference = cls(str(directory), "cpu")
    reference.tokenizer.batch_encode_plus = reference.tokenizer.__call__
    return reference


def in_calls(fn: Callable[[list[str]], list[float]], texts: list[str], size: int) -> list[float]:
    return [score for i in range(0, len(texts), size) for score in fn(texts[i : i + size])]


def compare(name: str, texts: list[str], run_ours: Callable, run_reference: Callable, rounds: int) -> dict:
    times = harness.interleaved({"ours": run_ours, "reference": run_reference}, rounds, warmup=False)
    ours, reference = times["ours"], times["reference"]
    worst = max(abs(a - b) for a, b in zip(ours.outputs[0], reference.outputs[0], strict=True))
    assert worst <= 1e-4, f"{name}: mean log-probabilities differ by up to {worst}"
    wall, cpu = harness.speedup(reference, ours), harness.speedup(reference, ours, cpu=True)
    print(
        f"{name:>32}: {len(texts):5d} texts  bertkit {ours.median:7.2f} s  minicons {reference.median:7.2f} s  "
        f"ratio {wall:.2f}x wall, {cpu:.2f}x CPU (largest difference {worst:.1e})"
    )
    return {
        "bertkit": f"{len(texts) / ours.median:.1f} texts/s",
        "reference": f"{len(texts) / reference.median:.1f} texts/s (minicons)",
        "ratio": wall,
        "parity": f"mean log-probabilities within {worst:.1e}",
        "note": f"{len(texts)} texts, CPU time {cpu:.2f}x",
    }


def main() -> None:
    parser = harness.parser(__doc__, threads=2)
    parser.add_argument("--pll-count", type=int, default=500)
    parser.add_argument("--causal-count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, help="bertkit's rows per forward pass")
    parser.add_argument("--pll-reference-batch-size", type=int, default=1)
    parser.add_argument("--causal-reference-batch-size", type=int, default=32)
    jobs = ["pll", "pll-poems", "causal"]
    parser.add_argument("--jobs", nargs="+", default=jobs, choices=jobs)
    args = parser.parse_args()
    results = harness.Results(args)
    texts = [t for t in harness.fortune_lines(6000) if 4 <= len(t.split()) <= 40]
    with tempfile.TemporaryDirectory() as tmp:
        for job in ("pll", "pll-poems"):
            if job not in args.jobs:
                continue
            if job == "pll":
                directory = harness.minilm_with_head(Path(tmp) / "mlm", "BertForMaskedLM")
                data = texts[: args.pll_count]
            else:
                song = harness.poem_lines(harness.SONG) if harness.SONG.exists() else []
                data = song + harness.poem_lines(harness.DATA / "tang300.txt")
                data, directory = data[: args.pll_count], demo_cloze_model(Path(tmp))
            ours = pipeline("text-scoring", model=directory, pll="original", batch_size=args.batch_size)
            reference = minicons_scorer(scorer.MaskedLMScorer, directory)
            size = args.pll_reference_batch_size
            model = {
                "pll": "MiniLM + random MLM head",
                "pll-poems": "the demo's cloze model" if directory == DEMO_CLOZE else "a demo-shaped model",
            }[job]
            figures = compare(
                f"{job} (minicons batch {size})",
                data,
                lambda ours=ours, data=data: [r["mean_log_prob"] for r in ours(data)],
                lambda reference=reference, data=data, size=size: in_calls(
                    lambda b: reference.sequence_score(b, PLL_metric="original"), data, size
                ),
                args.rounds,
            )
            results.add(f"Scoring: exact PLL, {model}, minicons {size} text(s) a call", **figures)
        if "causal" in args.jobs:
            data = texts[: args.causal_count]
            directory = harness.minilm_with_head(Path(tmp) / "causal", "BertLMHeadModel", is_decoder=True)
            ours = pipeline("text-scoring", model=directory, batch_size=args.batch_size)
            reference = minicons_scorer(scorer.IncrementalLMScorer, directory)
            size = args.causal_reference_batch_size
            figures = compare(
                f"causal (minicons batch {size})",
                data,
                lambda: [r["mean_log_prob"] for r in ours(data)],
                lambda: in_calls(reference.sequence_score, data, size),
                args.rounds,
            )
            results.add(f"Scoring: causal LM, MiniLM as a decoder, minicons {size} texts a call", **figures)


if __name__ == "__main__":
    main()
