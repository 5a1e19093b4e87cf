"""Does pre-training pay off downstream? BERT pre-trained here on fortunes, then fine-tuned on fortune topics.

One command runs the whole experiment:
1. the fine-tuning task: which of five Debian fortune files (computers, science, politics, food, art) a fortune
   comes from, built by examples/tasks/fortune_topics.py (70/10/20 per topic by a hash of the text);
2. the pre-training corpus: every other English fortune file (not the Chinese poems nor `ascii-art`), less
   any fortune whose text is also in one of the five files, so no fine-tuning text is seen in pre-training;
   a fixed sample of its fortunes (by a hash of the text) is held out of both libraries' pre-training to
   measure the masked LM at the end;
3. a WordPiece vocabulary learned by bertkit from the pre-training text, shared by every model;
4. the arms, each fine-tuned by the same `bertkit.finetune` call (same settings, same seed; by default a
   classifier on the mean of the tokens' vectors, `--pooling mean`, rather than on BERT's pooled [CLS]):
   - `bertkit`: pre-trained by bertkit for `--minutes M` (`max_minutes`: the schedule laid over the budget),
     masked LM + next sentence (`--objective mlm+nsp`) or the masked LM alone (`--objective mlm`);
   - `random`: the same model shape from random initialisation (the curve's 0 minutes);
   - `hf`: `transformers`' BertForMaskedLM of the same shape and vocabulary, trained on the same text by its
     Trainer (DataCollatorForLanguageModeling, run_mlm's blocks of `--seq-len` tokens) for the same minutes;
     its Trainer needs a step count for warm-up and decay, so a short throw-away run first measures seconds
     per step, the schedule is laid over budget / that, and a callback stops training when the budget is spent
     (whichever comes first is recorded);
   - `tfidf`: TF-IDF + logistic regression (scikit-learn) on the same training split;
   - `vectors`: the same, each text's TF-IDF joined by the mean of its words' vectors learned from the
     pre-training text (positive PMI of words 5 apart, cut to 200 dimensions by SVD: word2vec's counting
     twin): what the corpus knows about word meaning, added to a bag of words, without any network.
Every pre-trained model's masked-LM accuracy is measured on the same held-out fortunes, masked once with a
fixed seed (80/10/10 of 15% of the tokens, BERT's rule). Accuracies carry their binomial standard error
sqrt(p(1-p)/n) over the n test fortunes.

The defaults are the recipe that paid off best on the 2-core machine with AMX (docs/finetuning_examples.md):
the masked LM alone, the `mini` preset, batch 32 of 64 tokens, 40% of the tokens masked, lr 1e-3, dropout 0,
bf16 where the CPU multiplies it natively (`--dtype`); both libraries train in the same precision. On a CPU
without bf16 units, `--preset tiny --pretrain-batch-size 8` left the masked-LM plateau sooner.

Writes OUT/results.json and prints a markdown table. Pre-trained models are kept under OUT/pretrain/ and reused
by a later run with the same pre-training settings (so fine-tuning recipes can be compared on them); fine-tuning
runs are redone every time.

    python examples/pretrain_then_finetune.py --minutes 2 5 10 --seeds 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "tasks"))

from corpora import FORTUNES_DIR, Fortune, fortune_files, is_english, read_fortunes, split_by_key  # noqa: E402
from fortune_sources import SKIPPED_FILES  # noqa: E402
from fortune_topics import bag_of_words  # noqa: E402
from fortune_topics import build as build_topic_task  # noqa: E402
from run_task import finetune_and_evaluate, machine  # noqa: E402

from bertkit import BertForMaskedLM, BertForPreTraining, WordPieceTokenizer  # noqa: E402
from bertkit.config import CLASSIFIER_POOLINGS  # noqa: E402
from bertkit.constants import IGNORE_INDEX  # noqa: E402
from bertkit.data.corpus import split_sentences  # noqa: E402
from bertkit.data.masking import MaskingConfig, mask_tokens  # noqa: E402
from bertkit.data.prepare import prepare_corpus  # noqa: E402
from bertkit.precision import training_bf16, training_precision  # noqa: E402
from bertkit.train.config import PretrainConfig  # noqa: E402
from bertkit.train.loop import train  # noqa: E402
from bertkit.train.objective import Objective, ratio, stack_counts  # noqa: E402
from bertkit.train.pretraining import OBJECTIVES, mlm_objective, model_config  # noqa: E402

TOPICS = ("computers", "science", "politics", "food", "art")
PER_TOPIC = 400  # food has 169 short fortunes, the others more: 1,767 fortunes, 354 of them in the test split
ARMS = ("bertkit", "random", "hf", "tfidf", "vectors")
PRETRAIN_OBJECTIVES = ("mlm+nsp", "mlm")
HELDOUT_FRACTION = 0.02
HELDOUT_MASK_SEED = 1234
CALIBRATION_STEPS = 6  # transformers' throw-away run that times its steps


# ----- the data


def pretraining_fortunes(directory: Path, topic_texts: set[str]) -> list[Fortune]:
    """Every English fortune of the files the topic task does not use, once each, none with a topic text."""
    seen: dict[str, Fortune] = {}
    for path in fortune_files(directory):
        if path.name in TOPICS or path.name in SKIPPED_FILES:
            continue
        for fortune in read_fortunes(path):
            if is_english(fortune.text) and fortune.text not in topic_texts:
                seen.setdefault(fortune.text, fortune)
    return list(seen.values())


def write_corpus(fortunes: list[Fortune], path: Path, documents: str) -> Path:
    """Google's plain-text corpus: one sentence per line, a blank line after each document. A document is
    one fortune, or (`documents="file"`) one fortune file: its fortunes in order, as a book's paragraphs, so
    a sequence carries neighbouring fortunes of one subject and a random segment B comes from another file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for i, fortune in enumerate(fortunes):
            f.write("\n".join(split_sentences(fortune.text)) + "\n")
            last = i + 1 == len(fortunes) or fortunes[i + 1].topic != fortune.topic
            if documents == "fortune" or last:
                f.write("\n")
    return path


