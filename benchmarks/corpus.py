"""The benchmark corpus shared by the benchmarks: the bundled corpora plus Debian's fortune files.

A few MB of real English (and some Chinese) text when the `fortunes` packages are installed
(/usr/share/games/fortunes); only the bundled data/ otherwise. Tests never read it.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORTUNES_DIR = Path("/usr/share/games/fortunes")


def documents() -> list[str]:
    """Documents of the benchmark corpus, each a block of lines, in a fixed order."""
    docs = []
    for path in (ROOT / "data" / "fortunes_en.txt", ROOT / "data" / "tang300.txt"):
        docs += [d.strip() for d in path.read_text(encoding="utf-8").split("\n\n") if d.strip()]
    if FORTUNES_DIR.is_dir():
        for path in sorted(FORTUNES_DIR.iterdir()):
            if path.suffix or path.is_symlink() or not path.is_file():
                continue  # *.dat are indexes, *.u8 links to the same text
            text = path.read_bytes().decode("utf-8", errors="replace")
            docs += [d.strip() for d in text.split("\n%\n") if d.strip()]
    return docs
