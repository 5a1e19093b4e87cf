"""The cloze half of the demo: famous lines with one character hidden, as a whole line and as a fragment.

A fragment (`床前明[MASK]光`) is harder than its whole line: the model has only a few characters of context
and no punctuation to lean on, so it must have memorised the line itself, not the shape of a couplet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bertkit.demo.poems import Poem, couplets
from bertkit.demo.report import say
from bertkit.demo.settings import demo_settings
from bertkit.model import BertForPreTraining
from bertkit.pipelines import fill_mask, load_for_inference
from bertkit.tokenizer import WordPieceTokenizer
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
SEQ_LEN = 27  # the cloze model's inputs: two five-character lines whole


def cloze_config(out: Path, max_steps: int, seed: int = 0) -> PretrainConfig:
    """A tiny BERT (2 layers, hidden 128) at a high learning rate, on the data in `out/data`: each poem's lines,
    then each poem again one clause a line without punctuation (`write_texts(..., clauses=poems)`). Every line
    and every clause is segment A of one input, with the next one or a random one as B (`nsp_pairs=
    "sentences"`), so every clause starts an input at position 1, as a fragment is asked, and inputs of 27
    tokens hold two five-character lines whole. A random B is a line (or clause) of another poem exactly as
    long as the true next one (`nsp_negatives="matched"`): with Google's random segments B was nearly always
    a clause without punctuation, and the head learned punctuation, not succession. Telling a true next line
    from a line of the same form needs the poems memorised, so the next-sentence loss counts 3 times
    (`nsp_weight`). 30% of the characters are masked (at most 9 an input), twice BERT's 15%: memorising is
    what the demo asks, and each input then teaches twice the characters. Inputs of similar length share a
    batch, padded to their longest (`group_by_length`: most are two clauses, far shorter than 27 tokens).
    See docs/benchmarks.md ("The demo: time to quality") for how this recipe was chosen."""
    return PretrainConfig(
        **demo_settings(out, out, out / "data", max_steps, seed),
        lr=2e-3,
        seq_len=SEQ_LEN,
        batch_size=64,
        mlm_probability=0.3,
        max_predictions_per_seq=9,
        group_by_length=True,
        nsp_negatives="matched",
        nsp_pairs="sentences",
        nsp_weight=3.0,
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
        [p[0]["token_str"] == answer for p in pair]
        for pair, (*_, answer) in zip(predictions, CLOZE_LINES, strict=True)
    ]
    return sum(r[0] for r in right), sum(r[1] for r in right)


def show_cloze(model_dir: Path, poems: list[Poem], lang: str = "en") -> None:
    predictions = cloze_predictions(model_dir)
    print(say(lang, "cloze"))
    for (whole, fragment, answer), pair in zip(CLOZE_LINES, predictions, strict=True):
        cells = [
            f"{text} -> " + " ".join(f"{p['token_str']} {p['score']:.2f}" for p in ranked)
            for text, ranked in zip((whole, fragment), pair, strict=True)
        ]
        print(f"  {answer}:  {cells[0]}  |  {cells[1]}")
    whole, fragments = cloze_score(predictions)
    print(say(lang, "cloze_score", whole=whole, lines=len(CLOZE_LINES), fragments=fragments))
    model, tokenizer = load_for_inference(model_dir, BertForPreTraining)
    print(say(lang, "nsp"))
    for first, true_next, other in NSP_PAIRS:
        scores = follows_probability(model, tokenizer, [first, first], [true_next, other])
        for second, kind, p in zip(
            (true_next, other), (say(lang, "true_next"), say(lang, "other_line")), scores, strict=True
        ):
            print(f"  {first} | {second}  {p:.2f}  ({kind})")
    score = couplet_score(model, tokenizer, poems)
    p_true, p_other = score["p_true_next"], score["p_other"]
    print(
        say(
            lang,
            "couplets",
            accuracy=score["accuracy"],
            couplets=score["couplets"],
            p_true=p_true,
            p_other=p_other,
        )
    )


@torch.inference_mode()
def follows_probability(
    model: BertForPreTraining,
    tokenizer: WordPieceTokenizer,
    firsts: list[str],
    seconds: list[str],
    max_length: int = SEQ_LEN,
    batch_size: int = 256,
) -> list[float]:
    """P(second follows first) by the next-sentence head, per pair. Pairs longer than the model's training
    inputs are cut to `max_length` as training cut them (the longer segment first), so that no position
    it never trained on is asked about."""
    scores: list[float] = []
    for start in range(0, len(firsts), batch_size):
        batch = tokenizer(
            firsts[start : start + batch_size],
            pairs=seconds[start : start + batch_size],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        scores += model(**batch).nsp_logits.float().softmax(-1)[:, 0].tolist()
    return scores


def couplet_score(
    model: BertForPreTraining, tokenizer: WordPieceTokenizer, poems: list[Poem], seed: int = 0
) -> dict[str, float]:
    """How often the next-sentence head ranks a line's true next line above a random line of another poem of
    the same length, over every couplet of `poems`; and its mean P(follows) for each."""
    pairs, _ = couplets(poems, 1, np.random.default_rng(seed))
    firsts = [first for first, _, _ in pairs]
    true_next = np.array(follows_probability(model, tokenizer, firsts, [b for _, b, _ in pairs]))
    other = np.array(follows_probability(model, tokenizer, firsts, [c for *_, [c] in pairs]))
    return {
        "couplets": len(pairs),
        "accuracy": float((true_next > other).mean()),
        "p_true_next": float(true_next.mean()),
        "p_other": float(other.mean()),
    }