def build_data(out: Path, directory: Path, per_topic: int, vocab_size: int, documents: str) -> dict[str, Any]:
    """The topic task's files (out/task), the pre-training corpus and its held-out fortunes (out/corpus), the
    vocabulary (out/tokenizer-V) and bertkit's prepared shards (out/prepared-V, out/prepared-V-files for
    `documents="file"`); the splits, texts and dirs."""
    splits = build_topic_task(out / "task", directory, per_topic, TOPICS)
    topic_texts = {f.text for f in read_topic_files(directory)}
    corpus = split_by_key(
        pretraining_fortunes(directory, topic_texts),
        lambda f: f.text,
        (1 - HELDOUT_FRACTION, 0.0, HELDOUT_FRACTION),
    )
    suffix = "" if documents == "fortune" else "-files"
    pretrain_txt = write_corpus(corpus["train"], out / "corpus" / f"pretrain{suffix}.txt", documents)
    tokenizer_dir, prepared = out / f"tokenizer-{vocab_size}", out / f"prepared-{vocab_size}{suffix}"
    if not (tokenizer_dir / "vocab.txt").exists():
        texts = (f.text for f in corpus["train"])
        WordPieceTokenizer.train(texts, vocab_size=vocab_size, show_progress=False).save_pretrained(
            tokenizer_dir
        )
    prepare_corpus([pretrain_txt], tokenizer_dir, prepared, heldout_fraction=0.0, workers=1)
    return {
        "splits": splits,
        "pretrain": [f.text for f in corpus["train"]],
        "heldout": [f.text for f in corpus["test"]],
        "tokenizer": tokenizer_dir,
        "prepared": prepared,
    }


def read_topic_files(directory: Path) -> list[Fortune]:
    """Every fortune of the five topic files, whatever its length: none may be pre-trained on."""
    return [f for path in fortune_files(directory) if path.name in TOPICS for f in read_fortunes(path)]


# ----- pre-training with bertkit


class WithoutNextSentence:
    """Pre-training batches less their next-sentence labels: BertForPreTraining then learns the masked LM
    alone (bertkit's `mlm` objective always adds next-sentence prediction)."""

    def __init__(self, batches) -> None:
        self.batches = batches

    def __iter__(self):
        batches = iter(self.batches)
        try:
            for batch in batches:
                batch.pop("next_sentence_label")
                yield batch
        finally:
            batches.close()

    def state_dict(self) -> dict[str, int]:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.batches.load_state_dict(state)


