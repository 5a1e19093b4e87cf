"""The arithmetic of exact PLL on all-MiniLM-L6-v2: floating-point operations of minicons' `MaskedLMScorer`
(every position of every masked copy through the vocabulary projection) against bertkit's `text-scoring`
(the masked position alone through it, and the last layer's queries, output and feed-forward for it alone), on
score.py's fortunes. The ratio is the most a speed-up on equal hardware can reach while the scores stay exact.
Counted, not timed: the figure does not depend on the machine.

    python benchmarks/pll_flops.py [--count 100 500]
"""

import harness

from bertkit import WordPieceTokenizer

H, FFN, LAYERS, VOCAB = 384, 1536, 6, 30522
LAYER = 2 * (4 * H * H + 2 * H * FFN)  # per token per layer: Q, K, V, output and the feed-forward
HEAD = 2 * (H * H + H * VOCAB)  # per position: the MLM head's transform and vocabulary projection
LAST_LAYER_SKIPPED = 2 * (2 * H * H + 2 * H * FFN)  # Q, output and feed-forward of an unscored position


def attention(queries: int, keys: int) -> int:
    return 2 * 2 * queries * keys * H  # QK^T and the weighted sum of V


def flops(length: int) -> tuple[int, int]:
    """(minicons, bertkit) for one text of `length` tokens with [CLS] and [SEP]: one copy per scored token."""
    copies = length - 2
    minicons = copies * (length * (LAYERS * LAYER + HEAD) + LAYERS * attention(length, length))
    bertkit = copies * (
        length * LAYERS * LAYER
        - (length - 1) * LAST_LAYER_SKIPPED
        + HEAD
        + (LAYERS - 1) * attention(length, length)
        + attention(1, length)
    )
    return minicons, bertkit


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--count", type=int, nargs="+", default=[100, 500])
    args = parser.parse_args()
    results = harness.Results(args)
    texts = [t for t in harness.fortune_lines(6000) if 4 <= len(t.split()) <= 40]
    tokenizer = WordPieceTokenizer.from_pretrained(harness.minilm())
    lengths = [len(e.ids) for e in tokenizer.encode_batch(texts[: max(args.count)])]
    for count in args.count:
        minicons, bertkit = map(sum, zip(*(flops(n) for n in lengths[:count]), strict=True))
        print(
            f"{count} texts: minicons {minicons / 1e12:.2f} TFLOP, bertkit {bertkit / 1e12:.2f} TFLOP, "
            f"ratio {minicons / bertkit:.2f}x"
        )
    results.add(
        "Scoring: the arithmetic of exact PLL on MiniLM (FLOPs, not time)",
        f"{bertkit / 1e12:.2f} TFLOP",
        f"{minicons / 1e12:.2f} TFLOP (minicons MaskedLMScorer)",
        minicons / bertkit,
        "counted for the same texts; the ceiling of a speed-up with exact scores",
        note=f"{count} fortunes of 4-40 words",
    )


if __name__ == "__main__":
    main()
