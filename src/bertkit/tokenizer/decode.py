"""Ids back to text: Hugging Face's WordPiece decoder, what transformers 5's BertTokenizer.decode runs, the
same without spaces around Chinese characters (`decode_cjk`), and `tokenizers` without a decoder."""

import re

from bertkit.constants import CONTINUATION
from bertkit.tokenizer.normalize import _char_class
from bertkit.tokenizer.unicode_tables import CJK

# tokenizer.json's decoders bertkit runs: WordPiece(prefix="##", cleanup=true), or none (null).
WORDPIECE_DECODER = "WordPiece"
DECODERS = (WORDPIECE_DECODER, None)

# tokenizers' clean-up, applied to each token with its leading space.
_DECODE_CLEANUP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" do not", " don't"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


def decode_tokens(tokens: list[str]) -> str:
    """`##` pieces glued to the previous token, other tokens space-separated, and spaces before . , ! ? and
    English contractions removed."""
    out = []
    for i, token in enumerate(tokens):
        if i:
            token = token[len(CONTINUATION) :] if token.startswith(CONTINUATION) else " " + token
        for dirty, clean in _DECODE_CLEANUP:
            token = token.replace(dirty, clean)
        out.append(token)
    return "".join(out)


def decode_with(tokens: list[str], decoder: str | None) -> str:
    """The text `tokenizers` decodes `tokens` to with `decoder` (one of DECODERS). With none it joins the
    tokens with spaces, `##` kept: the decoder is what glues pieces back together."""
    return decode_tokens(tokens) if decoder == WORDPIECE_DECODER else " ".join(tokens)


# CJK ideographs (BERT's table), CJK symbols and punctuation (。、「」...) and full-width forms (，！？...).
_WIDE = _char_class(CJK + ((0x3000, 0x303F), (0xFF00, 0xFFEF)))
_SPACE_BY_WIDE_RE = re.compile(f"(?<=[{_WIDE}]) | (?=[{_WIDE}])")


def decode_cjk(tokens: list[str]) -> str:
    """decode_tokens without the spaces it puts beside CJK characters and full-width punctuation: BERT splits
    Chinese into one token per character, and Chinese is written without spaces ("床 前 明 月" -> "床前明月")."""
    return _SPACE_BY_WIDE_RE.sub("", decode_tokens(tokens))
