"""The probability picture: how likely a model finds each token of a text, a bar per token.

A causal model's bars are the chain rule's factors, P(token | the tokens before it), whose product is the
probability of the text; a masked model's are the pseudo-log-likelihood's terms, P(token | every other token,
it masked), which multiply to no probability of the text but rank its tokens by how much the rest of the
line gives them away. The numbers are the `text-scoring` pipeline's (bertkit.pipelines.score).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bertkit.pipelines import pipeline
from bertkit.viz.figure import drawing, label_size, model_name, save_figure

# Past this many tokens the bars' labels would overlap: the bars are still drawn, without labels.
MAX_LABELLED_TOKENS = 120
# Up to this many tokens each bar has its probability written above it, and the model's own first choice
# when that is another token.
MAX_ANNOTATED_TOKENS = 40
TITLE_CHARS = 60  # of the text, in the title


def describe(record: dict[str, Any], causal: bool, pll: str | None = None) -> str:
    """What the bars are and the text's totals, as a title says them."""
    if causal:
        what = "P(token | the tokens before it): the chain rule"
        total = f"log P(text) = {record['log_prob']:.2f}, perplexity {record['perplexity']:.2f}"
    else:
        what = f"P(token | the rest, it masked): pseudo-log-likelihood terms ({pll})"
        total = f"PLL = {record['log_prob']:.2f}, pseudo-perplexity {record['perplexity']:.2f}"
    return f"{what}\n{total}"


def draw_probabilities(record: dict[str, Any], out: str | Path, title: str) -> Path:
    """A bar per scored token of a `text-scoring` record, its height exp(the token's log-probability) on a
    0..1 axis, with the token below; with the record's `alternatives`, the model's first choice written
    above each bar whose token is not it. Returns the picture's path."""
    tokens = record["tokens"]
    probabilities = np.exp(np.asarray(record["token_log_probs"], dtype=np.float64))
    alternatives = record.get("alternatives")
    n = len(tokens)
    width = float(np.clip(0.45 * n + 1.5, 5.0, 20.0))
    with drawing([*tokens, title]) as figure:
        fig = figure(figsize=(width, 4.2), layout="constrained")
        ax = fig.subplots()
        ax.bar(range(n), probabilities, width=0.8, color=_colours(probabilities), edgecolor="#1d2430")
        ax.set(xlim=(-0.6, n - 0.4), ylim=(0.0, 1.12), ylabel="probability")
        ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        if n <= MAX_LABELLED_TOKENS:
            ax.set_xticks(range(n), tokens, fontsize=label_size(n, width) * 1.4)
            for label in ax.get_xticklabels():  # single characters (月) stay upright, [SEP] or words turn
                if len(label.get_text()) > 2:
                    label.set_rotation(90)
        else:
            ax.set_xticks([])
        if n <= MAX_ANNOTATED_TOKENS:
            for i, p in enumerate(probabilities):
                note = f"{p:.2f}" if p >= 0.005 else f"{p:.0e}"
                best = alternatives[i][0] if alternatives else None
                if best is not None and best["token_str"] != tokens[i]:
                    note = f"{best['token_str']} {best['score']:.2f}\n{note}"
                ax.text(i, p + 0.015, note, ha="center", va="bottom", fontsize=7, color="#1d2430")
        ax.set_title(title, fontsize=9)
        return save_figure(fig, out)


def _colours(probabilities: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Light to dark with the probability, as the explorer page shades tokens."""
    from matplotlib import colormaps

    cmap = colormaps["Blues"]
    return [cmap(0.2 + 0.75 * p) for p in probabilities]


def probabilities_picture(
    model_dir: str | Path, text: str, out: str | Path = "probabilities.png", pll: str = "within_word_l2r"
) -> Path:
    """Each token's probability in `text` under the model saved in `model_dir` (a causal LM: the chain of
    conditional probabilities; a masked LM: the PLL terms by `pll`), drawn (see draw_probabilities); returns
    the picture's path."""
    scorer = pipeline("text-scoring", model=model_dir, pll=pll, top_k_alternatives=1)
    record = scorer(text)
    kind = "causal LM" if scorer.causal else "masked LM"
    shown = text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"
    head = f"{shown}  ({kind} {model_name(model_dir)})"
    body = describe(record, scorer.causal, None if scorer.causal else pll)
    return draw_probabilities(record, out, title=f"{head}\n{body}")
