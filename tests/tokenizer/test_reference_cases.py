"""Every case of the shared reference suite that holds for Hugging Face's fast tokenizer (`applies_to` has
"hf_fast"). tokenizer_cases.json is a copy of /work/shared/reference/tokenizer_cases.json: cases transcribed from
the test suites of Google's BERT, transformers and tokenizers, each naming its source."""

import json
import pathlib

import pytest

from bertkit import WordPieceTokenizer
from bertkit.constants import SPECIAL_TOKENS
from bertkit.tokenizer import normalize
from bertkit.tokenizer.normalize import Normalizer

CASES = json.loads((pathlib.Path(__file__).parent / "tokenizer_cases.json").read_text(encoding="utf-8"))
FAST_CASES = [c for c in CASES if "hf_fast" in c["applies_to"]]


def test_the_suite_is_complete():
    assert len(CASES) == 84
    assert len(FAST_CASES) == 82  # the other two hold for HF slow only (never_split) or for nobody


def case_tokenizer(case: dict, cased_vocab_file: pathlib.Path, model_dir: pathlib.Path) -> WordPieceTokenizer:
    """The case's vocabulary (a test list, completed with the special tokens bertkit requires, appended so no
    listed id moves), or the real uncased vocabulary, or our cased one."""
    if case["vocab"] is not None:
        vocab = case["vocab"] + [t for t in SPECIAL_TOKENS if t not in case["vocab"]]
    else:
        name = case["vocab_name"]
        vocab = cased_vocab_file if "cased" in name and "uncased" not in name else model_dir / "vocab.txt"
    lowercase = case["do_lower_case"] if case["do_lower_case"] is not None else True
    split_chinese = case["tokenize_chinese_chars"] if case["tokenize_chinese_chars"] is not None else True
    return WordPieceTokenizer(
        vocab, lowercase=lowercase, strip_accents=case["strip_accents"], split_chinese=split_chinese
    )


def words_with_byte_offsets(normalizer: Normalizer, text: str) -> tuple[list[str], list[list[int]]]:
    """Pre-tokenised words and their UTF-8 byte offsets (the unit tokenizers' Rust tests use)."""
    words, offsets = [], []
    for m in normalizer.raw_pieces.finditer(text):
        for word, sources in normalizer.aligned_words(m.group()):
            start, end = m.start() + sources[0], m.start() + sources[-1] + 1
            words.append(word)
            offsets.append([len(text[:start].encode()), len(text[:end].encode())])
    return words, offsets


@pytest.mark.parametrize("case", FAST_CASES, ids=[c["id"] for c in FAST_CASES])
def test_reference_case(case: dict, cased_vocab_file, model_dir):
    kind = case["kind"]
    if kind == "charclass":
        assert getattr(normalize, case["function"])(case["input"]) is case["expected"]
        return
    if kind in ("basic", "normalize"):
        normalizer = Normalizer(case["do_lower_case"], case["strip_accents"], case["tokenize_chinese_chars"])
        if kind == "normalize":
            assert normalizer.normalize(case["input"], clean_text=case["clean_text"]) == case["expected_text"]
        assert normalizer.split_words(case["input"]) == case["expected_tokens"]
        words, offsets = words_with_byte_offsets(normalizer, case["input"])
        assert words == case["expected_tokens"]
        if "expected_offsets" in case:
            assert offsets == case["expected_offsets"]
        return
    tok = case_tokenizer(case, cased_vocab_file, model_dir)
    if kind == "ids":
        assert tok.convert_tokens_to_ids(case["tokens"]) == case["expected_ids"]
        return
    enc = tok.encode(
        case["input"], pair=case.get("text_pair"), add_special_tokens=case.get("add_special_tokens", False)
    )
    assert enc.tokens == case["expected_tokens"]
    if kind == "wordpiece" or "add_special_tokens" not in case:
        assert tok.tokenize(case["input"]) == case["expected_tokens"]
    if "expected_ids" in case:
        assert enc.ids == case["expected_ids"]
    if "expected_offsets" in case:
        assert enc.offsets == [tuple(o) for o in case["expected_offsets"]]
    if "expected_type_ids" in case:
        assert enc.type_ids == case["expected_type_ids"]
