"""Inference precision: bf16 and int8 against fp32, quality and speed, in one process on the same inputs.

    python benchmarks/precision.py                  # everything below, 1 thread
    python benchmarks/precision.py quality          # or: speed, generate, recite, cloze

quality: all-MiniLM-L6-v2's sentence vectors of held-out real text (the first N non-empty lines of
data/fortunes_en.txt) in bf16 and int8 against fp32: cosine (min, mean, share >= 0.999 / 0.99) and the
top-1 agreement of a label read off the vectors: each line's nearest other line (retrieval's top-1).
speed: sentence embeddings of the same lines, int8 vs our fp32 vs sentence-transformers' fp32 `encode`
(batch 32 each); generate: benchmarks/generate.py's 4-layer 256-wide causal LM, 64 new greedy tokens, batch 1
and 8, ours in int8 vs transformers' fp32 `generate` (the model is random, so int8 may pick other tokens: the
share of identical tokens is reported); recite: the demo LM's recitations of Li Bai; cloze: the demo cloze
model's top-1 for each character of held-out Song lines, masked in turn. Contenders alternate repeat by repeat (harness.interleaved);
ratios are medians of the per-repeat ratios. bf16 speed is measured only where the CPU has bf16 units (precision.fast_bf16): elsewhere
it is emulated, and its quality alone is reported (on fewer lines: it is slow).
"""

import json
import time
from pathlib import Path

import harness
import numpy as np
import torch

from bertkit import pipeline
from bertkit.pipelines.load import with_dtype
from bertkit.precision import BF16_CPU_FLAGS, cpu_flags, fast_bf16

ROOT = harness.ROOT
DTYPES = ("float32", "bfloat16", "int8")


def real_lines(n: int) -> list[str]:
    return harness.text_lines(harness.DATA / "fortunes_en.txt")[:n]


def agreement(reference: np.ndarray, other: np.ndarray) -> dict:
    """Cosines of each row to its reference, and whether each row's nearest other row stays the same."""
    a = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    b = other / np.linalg.norm(other, axis=1, keepdims=True)
    cos = (a * b).sum(1)

    def nearest(m: np.ndarray) -> np.ndarray:
        sims = m @ m.T
        np.fill_diagonal(sims, -np.inf)
        return sims.argmax(1)

    return {
        "rows": len(cos),
        "cosine_min": float(cos.min()),
        "cosine_mean": float(cos.mean()),
        "share_cosine_ge_0.999": float((cos >= 0.999).mean()),
        "share_cosine_ge_0.99": float((cos >= 0.99).mean()),
        "same_nearest_line": float((nearest(a) == nearest(b)).mean()),
    }


def bench_quality(n: int, bf16_n: int) -> dict:
    lines = real_lines(n)
    reference = pipeline("sentence-embedding", harness.minilm(), dtype="float32")(lines)
    int8 = pipeline("sentence-embedding", harness.minilm(), dtype="int8")(lines)
    bf16 = pipeline("sentence-embedding", harness.minilm(), dtype="bfloat16")(lines[:bf16_n])
    return {"int8": agreement(reference, int8), "bfloat16": agreement(reference[:bf16_n], bf16)}


def bench_speed(n: int, repeats: int) -> dict:
    from sentence_transformers import SentenceTransformer

    lines = real_lines(n)
    contenders = {"fp32": pipeline("sentence-embedding", harness.minilm(), dtype="float32")}
    contenders["int8"] = pipeline("sentence-embedding", harness.minilm(), dtype="int8")
    if fast_bf16("cpu")[0]:
        contenders["bf16"] = pipeline("sentence-embedding", harness.minilm(), dtype="bfloat16")
    theirs = SentenceTransformer(str(harness.minilm()), device="cpu")
    calls = {name: (lambda p=p: p(lines)) for name, p in contenders.items()}
    calls["sentence_transformers_fp32"] = lambda: theirs.encode(lines, batch_size=32)
    times = harness.interleaved(calls, repeats, steps=1)
    result = {f"{name}_s": t.median for name, t in times.items()}
    for name in contenders:
        if name != "fp32":
            result[f"{name}_vs_our_fp32"] = harness.speedup(times["fp32"], times[name])
            result[f"{name}_vs_sentence_transformers_fp32"] = harness.speedup(
                times["sentence_transformers_fp32"], times[name]
            )
    result["int8_vs_sentence_transformers_fp32_cpu"] = harness.speedup(
        times["sentence_transformers_fp32"], times["int8"], cpu=True
    )
    result["fp32_vs_sentence_transformers_fp32"] = harness.speedup(
        times["sentence_transformers_fp32"], times["fp32"]
    )
    return result


