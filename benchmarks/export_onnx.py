"""ONNX export: all-MiniLM-L6-v2's sentence embeddings through onnxruntime (bertkit's fp32 and int8 exports,
run by `bertkit.pipeline`) against bertkit's PyTorch path and sentence-transformers' PyTorch `encode`, in one
process, on the same texts (harness.fortune_lines: 2,000 fortunes), batch 32, the same threads.

The contenders alternate chunk by chunk (harness.interleaved, 500 texts), so load from other jobs on a shared machine hits them
alike; wall and CPU-time ratios are the medians over rounds. Quality: the cosine of each export's vectors to
the PyTorch ones, and how often each text's nearest other text (by cosine) stays the same.

sentence-transformers' own int8 ONNX export (`export_dynamic_quantized_onnx_model`) needs optimum, which would
replace the transformers 5 of bertkit's test extras by 4.57: benchmarks/onnx_loaders.py runs that comparison, and
optimum's loaders on bertkit's exports, in an environment of their own.

(Not benchmarks/onnx.py: a script's directory comes first on sys.path, where that name would hide the onnx
package from torch's exporter.)

    python benchmarks/export_onnx.py [--count 2000] [--rounds 1] [--threads 1]
"""

import tempfile
import time
from pathlib import Path

import harness
import numpy as np

from bertkit import pipeline
from bertkit.export import export_model


def nearest(vectors: np.ndarray) -> np.ndarray:
    """Each row's nearest other row by cosine."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -2.0)
    return similarity.argmax(axis=1)


def main() -> None:
    parser = harness.parser(__doc__, threads=1)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=500, help="texts per alternation")
    args = parser.parse_args()
    results = harness.Results(args)
    from sentence_transformers import SentenceTransformer

    texts = harness.fortune_lines(args.count)
    work = Path(tempfile.mkdtemp(prefix="bertkit-onnx-"))
    for name, quantize in (("fp32", None), ("int8", "int8")):
        start = time.perf_counter()
        report = export_model(harness.minilm(), work / name, quantize=quantize)
        print(f"export {name}: {time.perf_counter() - start:.1f} s, {report.size_bytes / 1e6:.1f} MB")
    reference = SentenceTransformer(str(harness.minilm()), device="cpu")
    base = "bertkit PyTorch fp32"
    contenders = {
        base: pipeline("sentence-embedding", model=harness.minilm(), batch_size=args.batch_size),
        "bertkit ONNX fp32": pipeline("sentence-embedding", model=work / "fp32", batch_size=args.batch_size),
        "bertkit ONNX int8": pipeline("sentence-embedding", model=work / "int8", batch_size=args.batch_size),
        "sentence-transformers fp32": lambda chunk: reference.encode(chunk, batch_size=args.batch_size),
    }
    print(f"{len(texts)} fortunes")
    chunks = [texts[i : i + args.chunk] for i in range(0, len(texts), args.chunk)]
    for fn in contenders.values():
        fn(chunks[0][:64])  # warm-up
    times = harness.interleaved(contenders, args.rounds, chunks=chunks, warmup=False)
    matrices = {name: np.concatenate(t.outputs) for name, t in times.items()}
    neighbours = nearest(matrices[base])
    for name, t in times.items():
        ratio = harness.speedup(times[base], t, cpu=True)
        m, ref = matrices[name], matrices[base]
        cosine = (m * ref).sum(-1) / np.linalg.norm(m, axis=-1) / np.linalg.norm(ref, axis=-1)
        same = (nearest(m) == neighbours).mean()
        print(
            f"{name:>27}: {t.median:7.2f} s wall ({len(texts) / t.median:6.1f} texts/s), {t.median_cpu:7.2f} s "
            f"CPU, {ratio:4.2f}x PyTorch's speed (CPU); cosine to PyTorch min {cosine.min():.5f} mean "
            f"{cosine.mean():.5f}; same nearest text {same:.1%}"
        )
        if name.startswith("bertkit ONNX"):
            st = times["sentence-transformers fp32"]
            results.add(
                f"ONNX export: MiniLM sentence embeddings, {name.removeprefix('bertkit ')} via onnxruntime",
                f"{len(texts) / t.median:.1f} texts/s",
                f"{len(texts) / st.median:.1f} texts/s (sentence-transformers PyTorch fp32)",
                harness.speedup(st, t),
                f"cosine to PyTorch min {cosine.min():.5f}; same nearest text {same:.1%}",
                note=f"{len(texts)} fortunes; {ratio:.2f}x bertkit's PyTorch path (CPU time)",
            )


if __name__ == "__main__":
    main()
