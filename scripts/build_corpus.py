"""Rebuild data/tang300.txt and data/fortunes_en.txt from Debian's fortune files.

Sources: Debian package `fortunes-zh` (/usr/share/games/fortunes/tang300, the 300 Tang poems) and
`fortunes` (English fortune cookies). Run: `python scripts/build_corpus.py` after
`apt-get install fortunes-zh fortunes`.
"""

import re
from pathlib import Path

FORTUNES = Path("/usr/share/games/fortunes")
DATA = Path(__file__).resolve().parent.parent / "data"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def records(path: Path) -> list[list[str]]:
    text = ANSI.sub("", path.read_text(encoding="utf-8"))
    out = []
    for chunk in text.split("\n%\n"):
        lines = [line.strip() for line in chunk.strip("%\n").splitlines()]
        lines = [line for line in lines if line]
        if lines:
            out.append(lines)
    return out


def tang300() -> str:
    """One poem per document: title, author, then one line per couplet; a blank line between poems."""
    docs = []
    for lines in records(FORTUNES / "tang300"):
        title = lines[0].strip("《》")
        author = lines[1].removeprefix("作者：")
        docs.append("\n".join([title, author, *lines[2:]]))
    return "\n\n".join(docs) + "\n"


def fortunes_en(names: tuple[str, ...] = ("fortunes", "literature", "science", "wisdom")) -> str:
    """One fortune per document, its lines joined, so each document is one or a few sentences."""
    docs = []
    for name in names:
        for lines in records(FORTUNES / name):
            docs.append(" ".join(lines))
    return "\n\n".join(docs) + "\n"


if __name__ == "__main__":
    (DATA / "tang300.txt").write_text(tang300(), encoding="utf-8")
    (DATA / "fortunes_en.txt").write_text(fortunes_en(), encoding="utf-8")
