"""Ids back to text: Hugging Face's WordPiece decoder, what transformers 5's BertTokenizer.decode runs."""

from bertkit.constants import CONTINUATION

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
