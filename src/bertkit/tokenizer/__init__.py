"""BERT's WordPiece tokenizer: normalisation (normalize.py), WordPiece and the tokenizer object (wordpiece.py),
encodings with pairs, truncation, padding and tensors (encoding.py), vocabulary learning (learn.py)."""

from bertkit.tokenizer.encoding import Encoding, encode_file
from bertkit.tokenizer.wordpiece import WordPieceTokenizer

__all__ = ["Encoding", "WordPieceTokenizer", "encode_file"]
