"""End-to-end pre-training throughput: bertkit's `pretrain` loop vs a reference loop built from transformers.

Both train a randomly initialised BERT of the same preset (default `small`: 4 layers, hidden 512), sequence 128,
batch 32, on the bundled corpora (data/*.txt) tokenized with the bert-base-uncased vocabulary, in one process:

- ours: `bertkit.train.loop.pretrain` as the CLI runs it (the data loader with one background worker makes NSP
  pairs and masks them, AdamW fused, clipping, linear schedule, metrics.jsonl, a checkpoint at the end);
  throughput from its own per-step log, warm-up steps excluded, checkpoint time excluded.
- reference: transformers' BertForPreTraining + DataCollatorForLanguageModeling (15% masking, 80/10/10) over the
  same NSP pairs (taken from our loader before timing starts, unmasked, so the reference is not charged for
  building them), torch AdamW, clipping, transformers' linear schedule with warm-up.

Tokens/s counts non-padding tokens. MLM accuracy (argmax over the masked tokens) over the last 5 steps is
printed for both, so speed is not bought with worse learning (after so few steps both are near chance).

The two runs are whole training loops, one after the other (not interleaved: each times its own steps).

    python benchmarks/pretrain.py [--steps 20] [--preset small] [--threads N]
"""

import tempfile
import time
from pathlib import Path

import harness
import torch
import transformers

from bertkit import BertConfig
from bertkit.data.loader import PretrainingData
from bertkit.data.prepare import prepare_corpus
from bertkit.train.config import PretrainConfig
from bertkit.train.loop import pretrain
from bertkit.train.metrics import read_metrics, training_seconds

MODEL_DIR = harness.minilm()
WARMUP = 2  # untimed first steps: allocator, optimizer state, worker start-up
SEQ_LEN, BATCH, LR = 128, 32, 1e-4


def ours(data_dir: Path, run_dir: Path, preset: str, steps: int) -> tuple[float, float]:
    """(tokens/s, MLM accuracy of the last 5 steps) of the real loop."""
    pretrain(
        PretrainConfig(
            data=str(data_dir),
            tokenizer=str(MODEL_DIR),
            out=str(run_dir),
            preset=preset,
            seq_len=SEQ_LEN,
            batch_size=BATCH,
            lr=LR,
            warmup_steps=WARMUP,
            max_steps=steps,
            log_every=1,
            eval_every=0,
            save_every=steps,
            keep=1,
            num_workers=1,
        )
    )
    records = read_metrics(run_dir)  # one training record per step
    elapsed = training_seconds(records)
    timed_tokens = records[-1]["tokens_seen"] - records[WARMUP - 1]["tokens_seen"]  # steps after the warm-up
    return timed_tokens / (elapsed[-1] - elapsed[WARMUP - 1]), sum(r["mlm_acc"] for r in records[-5:]) / 5


def reference(data_dir: Path, preset: str, steps: int) -> tuple[float, float]:
    """(tokens/s, MLM accuracy of the last 5 steps) of the transformers loop on the same NSP pairs."""
    hf_tokenizer = transformers.BertTokenizerFast.from_pretrained(MODEL_DIR)
    collator = transformers.DataCollatorForLanguageModeling(hf_tokenizer, mlm_probability=0.15)
    examples = []  # one list of per-sequence dicts per step, unmasked
    for _, batch in zip(
        range(steps),
        PretrainingData(data_dir, MODEL_DIR, max_seq_length=SEQ_LEN, batch_size=BATCH, num_workers=0),
        strict=False,
    ):
        ids = torch.where(batch["labels"] == -100, batch["input_ids"], batch["labels"])  # undo our masking
        examples.append(
            [
                {
                    "input_ids": ids[i][batch["attention_mask"][i] == 1].tolist(),
                    "token_type_ids": batch["token_type_ids"][i][batch["attention_mask"][i] == 1].tolist(),
                    "next_sentence_label": int(batch["next_sentence_label"][i]),
                }
                for i in range(len(ids))
            ]
        )
    ours_cfg = BertConfig.preset(preset, vocab_size=hf_tokenizer.vocab_size)
    config = transformers.BertConfig(
        **{
            k: v
            for k, v in ours_cfg.to_dict().items()
            if k
            in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
        }
    )
    torch.manual_seed(0)
    model = transformers.BertForPreTraining(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01, eps=1e-6)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, WARMUP, steps)
    tokens = seconds = 0.0
    accuracies = []
    for step, batch_examples in enumerate(examples):
        start = time.perf_counter()
        batch = collator(batch_examples)  # pads and masks
        out = model(**batch)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - start
        masked = batch["labels"] != -100
        accuracies.append(
            (out.prediction_logits[masked].argmax(-1) == batch["labels"][masked]).float().mean().item()
        )
        if step >= WARMUP:
            tokens += batch["attention_mask"].sum().item()
            seconds += elapsed
    return tokens / seconds, sum(accuracies[-5:]) / 5


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--preset", default="small")
    args = parser.parse_args()
    results = harness.Results(args)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        prepare_corpus(sorted(harness.DATA.glob("*.txt")), MODEL_DIR, data_dir, show_progress=False)
        print(f"preset {args.preset}, batch {BATCH} x {SEQ_LEN}, {args.steps} steps ({WARMUP} untimed)")
        ref_speed, ref_acc = reference(data_dir, args.preset, args.steps)
        our_speed, our_acc = ours(data_dir, Path(tmp) / "run", args.preset, args.steps)
    print(
        f"reference (transformers + DataCollatorForLanguageModeling): {ref_speed:9.0f} tokens/s, "
        f"MLM accuracy (last 5 steps) {ref_acc:.3f}"
    )
    print(
        f"bertkit pretrain:                                           {our_speed:9.0f} tokens/s, "
        f"MLM accuracy (last 5 steps) {our_acc:.3f}"
    )
    print(f"ratio bertkit / reference: {our_speed / ref_speed:.2f}x")
    results.add(
        f"Pre-training end to end: `bertkit pretrain` (`{args.preset}`, 32 x 128)",
        f"{our_speed:.0f} tokens/s",
        f"{ref_speed:.0f} tokens/s (transformers + DataCollatorForLanguageModeling)",
        our_speed / ref_speed,
        f"MLM accuracy after {args.steps} steps {our_acc:.3f} vs {ref_acc:.3f}",
    )


if __name__ == "__main__":
    main()
