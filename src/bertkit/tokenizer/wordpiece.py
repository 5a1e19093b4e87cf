"""WordPiece: cutting one normalised word into the vocabulary's sub-word tokens."""

from bertkit.constants import CONTINUATION

# Hugging Face's default limit (Google's is 200): a longer word becomes one [UNK]. tokenizer.json may set another.
MAX_WORD_CHARS = 100


def wordpiece(
    word: str,
    vocab: dict[str, int],
    unk_id: int,
    max_token_chars: int,
    max_word_chars: int = MAX_WORD_CHARS,
) -> list[tuple[int, int, int]]:
    """(id, start, end) of each sub-token of `word`, the characters [start, end) it covers.

    Google's and Hugging Face's algorithm: greedy longest match first, from the left; a piece that does not
    start the word is looked up with the `##` prefix. If some position has no match at all, the whole word
    is one [UNK] (not the pieces found so far plus an [UNK]), and so is a word over `max_word_chars`.
    `max_token_chars`, the longest token in `vocab`, only bounds the search.
    """
    n = len(word)
    if n > max_word_chars:
        return [(unk_id, 0, n)]
    out, start = [], 0
    while start < n:
        for end in range(min(n, start + max_token_chars), start, -1):
            token_id = vocab.get(word[start:end] if start == 0 else CONTINUATION + word[start:end])
            if token_id is not None:
                break
        else:
            return [(unk_id, 0, n)]
        out.append((token_id, start, end))
        start = end
    return out
