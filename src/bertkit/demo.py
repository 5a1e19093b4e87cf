"""The main job (`make demo`): BERT pre-trained from nothing on the 300 Tang poems, then put to the cloze task.

Every stage is the library call a user would make (learn a vocabulary, prepare, pre-train, fill-mask, NSP,
plot); each stage's output is kept under `out/`, so a rerun picks up where an interrupted one stopped.
"""

from __future__ import annotations

from pathlib import Path

from bertkit.data.prepare import prepare_corpus
from bertkit.errors import InvalidArgumentError
from bertkit.files import check_readable
from bertkit.model import BertForPreTraining
from bertkit.pipelines import fill_mask, load_for_inference, next_sentence_probability
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train.config import PretrainConfig
from bertkit.train.loop import pretrain
from bertkit.train.plot import plot_run
from bertkit.train.state import checkpoint_dirs

# Famous lines with one character hidden: (text with [MASK], the poet's character).
CLOZE_LINES = [
    ("床前明[MASK]光，疑是地上霜。", "月"),
    ("举头望明月，低头思故[MASK]。", "乡"),
    ("白日依山尽，黄河入[MASK]流。", "海"),
    ("春眠不觉晓，处处闻啼[MASK]。", "鸟"),
]
# (first line, its true next line, a line from another poem)
NSP_PAIRS = [("床前明月光，疑是地上霜。", "举头望明月，低头思故乡。", "千山鸟飞绝，万径人踪灭。")]


# Measured (docs/benchmarks.md): by step ~4,800 the model predicts over half the masked characters of the poems
# it trains on. Which character it ranks first in a given line varies from machine to machine (other CPUs,
# other kernels: docs/training.md), so the demo shows its predictions and claims none of them.
DEMO_STEPS = 6000
HELDOUT_FRACTION = 0.02  # a few poems to evaluate on; the famous ones above all land in the training split


def demo_config(out: Path, max_steps: int = DEMO_STEPS) -> PretrainConfig:
    """A tiny BERT (2 layers, hidden 128) at a high learning rate: on 2 CPU cores it gets past the stage of
    predicting only common characters, and learns the poems, in a few minutes; larger presets take far longer."""
    return PretrainConfig(
        data=str(out / "data"),
        tokenizer=str(out / "tokenizer"),
        out=str(out),
        preset="tiny",
        dropout=0.0,
        seq_len=64,
        batch_size=32,
        mlm_probability=0.15,
        max_predictions_per_seq=10,
        lr=2e-3,
        warmup_steps=max(1, max_steps // 20),
        max_steps=max_steps,
        log_every=10,
        eval_every=max(1, max_steps // 5),
        eval_batches=2,
        save_every=max(1, max_steps // 5),
        keep=2,
        resume=bool(checkpoint_dirs(out)),
    )


def prepare_demo(corpus: str | Path, out: Path) -> None:
    """Stages 1-2: a vocabulary learned from the corpus, and the corpus prepared into shards (each kept)."""
    corpus = check_readable(corpus)
    tokenizer_dir = out / "tokenizer"
    if not (tokenizer_dir / "vocab.txt").exists():
        print(f"1/4 learning a WordPiece vocabulary from {corpus}")
        WordPieceTokenizer.train([corpus], vocab_size=8000, min_frequency=1).save_pretrained(tokenizer_dir)
    print(f"2/4 preparing pre-training shards in {out / 'data'}")
    prepare_corpus([corpus], tokenizer_dir, out / "data", heldout_fraction=HELDOUT_FRACTION)


def run_demo(
    corpus: str | Path = "data/tang300.txt", out: str | Path = "runs/demo", max_steps: int = DEMO_STEPS
) -> Path:
    """Learn a vocabulary, prepare, pre-train, then show fill-mask, NSP and the loss curve; returns the model dir."""
    out = Path(out)
    prepare_demo(corpus, out)
    final = out / "final"
    if (final / "config.json").exists():
        print(f"3/4 using the model already trained in {final} (delete {out} to train again)")
    else:
        print(f"3/4 pre-training a tiny BERT for {max_steps} steps (interrupt and rerun to resume)")
        final = pretrain(demo_config(out, max_steps))

    print("4/4 what the model learned\n")
    model, tokenizer = load_for_inference(final, BertForPreTraining)
    print("Cloze (fill-mask), top 5:")
    for text, answer in CLOZE_LINES:
        [predictions] = fill_mask(model, tokenizer, text, top_k=5)
        ranked = "  ".join(f"{p['token']} {p['score']:.2f}" for p in predictions)
        print(f"  {text}  ->  {ranked}   (poet: {answer})")
    print("\nNext sentence prediction, P(B follows A):")
    for first, true_next, other in NSP_PAIRS:
        for second, kind in ((true_next, "true next line"), (other, "line from another poem")):
            print(
                f"  {first} | {second}  {next_sentence_probability(model, tokenizer, first, second):.2f}  ({kind})"
            )
    try:
        print(f"\nLoss curves: {plot_run(out)}")
    except InvalidArgumentError as err:  # matplotlib is an optional extra
        print(f"\nLoss curves: {err}")
    return final
