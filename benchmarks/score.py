"""Scoring texts: bertkit's `text-scoring` pipeline vs minicons' scorers, in one process, on the same texts,
checkpoints and threads.

Checkpoints: the all-MiniLM-L6-v2 encoder under a seeded random MLM head (a BertForMaskedLM), and the same
weights as a causal BertLMHeadModel (`is_decoder: true`), both saved by transformers in Hugging Face's layout;
and the demo's cloze model (runs/demo/final; where `make demo` has not run, a stand-in of its shape: the `tiny`
preset under the vocabulary the demo learns from data/tang300.txt, random weights). Speed does not depend on
what the weights learned. Texts: Debian's fortunes (benchmarks/embed.py's `fortune_lines`) of 4 to 40 words
(the pseudo-log-likelihood runs one masked copy per token, so its cost grows with the square of the length);
for the demo model, the lines of Song poems it never saw (Debian's `fortunes-zh` song100), then Tang lines.

- PLL (`pll="original"`) of 500 texts vs `MaskedLMScorer.sequence_score` given `--pll-reference-batch-size`
  texts per call (default 1, minicons' command line's default batch size; it runs all the masked copies of
  the texts of one call in one forward pass, padded to the longest): English on MiniLM (`pll`), poem lines on
  the demo's model (`pll-poems`).
- Causal scoring of 2,000 texts vs `IncrementalLMScorer.sequence_score`, `--causal-reference-batch-size`
  texts per call (default 32, bertkit's batch size).

The per-text mean log-probabilities (minicons' default reduction) are checked equal within 1e-4.
Rounds alternate the two; the medians of the per-round wall-clock and CPU-time (this process's) ratios are
reported. minicons 0.3.39 calls the tokenizer's `batch_encode_plus`, which transformers 5 removed; the
benchmark gives its tokenizer that name for calling the tokenizer, which is what the method did.

Run: .venv/bin/python benchmarks/score.py [--threads 2] [--rounds 3] [--jobs pll causal]
"""

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import torch
import transformers
from embed import MINILM, fortune_lines
from minicons import scorer

from bertkit import BertConfig, BertForPreTraining, WordPieceTokenizer, pipeline

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
ROOT = Path(__file__).resolve().parents[1]
SONG = Path("/usr/share/games/fortunes/song100")
DEMO_CLOZE = ROOT / "runs" / "demo" / "final"


def poem_lines(path: Path) -> list[str]:
    """The verse lines of a poem file: fortunes-zh's song100/tang300 (titles and authors are the lines in
    colour, poems end at `%`) or the bundled data/tang300.txt (title and author lines hold no ，)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if "，" in line and not line.startswith("\x1b")]


def demo_cloze_model(root: Path) -> Path:
    """runs/demo/final, or a random model of its shape and vocabulary (see the module's docstring)."""
    if (DEMO_CLOZE / "config.json").exists():
        return DEMO_CLOZE
    tokenizer = WordPieceTokenizer.train([ROOT / "data" / "tang300.txt"], vocab_size=8000, min_frequency=1)
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig.preset("tiny", vocab_size=len(tokenizer)))
    model.save_pretrained(root / "demo-shaped", tokenizer=tokenizer)
    return root / "demo-shaped"


def checkpoint(root: Path, class_name: str, **config) -> Path:
    torch.manual_seed(0)
    model = getattr(transformers, class_name).from_pretrained(MINILM, **config)
    directory = root / class_name
    model.save_pretrained(directory)
    for name in TOKENIZER_FILES:
        shutil.copy(MINILM / name, directory / name)
    return directory


def minicons_scorer(cls, directory: Path):
    reference = cls(str(directory), "cpu")
    reference.tokenizer.batch_encode_plus = reference.tokenizer.__call__
    return reference


def in_calls(fn: Callable[[list[str]], list[float]], texts: list[str], size: int) -> list[float]:
    return [score for i in range(0, len(texts), size) for score in fn(texts[i : i + size])]


def compare(name: str, texts: list[str], run_ours: Callable, run_reference: Callable, rounds: int) -> None:
    wall: dict[str, list[float]] = {"ours": [], "reference": []}
    cpu: dict[str, list[float]] = {"ours": [], "reference": []}
    scores: dict[str, list[float]] = {}
    for _ in range(rounds):
        for who, fn in (("ours", run_ours), ("reference", run_reference)):
            start, start_cpu = time.perf_counter(), time.process_time()
            scores[who] = fn()
            wall[who].append(time.perf_counter() - start)
            cpu[who].append(time.process_time() - start_cpu)
    worst = max(abs(a - b) for a, b in zip(scores["ours"], scores["reference"], strict=True))
    assert worst <= 1e-4, f"{name}: mean log-probabilities differ by up to {worst}"
    ratios = {
        label: statistics.median(r / o for r, o in zip(t["reference"], t["ours"], strict=True))
        for label, t in (("wall", wall), ("CPU", cpu))
    }
    print(
        f"{name:>32}: {len(texts):5d} texts  bertkit {statistics.median(wall['ours']):7.2f} s  "
        f"minicons {statistics.median(wall['reference']):7.2f} s  ratio {ratios['wall']:.2f}x wall, "
        f"{ratios['CPU']:.2f}x CPU (largest difference {worst:.1e})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pll-count", type=int, default=500)
    parser.add_argument("--causal-count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32, help="bertkit's rows per forward pass")
    parser.add_argument("--pll-reference-batch-size", type=int, default=1)
    parser.add_argument("--causal-reference-batch-size", type=int, default=32)
    jobs = ["pll", "pll-poems", "causal"]
    parser.add_argument("--jobs", nargs="+", default=jobs, choices=jobs)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = [t for t in fortune_lines(6000) if 4 <= len(t.split()) <= 40]
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp:
        for job in ("pll", "pll-poems"):
            if job not in args.jobs:
                continue
            if job == "pll":
                data, directory = texts[: args.pll_count], checkpoint(Path(tmp), "BertForMaskedLM")
            else:
                data = (poem_lines(SONG) if SONG.exists() else []) + poem_lines(ROOT / "data" / "tang300.txt")
                data, directory = data[: args.pll_count], demo_cloze_model(Path(tmp))
            ours = pipeline("text-scoring", model=directory, pll="original", batch_size=args.batch_size)
            reference = minicons_scorer(scorer.MaskedLMScorer, directory)
            size = args.pll_reference_batch_size
            compare(
                f"{job} (minicons batch {size})",
                data,
                lambda ours=ours, data=data: [r["mean_log_prob"] for r in ours(data)],
                lambda reference=reference, data=data, size=size: in_calls(
                    lambda b: reference.sequence_score(b, PLL_metric="original"), data, size
                ),
                args.rounds,
            )
        if "causal" in args.jobs:
            data = texts[: args.causal_count]
            directory = checkpoint(Path(tmp), "BertLMHeadModel", is_decoder=True)
            ours = pipeline("text-scoring", model=directory, batch_size=args.batch_size)
            reference = minicons_scorer(scorer.IncrementalLMScorer, directory)
            size = args.causal_reference_batch_size
            compare(
                f"causal (minicons batch {size})",
                data,
                lambda: [r["mean_log_prob"] for r in ours(data)],
                lambda: in_calls(reference.sequence_score, data, size),
                args.rounds,
            )


if __name__ == "__main__":
    main()
