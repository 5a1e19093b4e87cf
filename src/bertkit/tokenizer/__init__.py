"""BERT's WordPiece tokenizer: normalisation (normalize.py), WordPiece and the tokenizer object (wordpiece.py),
encodings with pairs, truncation, padding and tensors (encoding.py), vocabulary learning (learn.py)."""
