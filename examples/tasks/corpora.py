"""The real corpora the task examples build their labelled files from, and the splits they cut.

Debian's `fortunes` package: one text file per topic under /usr/share/games/fortunes (`computers`, `food`,
`law`, ...; the `.dat` files are indexes and the `.u8` files links to the same text), fortunes separated by
lines holding only `%`, many ending with an attribution line (`\t\t-- Mark Twain, "Pudd'nhead Wilson"`).
The bundled Tang poems (`data/tang300.txt`, read with `bertkit.demo.poems.read_poems`).

Splits are cut by a hash of each item's key, not by file order or a random draw, so the same corpus always
gives the same split and items that must stay together (the lines of one poem, the fortunes of one author)
share the key and so the split.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

FORTUNES_DIR = Path("/usr/share/games/fortunes")
ROOT = Path(__file__).resolve().parents[2]
TANG300 = ROOT / "data" / "tang300.txt"
SPLITS = ("train", "validation", "test")
# An attribution: an indented line starting with "-- ", and any indented lines after it (a long one wraps).
ATTRIBUTION = re.compile(r"^[ \t]+--[ \t]+(\S.*)$")

T = TypeVar("T")


@dataclass(frozen=True)
class Fortune:
    """One fortune: its text (lines joined, spaces collapsed), its attribution if it has one, and its file."""

    body: str
    source: str | None
    topic: str  # the file it comes from

    @property
    def text(self) -> str:
        """The whole fortune as one line, the attribution after ` -- ` as the file writes it."""
        return f"{self.body} -- {self.source}" if self.source else self.body


def is_english(text: str) -> bool:
    """No terminal colour codes and no CJK text: the `chinese` and `song100` files hold Chinese poems with
    colour escapes, and a few English files quote a Chinese line."""
    return "\x1b" not in text and not re.search(r"[\u2e80-\u9fff\uac00-\ud7af\uff00-\uffef]", text)


def missing_fortunes_message(directory: Path = FORTUNES_DIR) -> str:
    return (
        f"{directory} not found: these examples read Debian's fortune files "
        "(`sudo apt-get install fortunes`, or pass --fortunes DIR)"
    )


def one_line(text: str) -> str:
    return " ".join(text.split())


def read_fortunes(path: Path) -> list[Fortune]:
    """The fortunes of one fortune file, in file order; blank records are skipped, and records with bytes
    that are not UTF-8 (a few old files mix encodings) are left out rather than guessed at."""
    fortunes = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for record in re.split(r"^%[ \t]*$", text, flags=re.M):
        if "\ufffd" in record:
            continue
        lines = [line.rstrip() for line in record.strip("\n").split("\n")]
        body, source = _split_attribution(lines)
        body = one_line("\n".join(body))
        if body:
            fortunes.append(Fortune(body, source, path.name))
    return fortunes


def _split_attribution(lines: list[str]) -> tuple[list[str], str | None]:
    """(body lines, attribution): the attribution starts at the last `-- ` line and every line after it is
    indented (a wrapped attribution); otherwise there is none and every line is body."""
    for i in range(len(lines) - 1, -1, -1):
        match = ATTRIBUTION.match(lines[i])
        if match:
            rest = lines[i + 1 :]
            if all(line[:1] in (" ", "\t") for line in rest if line):
                return lines[:i], one_line(" ".join([match.group(1), *rest]))
            return lines, None
    return lines, None


def fortune_files(directory: Path = FORTUNES_DIR) -> list[Path]:
    """The fortune text files of a directory, sorted; indexes (`.dat`), links (`.u8`) and subdirectories (the
    `off/` files) are not text of their own."""
    if not directory.is_dir():
        raise SystemExit(missing_fortunes_message(directory))
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.suffix and not p.is_symlink())


def hash_key(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def split_by_key(
    items: Sequence[T], key: Callable[[T], str], fractions: Sequence[float] = (0.7, 0.1, 0.2)
) -> dict[str, list[T]]:
    """`items` cut into train/validation/test by the hash of `key(item)`: the distinct keys are ordered by
    their hash and cut at `fractions`, so items sharing a key land in one split, and each split keeps the
    items' own order."""
    keys = sorted({key(item) for item in items}, key=hash_key)
    bounds = [round(sum(fractions[: i + 1]) * len(keys)) for i in range(len(fractions))]
    split_of = {}
    for index, k in enumerate(keys):
        split_of[k] = SPLITS[next(i for i, bound in enumerate(bounds) if index < bound)]
    return {name: [item for item in items if split_of[key(item)] == name] for name in SPLITS}


def stratified_split(
    items: Sequence[T], label: Callable[[T], str], key: Callable[[T], str], fractions: Sequence[float]
) -> dict[str, list[T]]:
    """split_by_key within each label, so every split has each label in the same proportion."""
    splits: dict[str, list[T]] = {name: [] for name in SPLITS}
    for name in sorted({label(item) for item in items}):
        part = split_by_key([item for item in items if label(item) == name], key, fractions)
        for split in SPLITS:
            splits[split] += part[split]
    return splits


def write_jsonl(path: Path, records: Iterable[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path
