"""Encoding throughput: bertkit's WordPieceTokenizer vs Hugging Face `tokenizers` (Rust), in one process.

Both get the same lines of real text (the bundled English fortunes and Tang poems, once and repeated to make a
batch of many lines, then the benchmark corpus (harness.documents: those plus, where installed, Debian's
fortune files, about 5 MB of distinct, messy text), the real bert-base-uncased vocabulary of all-MiniLM-L6-v2,
and all the CPUs of the machine (tokenizers through its rayon threads, bertkit through forked worker
processes). Every call builds a fresh bertkit tokenizer, so its word cache starts empty and filling it is part
of the time. Rounds alternate the two implementations (harness.interleaved); medians are reported.

Two comparisons, each like with like:
  ids:       ours tokenize_to_ids(lines)            vs  [e.ids for e in encode_batch_fast(lines, add_special_tokens=False)]
  encodings: ours encode_batch(lines) (Encoding with ids, tokens, offsets, masks)
             vs   encode_batch(lines) (tokenizers' Encoding objects, fields left in Rust until read)
Ids are asserted equal in both. A third line gives the CPU seconds of the ids path (bertkit in one process,
tokenizers over all its threads), which a busy machine disturbs less than wall time.

    python benchmarks/tokenizer.py [--rounds 3] [--repeat-en 20] [--repeat-zh 40]
"""

import os

os.environ.pop("TOKENIZERS_PARALLELISM", None)  # let the reference use all its threads

import harness  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from bertkit import WordPieceTokenizer  # noqa: E402


def compare(name: str, lines: list[str], reference: Tokenizer, rounds: int) -> dict[str, float]:
    """Speed-ups over `tokenizers` (ids, encodings, ids in CPU time with bertkit in one process)."""
    model = harness.minilm()
    ids = harness.interleaved(
        {
            "bertkit": lambda: WordPieceTokenizer.from_pretrained(model).tokenize_to_ids(lines),
            "tokenizers": lambda: [
                e.ids for e in reference.encode_batch_fast(lines, add_special_tokens=False)
            ],
        },
        rounds,
    )
    assert ids["bertkit"].outputs == ids["tokenizers"].outputs, "ids differ from tokenizers"
    encodings = harness.interleaved(
        {
            "bertkit": lambda: WordPieceTokenizer.from_pretrained(model).encode_batch(lines),
            "tokenizers": lambda: reference.encode_batch(lines),
        },
        rounds,
    )
    ours, theirs = (encodings[who].outputs[0] for who in ("bertkit", "tokenizers"))
    assert [e.ids for e in ours] == [e.ids for e in theirs], "encodings differ from tokenizers"
    # CPU seconds (all threads of this process), one bertkit process: what each needs, whatever the load.
    one_process = harness.interleaved(
        {
            "bertkit": lambda: WordPieceTokenizer.from_pretrained(model).tokenize_to_ids(
                lines, num_workers=1
            ),
            "tokenizers": lambda: reference.encode_batch_fast(lines, add_special_tokens=False),
        },
        rounds,
    )
    n_bytes = sum(len(line.encode("utf-8")) for line in lines)
    print(
        f"{name}: {len(lines)} lines, {n_bytes / 1e6:.1f} MB, {sum(map(len, ours))} tokens with [CLS]/[SEP]"
    )
    for label, t in (("ids", ids), ("encodings", encodings)):
        o, r = t["bertkit"].median, t["tokenizers"].median
        print(
            f"  {label:9s} bertkit {n_bytes / o / 1e6:6.2f} MB/s ({o:.3f} s)  tokenizers {n_bytes / r / 1e6:6.2f} MB/s"
            f" ({r:.3f} s)  speed-up {harness.speedup(t['tokenizers'], t['bertkit']):.2f}x"
        )
    o, r = one_process["bertkit"].median_cpu, one_process["tokenizers"].median_cpu
    cpu_ratio = harness.speedup(one_process["tokenizers"], one_process["bertkit"], cpu=True)
    print(
        f"  CPU time  bertkit {o:.3f} s (one process)  tokenizers {r:.3f} s (all threads)  ratio {cpu_ratio:.2f}x"
    )
    return {
        "mb": n_bytes / 1e6,
        "ids": harness.speedup(ids["tokenizers"], ids["bertkit"]),
        "ours_mb_s": n_bytes / ids["bertkit"].median / 1e6,
        "theirs_mb_s": n_bytes / ids["tokenizers"].median / 1e6,
        "encodings": harness.speedup(encodings["tokenizers"], encodings["bertkit"]),
        "cpu": cpu_ratio,
    }


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--repeat-en", type=int, default=20, help="times the English corpus is repeated")
    parser.add_argument("--repeat-zh", type=int, default=40, help="times the Chinese corpus is repeated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = harness.Results(args)
    reference = Tokenizer.from_file(str(harness.minilm() / "tokenizer.json"))
    reference.no_padding()
    reference.no_truncation()
    for name, file, repeat in (
        ("English (fortunes_en.txt)", "fortunes_en.txt", args.repeat_en),
        ("Chinese (tang300.txt)", "tang300.txt", args.repeat_zh),
    ):
        lines = harness.text_lines(harness.DATA / file)
        compare(f"{name} x1", lines, reference, args.rounds)
        compare(f"{name} x{repeat}", lines * repeat, reference, args.rounds)
    lines = [line for doc in harness.documents() for line in doc.splitlines() if line.strip()]
    corpus = compare("Benchmark corpus (harness.documents, distinct text)", lines, reference, args.rounds)
    results.add(
        "Tokenizer: encoding to ids, benchmark corpus (all cores)",
        f"{corpus['ours_mb_s']:.2f} MB/s",
        f"{corpus['theirs_mb_s']:.2f} MB/s (tokenizers)",
        corpus["ids"],
        "ids identical",
        note=f"{corpus['mb']:.1f} MB of distinct text; encodings {corpus['encodings']:.2f}x, "
        f"CPU time (bertkit one process) {corpus['cpu']:.2f}x",
    )


if __name__ == "__main__":
    main()