def bench_generate(repeats: int, new_tokens: int = 64, prompt_len: int = 16) -> dict:
    from generate import prompts, twins  # the same model as benchmarks/generate.py

    ours, theirs = twins(train=False)
    with_dtype(ours, "int8")
    result = {}
    for batch in (1, 8):
        ids, mask = prompts(batch, prompt_len)
        calls = {
            "transformers_fp32": lambda ids=ids, mask=mask: theirs.generate(
                ids, attention_mask=mask, max_new_tokens=new_tokens, do_sample=False
            ),
            "bertkit_int8": lambda ids=ids, mask=mask: ours.generate(ids, mask, max_new_tokens=new_tokens),
        }
        same = (calls["bertkit_int8"]() == calls["transformers_fp32"]())[:, prompt_len:]
        times = harness.interleaved(calls, repeats, steps=1)
        result[f"batch_{batch}"] = {
            "int8_vs_transformers_fp32": harness.speedup(times["transformers_fp32"], times["bertkit_int8"]),
            "cpu_ratio": harness.speedup(times["transformers_fp32"], times["bertkit_int8"], cpu=True),
            "same_tokens_as_fp32": float(same.float().mean()),
            **{f"{name}_s": t.median for name, t in times.items()},
        }
    return result


def bench_recite(lm_dir: Path) -> dict:
    """The demo LM's greedy recitations of Li Bai's poems with openings of their own, in each dtype: exact
    recitations and how many equal fp32's."""
    from bertkit.demo.poems import read_poems, recite_poems, recited_exactly, unique_openings
    from bertkit.demo.run import POET
    from bertkit.pipelines import load_causal_lm

    if not (lm_dir / "config.json").is_file():
        return {"skipped": f"no {lm_dir}; run `make demo` first"}
    poems = unique_openings(read_poems(ROOT / "data" / "tang300.txt"), POET)
    result, fp32 = {}, None
    for dtype in ("float32", "bfloat16", "int8"):
        model, tokenizer = load_causal_lm(lm_dir, dtype=dtype)
        recited = recite_poems(model, tokenizer, poems)
        fp32 = fp32 or recited
        result[dtype] = {
            "exact": sum(map(recited_exactly, recited, poems)),
            "same_as_fp32": sum(a == b for a, b in zip(recited, fp32, strict=True)),
            "poems": len(poems),
        }
    return result


def bench_cloze(cloze_dir: Path, lines: int) -> dict:
    """The demo cloze model's top-1 for every character of poem lines, each masked in turn, in bf16 and int8
    against fp32: the share of the same filled character, and of right ones. On held-out Song lines
    (fortunes-zh's song100) the memorising model is mostly wrong and its top tokens near ties; on the first
    Tang lines it learned, it is sure."""
    if not (cloze_dir / "config.json").is_file() or not harness.SONG.exists():
        return {"skipped": f"needs {cloze_dir} (`make demo`) and {harness.SONG} (Debian's fortunes-zh)"}
    fillers = {dtype: pipeline("fill-mask", cloze_dir, dtype=dtype, top_k=1) for dtype in DTYPES}
    result = {}
    for name, path in (("song_heldout", harness.SONG), ("tang_learned", ROOT / "data" / "tang300.txt")):
        texts, answers = [], []
        for line in harness.poem_lines(path)[:lines]:
            for i, character in enumerate(line):
                if character not in "，。？！；：、":
                    texts.append(line[:i] + "[MASK]" + line[i + 1 :])
                    answers.append(character)
        top = {dtype: [r[0]["token_str"] for r in fill(texts)] for dtype, fill in fillers.items()}
        result[name] = {"masked_characters": len(texts)}
        for dtype, got in top.items():
            result[name][dtype] = {
                "same_as_fp32": float(np.mean([a == b for a, b in zip(got, top["float32"], strict=True)])),
                "right": float(np.mean([a == b for a, b in zip(got, answers, strict=True)])),
            }
    return result


