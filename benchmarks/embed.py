"""Sentence embeddings: bertkit's `sentence-embedding` pipeline vs sentence-transformers' `encode`, in one
process, on the same texts, model and threads.

2,000 real texts of varied length (harness.fortune_lines: Debian's fortunes, each joined into one line; the
bundled data/fortunes_en.txt where the fortunes package is missing), all-MiniLM-L6-v2, batch 32 for both. The
two alternate chunk by chunk (harness.interleaved; 500 texts, each library sorting and batching within it); the
median over rounds of the wall-clock and CPU-time ratios is reported (CPU time, this process's, is what a busy
shared machine disturbs least), with the smallest cosine between the two libraries' vectors (target >= 0.99999).

    python benchmarks/embed.py [--count 2000] [--rounds 3] [--threads 1]
"""

import harness
import numpy as np

from bertkit import pipeline


def main() -> None:
    parser = harness.parser(__doc__, threads=1)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=500, help="texts per alternation")
    args = parser.parse_args()
    results = harness.Results(args)
    from sentence_transformers import SentenceTransformer

    texts = harness.fortune_lines(args.count)
    reference = SentenceTransformer(str(harness.minilm()), device="cpu")
    ours = pipeline("sentence-embedding", model=harness.minilm(), batch_size=args.batch_size)
    lengths = [len(ours.tokenizer.encode(t).ids) for t in texts]
    print(
        f"{len(texts)} fortunes, tokens per text: mean {np.mean(lengths):.1f}, median {np.median(lengths):.0f}, "
        f"max {max(lengths)} (cut at 256); all-MiniLM-L6-v2, batch {args.batch_size}"
    )

    chunks = [texts[i : i + args.chunk] for i in range(0, len(texts), args.chunk)]
    times = harness.interleaved(
        {
            "bertkit": ours,
            "sentence-transformers": lambda chunk: reference.encode(chunk, batch_size=args.batch_size),
        },
        args.rounds,
        chunks=chunks,
    )
    mine, theirs = (np.concatenate(t.outputs) for t in times.values())
    cosine = (mine * theirs).sum(-1) / np.linalg.norm(mine, axis=-1) / np.linalg.norm(theirs, axis=-1)
    for name, t in times.items():
        print(
            f"{name:>22}: {t.median:7.2f} s wall ({len(texts) / t.median:6.1f} texts/s), {t.median_cpu:7.2f} s CPU"
        )
    ratios = {
        label: harness.speedup(times["sentence-transformers"], times["bertkit"], cpu=label == "CPU")
        for label in ("wall", "CPU")
    }
    for label, ratio in ratios.items():
        print(f"ratio (sentence-transformers / bertkit), {label}: {ratio:.2f}x   (target >= 1.5x)")
    print(f"smallest cosine: {cosine.min():.7f}   (target >= 0.99999)")
    results.add(
        "Sentence embeddings: MiniLM on fortunes, batch 32",
        f"{len(texts) / times['bertkit'].median:.1f} texts/s",
        f"{len(texts) / times['sentence-transformers'].median:.1f} texts/s (sentence-transformers encode)",
        ratios["wall"],
        f"smallest cosine {cosine.min():.7f}",
        note=f"{len(texts)} fortunes; CPU time {ratios['CPU']:.2f}x",
    )


if __name__ == "__main__":
    main()