def measure_masked_lm(out, batch) -> torch.Tensor:
    labels = batch["labels"][batch["labels"] != IGNORE_INDEX]
    return stack_counts(
        out.mlm_loss.double() * labels.numel(), (out.mlm_logits.argmax(-1) == labels).sum(), labels.numel()
    )


def masked_lm_metrics(totals: dict[str, float]) -> dict[str, float | None]:
    return {"loss": ratio(totals, "mlm_loss", "masked"), "mlm_acc": ratio(totals, "mlm_correct", "masked")}


def masked_lm_only(cfg: PretrainConfig, ctx) -> Objective:
    """bertkit's mlm objective with the next-sentence loss left out: same data, model and masking."""
    objective = mlm_objective(cfg, ctx)
    return dataclasses.replace(
        objective,
        train=WithoutNextSentence(objective.train),
        counts=("mlm_loss", "mlm_correct", "masked"),
        measure=measure_masked_lm,
        metrics=masked_lm_metrics,
    )


def pretrain_config(
    args: argparse.Namespace, out: Path, data: dict, minutes: float | None, seed: int
) -> PretrainConfig:
    """The pre-training recipe of bertkit's runs; transformers' run takes its numbers from it too."""
    return PretrainConfig(
        out=str(out),
        data=str(data["prepared"]),
        tokenizer=str(data["tokenizer"]),
        preset=args.preset,
        dropout=args.dropout,
        seq_len=args.seq_len,
        batch_size=args.pretrain_batch_size,
        lr=args.pretrain_lr,
        warmup_ratio=args.warmup_ratio,
        mlm_probability=args.mlm_probability,
        # Google's rule of thumb, seq_len x rate, so a higher rate is not capped; never below bertkit's 20.
        max_predictions_per_seq=max(20, math.ceil(args.seq_len * args.mlm_probability)),
        max_minutes=minutes,
        eval_every=0,
        save_every=1_000_000,  # the end of the budget writes the one checkpoint
        log_every=10,
        num_workers=0,
        bf16=args.dtype == "bfloat16",  # both libraries train in the same precision
        seed=seed,
    )


def pretrain_bertkit(cfg: PretrainConfig, objective: str) -> dict[str, Any]:
    make = OBJECTIVES["mlm"] if objective == "mlm+nsp" else masked_lm_only
    final = train(cfg, lambda ctx: make(cfg, ctx))
    ended = json.loads((Path(cfg.out) / "run.json").read_text())["ended"]
    return {
        "model": str(final),
        "steps": ended["step"],
        "seconds": ended["train_seconds"],
        "ended_by": ended["by"],
    }


def random_model(cfg: PretrainConfig, out: Path) -> dict[str, Any]:
    """The pre-trained models' shape, its weights as initialised (seed `cfg.seed`), saved like theirs."""
    tokenizer = WordPieceTokenizer.from_pretrained(cfg.tokenizer)
    torch.manual_seed(cfg.seed)
    BertForPreTraining(model_config(cfg, tokenizer)).save_pretrained(out / "final", tokenizer=tokenizer)
    return {"model": str(out / "final"), "steps": 0, "seconds": 0.0, "ended_by": None}


# ----- pre-training with transformers


