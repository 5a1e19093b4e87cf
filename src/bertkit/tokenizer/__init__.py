"""BERT's WordPiece tokenizer: text rules (normalize.py), WordPiece itself (wordpiece.py), the tokenizer object
with its vocabulary (tokenizer.py, vocab.py), the [CLS] A [SEP] B [SEP] template (template.py), encodings with
truncation, padding and tensors (encoding.py), decoding (decode.py), streaming a file to ids (stream.py), and
learning a vocabulary (learn.py); cache.py and parallel.py hold what makes it fast."""

from bertkit.tokenizer.encoding import Encoding
from bertkit.tokenizer.stream import encode_file
from bertkit.tokenizer.tokenizer import WordPieceTokenizer

__all__ = ["Encoding", "WordPieceTokenizer", "encode_file"]
