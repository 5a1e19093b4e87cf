"""The probability picture: its bars are the text-scoring pipeline's probabilities (a causal model's chain of
conditional probabilities, a masked model's PLL terms), read off the matplotlib figure itself; the title says
which and gives the totals; Chinese tokens draw with no missing glyph; the command and its errors."""

import warnings

import numpy as np
import pytest

from bertkit import pipeline
from bertkit.cli import main
from bertkit.viz import fonts, probabilities, probabilities_picture

from .conftest import TEXT

POEM = "床前明月光，疑是地上霜。"


@pytest.fixture
def figures(monkeypatch):
    """The figures the picture functions save, kept to be inspected (the files are still written)."""
    kept = []
    save = probabilities.save_figure

    def keep(fig, out):
        kept.append(fig)
        return save(fig, out)

    monkeypatch.setattr(probabilities, "save_figure", keep)
    return kept


def bars_and_labels(fig) -> tuple[np.ndarray, list[str]]:
    (ax,) = fig.axes
    (bars,) = ax.containers
    heights = np.array([bar.get_height() for bar in bars])
    return heights, [label.get_text() for label in ax.get_xticklabels()]


def test_causal_bars_are_the_chain_of_conditional_probabilities(causal_dir, tmp_path, figures, png_size):
    out = probabilities_picture(causal_dir, TEXT, tmp_path / "sub" / "lm.png")
    assert out == tmp_path / "sub" / "lm.png"
    width, height = png_size(out)
    assert width > height
    record = pipeline("text-scoring", model=causal_dir, top_k_alternatives=1)(TEXT)
    heights, labels = bars_and_labels(figures[0])
    np.testing.assert_allclose(heights, np.exp(record["token_log_probs"]), rtol=1e-12)
    assert labels == record["tokens"] and labels[:3] == ["床", "前", "明"] and labels[-1] == "[SEP]"
    title = figures[0].axes[0].get_title()
    assert "P(token | the tokens before it): the chain rule" in title
    assert f"log P(text) = {record['log_prob']:.2f}, perplexity {record['perplexity']:.2f}" in title
    # above each bar whose token is not the model's first choice, that choice
    notes = [t.get_text() for t in figures[0].axes[0].texts]
    for note, token, (best,) in zip(notes, record["tokens"], record["alternatives"], strict=True):
        assert (best["token_str"] in note.split("\n")[0]) == (best["token_str"] != token)


@pytest.mark.parametrize("pll", ["within_word_l2r", "original"])
def test_masked_bars_are_the_pll_terms(mlm_dir, tmp_path, figures, png_size, pll):
    text = "the moon is playing"  # play ##ing: the two metrics differ on it
    png_size(probabilities_picture(mlm_dir, text, tmp_path / "mlm.png", pll=pll))
    record = pipeline("text-scoring", model=mlm_dir, pll=pll)(text)
    heights, labels = bars_and_labels(figures[0])
    np.testing.assert_allclose(heights, np.exp(record["token_log_probs"]), rtol=1e-12)
    assert labels == ["the", "moon", "is", "play", "##ing"]  # a masked model scores no [SEP]
    title = figures[0].axes[0].get_title()
    assert f"pseudo-log-likelihood terms ({pll})" in title
    assert f"PLL = {record['log_prob']:.2f}, pseudo-perplexity {record['perplexity']:.2f}" in title


def test_chinese_tokens_draw_without_missing_glyphs(causal_dir, tmp_path, figures, png_size):
    if fonts.cjk_font() is None:
        pytest.skip(f"no CJK font on this machine ({fonts.INSTALL_HINT})")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png_size(probabilities_picture(causal_dir, POEM, tmp_path / "poem.png"))
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    _, labels = bars_and_labels(figures[0])
    assert "".join(labels) == POEM + "[SEP]"
    assert POEM in figures[0].axes[0].get_title()


def test_cli(causal_dir, sinusoidal_dir, mlm_dir, tmp_path, capsys, png_size):
    out = tmp_path / "p.png"
    assert main(["show", "probabilities", "--model", str(causal_dir), POEM, "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    png_size(out)
    # an encoder without a language-model head has nothing to score with
    assert main(["show", "probabilities", "--model", str(sinusoidal_dir), POEM, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bertkit: error:") and "holds a BertModel" in err and "BertLMHeadModel" in err
    assert main(["show", "probabilities", "--model", str(mlm_dir), POEM, "--pll", "l2r"]) == 2
    assert "--pll must be one of within_word_l2r, original, got 'l2r'" in capsys.readouterr().err
