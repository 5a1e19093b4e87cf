"""Learning a WordPiece vocabulary: its layout, determinism, the incremental merge loop against a naive one,
loading in ours and in transformers, held-out [UNK] rate, errors and the CLI."""

import os
import subprocess
import sys
from collections import Counter
from itertools import chain, pairwise
from pathlib import Path

import pytest

from bertkit import cli
from bertkit.constants import SPECIAL_TOKENS
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import iter_lines
from bertkit.tokenizer import WordPieceTokenizer, learn
from bertkit.tokenizer.learn import count_words, learn_vocab, merge_pieces
from bertkit.tokenizer.normalize import split_words

DATA = Path(__file__).resolve().parents[2] / "data"
FORTUNES = DATA / "fortunes_en.txt"
TANG = DATA / "tang300.txt"


def documents(path: Path) -> list[list[str]]:
    """The blank-line separated documents of a bundled corpus."""
    docs: list[list[str]] = [[]]
    for line in iter_lines(path):
        if line.strip():
            docs[-1].append(line)
        elif docs[-1]:
            docs.append([])
    return [d for d in docs if d]


def split_corpus(path: Path) -> tuple[list[str], list[str]]:
    """Training lines and held-out lines (every 10th document)."""
    train, held_out = [], []
    for i, doc in enumerate(documents(path)):
        (held_out if i % 10 == 9 else train).extend(doc)
    return train, held_out


@pytest.fixture(scope="module")
def english() -> tuple[list[str], list[str]]:
    return split_corpus(FORTUNES)


@pytest.fixture(scope="module")
def english_vocab(english) -> list[str]:
    return learn_vocab(iter(english[0]), vocab_size=3000, show_progress=False)


def test_layout_specials_characters_and_continuations(english, english_vocab):
    vocab = english_vocab
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab) == 3000
    assert len(set(vocab)) == len(vocab)
    words = count_words(english[0], show_progress=False)
    chars, inner = Counter(), Counter()
    for word, n in words.items():
        chars.update({c: n for c in word})
        for c in word[1:]:
            inner[c] += n
    kept = {c for c, n in chars.items() if n >= 2}
    assert kept <= set(vocab)
    assert {"##" + c for c, n in inner.items() if c in kept} <= set(vocab)
    assert {c for c, n in chars.items() if n < 2}.isdisjoint(vocab)
    # Characters come right after the specials, then their continuations, then merged pieces.
    n_chars = len(kept)
    assert vocab[5 : 5 + n_chars] == sorted(kept)
    assert all(t.startswith("##") and len(t) == 3 for t in vocab[5 + n_chars : 5 + n_chars + len(inner)])
    # Merges learned whole frequent words and continuation pieces.
    assert {"the", "you", "will", "##ing"} <= set(vocab)


def test_min_frequency_drops_rare_characters_and_their_words():
    vocab = learn_vocab(iter(["aab ab ab x", "zq"]), vocab_size=100, min_frequency=2, show_progress=False)
    assert vocab == [*SPECIAL_TOKENS, "a", "b", "##a", "##b", "ab"]
    vocab = learn_vocab(iter(["aab ab ab x", "zq"]), vocab_size=100, min_frequency=1, show_progress=False)
    assert {"x", "z", "q", "##q", "zq"} <= set(vocab)


def test_vocab_size_is_an_upper_bound():
    lines = ["low lower lowest newer newest wider"] * 3
    full = learn_vocab(iter(lines), vocab_size=1000, show_progress=False)
    assert len(full) < 1000  # the corpus ran out of pairs seen twice
    assert {"low", "lower", "lowest", "newest"} <= set(full)
    small = learn_vocab(iter(lines), vocab_size=len(full) - 3, show_progress=False)
    assert small == full[: len(full) - 3]


def naive_merge_pieces(word_counts: dict[str, int], vocab_size: int, min_frequency: int) -> list[str]:
    """The definition: recount every pair before each merge; the most frequent, then smallest ids, wins."""
    vocab, words, counts = learn._initial_pieces(word_counts, min_frequency)
    ids = {t: i for i, t in enumerate(vocab)}
    while len(vocab) < vocab_size:
        pairs: Counter = Counter()
        for symbols, n in zip(words, counts, strict=True):
            for pair in pairwise(symbols):
                pairs[pair] += n
        if not pairs:
            break
        a, b = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[a, b] < min_frequency:
            break
        token = vocab[a] + vocab[b][2:]
        if token not in ids:
            ids[token] = len(vocab)
            vocab.append(token)
        new = ids[token]
        for k, symbols in enumerate(words):
            merged, i = [], 0
            while i < len(symbols):
                if symbols[i] == a and i + 1 < len(symbols) and symbols[i + 1] == b:
                    merged.append(new)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            words[k] = merged
    return vocab


