"""The demo's two models, measured: what each knows after `make demo`'s recipe, for several seeds, and how
fast it gets there; with --heldout, how much of it generalises to poems the models never see.

For each seed, trains the cloze model (MLM + NSP) and the poem language model exactly as `bertkit demo` does
(bertkit.demo: the bundled Tang poems, the demo's vocabulary, presets and settings), then reports
- the cloze score: famous lines whose hidden character is ranked first, as whole lines and as fragments;
- the next-sentence head on every couplet of the corpus: how often it finds a line's true next line more
  likely to follow than a random line of the same length from another poem (`couplets`);
- recitation: Li Bai's poems (those whose first two characters begin no other poem) and all poems recited
  exactly from their first two characters, greedy, punctuation aside;
- training seconds and the first step at which the training accuracy (MLM / next-token, over each logging
  window's batches) reaches --threshold.
With --heldout F, a fraction F of the poems is held out of both models' training and the held-out accuracy and
perplexity are reported instead (the demo itself trains on every poem: the lazy student memorises).
Ours only: there is no reference recipe to compare with; benchmarks/pretrain.py and benchmarks/generate.py
compare speed with transformers.

    python benchmarks/time_to_accuracy.py [--seeds 0 1 2] [--heldout 0.1] [--out DIR]
"""

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import harness

from bertkit.demo.cloze import cloze_config, cloze_predictions, cloze_score, couplet_score
from bertkit.demo.run import CLOZE_STEPS, LM_STEPS, lm_config, prepare_poems, recitation_score, recitations
from bertkit.model import BertForPreTraining
from bertkit.pipelines import load_for_inference
from bertkit.train.loop import pretrain
from bertkit.train.metrics import read_metrics, training_seconds

ROOT = harness.ROOT


def first_crossing(records: list[dict], key: str, threshold: float, split: str = "train") -> int | None:
    """The first logged step whose `key` on `split` reaches `threshold`."""
    return next((r["step"] for r in records if r["split"] == split and r[key] >= threshold), None)


def measure(run_dir: Path, key: str, threshold: float) -> dict:
    records = read_metrics(run_dir)
    train = [r for r in records if r["split"] == "train"]
    result = {
        "train_seconds": round(training_seconds(records)[-1]),
        f"train_{key}": train[-1][key],
        "step_reaching_threshold": first_crossing(records, key, threshold),
    }
    heldout = [r for r in records if r["split"] == "heldout"]
    if heldout:
        result["heldout"] = {k: v for k, v in heldout[-1].items() if k not in ("split", "step", "time")}
    return result


def run_seed(out: Path, seed: int, args: argparse.Namespace) -> dict:
    poems = prepare_poems(ROOT / "data" / "tang300.txt", out, heldout_fraction=args.heldout)
    result: dict = {"seed": seed}
    if "cloze" in args.models:
        cfg = cloze_config(out, args.cloze_steps, seed=seed)
        if args.heldout:
            cfg = dataclasses.replace(cfg, eval_every=args.cloze_steps // 5, eval_batches=20)
        started = time.perf_counter()
        pretrain(cfg)
        wall = round(time.perf_counter() - started)
        whole, fragments = cloze_score(cloze_predictions(out / "final"))
        couplets = couplet_score(*load_for_inference(out / "final", BertForPreTraining), poems)
        result["cloze"] = {
            "whole": whole,
            "fragment": fragments,
            "couplets": round(couplets["accuracy"], 3),
            "p_true_next": round(couplets["p_true_next"], 2),
            "p_other": round(couplets["p_other"], 2),
            "wall_s": wall,
        }
        result["cloze"] |= measure(out, "mlm_acc", args.threshold)
    if "lm" in args.models:
        cfg = lm_config(out, args.lm_steps, seed=seed)
        if args.heldout:
            cfg = dataclasses.replace(cfg, eval_every=args.lm_steps // 5, eval_batches=20)
        started = time.perf_counter()
        pretrain(cfg)
        wall = round(time.perf_counter() - started)
        recited = recitation_score(recitations(out / "lm" / "final", poems), poems)
        result["lm"] = {name: f"{a}/{b}" for name, (a, b) in recited.items()} | {"wall_s": wall}
        result["lm"] |= measure(out / "lm", "next_token_acc", args.threshold)
    return result


def record(results: harness.Results, result: dict) -> None:
    """One record per model and seed: what it knows and its training time (ours only: no reference)."""
    if "cloze" in result:
        c = result["cloze"]
        results.add(
            f"The demo: cloze model, seed {result['seed']}",
            f"{c['whole']}/12 whole lines, {c['fragment']}/12 fragments, couplets {c['couplets']:.1%}; "
            f"{c['train_seconds']} s of training",
            "none (ours only)",
            None,
            "famous lines ranked first (bertkit.demo.cloze)",
        )
    if "lm" in result:
        lm = result["lm"]
        recited = ", ".join(f"{k} {v}" for k, v in lm.items() if "/" in str(v))
        results.add(
            f"The demo: poem language model, seed {result['seed']}",
            f"recited exactly: {recited}; {lm['train_seconds']} s of training",
            "none (ours only)",
            None,
            "greedy recitation from the first two characters",
        )


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cloze-steps", type=int, default=CLOZE_STEPS)
    parser.add_argument("--lm-steps", type=int, default=LM_STEPS)
    parser.add_argument("--heldout", type=float, default=0.0, help="fraction of poems held out (default 0)")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--models", nargs="+", choices=["cloze", "lm"], default=["cloze", "lm"])
    parser.add_argument("--out", default=None, help="keep the runs here (default: a temporary directory)")
    args = parser.parse_args()
    results = harness.Results(args)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            result = run_seed(Path(args.out or tmp) / f"seed-{seed}", seed, args)
            print(json.dumps(result, ensure_ascii=False))
            if not args.heldout:
                record(results, result)


if __name__ == "__main__":
    main()