def pretrain_transformers(
    cfg: PretrainConfig, texts: list[str], shape_dir: Path, out: Path
) -> dict[str, Any]:
    """transformers' BertForMaskedLM with `shape_dir`'s config, its Trainer and DataCollatorForLanguageModeling
    on `texts` cut into blocks of cfg.seq_len, for cfg.max_minutes with cfg's optimiser settings."""
    from transformers import (
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )
    from transformers import BertConfig as HFBertConfig
    from transformers import BertForMaskedLM as HFBertForMaskedLM

    class TimeBudget(TrainerCallback):
        """Stops training once `seconds` of it are spent; records when each step ended."""

        def __init__(self, seconds: float) -> None:
            self.seconds, self.step_ends = seconds, []

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.step_ends.append(time.perf_counter() - self.start)
            if self.step_ends[-1] >= self.seconds:
                control.should_training_stop = True

    tokenizer = AutoTokenizer.from_pretrained(cfg.tokenizer)
    blocks = token_blocks(tokenizer(texts)["input_ids"], cfg.seq_len)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=cfg.mlm_probability)
    config = HFBertConfig.from_pretrained(shape_dir)

    def run(max_steps: int, budget: float, where: Path) -> tuple[Any, TimeBudget]:
        torch.manual_seed(cfg.seed)
        model = HFBertForMaskedLM(config)
        arguments = TrainingArguments(
            output_dir=str(where),
            per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.lr,
            weight_decay=cfg.weight_decay,
            adam_beta1=cfg.beta1,
            adam_beta2=cfg.beta2,
            adam_epsilon=cfg.eps,
            max_grad_norm=cfg.clip_norm,
            lr_scheduler_type=cfg.schedule,
            warmup_steps=math.ceil(cfg.warmup_ratio * max_steps),
            max_steps=max_steps,
            save_strategy="no",
            logging_steps=50,
            report_to="none",
            use_cpu=True,
            bf16=cfg.bf16,  # torch.autocast to bf16 on the CPU, as bertkit's loop does
            seed=cfg.seed,
            disable_tqdm=True,
        )
        clock = TimeBudget(budget)
        trainer = Trainer(
            model=model, args=arguments, train_dataset=blocks, data_collator=collator, callbacks=[clock]
        )
        trainer.train()
        return trainer, clock

    budget = 60.0 * cfg.max_minutes
    # Seconds per step from a throw-away run of CALIBRATION steps (its first step, slower, left out).
    _, clock = run(CALIBRATION_STEPS, math.inf, out / "calibration")
    per_step = (clock.step_ends[-1] - clock.step_ends[0]) / (len(clock.step_ends) - 1)
    estimated = max(1, int(budget / per_step))
    trainer, clock = run(estimated, budget, out / "run")
    trainer.save_model(str(out / "final"))
    tokenizer.save_pretrained(str(out / "final"))
    shutil.rmtree(out / "calibration", ignore_errors=True)
    return {
        "model": str(out / "final"),
        "steps": len(clock.step_ends),
        "seconds": clock.step_ends[-1],
        "estimated_steps": estimated,
        "ended_by": "max_minutes" if clock.step_ends[-1] >= budget else "estimated_steps",
    }


def token_blocks(ids: list[list[int]], length: int) -> list[dict[str, list[int]]]:
    """run_mlm.py's group_texts: every text's ids ([CLS] text [SEP]) end to end, cut into blocks of `length`."""
    flat = [i for text in ids for i in text]
    return [{"input_ids": flat[i : i + length]} for i in range(0, len(flat) - length + 1, length)]


# ----- measuring


@torch.inference_mode()
def heldout_mlm(
    model_dir: str, tokenizer: WordPieceTokenizer, texts: list[str], seq_len: int
) -> dict[str, float]:
    """Masked-LM accuracy and loss per masked token on `texts`, each one sequence, masked by BERT's rule with a
    fixed seed: every model is asked the same tokens in the same inputs."""
    model = BertForMaskedLM.from_pretrained(model_dir).eval()
    batch = tokenizer(texts, max_length=seq_len, truncation=True, padding=True)
    specials = [
        tokenizer.cls_token_id,
        tokenizer.sep_token_id,
        tokenizer.pad_token_id,
        tokenizer.mask_token_id,
    ]
    masking = MaskingConfig(
        mask_token_id=tokenizer.mask_token_id,
        random_token_ids=np.setdiff1d(np.arange(len(tokenizer)), [*specials, tokenizer.unk_token_id]),
    )
    rng = np.random.default_rng(HELDOUT_MASK_SEED)
    ids = batch["input_ids"].numpy()
    maskable = ~np.isin(ids, specials)
    rows = [mask_tokens(row, can, masking, rng) for row, can in zip(ids, maskable, strict=True)]
    masked = torch.from_numpy(np.stack([r[0] for r in rows]))
    labels = torch.from_numpy(np.stack([r[1] for r in rows]))
    correct, loss, count = 0, 0.0, 0
    for start in range(0, len(texts), 64):
        part = slice(start, start + 64)
        out = model(
            masked[part], batch["attention_mask"][part], batch["token_type_ids"][part], labels=labels[part]
        )
        target = labels[part][labels[part] != IGNORE_INDEX]
        correct += int((out.mlm_logits.argmax(-1) == target).sum())
        loss += float(out.mlm_loss) * target.numel()
        count += target.numel()
    return {"heldout_mlm_acc": correct / count, "heldout_mlm_loss": loss / count, "heldout_masked": count}


