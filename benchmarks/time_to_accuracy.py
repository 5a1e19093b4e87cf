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
        [--curve 2000] [--recipe before]   # the time-to-quality curve; the recipe until issue 25
"""

import argparse
import dataclasses
import json
import shutil
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
from bertkit.train.state import checkpoint_dirs

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


# The recipe the demo ran until issue 25 (`--recipe before`): 18,000 cloze steps at 15% masked, BERT's initial
# std and Adam beta2, every batch padded to 27 tokens and made in a worker process; 1,500 language-model steps.
BEFORE = {
    "cloze": dict(lr=1.5e-3, mlm_probability=0.15, max_predictions_per_seq=5, group_by_length=False),
    "lm": dict(lr=2e-3),
    "both": dict(initializer_range=None, beta2=0.999, num_workers=1),
    "steps": {"cloze": 18000, "lm": 1500},
}


def score_cloze(model_dir: Path, poems: list) -> dict:
    whole, fragments = cloze_score(cloze_predictions(model_dir))
    couplets = couplet_score(*load_for_inference(model_dir, BertForPreTraining), poems)
    return {
        "whole": whole,
        "fragment": fragments,
        "couplets": round(couplets["accuracy"], 3),
        "p_true_next": round(couplets["p_true_next"], 2),
        "p_other": round(couplets["p_other"], 2),
    }


def score_lm(model_dir: Path, poems: list) -> dict:
    recited = recitation_score(recitations(model_dir, poems), poems)
    return {name: f"{a}/{b}" for name, (a, b) in recited.items()}


def train_and_score(cfg, score, key: str, poems: list, args: argparse.Namespace) -> dict:
    """Train `cfg` as the demo does (with --heldout: evaluating held-out batches 5 times; with --curve N:
    keeping a checkpoint every N steps), then `score` the final model and, with --curve, every checkpoint at
    its training seconds: the time-to-quality curve."""
    run_dir, steps = Path(cfg.out), cfg.max_steps
    if args.heldout:
        cfg = dataclasses.replace(cfg, eval_every=steps // 5, eval_batches=20)
    if args.curve:
        cfg = dataclasses.replace(cfg, save_every=args.curve, keep=steps // args.curve + 1)
    started = time.perf_counter()
    pretrain(cfg)
    result = score(run_dir / "final", poems) | {"wall_s": round(time.perf_counter() - started)}
    result |= measure(run_dir, key, args.threshold)
    if args.curve:
        seconds = {r["step"]: r["train_seconds"] for r in read_metrics(run_dir) if r["split"] == "train"}
        result["curve"] = []
        for checkpoint in checkpoint_dirs(run_dir):
            for file in Path(cfg.tokenizer).iterdir():  # a checkpoint holds the model; the scorers need words
                shutil.copy(file, checkpoint)
            step = int(checkpoint.name.split("-")[1])
            result["curve"].append(
                {"step": step, "train_seconds": round(seconds[step])} | score(checkpoint, poems)
            )
    return result


def run_seed(out: Path, seed: int, args: argparse.Namespace) -> dict:
    poems = prepare_poems(ROOT / "data" / "tang300.txt", out, heldout_fraction=args.heldout)
    result: dict = {"seed": seed, "recipe": args.recipe}
    models = {
        "cloze": (cloze_config(out, args.cloze_steps, seed=seed), score_cloze, "mlm_acc"),
        "lm": (lm_config(out, args.lm_steps, seed=seed), score_lm, "next_token_acc"),
    }
    for name in args.models:
        cfg, score, key = models[name]
        if args.recipe == "before":
            cfg = dataclasses.replace(cfg, **BEFORE[name], **BEFORE["both"])
        result[name] = train_and_score(cfg, score, key, poems, args)
    return result


def record(results: harness.Results, result: dict) -> None:
    """One record per model and seed: what it knows and its training time (ours only: no reference)."""
    if "cloze" in result:
        c = result["cloze"]
        results.add(
            f"The demo ({result['recipe']} recipe): cloze model, seed {result['seed']}",
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
            f"The demo ({result['recipe']} recipe): poem language model, seed {result['seed']}",
            f"recited exactly: {recited}; {lm['train_seconds']} s of training",
            "none (ours only)",
            None,
            "greedy recitation from the first two characters",
        )


def main() -> None:
    parser = harness.parser(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--recipe", choices=["now", "before"], default="now", help="before: until issue 25")
    parser.add_argument(
        "--cloze-steps", type=int, help=f"default: {CLOZE_STEPS} ({BEFORE['steps']['cloze']} before)"
    )
    parser.add_argument("--lm-steps", type=int, help=f"default: {LM_STEPS} ({BEFORE['steps']['lm']} before)")
    parser.add_argument("--curve", type=int, metavar="N", help="also score the checkpoint of every N steps")
    parser.add_argument("--heldout", type=float, default=0.0, help="fraction of poems held out (default 0)")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--models", nargs="+", choices=["cloze", "lm"], default=["cloze", "lm"])
    parser.add_argument("--out", default=None, help="keep the runs here (default: a temporary directory)")
    args = parser.parse_args()
    before = args.recipe == "before"
    args.cloze_steps = args.cloze_steps or (BEFORE["steps"]["cloze"] if before else CLOZE_STEPS)
    args.lm_steps = args.lm_steps or (BEFORE["steps"]["lm"] if before else LM_STEPS)
    results = harness.Results(args)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            result = run_seed(Path(args.out or tmp) / f"seed-{seed}", seed, args)
            print(json.dumps(result, ensure_ascii=False))
            if not args.heldout:
                record(results, result)


if __name__ == "__main__":
    main()
