"""The tokens and label values every layer agrees on, defined once."""

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)  # every BERT vocabulary has them; ids come from its vocab.txt
CONTINUATION = "##"  # prefix of a WordPiece that continues a word ("play", "##ing")
IGNORE_INDEX = -100  # label value that contributes no loss (unmasked tokens, padding, sub-word continuations)