def with_error(metrics: dict[str, Any], n: int) -> dict[str, Any]:
    p = metrics["accuracy"]
    return metrics | {"accuracy_se": math.sqrt(p * (1 - p) / n), "n": n}


# ----- what the pre-training text knows about words, without a network


WORD = re.compile(r"[a-z']+")


def corpus_word_vectors(
    texts: list[str], window: int = 5, min_count: int = 3, dims: int = 200
) -> tuple[dict[str, int], np.ndarray]:
    """Unit word vectors from `texts`: positive PMI of words at most `window` apart (the context counts raised
    to 0.75, as word2vec samples them), cut to `dims` by SVD (Levy & Goldberg 2014: what word2vec factorises)."""
    from scipy import sparse
    from sklearn.utils.extmath import randomized_svd

    words = WORD.findall(" ".join(texts).lower())
    counts = Counter(words)
    vocab = {w: i for i, w in enumerate(w for w, c in counts.items() if c >= min_count)}
    ids = np.array([vocab.get(w, -1) for w in words])
    pairs = [(ids[:-d], ids[d:]) for d in range(1, window + 1)]
    left = np.concatenate([a for a, b in pairs] + [b for a, b in pairs])
    right = np.concatenate([b for a, b in pairs] + [a for a, b in pairs])
    known = (left >= 0) & (right >= 0)
    size = (len(vocab), len(vocab))
    pairs_seen = sparse.coo_matrix((np.ones(known.sum()), (left[known], right[known])), shape=size)
    together = pairs_seen.tocsr().tocoo()  # one entry per (word, context), its count summed
    total = together.data.sum()
    rows = np.bincount(together.row, together.data, len(vocab))
    contexts = np.bincount(together.col, together.data, len(vocab)) ** 0.75
    contexts *= total / contexts.sum()
    pmi = np.log(together.data * total / (rows[together.row] * contexts[together.col]))
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (together.row[keep], together.col[keep])), shape=size)
    u, s, _ = randomized_svd(ppmi, min(dims, len(vocab) - 1), random_state=0)
    vectors = u * np.sqrt(s)
    return vocab, vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def mean_word_vectors(texts: list[str], vocab: dict[str, int], vectors: np.ndarray) -> np.ndarray:
    """Each text's mean vector over its words in `vocab`, at unit length (zeros when it has none)."""
    rows = np.zeros((len(texts), vectors.shape[1]))
    for i, text in enumerate(texts):
        known = [vocab[w] for w in WORD.findall(text.lower()) if w in vocab]
        if known:
            mean = vectors[known].mean(axis=0)
            rows[i] = mean / max(np.linalg.norm(mean), 1e-12)
    return rows


# ----- the experiment


def run_arm(args: argparse.Namespace, data: dict, arm: str, minutes: float, seed: int) -> dict[str, Any]:
    """Pre-train (or reuse) one arm's model, measure its masked LM, fine-tune it and test it."""
    name = {"bertkit": f"bertkit-{args.objective}", "hf": "transformers-mlm", "random": "random"}[arm]
    if arm == "bertkit" and args.documents == "file":
        name += "-files"
    name += f"-{minutes:g}min-seed{seed}" if arm != "random" else f"-seed{seed}"
    where = args.out / "pretrain" / name
    cfg = pretrain_config(args, where, data, minutes or None, seed)
    record_file = where / "pretraining.json"
    if record_file.exists():
        pretraining = json.loads(record_file.read_text())
        if pretraining.pop("settings") != pretraining_settings(args, arm):
            raise SystemExit(f"{where} was pre-trained with other settings: delete it, or pass another --out")
        print(f"{name}: reusing the model pre-trained in {where}")
    else:
        if where.exists():
            shutil.rmtree(where)  # an interrupted pre-training: its budget cannot be resumed fairly here
        print(f"{name}: pre-training ({machine()})")
        if arm == "random":
            pretraining = random_model(cfg, where)
        elif arm == "bertkit":
            pretraining = pretrain_bertkit(cfg, args.objective)
        else:
            shape = random_model(cfg, where / "shape")
            pretraining = pretrain_transformers(cfg, data["pretrain"], Path(shape["model"]), where)
        tokenizer = WordPieceTokenizer.from_pretrained(data["tokenizer"])
        pretraining |= heldout_mlm(pretraining["model"], tokenizer, data["heldout"], args.seq_len)
        record_file.write_text(
            json.dumps(pretraining | {"settings": pretraining_settings(args, arm)}, indent=2) + "\n"
        )
    run = args.out / "finetune" / name
    shutil.rmtree(run, ignore_errors=True)
    schedule = argparse.Namespace(
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, max_steps=args.max_steps, seed=seed
    )
    metrics, seconds = finetune_and_evaluate(
        "classify",
        Path(pretraining["model"]),
        args.out / "task",
        run,
        schedule,
        max_length=args.max_length,
        pooling=args.pooling,
        bf16=args.dtype == "bfloat16",
    )
    test = with_error(metrics, len(data["splits"]["test"]))
    return {
        "arm": arm,
        "name": name,
        "minutes": minutes if arm != "random" else 0,
        "seed": seed,
        "pretraining": pretraining,
        "finetuned": test | {"seconds": seconds},
    }


