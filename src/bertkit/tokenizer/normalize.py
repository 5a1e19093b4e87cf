"""BERT's text rules: cleaning, CJK splitting, accent stripping, lowercasing, whitespace and punctuation split.

We follow Hugging Face's Rust `tokenizers` (BertNormalizer + BertPreTokenizer), which is what transformers 5
users get, in its order: clean -> pad CJK ideographs -> strip accents (NFD, drop Mn) -> lowercase char by char
-> split on whitespace and isolate punctuation. The character classes are the reference's own tables
(unicode_tables.py), so every code point behaves as it does there; docs/tokenizer.md lists where Google's and
Hugging Face's Python tokenizers differ.

Two views of the same rules:
- `Normalizer.normalize` / `split_words`: whole strings at C speed (str methods and compiled regexes);
- `Normalizer.raw_pieces` + `Normalizer.aligned_words`: the same words with, for each character, the index of
  the original character it came from, which the tokenizer turns into offsets and caches per raw piece.
"""

import functools
import re
import unicodedata
from dataclasses import dataclass

from bertkit.tokenizer.unicode_tables import (
    CJK,
    LOWERCASE_EXCEPTIONS,
    NONSPACING_MARKS,
    PUNCTUATION,
    REMOVED,
    SPACES,
)


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """The inside of a regex character class matching the given inclusive code point ranges."""
    return "".join(f"\\U{a:08X}" if a == b else f"\\U{a:08X}-\\U{b:08X}" for a, b in ranges)


_REMOVED = _char_class(REMOVED)
_SPACES = _char_class(SPACES) + "\t\n\r"
_PUNCT = _char_class(PUNCTUATION)
_CJK = _char_class(CJK)

_REMOVED_RE = re.compile(f"[{_REMOVED}]+")
_SPACES_RE = re.compile(f"[{_SPACES}]")
_MARKS_RE = re.compile(f"[{_char_class(NONSPACING_MARKS)}]+")
_CJK_RE = re.compile(f"[{_CJK}]")
_LOWER_EXCEPTIONS_RE = re.compile("[" + "".join(map(chr, LOWERCASE_EXCEPTIONS)) + "]")
# After cleaning the only whitespace left is " ": a word is a punctuation character or a run of anything else.
_WORD_RE = re.compile(f"[{_PUNCT}]|[^{_PUNCT} ]+")
_PUNCT_RE = re.compile(f"[{_PUNCT}]")
# Pure-ASCII text (controls removed): every non-alphanumeric visible character is BERT punctuation.
_ASCII_WORD_RE = re.compile(r"[0-9A-Za-z]+|\S", re.ASCII)
# Python's str.split() also splits on \x0b \x0c \x1c-\x1f \x85, which BERT's cleaning deletes instead.
_PY_ONLY_SPACES_RE = re.compile("[\x0b\x0c\x1c-\x1f\x85]")
# A chunk is a whitespace-free run of raw text; chunks never share a word.
CHUNK_RE = re.compile(f"[^{_SPACES}]+")
# U+11938 has a canonical decomposition in Python's Unicode 14 but not in tokenizers' older tables.
_NO_DECOMPOSITION = "\U00011938"


def _nfd(text: str) -> str:
    if _NO_DECOMPOSITION in text:
        return _NO_DECOMPOSITION.join(
            unicodedata.normalize("NFD", part) for part in text.split(_NO_DECOMPOSITION)
        )
    return unicodedata.normalize("NFD", text)


def _lower(text: str) -> str:
    """Rust's char-by-char lowercasing: no final-sigma rule, Unicode 16 mappings Python 3.11 lacks."""
    if _LOWER_EXCEPTIONS_RE.search(text):
        text = text.translate(LOWERCASE_EXCEPTIONS)
    return text.replace("Σ", "σ").lower()


