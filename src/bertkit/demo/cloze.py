"""The cloze half of the demo: famous lines with one character hidden, as a whole line and as a fragment.

A fragment (`床前明[MASK]光`) is harder than its whole line: the model has only a few characters of context
and no punctuation to lean on, so it must have memorised the line itself, not the shape of a couplet.
"""

from __future__ import annotations

from pathlib import Path

from bertkit.demo.settings import demo_settings
from bertkit.model import BertForPreTraining
from bertkit.pipelines import fill_mask, load_for_inference, next_sentence_probability
from bertkit.train.config import PretrainConfig

# (whole line, fragment, the poet's character): twelve of the corpus's best-known lines.
CLOZE_LINES = [
    ("床前明[MASK]光，疑是地上霜。", "床前明[MASK]光", "月"),
    ("举头望明月，低头思故[MASK]。", "低头思故[MASK]", "乡"),
    ("白日依山尽，黄河入[MASK]流。", "黄河入[MASK]流", "海"),
    ("春眠不觉晓，处处闻啼[MASK]。", "处处闻啼[MASK]", "鸟"),
    ("红豆生南国，春来发几[MASK]。", "春来发几[MASK]", "枝"),
    ("千山鸟飞绝，万径人踪[MASK]。", "万径人踪[MASK]", "灭"),
    ("谁言寸草心，报得三春[MASK]。", "报得三春[MASK]", "晖"),
    ("欲穷千里目，更上一层[MASK]。", "更上一层[MASK]", "楼"),
    ("海上生明月，天涯共此[MASK]。", "天涯共此[MASK]", "时"),
    ("野火烧不尽，春风吹又[MASK]。", "春风吹又[MASK]", "生"),
    ("国破山河在，城春草木[MASK]。", "城春草木[MASK]", "深"),
    ("夜来风雨声，花落知多[MASK]。", "花落知多[MASK]", "少"),
]
# (first line, its true next line, a line from another poem)
NSP_PAIRS = [("床前明月光，疑是地上霜。", "举头望明月，低头思故乡。", "千山鸟飞绝，万径人踪灭。")]


def cloze_config(out: Path, max_steps: int, seed: int = 0) -> PretrainConfig:
    """A tiny BERT (2 layers, hidden 128) at a high learning rate, on the data in `out/data`: each poem's lines,
    then every clause without punctuation as a document (`write_texts(..., clauses=poems)`). Inputs of 27
    tokens hold two five-character lines whole, so each such line is seen the same way every epoch; a clause
    starts an input at position 1, as a fragment is asked; 10% of inputs are shorter. See docs/benchmarks.md
    ("The demo's two models") for how this recipe was chosen."""
    return PretrainConfig(
        **demo_settings(out, out, out / "data", max_steps, seed),
        lr=1.5e-3,  # 2e-3 left some seeds 1,000 steps longer on the plateau of frequent characters
        seq_len=27,
        batch_size=64,
        mlm_probability=0.15,
        max_predictions_per_seq=5,
        short_seq_prob=0.1,
    )


def cloze_predictions(model_dir: Path, top_k: int = 3) -> list[tuple[list[dict], list[dict]]]:
    """For each of CLOZE_LINES, the model's top_k for its whole line and for its fragment."""
    model, tokenizer = load_for_inference(model_dir, BertForPreTraining)
    return [
        (
            fill_mask(model, tokenizer, whole, top_k=top_k)[0],
            fill_mask(model, tokenizer, fragment, top_k=top_k)[0],
        )
        for whole, fragment, _ in CLOZE_LINES
    ]


def cloze_score(predictions: list[tuple[list[dict], list[dict]]]) -> tuple[int, int]:
    """Lines whose character the model ranks first: (as whole lines, as fragments)."""
    right = [
        [p[0]["token"] == answer for p in pair]
        for pair, (*_, answer) in zip(predictions, CLOZE_LINES, strict=True)
    ]
    return sum(r[0] for r in right), sum(r[1] for r in right)


def show_cloze(model_dir: Path) -> None:
    predictions = cloze_predictions(model_dir)
    print("Cloze (fill-mask): the model's top 3 for the hidden character, as a whole line and as a fragment")
    for (whole, fragment, answer), pair in zip(CLOZE_LINES, predictions, strict=True):
        cells = [
            f"{text} -> " + " ".join(f"{p['token']} {p['score']:.2f}" for p in ranked)
            for text, ranked in zip((whole, fragment), pair, strict=True)
        ]
        print(f"  {answer}:  {cells[0]}  |  {cells[1]}")
    whole, fragments = cloze_score(predictions)
    print(f"  first choice right: {whole} of {len(CLOZE_LINES)} whole lines, {fragments} fragments")
    model, tokenizer = load_for_inference(model_dir, BertForPreTraining)
    print("\nNext sentence prediction, P(B follows A):")
    for first, true_next, other in NSP_PAIRS:
        for second, kind in ((true_next, "true next line"), (other, "line from another poem")):
            p = next_sentence_probability(model, tokenizer, first, second)
            print(f"  {first} | {second}  {p:.2f}  ({kind})")