def pretraining_settings(args: argparse.Namespace, arm: str) -> dict[str, Any]:
    """What a pre-trained model depends on: a model made with other values is not reused."""
    documents = {"documents": args.documents} if arm == "bertkit" else {}  # the others read no documents
    keys = (
        "preset",
        "dropout",
        "seq_len",
        "pretrain_batch_size",
        "pretrain_lr",
        "warmup_ratio",
        "mlm_probability",
        "vocab_size",
        "dtype",
    )
    return {k: getattr(args, k) for k in keys} | documents | {"threads": torch.get_num_threads()}


def table(results: dict[str, Any]) -> str:
    """Markdown: one row per run, then the curve of mean fine-tuned accuracy against pre-training minutes."""
    lines = [
        "| arm | pre-training | steps | held-out MLM acc | fine-tuned acc ± SE | macro F1 | seed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["runs"]:
        p, f = r.get("pretraining", {}), r["finetuned"]
        pre = (
            f"{p['seconds'] / 60:.2f} min" if p.get("seconds") else ("none" if r["arm"] == "random" else "-")
        )
        mlm = f"{p['heldout_mlm_acc']:.3f}" if "heldout_mlm_acc" in p else "-"
        lines.append(
            f"| {r['name']} | {pre} | {p.get('steps', '-')} | {mlm} | {f['accuracy']:.3f} ± {f['accuracy_se']:.3f} "
            f"| {f['macro_f1']:.3f} | {r.get('seed', '-')} |"
        )
    curve = results["curve"]
    if curve:
        minutes = sorted({m for points in curve.values() for m in points}, key=float)
        lines += [
            "",
            "| fine-tuned accuracy (mean over seeds) | " + " | ".join(f"{m} min" for m in minutes) + " |",
        ]
        lines.append("| --- |" + " --- |" * len(minutes))
        for library, points in curve.items():
            lines.append(
                f"| {library} | "
                + " | ".join(f"{points[m]:.3f}" if m in points else "" for m in minutes)
                + " |"
            )
    return "\n".join(lines)


def curve(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean fine-tuned accuracy by library and minutes; random initialisation is both libraries' 0 minutes."""
    points: dict[str, dict[str, list[float]]] = {}
    for r in runs:
        libraries = {
            "bertkit": ["bertkit"],
            "hf": ["transformers"],
            "random": ["bertkit", "transformers"],
        }.get(r["arm"], [])
        for library in libraries:
            points.setdefault(library, {}).setdefault(f"{r['minutes']:g}", []).append(
                r["finetuned"]["accuracy"]
            )
    return {lib: {m: sum(v) / len(v) for m, v in by.items()} for lib, by in points.items()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/examples/pretrain_then_finetune"))
    parser.add_argument("--fortunes", type=Path, default=FORTUNES_DIR, help="Debian's fortune files")
    parser.add_argument("--per-topic", type=int, default=PER_TOPIC, help=f"default: {PER_TOPIC}")
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument(
        "--minutes", nargs="+", type=float, default=[10.0], help="pre-training budgets (the curve)"
    )
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[0], help="pre-training and fine-tuning seeds"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    group = parser.add_argument_group("pre-training")
    group.add_argument("--objective", choices=PRETRAIN_OBJECTIVES, default="mlm")
    group.add_argument(
        "--documents",
        choices=("fortune", "file"),
        default="fortune",
        help="bertkit's documents: each fortune (default), or each fortune file, its fortunes in order "
        "(transformers' blocks of --seq-len tokens run across neighbouring fortunes either way)",
    )
    group.add_argument("--preset", default="mini")
    group.add_argument("--vocab-size", type=int, default=8000)
    group.add_argument("--seq-len", type=int, default=64)
    group.add_argument("--dropout", type=float, default=0.0)
    group.add_argument(
        "--dtype",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="the precision of every pre-training and fine-tuning: bfloat16 (mixed: fp32 weights, bf16 products) or "
        "float32; auto (default) is bfloat16 where the CPU multiplies it natively (AMX or AVX512-BF16)",
    )
    group.add_argument("--pretrain-batch-size", type=int, default=32)
    group.add_argument("--pretrain-lr", type=float, default=1e-3)
    group.add_argument("--warmup-ratio", type=float, default=0.1)
    group.add_argument(
        "--mlm-probability", type=float, default=0.4, help="masking rate in pre-training (held-out: 0.15)"
    )
    group = parser.add_argument_group("fine-tuning (every arm the same)")
    group.add_argument("--epochs", type=int, default=10)
    group.add_argument("--lr", type=float, default=1e-3)
    group.add_argument("--batch-size", type=int, default=32)
    group.add_argument("--max-length", type=int, default=64)
    group.add_argument("--max-steps", type=int, help="stop each fine-tuning after N steps (a quick try)")
    group.add_argument(
        "--pooling",
        choices=CLASSIFIER_POOLINGS,
        default="mean",
        help="the classifier's input: the tokens' mean (default: +0.10 test accuracy for the masked-LM-only "
        "model, whose [CLS] and pooler pre-training never trains) or the pooler on [CLS] (BERT's)",
    )
    args = parser.parse_args(argv)
    if any(m <= 0 for m in args.minutes):
        parser.error(
            "--minutes: each budget must be a positive number of minutes (random initialisation is 0)"
        )
    if not 0 < args.mlm_probability <= 1:
        parser.error(f"--mlm-probability: {args.mlm_probability} is not a rate in (0, 1]")
    torch.set_num_threads(args.threads)
    # auto resolved once, as the training loop resolves it, so the records name what ran
    args.dtype = training_precision(training_bf16(args.dtype), "cpu")["dtype"]
    data = build_data(args.out, args.fortunes, args.per_topic, args.vocab_size, args.documents)
    splits = data["splits"]
    test = splits["test"]
    prior = Counter(f.topic for f in test).most_common(1)[0][1] / len(test)
    sizes = {name: len(part) for name, part in splits.items()}
    print(
        f"topics {', '.join(TOPICS)}: {sizes}; pre-training corpus {len(data['pretrain'])} fortunes, "
        f"{len(data['heldout'])} held out"
    )
    runs = []
    for seed in args.seeds:
        if "random" in args.arms:
            runs.append(run_arm(args, data, "random", 0, seed))
        for minutes in args.minutes:
            for arm in ("bertkit", "hf"):
                if arm in args.arms:
                    runs.append(run_arm(args, data, arm, minutes, seed))
    if "tfidf" in args.arms:
        runs.append(
            {
                "arm": "tfidf",
                "name": "TF-IDF + logistic regression",
                "finetuned": with_error(bag_of_words(splits["train"], test), len(test)),
            }
        )
    if "vectors" in args.arms:
        vocab, vectors = corpus_word_vectors(data["pretrain"])
        metrics = bag_of_words(
            splits["train"], test, extra=lambda texts: mean_word_vectors(texts, vocab, vectors)
        )
        runs.append(
            {
                "arm": "vectors",
                "name": "TF-IDF + the corpus's word vectors",
                "finetuned": with_error(metrics, len(test)) | {"words": len(vocab)},
            }
        )
    results = {
        "task": {"topics": TOPICS, "sizes": sizes, "most_frequent_topic": prior},
        "corpus": {"fortunes": len(data["pretrain"]), "heldout": len(data["heldout"])},
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": machine(),
        "runs": runs,
        "curve": curve(runs),
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\ntest set {len(test)} fortunes, most frequent topic {prior:.3f}; {args.out / 'results.json'}\n")
    print(table(results))
    return results


if __name__ == "__main__":
    main()