def record(results: harness.Results, report: dict, lines: int) -> None:
    if "quality" in report:
        q = report["quality"]["int8"]
        results.add(
            "Precision: int8 MiniLM sentence vectors against fp32",
            f"cosine mean {q['cosine_mean']:.4f}, min {q['cosine_min']:.3f}",
            "fp32 (bertkit)",
            None,
            f"same nearest line {q['same_nearest_line']:.1%} of {q['rows']} lines",
        )
    if "speed" in report:
        r = report["speed"]
        results.add(
            "Precision: int8 MiniLM sentence embeddings",
            f"{r['int8_s']:.2f} s (int8)",
            f"{r['sentence_transformers_fp32_s']:.2f} s (sentence-transformers fp32)",
            r["int8_vs_sentence_transformers_fp32"],
            "see the int8 cosine row",
            note=f"{lines} lines; CPU time {r['int8_vs_sentence_transformers_fp32_cpu']:.2f}x; "
            f"int8 vs our fp32 {r['int8_vs_our_fp32']:.2f}x",
        )
    for batch, r in report.get("generate", {}).items():
        results.add(
            f"Precision: int8 generation, {batch.replace('_', ' ')} (`mini` causal LM)",
            f"{r['bertkit_int8_s']:.2f} s (int8)",
            f"{r['transformers_fp32_s']:.2f} s (transformers fp32)",
            r["int8_vs_transformers_fp32"],
            f"{r['same_tokens_as_fp32']:.0%} of tokens as fp32 (random weights: near ties)",
            note=f"CPU time {r['cpu_ratio']:.2f}x",
        )


def main() -> None:
    parser = harness.parser(__doc__, threads=1)
    parser.add_argument(
        "what", nargs="?", default="all", choices=["all", "quality", "speed", "generate", "recite", "cloze"]
    )
    parser.add_argument("--lines", type=int, default=2000, help="real lines for quality and speed")
    parser.add_argument(
        "--bf16-lines", type=int, default=300, help="lines for bf16's quality (slow if emulated)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lm", type=Path, default=ROOT / "runs" / "demo" / "lm" / "final", help="demo LM")
    parser.add_argument(
        "--cloze", type=Path, default=ROOT / "runs" / "demo" / "final", help="demo cloze model"
    )
    parser.add_argument("--cloze-lines", type=int, default=300, help="held-out Song lines for cloze")
    args = parser.parse_args()
    results = harness.Results(args)
    report = {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "bf16_flags": sorted(set(BF16_CPU_FLAGS) & cpu_flags()),
        "int8_flags": sorted({"avx512_vnni", "avx_vnni", "amx_int8"} & cpu_flags()),
        "fast_bf16": fast_bf16("cpu")[1],
    }
    start = time.perf_counter()
    if args.what in ("all", "quality"):
        report["quality"] = bench_quality(args.lines, args.bf16_lines)
    if args.what in ("all", "speed"):
        report["speed"] = bench_speed(args.lines, args.repeats)
    if args.what in ("all", "generate"):
        report["generate"] = bench_generate(args.repeats)
    if args.what in ("all", "recite"):
        report["recite"] = bench_recite(args.lm)
    if args.what in ("all", "cloze"):
        report["cloze"] = bench_cloze(args.cloze, args.cloze_lines)
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report, indent=2))
    record(results, report, len(real_lines(args.lines)))


if __name__ == "__main__":
    main()
