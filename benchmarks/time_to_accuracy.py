"""Time to accuracy on the demo corpus: steps and training seconds until MLM accuracy crosses a threshold.

Runs `make demo`'s pre-training (bertkit.demo: the bundled Tang poems, its vocabulary, preset and settings) for
`--max-steps`, then reads the run's metrics.jsonl. Training seconds add up each logging window's tokens over its
tokens/s, so evaluation and checkpoint pauses are not counted. "Train" accuracy is over the masked tokens of each
logging window's batches (the poems the model is memorising); "heldout" is the few poems it never sees.
Ours only: a reference loop run as long would double the wall time, and benchmarks/pretrain.py already compares
throughput and accuracy after the same steps.

    .venv/bin/python benchmarks/time_to_accuracy.py [--max-steps N] [--threshold 0.5] [--out DIR]
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch

from bertkit.demo import CLOZE_LINES, DEMO_STEPS, demo_config, prepare_demo
from bertkit.model import BertForPreTraining
from bertkit.pipelines import fill_mask, load_for_inference
from bertkit.train.loop import pretrain
from bertkit.train.metrics import read_metrics, training_seconds

ROOT = Path(__file__).resolve().parents[1]


def crossings(records: list[dict], threshold: float) -> dict[str, tuple[int, float] | None]:
    """Per split, (step, training seconds so far) of the first record whose MLM accuracy reaches `threshold`."""
    first: dict[str, tuple[int, float] | None] = {"train": None, "heldout": None}
    for r, seconds in zip(records, training_seconds(records), strict=True):
        if first[r["split"]] is None and r["mlm_acc"] >= threshold:
            first[r["split"]] = (r["step"], seconds)
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=DEMO_STEPS)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--out", default=None, help="keep the run here (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        prepare_demo(ROOT / "data" / "tang300.txt", out)
        cfg = demo_config(out, args.max_steps)
        print(
            f"torch {torch.__version__}, {torch.get_num_threads()} threads; preset {cfg.preset}, seq {cfg.seq_len}, "
            f"batch {cfg.batch_size}, lr {cfg.lr}, {cfg.max_steps} steps"
        )
        started = time.perf_counter()
        final = pretrain(cfg)
        wall = time.perf_counter() - started
        records = read_metrics(out)
        for split, hit in crossings(records, args.threshold).items():
            best = max(r["mlm_acc"] for r in records if r["split"] == split)
            where = f"step {hit[0]}, {hit[1]:.0f} s of training" if hit else "not reached"
            print(f"{split:8s} MLM accuracy >= {args.threshold:.0%}: {where} (best {best:.3f})")
        print(f"wall time {wall:.0f} s including evaluation and checkpoints")
        model, tokenizer = load_for_inference(final, BertForPreTraining)
        for text, answer in CLOZE_LINES:
            [predictions] = fill_mask(model, tokenizer, text, top_k=5)
            rank = next((i + 1 for i, p in enumerate(predictions) if p["token"] == answer), None)
            print(f"  {text}  {answer}: rank {rank or '>5'}")


if __name__ == "__main__":
    main()
