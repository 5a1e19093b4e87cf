"""Does PretrainingData keep a CPU training loop fed? Batches/s of the loader vs the time of a training step.

Prepares the bundled corpora (data/*.txt) with the bert-base-uncased vocabulary, then measures, for batch 32
at sequence 128 with 15% masking:
- the loader alone: batches/s made in the calling thread (num_workers=0) and by background workers;
- a pre-training step (forward + backward + AdamW) of bertkit's BertForPreTraining on the `tiny` and `small`
  presets, on one fixed batch, and the same loop fed by the loader in the training thread and by one
  background worker, alternating round by round. The loader's overhead is the difference: near zero when
  the worker keeps up.

Rounds alternate the feeds (harness.interleaved); medians per step.

    python benchmarks/loader.py [--steps 5] [--rounds 3] [--presets tiny small]
"""

import itertools
import tempfile
import time
from pathlib import Path

import harness
import torch

from bertkit import BertConfig, BertForPreTraining
from bertkit.data.loader import PretrainingData
from bertkit.data.prepare import prepare_corpus


def per_second(iterable, count: int) -> float:
    it = iter(iterable)
    next(it)  # start-up: worker processes, the first epoch's plan
    start = time.perf_counter()
    for _ in itertools.islice(it, count):
        pass
    return count / (time.perf_counter() - start)


def trainer(model: BertForPreTraining):
    """One pre-training step on the next batch of an iterator."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(batches) -> None:
        loss = model(**next(batches)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--steps", type=int, default=5, help="steps per round and feed (default 5)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds; the median counts (default 3)"
    )
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    args = parser.parse_args()
    results = harness.Results(args)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        prepare_corpus(sorted(harness.DATA.glob("*.txt")), harness.minilm(), data_dir, show_progress=False)

        def loader(num_workers: int) -> PretrainingData:
            return PretrainingData(
                data_dir, harness.minilm(), batch_size=32, max_seq_length=128, num_workers=num_workers
            )

        print("batch 32 x 128, 15% masked")
        for workers in (0, 1, 2):
            print(f"loader alone, num_workers={workers}: {per_second(loader(workers), 200):8.1f} batches/s")
        for preset in args.presets:
            model = BertForPreTraining(BertConfig.preset(preset)).train()
            step = trainer(model)
            feeds = {
                "a fixed batch": itertools.repeat(next(iter(loader(0)))),
                "loader, num_workers=0": iter(loader(0)),
                "loader, num_workers=1": iter(loader(1)),
            }
            times = harness.interleaved(
                {name: (lambda b=batches, step=step: step(b)) for name, batches in feeds.items()},
                args.rounds,
                args.steps,
            )
            fixed = times["a fixed batch"]
            for name, t in times.items():
                print(
                    f"{preset:>5} step fed by {name:<22} {t.median * 1e3:8.1f} ms  "
                    f"({100 * (t.median / fixed.median - 1):+5.1f}%)"
                )
            fed = times["loader, num_workers=1"]
            results.add(
                f"Data loader: `{preset}` pre-training step fed by one background worker",
                f"{fed.median * 1e3:.0f} ms/step",
                f"{fixed.median * 1e3:.0f} ms/step (a fixed batch)",
                harness.speedup(fixed, fed),
                "the same step; 1.00x means the loader costs nothing",
            )


if __name__ == "__main__":
    main()
