"""Fine-tuning all-MiniLM-L6-v2 for topic classification: `bertkit finetune` vs Hugging Face's `Trainer`, in one
process, on the same data, model, hyper-parameters and seed; then evaluation/prediction throughput.

Data: Debian's fortune files (label = the file a fortune comes from, the 10 of TOPICS), up to `--per-topic`
fortunes a topic, split 80/20 per topic with a fixed seed. Both
sides: the real all-MiniLM-L6-v2 weights and the same freshly initialised classifier (ours, copied into the
Trainer's model), lr 5e-5, batch 32, `--epochs`, warm-up 10% of the steps, weight decay 0.01 (not on biases
and LayerNorm), Adam eps 1e-8, clipping at 1.0, linear decay, fp32, seed 0, max length `--max-length`.

- ours: `bertkit.finetune(...)` as the CLI runs it: reading and tokenizing the CSV, length-grouped batches
  padded to their own longest, the loop (metrics.jsonl, checkpoints at epoch ends, final/ exported).
- Trainer: the same texts tokenized by transformers' tokenizer (truncation to max length), padding per batch
  (DataCollatorWithPadding), `train_sampling_strategy` "random" (its default) and "group_by_length" (its
  LengthGroupedSampler), the model saved at the end.

Wall time and CPU time count everything from the call to the saved model, tokenization and model loading
included; with one torch thread and no worker processes, CPU time is the work each side does, the fair figure
on a machine shared with other jobs. Then both trained models' validation accuracy (the target: within 1
point) and mean training loss, and prediction throughput on one model (ours, loaded by both):
`bertkit.predict` (length-bucketed, inference_mode) vs `Trainer.predict` (batches in file order, padded per
batch), the same batch size, CPU time from the model directory and the texts to the labels, with the
predicted labels compared. TF-IDF + logistic regression on the same split is printed as the baseline.

The prediction timings alternate the two (harness.interleaved); medians of CPU time.

    python benchmarks/finetune.py [--epochs 2] [--per-topic 100] [--max-length 128] [--threads 1]
"""

import csv
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import harness
import numpy as np
import torch
import transformers

from bertkit import evaluate, finetune, predict
from bertkit.tasks.models import load_for_finetuning
from bertkit.train.metrics import read_metrics

MODEL_DIR = harness.minilm()
TOPICS = (
    "computers",
    "education",
    "food",
    "law",
    "love",
    "medicine",
    "politics",
    "science",
    "sports",
    "startrek",
)
SEED, LR, BATCH, EVAL_BATCH, WARMUP_RATIO = 0, 5e-5, 32, 64, 0.1