def test_incremental_merges_equal_naive_recount():
    lines = [line for line in iter_lines(TANG)][:150] + [line for line in iter_lines(FORTUNES)][:250]
    # Runs of one letter ("aaaa") exercise overlapping pairs, which merge left to right.
    lines += ["aaaa aaa aa baaab", "abc abc abcd bcd bcd bc ab ab"] * 3
    words = count_words(lines, show_progress=False)
    for min_frequency in (1, 3):
        start = len(learn._initial_pieces(words, min_frequency)[0])
        for size in (start + 1, start + 250):
            expected = naive_merge_pieces(words, size, min_frequency)
            assert merge_pieces(words, size, min_frequency=min_frequency, show_progress=False) == expected


def test_same_vocabulary_in_processes_with_different_hash_seeds():
    script = (
        "from bertkit.tokenizer.learn import learn_vocab; import sys;"
        f"sys.stdout.write('\\n'.join(learn_vocab([{str(TANG)!r}, {str(FORTUNES)!r}], 3000, show_progress=False)))"
    )
    # This process hashes strings with a random seed; the child with seed 0 (no randomisation).
    child = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert child.split("\n") == learn_vocab([TANG, FORTUNES], 3000, show_progress=False)


def test_counting_space_chunks_equals_splitting_whole_lines():
    lines = [line for line in iter_lines(TANG)][:200] + [line for line in iter_lines(FORTUNES)][:400]
    lines += [
        "Ça\u00a0va? ΟΔΟΣ οδός  naïve\u200bcafé  \u05e9\u05dc\u05d5\u05dd, 😀x,y\x00z\x1cw \u3000全角 e\u0301",
        "don't  stop--now...(really)\u2028next",
    ]
    for lowercase in (True, False):
        expected: Counter = Counter()
        for line in lines:
            expected.update(split_words(line, lowercase=lowercase, strip_accents=None, split_chinese=True))
        assert count_words(lines, lowercase=lowercase, show_progress=False) == expected


def test_counting_in_bounded_memory_gives_the_same_counts(english, monkeypatch):
    expected = count_words(english[0], show_progress=False)
    monkeypatch.setattr(learn, "MAX_PENDING_CHUNKS", 50)
    assert count_words(english[0], show_progress=False) == expected


def test_documents_with_newlines_count_like_their_lines(english):
    lines = english[0][:300]
    as_documents = ["\n".join(lines[i : i + 7]) for i in range(0, len(lines), 7)]
    assert learn_vocab(iter(as_documents), 600, show_progress=False) == learn_vocab(
        iter(lines), 600, show_progress=False
    )


def test_files_and_iterator_give_the_same_vocabulary(tmp_path):
    from_files = learn_vocab([TANG, FORTUNES], 3000, show_progress=False)
    assert from_files == learn_vocab(chain(iter_lines(TANG), iter_lines(FORTUNES)), 3000, show_progress=False)
    assert len(from_files) == 3000


def test_cased_vocabulary_keeps_case_and_accents():
    lines = ["Café Résumé Paris PARIS Café Résumé Paris"] * 2
    cased = learn_vocab(iter(lines), 200, lowercase=False, show_progress=False)
    assert {"Café", "Résumé", "Paris", "PARIS"} <= set(cased)
    uncased = learn_vocab(iter(lines), 200, show_progress=False)
    assert {"cafe", "resume", "paris"} <= set(uncased)
    assert not any(c.isupper() or c in "éÉ" for t in uncased[len(SPECIAL_TOKENS) :] for c in t)
    # As in Hugging Face, strip_accents holds apart from lowercasing.
    accented = learn_vocab(iter(lines), 200, strip_accents=False, show_progress=False)
    assert {"café", "résumé", "paris"} <= set(accented)


def test_trained_tokenizer_loads_in_transformers_with_the_same_ids(english, tmp_path):
    transformers = pytest.importorskip("transformers")
    tok = WordPieceTokenizer.train(iter(english[0]), vocab_size=3000, show_progress=False)
    tok.save_pretrained(tmp_path)
    reloaded = WordPieceTokenizer.from_pretrained(tmp_path)
    slow = transformers.BertTokenizer.from_pretrained(str(tmp_path))
    fast = transformers.BertTokenizerFast.from_pretrained(str(tmp_path))
    texts = english[1][:200] + ["Naïve café, 床前明月光！ unseen-words: zyzzyva"]
    for text in texts:
        ids = tok.encode(text).ids
        assert reloaded.encode(text).ids == ids
        assert fast(text)["input_ids"] == ids, text
        assert slow(text)["input_ids"] == ids, text


def held_out_stats(vocab: list[str], lines: list[str]) -> tuple[float, float]:
    """[UNK] share of the tokens, and tokens per word, of `lines` under `vocab`."""
    tok = WordPieceTokenizer(vocab)
    tokens = [t for line in lines for t in tok.tokenize(line)]
    words = sum(
        len(split_words(line, lowercase=True, strip_accents=None, split_chinese=True)) for line in lines
    )
    return tokens.count("[UNK]") / len(tokens), len(tokens) / words


