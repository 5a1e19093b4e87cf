"""The WordPiece function on its own: greedy longest match first, `##` inside a word, the [UNK] rules."""

from bertkit.tokenizer.wordpiece import MAX_WORD_CHARS, wordpiece

VOCAB = {token: i for i, token in enumerate(["[UNK]", "un", "unaff", "##aff", "##able", "##a", "##ff", "x"])}
UNK = VOCAB["[UNK]"]


def pieces(word: str, **kwargs) -> list[tuple[int, int, int]]:
    return wordpiece(word, VOCAB, UNK, max(map(len, VOCAB)), **kwargs)


def test_longest_match_first_then_continuations():
    # "unaff" beats "un"; then "##able" beats "##a": greedy, not the split with the fewest pieces.
    assert pieces("unaffable") == [(VOCAB["unaff"], 0, 5), (VOCAB["##able"], 5, 9)]
    assert pieces("unable") == [(VOCAB["un"], 0, 2), (VOCAB["##able"], 2, 6)]
    assert pieces("x") == [(VOCAB["x"], 0, 1)]


def test_inside_a_word_only_continuations_match():
    # "##aff" exists but "aff" does not: a word cannot start with a continuation piece.
    assert pieces("aff") == [(UNK, 0, 3)]
    # "x" exists, but inside a word only "##x" would do.
    assert pieces("unx") == [(UNK, 0, 3)]


def test_a_word_that_cannot_be_split_is_one_unk():
    # The pieces found before the dead end ("un") are dropped too: the whole word is one [UNK].
    assert pieces("unaffz") == [(UNK, 0, 6)]
    assert pieces("") == []


def test_a_word_over_the_limit_is_one_unk():
    word = "x" + "a" * MAX_WORD_CHARS  # "x" "##a" "##a" ..., but MAX_WORD_CHARS + 1 characters long
    assert pieces(word[:MAX_WORD_CHARS]) == [(VOCAB["x"], 0, 1)] + [
        (VOCAB["##a"], i, i + 1) for i in range(1, MAX_WORD_CHARS)
    ]
    assert pieces(word) == [(UNK, 0, MAX_WORD_CHARS + 1)]
    assert pieces("unable", max_word_chars=5) == [(UNK, 0, 6)]


def test_max_token_chars_only_bounds_the_search():
    assert wordpiece("unaffable", VOCAB, UNK, 5) == pieces("unaffable")
    assert wordpiece("unaffable", VOCAB, UNK, 2) == [(UNK, 0, 9)]  # no 2-character pieces spell it