def topic_examples(per_topic: int, seed: int = SEED) -> tuple[list, list]:
    """(train, validation) lists of (text, topic): up to `per_topic` fortunes a topic, split 80/20 per topic;
    a fortune found in two of the files is left out (its label would be ambiguous)."""
    by_topic = {
        topic: [harness.one_line(d) for d in harness.read_documents(harness.FORTUNES_DIR / topic)]
        for topic in TOPICS
    }
    counts = Counter(text for texts in by_topic.values() for text in set(texts))
    rng = random.Random(seed)
    train, validation = [], []
    for topic, texts in by_topic.items():
        unique = sorted({t for t in texts if counts[t] == 1})
        rng.shuffle(unique)
        chosen = unique[:per_topic]
        cut = int(0.8 * len(chosen))
        train += [(t, topic) for t in chosen[:cut]]
        validation += [(t, topic) for t in chosen[cut:]]
    rng.shuffle(train)
    rng.shuffle(validation)
    return train, validation


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def bag_of_words_accuracy(train: list, validation: list) -> float:
    """The classic baseline on the same split: TF-IDF (words and bigrams) + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    classifier = LogisticRegression(max_iter=2000, C=10.0)
    classifier.fit(vectorizer.fit_transform([t for t, _ in train]), [y for _, y in train])
    predicted = classifier.predict(vectorizer.transform([t for t, _ in validation]))
    return float(np.mean([p == y for p, (_, y) in zip(predicted, validation, strict=True)]))


def ours(train_csv: Path, out: Path, epochs: int, max_length: int) -> tuple[float, float, float, Path]:
    """(wall seconds, CPU seconds, mean training loss, final/) of `bertkit.finetune`."""
    start, cpu = time.perf_counter(), time.process_time()
    final = finetune(
        task="classify",
        model=str(MODEL_DIR),
        train=str(train_csv),
        out=str(out),
        epochs=epochs,
        lr=LR,
        batch_size=BATCH,
        max_length=max_length,
        warmup_ratio=WARMUP_RATIO,
        weight_decay=0.01,
        seed=SEED,
        save_every=10**6,
        keep=1,
        log_every=1,
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    losses = [r["loss"] for r in read_metrics(out) if r["split"] == "train"]
    return wall, cpu, sum(losses) / len(losses), final


class Examples(torch.utils.data.Dataset):
    def __init__(self, encodings: dict, labels: list[int]):
        self.encodings, self.labels = encodings, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {k: v[i] for k, v in self.encodings.items()} | {"labels": self.labels[i]}


def trainer(
    train: list, labels: list[str], out: Path, epochs: int, max_length: int, sampling: str, head: dict
) -> tuple[float, float, float, transformers.Trainer]:
    """(wall seconds, CPU seconds, mean training loss, the Trainer) of transformers' Trainer."""
    start, cpu = time.perf_counter(), time.process_time()
    tokenizer = transformers.AutoTokenizer.from_pretrained(MODEL_DIR)
    label2id = {name: i for i, name in enumerate(labels)}
    encodings = tokenizer([t for t, _ in train], truncation=True, max_length=max_length)
    dataset = Examples(encodings, [label2id[y] for _, y in train])
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        MODEL_DIR, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id
    )
    model.classifier.load_state_dict(head)  # the same initial head as ours
    args = transformers.TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=BATCH,
        per_device_eval_batch_size=EVAL_BATCH,
        learning_rate=LR,
        num_train_epochs=epochs,
        warmup_steps=WARMUP_RATIO,  # transformers 5: a float below 1 is a ratio of the steps
        weight_decay=0.01,
        adam_epsilon=1e-8,
        max_grad_norm=1.0,
        lr_scheduler_type="linear",
        seed=SEED,
        train_sampling_strategy=sampling,
        save_strategy="no",
        eval_strategy="no",
        logging_steps=10,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    hf = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=transformers.DataCollatorWithPadding(tokenizer),
    )
    result = hf.train()
    hf.save_model(str(out / "final"))
    return time.perf_counter() - start, time.process_time() - cpu, result.training_loss, hf


def evaluator(model_dir: Path, out: Path) -> transformers.Trainer:
    """A Trainer for prediction only, on a fine-tuned model directory."""
    return transformers.Trainer(
        model=transformers.AutoModelForSequenceClassification.from_pretrained(model_dir),
        args=transformers.TrainingArguments(
            output_dir=str(out),
            per_device_eval_batch_size=EVAL_BATCH,
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
        ),
        data_collator=transformers.DataCollatorWithPadding(
            transformers.AutoTokenizer.from_pretrained(model_dir)
        ),
    )


def hf_predictions(hf: transformers.Trainer, validation: list, max_length: int) -> np.ndarray:
    tokenizer = transformers.AutoTokenizer.from_pretrained(MODEL_DIR)
    encodings = tokenizer([t for t, _ in validation], truncation=True, max_length=max_length)
    dataset = Examples(encodings, [0] * len(validation))
    return hf.predict(dataset).predictions.argmax(-1)