@dataclass(frozen=True)
class Normalizer:
    """BERT's normalisation settings; `strip_accents=None` follows `lowercase`, as in BERT and Hugging Face."""

    lowercase: bool = True
    strip_accents: bool | None = None
    split_chinese: bool = True

    @property
    def strips_accents(self) -> bool:
        return self.lowercase if self.strip_accents is None else self.strip_accents

    def normalize(self, text: str, clean_text: bool = True) -> str:
        """The normalised string, exactly as tokenizers' BertNormalizer returns it (CJK padded with spaces)."""
        if clean_text:
            text = _SPACES_RE.sub(" ", _REMOVED_RE.sub("", text))
        if not text.isascii():
            if self.split_chinese:
                text = _CJK_RE.sub(r" \g<0> ", text)
            if self.strips_accents:
                text = _MARKS_RE.sub("", _nfd(text))
        if self.lowercase:
            text = _lower(text)
        return text

    def split_words(self, text: str) -> list[str]:
        """The words BERT's WordPiece sees: normalised, split on whitespace, punctuation isolated."""
        if text.isascii():
            if _REMOVED_RE.search(text):
                text = _REMOVED_RE.sub("", text)
            return _ASCII_WORD_RE.findall(text.lower() if self.lowercase else text)
        return _WORD_RE.findall(self.normalize(text))

    @functools.cached_property
    def raw_pieces(self) -> re.Pattern:
        """Splits raw text into pieces that never straddle a word boundary: each CJK ideograph (when split),
        each punctuation character, each run of other non-space characters. Normalisation acts character by
        character, so a piece's words are found by normalising the piece alone (see `aligned_words`)."""
        if self.split_chinese:
            return re.compile(f"[{_CJK}]|[{_PUNCT}]|[^{_CJK}{_PUNCT}{_SPACES}]+")
        return re.compile(f"[{_PUNCT}]|[^{_PUNCT}{_SPACES}]+")

    def aligned_words(self, piece: str) -> list[tuple[str, list[int]]]:
        """The words of a raw piece, each with the index in `piece` of the character each of its characters
        came from (an accent stripped from `é` leaves `e` pointing at `é`; `İ` lowercases to two characters
        that both point at it)."""
        if piece.isascii() and not _REMOVED_RE.search(piece):
            text = piece.lower() if self.lowercase else piece
            return [(m.group(), list(range(m.start(), m.end()))) for m in _ASCII_WORD_RE.finditer(text)]
        words: list[tuple[str, list[int]]] = []
        chars: list[str] = []
        sources: list[int] = []
        for index, char in enumerate(piece):
            if _REMOVED_RE.match(char):
                continue
            for out in self.normalize(char, clean_text=False):
                if out == " " or _PUNCT_RE.match(out):
                    if chars:
                        words.append(("".join(chars), sources))
                        chars, sources = [], []
                    if out != " ":
                        words.append((out, [index]))
                else:
                    chars.append(out)
                    sources.append(index)
        if chars:
            words.append(("".join(chars), sources))
        return words


def is_whitespace(char: str) -> bool:
    """Whitespace to BERT's cleaning: space, tab, newline, CR and every other White_Space non-control."""
    return _SPACES_RE.match(char) is not None


def is_control(char: str) -> bool:
    """Dropped by BERT's cleaning as a control: Cc (but tab, newline, CR), Cf and Co, in tokenizers' tables."""
    return char != "\ufffd" and _REMOVED_RE.match(char) is not None


def is_punctuation(char: str) -> bool:
    """Split off as a word of its own: Unicode P* (tokenizers' tables) plus every ASCII symbol."""
    return _PUNCT_RE.match(char) is not None


def split_chunks(text: str) -> list[str]:
    """The whitespace-free runs of raw text. str.split() is C-fast but also splits where BERT's cleaning
    deletes a character instead (\\x0b, \\x1c...), so such text takes the regex."""
    return CHUNK_RE.findall(text) if _PY_ONLY_SPACES_RE.search(text) else text.split()


@functools.lru_cache(maxsize=16)
def normalizer(lowercase: bool, strip_accents: bool | None, split_chinese: bool) -> Normalizer:
    return Normalizer(lowercase, strip_accents, split_chinese)


def split_words(text: str, *, lowercase: bool, strip_accents: bool | None, split_chinese: bool) -> list[str]:
    """BERT's normalisation and pre-tokenisation of `text`: the words WordPiece will see (for counting them)."""
    return normalizer(lowercase, strip_accents, split_chinese).split_words(text)
