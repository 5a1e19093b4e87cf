"""`bertkit prepare` throughput vs tokenizing the same text with Hugging Face `tokenizers` + numpy, in one process.

Both read the same Google-format corpus file (one sentence per line, blank lines between documents) in chunks
of the same size, tokenize every sentence without special tokens with the same bert-base-uncased vocabulary
(the real model's tokenizer.json for `tokenizers`, which parallelises encode_batch over all cores in Rust),
and write the token ids (uint16), sentence offsets and document offsets as .npy files. bertkit's run is the
whole `prepare_corpus` (worker processes on all cores, shards, manifest). The ids are checked to be equal.

Corpus: the benchmark corpus (harness.documents: the bundled data/*.txt and Debian's fortune files where
installed), repeated up to --mb. The two alternate round by round (harness.interleaved); medians.

    python benchmarks/prepare.py [--mb 8] [--workers N] [--repeats 2]
"""

import os
import tempfile
from itertools import chain
from pathlib import Path

import harness
import numpy as np
from tokenizers import Tokenizer

from bertkit.data.corpus import iter_documents
from bertkit.data.prepare import DEFAULT_SHARD_BYTES, prepare_corpus
from bertkit.data.shards import Manifest, read_shard


def build_corpus(path: Path, megabytes: float) -> None:
    """The benchmark documents (blank-line separated), repeated up to `megabytes`."""
    block = "\n\n".join(harness.documents()) + "\n\n"
    repeats = max(1, round(megabytes * 1e6 / len(block.encode("utf-8"))))
    path.write_text(block * repeats, encoding="utf-8")


def reference_prepare(corpus: Path, out: Path) -> int:
    """`tokenizers` + numpy doing prepare's job: returns the token count."""
    tok = Tokenizer.from_file(str(harness.minilm() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    out.mkdir()
    total, chunk, size, index = 0, [], 0, 0

    def flush(docs: list[list[str]], index: int) -> int:
        encodings = tok.encode_batch([s for d in docs for s in d], add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        tokens = np.fromiter(
            chain.from_iterable(e.ids for e in encodings), dtype=np.uint16, count=int(lengths.sum())
        )
        shard = out / f"shard-{index:05d}"
        shard.mkdir()
        np.save(shard / "tokens.npy", tokens)
        np.save(shard / "sentences.npy", np.concatenate(([0], np.cumsum(lengths))))
        np.save(shard / "documents.npy", np.concatenate(([0], np.cumsum([len(d) for d in docs]))))
        return len(tokens)

    for sentences, nbytes in iter_documents([corpus]):
        chunk.append(sentences)
        size += nbytes
        if size >= DEFAULT_SHARD_BYTES:
            total += flush(chunk, index)
            chunk, size, index = [], 0, index + 1
    if chunk:
        total += flush(chunk, index)
    return total


def all_tokens(directory: Path, manifest: Manifest | None) -> np.ndarray:
    if manifest is not None:
        return np.concatenate([read_shard(directory, s).tokens for s in manifest.shards])
    return np.concatenate([np.load(p) for p in sorted(directory.glob("shard-*/tokens.npy"))])


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--mb", type=float, default=8.0, help="corpus size in MB (default 8)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count(), help="bertkit worker processes (default: all cores)"
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="rounds of each; the median counts (default 2)"
    )
    args = parser.parse_args()
    results = harness.Results(args)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus.txt"
        build_corpus(corpus, args.mb)
        mb = corpus.stat().st_size / 1e6
        print(f"corpus {mb:.1f} MB")

        def ours() -> tuple[Path, Manifest]:
            out = Path(tempfile.mkdtemp(dir=tmp)) / "ours"
            manifest = prepare_corpus(
                [corpus],
                harness.minilm(),
                out,
                heldout_fraction=0.01,
                workers=args.workers,
                show_progress=False,
            )
            return out, manifest

        def reference() -> tuple[Path, None]:
            out = Path(tempfile.mkdtemp(dir=tmp)) / "reference"
            reference_prepare(corpus, out)
            return out, None

        times = harness.interleaved({"bertkit": ours, "tokenizers": reference}, args.repeats, warmup=False)
        (ours_dir, manifest), (ref_dir, _) = times["bertkit"].outputs[0], times["tokenizers"].outputs[0]
        same = np.array_equal(all_tokens(ours_dir, manifest), all_tokens(ref_dir, None))
    o, r = times["bertkit"].median, times["tokenizers"].median
    ratio = harness.speedup(times["tokenizers"], times["bertkit"])
    print(f"tokens: {manifest.total('tokens')}  identical ids: {same}")
    print(f"bertkit prepare ({args.workers} workers): {mb / o:7.2f} MB/s  ({o:.2f} s)")
    print(f"tokenizers + numpy:             {mb / r:7.2f} MB/s  ({r:.2f} s)")
    print(f"speed-up (median of the rounds' ratios): {ratio:7.2f}x")
    assert same, "token ids differ from tokenizers'"
    results.add(
        "Data preparation: `bertkit prepare`",
        f"{mb / o:.2f} MB/s",
        f"{mb / r:.2f} MB/s (tokenizers + numpy)",
        ratio,
        "ids identical",
        note=f"{mb:.1f} MB corpus, {args.workers} workers",
    )


if __name__ == "__main__":
    main()