def main() -> None:
    parser = harness.parser(__doc__, threads=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--per-topic", type=int, default=100)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3, help="prediction timings, interleaved")
    parser.add_argument(
        "--samplers",
        default="group_by_length,random",
        help="the Trainer's train_sampling_strategy values to run",
    )
    args = parser.parse_args()
    if not all((harness.FORTUNES_DIR / topic).is_file() for topic in TOPICS):
        print(f"skipped: the topics are Debian's fortune files, not found in {harness.FORTUNES_DIR}")
        return
    results = harness.Results(args)
    transformers.logging.set_verbosity_error()
    train, validation = topic_examples(args.per_topic)
    labels = sorted({y for _, y in train})
    print(
        f"{len(train)} training / {len(validation)} validation fortunes, {len(labels)} topics; "
        f"{args.epochs} epochs, batch {BATCH}, max length {args.max_length}, lr {LR}, fp32"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train_csv = write_csv(tmp / "train.csv", train)
        validation_csv = write_csv(tmp / "validation.csv", validation)
        torch.manual_seed(SEED)  # as finetune seeds it before creating the head
        head = load_for_finetuning(MODEL_DIR, "classify", labels).classifier.state_dict()

        # CPU time (one thread, no worker processes) is the work done, whatever else the machine runs.
        seconds, cpu, loss, final = ours(train_csv, tmp / "ours", args.epochs, args.max_length)
        accuracy = evaluate(final, "classify", validation_csv, max_length=args.max_length)["accuracy"]
        rows = [("bertkit (length-grouped steps, padding per batch)", seconds, cpu, loss, accuracy)]
        for sampling in args.samplers.split(","):
            hf_seconds, hf_cpu, hf_loss, hf = trainer(
                train, labels, tmp / sampling, args.epochs, args.max_length, sampling, head
            )
            predicted = hf_predictions(hf, validation, args.max_length)
            hf_accuracy = float(
                np.mean([labels[p] == y for p, (_, y) in zip(predicted, validation, strict=True)])
            )
            rows.append(
                (f"Trainer ({sampling}, padding per batch)", hf_seconds, hf_cpu, hf_loss, hf_accuracy)
            )
        print(
            f"TF-IDF + logistic regression on the same split: accuracy {bag_of_words_accuracy(train, validation):.4f}"
        )
        print(f"{'':52s} wall s   CPU s  train loss  accuracy   Trainer / bertkit (wall, CPU), accuracy")
        for name, wall, work, train_loss, acc in rows:
            ratio = (
                ""
                if wall == seconds
                else (
                    f"   {wall / seconds:.2f}x, {work / cpu:.2f}x, {100 * (accuracy - acc):+.1f} points for bertkit"
                )
            )
            print(f"{name:52s} {wall:6.1f}  {work:6.1f}  {train_loss:10.4f}  {acc:8.4f}{ratio}")

        # Prediction throughput: one model (ours), both implementations, the same batch size, each timed from
        # the model directory and the texts to the labels (loading, tokenization and inference), CPU time.
        times = harness.interleaved(
            {
                "bertkit": lambda: predict(
                    final, "classify", validation_csv, batch_size=EVAL_BATCH, max_length=args.max_length
                ),
                "Trainer": lambda: hf_predictions(
                    evaluator(final, tmp / "eval"), validation, args.max_length
                ),
            },
            args.repeats,
            warmup=False,
        )
        records, hf_labels = times["bertkit"].outputs[0], times["Trainer"].outputs[0]
        same = sum(r["label"] == labels[p] for r, p in zip(records, hf_labels, strict=True))
        ours_s, hf_s = times["bertkit"].median_cpu, times["Trainer"].median_cpu
        prediction = harness.speedup(times["Trainer"], times["bertkit"], cpu=True)
        print(
            f"prediction, {len(validation)} fortunes, batch {EVAL_BATCH}: bertkit {len(validation) / ours_s:.1f}/s, "
            f"Trainer.predict {len(validation) / hf_s:.1f}/s of CPU time (median of {args.repeats}), ratio "
            f"{prediction:.2f}x; identical labels {same}/{len(validation)}"
        )
    for name, wall, work, _, acc in rows[1:]:
        results.add(
            f"Fine-tuning: MiniLM topic classification vs {name.split(',')[0]})",
            f"{cpu:.1f} CPU s, accuracy {accuracy:.3f}",
            f"{work:.1f} CPU s, accuracy {acc:.3f}",
            work / cpu,
            f"validation accuracy {100 * (accuracy - acc):+.1f} points for bertkit",
            note=f"{len(train)} training fortunes, {args.epochs} epochs; wall {wall / seconds:.2f}x",
        )
    results.add(
        "Fine-tuning: prediction, `bertkit.predict` vs `Trainer.predict`",
        f"{len(validation) / ours_s:.1f} texts per CPU second",
        f"{len(validation) / hf_s:.1f} texts per CPU second (Trainer.predict)",
        prediction,
        f"identical labels {same}/{len(validation)}",
    )


if __name__ == "__main__":
    main()
