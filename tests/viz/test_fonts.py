"""Chinese labels render as characters: with the CJK font found, matplotlib reports no missing glyph and two
different characters draw differently; with none, the picture is still drawn, with one warning naming what
to install."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from bertkit.viz import fonts
from bertkit.viz.figure import drawing, save_figure

NO_FONT = f"no CJK font on this machine ({fonts.INSTALL_HINT})"


def render(text: str) -> np.ndarray:
    """`text` drawn alone, as an RGBA array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with drawing([text]) as figure:
        fig = figure(figsize=(1, 1), dpi=50)
        fig.text(0.5, 0.5, text, fontsize=30, ha="center", va="center")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba()).copy()


def glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_needs_cjk():
    assert fonts.needs_cjk("床前明月光") and fonts.needs_cjk("a，b") and fonts.needs_cjk("ひらがな한국어")
    assert not fonts.needs_cjk("[CLS] naïve café ##ing")


def test_chinese_renders_without_missing_glyphs(tmp_path):
    if fonts.cjk_font() is None:
        pytest.skip(NO_FONT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with drawing(["床前明月光，疑是地上霜。"]) as figure:
            fig = figure(figsize=(4, 2))
            ax = fig.subplots()
            ax.set_title("床前明月光，疑是地上霜。 [CLS] ##ing")
            ax.set_xticks(range(3), ["月", "鳥", "한"])
            save_figure(fig, tmp_path / "zh.png")
        moon, sun = render("月"), render("日")
    assert glyph_warnings(caught) == []
    assert not np.array_equal(moon, sun)  # missing glyphs would be the same empty box


def test_without_a_cjk_font_it_draws_and_warns_once(monkeypatch, tmp_path):
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    fonts.warn_no_cjk_font.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in ("a", "b"):
            with drawing(["月光"]) as figure:
                fig = figure(figsize=(2, 2))
                fig.subplots().set_title("月光")
                assert save_figure(fig, tmp_path / f"{name}.png").stat().st_size > 0
        moon, sun = render("月"), render("日")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "fonts-noto-cjk" in messages[0] and "mplfonts" in messages[0]
    assert np.array_equal(moon, sun)  # the same box: why the font matters
    fonts.warn_no_cjk_font.cache_clear()


def test_latin_text_needs_no_cjk_font(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    fonts.warn_no_cjk_font.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fonts.font_families(["[CLS] hello ##ing"]) is None
    assert caught == []


def test_found_font_covers_the_probe_characters():
    family = fonts.cjk_font()
    if family is None:
        pytest.skip(NO_FONT)
    from matplotlib import font_manager

    path = font_manager.findfont(family, fallback_to_default=False)
    assert fonts.covers_cjk(Path(path))


def test_candidates_are_cjk_fonts_best_first(monkeypatch):
    from matplotlib import font_manager

    system = [
        "/fonts/DejaVuSans.ttf",
        "/fonts/NotoSerifCJK-Regular.ttc",
        "/fonts/NotoSansCJK-Bold.ttc",
        "/fonts/wqy-microhei.ttc",
        "/fonts/NotoSansCJK-Regular.ttc",
    ]
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda: system)
    found = [p.name for p in fonts.candidate_files() if str(p).startswith("/fonts/")]
    assert found == [
        "NotoSansCJK-Regular.ttc",  # sans-serif before serif, regular before bold
        "NotoSansCJK-Bold.ttc",
        "wqy-microhei.ttc",
        "NotoSerifCJK-Regular.ttc",
    ]
    assert not fonts.covers_cjk(Path("/fonts/NotoSansCJK-Regular.ttc"))  # no such file: not a font
