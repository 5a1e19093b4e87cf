"""A font with Chinese, Japanese and Korean glyphs for the pictures' labels, found at run time.

matplotlib's default font (DejaVu Sans) has no CJK glyphs, so Chinese tokens would be drawn as empty boxes.
Where to look, in order: the system's fonts (Debian's `fonts-noto-cjk`, `fonts-wqy-microhei`, ...; scanned
afresh, because matplotlib's cached font list predates fonts installed after it), then the fonts that the
PyPI package `mplfonts` ships. The one found is registered with matplotlib and used as a per-glyph fallback
behind the default font, so Latin text keeps its usual look. None found: the pictures are still drawn, with
one warning naming what to install.
"""

from __future__ import annotations

import functools
import importlib.util
import warnings
from pathlib import Path

INSTALL_HINT = "apt-get install fonts-noto-cjk (Debian/Ubuntu) or pip install mplfonts"
# File-name marks of fonts known to cover CJK, best first (a sans-serif reads best at label sizes). Only files
# so named are opened: checking every system font's glyphs would slow the first picture down.
CJK_FILE_MARKS = (
    "notosanscjk",
    "sourcehansans",
    "notosansmonocjk",
    "wqy-microhei",
    "wqy-zenhei",
    "droidsansfallback",
    "notoserifcjk",
    "sourcehanserif",
    "uming",
    "ukai",
    "simhei",
)
PROBE = "中文月鳥，"  # simplified and traditional ideographs, and full-width punctuation
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")


def needs_cjk(text: str) -> bool:
    """Whether `text` holds characters from the CJK blocks on (ideographs, kana, Hangul, full-width forms),
    none of which the default font draws."""
    return any(ord(ch) >= 0x2E80 for ch in text)


WEIGHTS = ("thin", "light", "medium", "semibold", "bold", "heavy", "black")  # regular comes before these


def _rank(path: Path) -> tuple[int, bool] | None:
    """(which family, whether not the regular weight), or None for a file not known to cover CJK."""
    name = path.name.lower().replace("_", "-")
    family = next((i for i, mark in enumerate(CJK_FILE_MARKS) if mark in name), None)
    return None if family is None else (family, any(w in name for w in WEIGHTS))


def candidate_files() -> list[Path]:
    """Font files that may cover CJK: the system's, then mplfonts', each group best first."""
    from matplotlib import font_manager

    system = [Path(p) for p in font_manager.findSystemFonts()]
    groups = [system]
    spec = importlib.util.find_spec("mplfonts")
    if spec is not None and spec.origin is not None:
        package_fonts = Path(spec.origin).parent / "fonts"
        groups.append([p for p in package_fonts.glob("*") if p.suffix.lower() in FONT_SUFFIXES])
    ranked = []
    for group in groups:
        marked = [(rank, str(p), p) for p in group if (rank := _rank(p)) is not None]
        ranked += [p for _, _, p in sorted(marked)]
    return ranked


def covers_cjk(path: Path) -> bool:
    """Whether the font file (its first face) has a glyph for each character of PROBE."""
    from matplotlib import ft2font

    try:
        charmap = ft2font.FT2Font(str(path)).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False  # unreadable or not a font FreeType knows
    return all(ord(ch) in charmap for ch in PROBE)


@functools.cache
def cjk_font() -> str | None:
    """The family name of a CJK font, registered with matplotlib's font manager; None when there is none.
    Looked up once per process."""
    from matplotlib import font_manager

    for path in candidate_files():
        if not covers_cjk(path):
            continue
        font_manager.fontManager.addfont(str(path))
        known = {f.name for f in font_manager.fontManager.ttflist if f.fname == str(path)}
        # A .ttc collection holds one face per region (Noto Sans CJK JP, KR, SC, TC, HK): the same glyph set,
        # drawn as each region writes it. The tokens here are mostly Chinese, so Simplified Chinese first.
        return next(
            (n for n in sorted(known) if n.endswith(" SC")), font_manager.get_font(str(path)).family_name
        )
    return None


@functools.cache
def warn_no_cjk_font() -> None:
    """Said once per process: the labels' CJK characters will be boxes."""
    warnings.warn(
        f"no font with Chinese/Japanese/Korean characters found, so they are drawn as boxes; install one: "
        f"{INSTALL_HINT}",
        stacklevel=3,
    )


def font_families(texts: list[str]) -> list[str] | None:
    """matplotlib's `font.family` for pictures labelled with `texts`: the default family with the CJK font
    as fallback, or None to leave the default (no CJK font; warned about when a text needs one)."""
    import matplotlib

    family = cjk_font()
    if family is None:
        if any(needs_cjk(t) for t in texts):
            warn_no_cjk_font()
        return None
    return [*matplotlib.rcParams["font.family"], family]
