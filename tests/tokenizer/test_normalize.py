"""BERT's normalisation and pre-tokenisation against tokenizers' BertNormalizer + BertPreTokenizer, on every
Unicode code point and on real and adversarial text, in every setting."""

import itertools
import unicodedata

import pytest
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

from bertkit.tokenizer.normalize import Normalizer, split_chunks, split_words

SETTINGS = list(itertools.product([True, False], [None, True, False], [True, False]))
# Every code point but the surrogates, each between two letters so no two marks meet (their canonical
# reordering is the one place whole-string and per-character NFD differ).
ALL_CHARS = "".join("a" + chr(cp) + "b " for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)


def reference_words(text: str, lowercase: bool, strip_accents: bool | None, split_chinese: bool) -> list[str]:
    normalizer = BertNormalizer(
        clean_text=True, handle_chinese_chars=split_chinese, strip_accents=strip_accents, lowercase=lowercase
    )
    return [w for w, _ in BertPreTokenizer().pre_tokenize_str(normalizer.normalize_str(text))]


def first_difference(ours: list[str], theirs: list[str]) -> str:
    i = next(
        (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs))
    )
    return f"word {i}: ours {ours[i - 2 : i + 3]!r} vs tokenizers {theirs[i - 2 : i + 3]!r}"


# Each switch on and off at least once, kept to four settings for time.
CODE_POINT_SETTINGS = [(True, None, True), (False, False, False), (False, True, True), (True, False, False)]


@pytest.mark.parametrize(("lowercase", "strip_accents", "split_chinese"), CODE_POINT_SETTINGS)
def test_normalize_equals_tokenizers_on_every_code_point(lowercase, strip_accents, split_chinese):
    reference = BertNormalizer(
        clean_text=True, handle_chinese_chars=split_chinese, strip_accents=strip_accents, lowercase=lowercase
    )
    ours = Normalizer(lowercase, strip_accents, split_chinese).normalize(ALL_CHARS)
    theirs = reference.normalize_str(ALL_CHARS)
    if ours != theirs:
        ours_parts, theirs_parts = ours.split("b "), theirs.split("b ")
        pytest.fail(first_difference(ours_parts, theirs_parts))


def test_split_words_equals_tokenizers_on_every_code_point():
    ours = split_words(ALL_CHARS, lowercase=True, strip_accents=None, split_chinese=True)
    theirs = reference_words(ALL_CHARS, True, None, True)
    assert ours == theirs, first_difference(ours, theirs)


def test_aligned_words_equal_split_words_on_the_bmp():
    """The per-piece path with offsets (used by the tokenizer) finds the same words as the whole-string one."""
    normalizer = Normalizer(lowercase=True, strip_accents=True, split_chinese=True)
    text = ALL_CHARS[: 4 * 0xF800]  # the BMP (surrogates are left out)
    ours = [
        word for piece in normalizer.raw_pieces.findall(text) for word, _ in normalizer.aligned_words(piece)
    ]
    theirs = normalizer.split_words(text)
    assert ours == theirs, first_difference(ours, theirs)


@pytest.mark.parametrize(("lowercase", "strip_accents", "split_chinese"), SETTINGS)
def test_split_words_on_real_and_adversarial_text(
    lowercase, strip_accents, split_chinese, corpus_lines, adversarial_texts
):
    normalizer = Normalizer(lowercase, strip_accents, split_chinese)
    for text in corpus_lines[::13] + adversarial_texts[:500]:
        expected = reference_words(text, lowercase, strip_accents, split_chinese)
        assert normalizer.split_words(text) == expected, ascii(text)
        if unicodedata.normalize("NFD", text) == "".join(unicodedata.normalize("NFD", c) for c in text):
            aligned = [w for p in normalizer.raw_pieces.findall(text) for w, _ in normalizer.aligned_words(p)]
            assert aligned == expected, ascii(text)


@pytest.mark.parametrize(
    ("text", "lowercase", "expected"),
    [
        ("ΟΔΟΣ ΟΔΟΣ.", True, ["οδοσ", "οδοσ", "."]),  # Rust lowercases char by char: no final sigma
        ("İstanbul", True, ["istanbul"]),  # İ -> i + U+0307, lowercased after accents are stripped: mark kept
        ("straße STRASSE", True, ["straße", "strasse"]),  # lowercasing does not case-fold ß
        ("ﬁne", True, ["ﬁne"]),  # no compatibility decomposition
        ("Å Å", False, ["Å", "Å"]),  # U+212B kept as is when not stripping accents
        ("Å Å", True, ["a", "a"]),  # NFD maps U+212B to A + ring
        ("a\u1fefb", True, ["a", "`", "b"]),  # NFD turns GREEK VARIA into a backtick: punctuation
        ("\U0002b820\U0002b920", True, ["\U0002b820", "\U0002b920"]),  # only U+2B920 is CJK to tokenizers
        ("x\U0002b820y\U0002b920z", True, ["x\U0002b820y", "\U0002b920", "z"]),
        ("\u8c48\uf900", True, ["\u8c48", "\u8c48"]),  # a compatibility ideograph decomposes to a unified one
        ("a\u00a0b\u3000c\u2028d\u202fe", True, ["a", "b", "c", "d", "e"]),  # Unicode spaces split
        ("a\x0bb\x1cc\x85d", True, ["abcd"]),  # controls Python's str.split() splits on are deleted instead
        ("zero\u200bwidth\u200djoin\ufeff", True, ["zerowidthjoin"]),  # format characters deleted
        ("\ue000private\U000f0000", True, ["private"]),  # private use deleted
        ("\u0378unassigned", True, ["\u0378unassigned"]),  # unassigned kept
        (
            "\u0645\u0631\u062d\u0628\u0627\u061f",
            True,
            ["\u0645\u0631\u062d\u0628\u0627", "\u061f"],
        ),  # Arabic ?
        ("שָׁלוֹם", True, ["שלום"]),  # Hebrew points are Mn: stripped
        ("\U0001f44d\U0001f3fd\u2764\ufe0f", True, ["\U0001f44d\U0001f3fd\u2764"]),  # VS16 is Mn: stripped
    ],
)
def test_adversarial_words(text, lowercase, expected):
    assert split_words(text, lowercase=lowercase, strip_accents=None, split_chinese=True) == expected
    assert expected == reference_words(text, lowercase, None, True)


def test_aligned_words_point_at_original_characters():
    normalizer = Normalizer()
    assert normalizer.aligned_words("Na\u0308ıve") == [("naıve", [0, 1, 3, 4, 5])]
    assert normalizer.aligned_words("İx") == [("ix", [0, 1])]
    assert Normalizer(strip_accents=False).aligned_words("İx") == [("i\u0307x", [0, 0, 1])]
    assert normalizer.aligned_words("a\x00b.c") == [("ab", [0, 2]), (".", [3]), ("c", [4])]


def test_split_chunks_splits_only_where_bert_sees_whitespace():
    assert split_chunks("a b\tc\u3000d") == ["a", "b", "c", "d"]
    assert split_chunks("a\x0bb\x1fc d") == ["a\x0bb\x1fc", "d"]