def test_held_out_text_tokenizes_as_well_as_with_the_tokenizers_trainer(english, english_vocab):
    tokenizers = pytest.importorskip("tokenizers")
    reference = tokenizers.BertWordPieceTokenizer()
    reference.train_from_iterator(
        iter(english[0]), vocab_size=3000, min_frequency=2, limit_alphabet=10_000, show_progress=False
    )
    theirs = sorted(reference.get_vocab(), key=reference.get_vocab().__getitem__)
    assert len(theirs) == len(english_vocab) == 3000
    our_unk, our_per_word = held_out_stats(english_vocab, english[1])
    their_unk, their_per_word = held_out_stats(theirs, english[1])
    assert our_unk < 0.002
    assert our_per_word < 1.02 * their_per_word


def test_chinese_vocabulary_covers_held_out_poems():
    train, held_out = split_corpus(TANG)
    tok = WordPieceTokenizer(learn_vocab(iter(train), 5000, show_progress=False))
    tokens = [t for line in held_out for t in tok.tokenize(line)]
    # Characters first seen in held-out poems are unknown; a poem corpus reuses most of its characters.
    assert tokens.count("[UNK]") / len(tokens) < 0.1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vocab_size": 10}, r"vocab_size=10 is too small: this corpus needs at least \d+ tokens"),
        ({"vocab_size": 0}, "vocab_size=0: expected a positive integer"),
        ({"min_frequency": 0}, "min_frequency=0: expected an integer >= 1"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        learn_vocab(
            iter(["some words to learn from"] * 3), **{"vocab_size": 100, **kwargs}, show_progress=False
        )


def test_minimum_vocab_size_is_exact():
    lines = ["ab ab ba"] * 2
    with pytest.raises(InvalidArgumentError, match="needs at least 9 tokens"):
        learn_vocab(iter(lines), 8, show_progress=False)
    assert learn_vocab(iter(lines), 9, show_progress=False) == [*SPECIAL_TOKENS, "a", "b", "##a", "##b"]


@pytest.mark.parametrize("corpus", [[], ["", "   ", "\x00\u200b"]])
def test_empty_corpus(corpus):
    with pytest.raises(InvalidArgumentError, match="corpus is empty"):
        learn_vocab(iter(corpus), 100, show_progress=False)


def test_no_character_frequent_enough():
    with pytest.raises(InvalidArgumentError, match="no character occurs min_frequency=5 times"):
        learn_vocab(iter(["abc"]), 100, min_frequency=5, show_progress=False)


def test_bad_files(tmp_path):
    with pytest.raises(FileFormatError, match="missing.txt: no such file"):
        learn_vocab([TANG, tmp_path / "missing.txt"], 100, show_progress=False)
    with pytest.raises(
        FileFormatError, match=r"'some text': no such file \(a list of strings is read as file paths"
    ):
        learn_vocab(["some text"], 100, show_progress=False)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\u00e9\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match="latin1.txt: not valid UTF-8 at byte offset 3"):
        learn_vocab(str(latin1), 100, show_progress=False)
    with pytest.raises(InvalidArgumentError, match="got an item of type int"):
        learn_vocab(iter(["text", 3]), 100, show_progress=False)


def test_cli_train_tokenizer(tmp_path, capsys):
    out = tmp_path / "tok"
    code = cli.main(
        ["train-tokenizer", "--input", str(TANG), str(FORTUNES), "--vocab-size", "4000", "--out", str(out)]
    )
    assert code == 0
    vocab = (out / "vocab.txt").read_text(encoding="utf-8").split("\n")
    assert vocab[:5] == list(SPECIAL_TOKENS)
    printed = capsys.readouterr()
    assert f"{out}: 4000-token vocabulary (uncased)" in printed.out
    assert "counting words" in printed.err and "merging pieces" in printed.err  # progress bars
    tok = WordPieceTokenizer.from_pretrained(out)
    assert "[UNK]" not in tok.tokenize("床前明月光, the moon before my bed.")

    code = cli.main(["train-tokenizer", "--input", str(TANG), "--vocab-size", "5", "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith("bertkit: error: vocab_size=5 is too small")


def test_cli_cased(tmp_path):
    out = tmp_path / "cased"
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("Paris Paris PARIS Café Café\n" * 3, encoding="utf-8")
    assert (
        cli.main(
            ["train-tokenizer", "--input", str(corpus), "--vocab-size", "100", "--out", str(out), "--cased"]
        )
        == 0
    )
    assert {"Paris", "PARIS", "Café"} <= set((out / "vocab.txt").read_text(encoding="utf-8").split("\n"))
