"""The tokenizer object users hold: its vocabulary and files, text to ids, encodings, decoding.

Speed comes from caching (cache.py), not from clever code: a whitespace-delimited chunk seen before costs one
dict lookup. A chunk seen for the first time is cut into raw pieces (normalize.py), each piece cached too (so a
Chinese line costs one lookup per character), and only a piece seen for the first time runs normalisation and
WordPiece (wordpiece.py). Large batches are split over worker processes (parallel.py).
"""

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from numbers import Integral
from pathlib import Path

from bertkit.constants import CLS, MASK, PAD, SEP, SPECIAL_TOKENS, UNK
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.hub import resolve_pretrained
from bertkit.tokenizer.cache import Memo
from bertkit.tokenizer.decode import DECODERS, WORDPIECE_DECODER, decode_with
from bertkit.tokenizer.encoding import (
    Encoding,
    pad,
    padded_length,
    resolve_truncation,
    to_tensors,
    truncate,
)
from bertkit.tokenizer.learn import learn_vocab
from bertkit.tokenizer.normalize import CHUNK_RE, Normalizer, split_chunks
from bertkit.tokenizer.parallel import gc_paused, map_texts
from bertkit.tokenizer.template import assemble, pair_template
from bertkit.tokenizer.vocab import load_tokenizer_files, load_vocab, save_tokenizer_files
from bertkit.tokenizer.wordpiece import MAX_WORD_CHARS, wordpiece

Piece = tuple[list[int], list[tuple[int, int]]]  # ids, offsets relative to the piece


class WordPieceTokenizer:
    """BERT's tokenizer, token for token and offset for offset what Hugging Face's fast BertTokenizer gives.

    `vocab` is a vocab.txt path or a list of tokens (the id is the position). `strip_accents=None` strips
    accents exactly when lowercasing; `split_chinese` makes every CJK ideograph a word of its own.
    `model_max_length` is the longest input the model was trained for (tokenizer_config.json's), if known.
    `max_word_chars` is tokenizer.json's `max_input_chars_per_word`: a longer word is one [UNK]. `decoder` is
    tokenizer.json's: "WordPiece" (`##` glued on, spaces before punctuation cleaned up) or None (`tokenizers`
    without a decoder: tokens joined by spaces); it changes only `decode`.
    """

    def __init__(
        self,
        vocab: str | os.PathLike | Sequence[str],
        lowercase: bool = True,
        strip_accents: bool | None = None,
        split_chinese: bool = True,
        model_max_length: int | None = None,
        max_word_chars: int = MAX_WORD_CHARS,
        decoder: str | None = WORDPIECE_DECODER,
    ):
        if isinstance(vocab, str | os.PathLike):
            tokens, source = load_vocab(vocab), str(vocab)
        else:
            tokens, source = list(vocab), "the vocabulary list"
        missing = [t for t in SPECIAL_TOKENS if t not in tokens]
        if missing:
            error = FileFormatError if source != "the vocabulary list" else InvalidArgumentError
            raise error(
                f"{source}: missing special token(s) {', '.join(missing)}; a BERT vocabulary needs all of "
                f"{', '.join(SPECIAL_TOKENS)}"
            )
        self.ids_to_tokens: list[str] = tokens
        self.vocab: dict[str, int] = {token: i for i, token in enumerate(tokens)}
        self.normalizer = Normalizer(lowercase, strip_accents, split_chinese)
        self.model_max_length = model_max_length
        if type(max_word_chars) is not int or max_word_chars < 0:
            raise InvalidArgumentError(f"max_word_chars must be an integer >= 0, got {max_word_chars!r}")
        if decoder not in DECODERS:
            raise InvalidArgumentError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        self.max_word_chars = max_word_chars
        self.decoder = decoder
        self.pad_token_id, self.unk_token_id, self.cls_token_id, self.sep_token_id, self.mask_token_id = (
            self.vocab[t] for t in (PAD, UNK, CLS, SEP, MASK)
        )
        self._special_ids = {t: self.vocab[t] for t in SPECIAL_TOKENS}
        # Hugging Face matches special tokens in the raw text, even inside words, longest first.
        self._special_re = re.compile("|".join(map(re.escape, sorted(SPECIAL_TOKENS, key=len, reverse=True))))
        self._special_initials = {t[0] for t in SPECIAL_TOKENS}
        self._max_token_chars = max(map(len, tokens))
        self._pieces = Memo(self._piece)  # raw piece -> (ids, offsets)
        self._chunk_ids = Memo(self._chunk_to_ids)  # whitespace-free chunk -> ids
        self._chunk_offsets = Memo(self._offsets_of_chunk)  # whitespace-free chunk -> offsets

    # ----- construction and files

    @property
    def lowercase(self) -> bool:
        return self.normalizer.lowercase

    @property
    def strip_accents(self) -> bool | None:
        return self.normalizer.strip_accents

    @property
    def split_chinese(self) -> bool:
        return self.normalizer.split_chinese

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> "WordPieceTokenizer":
        """A directory with vocab.txt or tokenizer.json (all transformers 5 writes) and tokenizer_config.json,
        whose do_lower_case, strip_accents, tokenize_chinese_chars and model_max_length are honoured if
        present; or a vocab.txt or tokenizer.json itself. See vocab.load_tokenizer_files."""
        path = resolve_pretrained(path)  # a Hub id: its snapshot in the Hugging Face cache (bertkit.hub)
        vocab, settings = load_tokenizer_files(Path(path))
        return cls(vocab, **settings)

    @classmethod
    def train(
        cls,
        files_or_iterator: str | os.PathLike | Iterable[str | os.PathLike] | Iterator[str],
        vocab_size: int = 30000,
        lowercase: bool = True,
        min_frequency: int = 2,
        strip_accents: bool | None = None,
        split_chinese: bool = True,
        show_progress: bool = True,
    ) -> "WordPieceTokenizer":
        """Learn a vocabulary from text files or an iterator of strings (see learn.py) and return its tokenizer."""
        vocab = learn_vocab(
            files_or_iterator,
            vocab_size,
            lowercase=lowercase,
            min_frequency=min_frequency,
            strip_accents=strip_accents,
            split_chinese=split_chinese,
            show_progress=show_progress,
        )
        return cls(vocab, lowercase=lowercase, strip_accents=strip_accents, split_chinese=split_chinese)

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write vocab.txt, tokenizer_config.json and tokenizer.json (transformers, tokenizers)."""
        return save_tokenizer_files(directory, self.ids_to_tokens, *self._settings())

    def fingerprint(self) -> str:
        """A short hash of everything that decides the ids: vocabulary and normalisation settings."""
        state = [
            self.ids_to_tokens,
            self.lowercase,
            self.strip_accents,
            self.split_chinese,
            self.max_word_chars,
        ]
        return hashlib.sha256(json.dumps(state, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.ids_to_tokens)

    def __reduce__(self) -> tuple:
        """Pickle (e.g. to spawned data-loader workers) as vocabulary and settings, without the caches."""
        return type(self), (self.ids_to_tokens, *self._settings())

    def _settings(self) -> tuple:
        """The constructor's arguments after the vocabulary, in its order."""
        return (
            self.lowercase,
            self.strip_accents,
            self.split_chinese,
            self.model_max_length,
            self.max_word_chars,
            self.decoder,
        )

    def __repr__(self) -> str:
        return (
            f"WordPieceTokenizer(vocab_size={len(self)}, lowercase={self.lowercase}, "
            f"strip_accents={self.strip_accents}, split_chinese={self.split_chinese})"
        )

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        """Ids of tokens; a token not in the vocabulary maps to [UNK]'s id."""
        return [self.vocab.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        tokens, ids = self.ids_to_tokens, _as_list(ids)
        if not all(isinstance(i, Integral) and 0 <= i < len(tokens) for i in ids):
            raise InvalidArgumentError(f"ids must be integers in [0, {len(tokens)}), got {ids[:20]}")
        return [tokens[i] for i in ids]

    # ----- WordPiece through the caches

    def _piece(self, piece: str) -> Piece:
        """Ids and offsets (relative to the piece) of a raw piece."""
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        for word, sources in self.normalizer.aligned_words(piece):
            for token_id, start, end in wordpiece(
                word, self.vocab, self.unk_token_id, self._max_token_chars, self.max_word_chars
            ):
                ids.append(token_id)
                offsets.append((sources[start], sources[end - 1] + 1))
        return ids, offsets

    def _offsets_of_chunk(self, chunk: str) -> list[tuple[int, int]]:
        """Offsets (relative to the chunk) of the tokens of a whitespace-free run of raw text."""
        pieces = self._pieces
        offsets: list[tuple[int, int]] = []
        for m in self.normalizer.raw_pieces.finditer(chunk):
            base = m.start()
            offsets += [(base + s, base + e) for s, e in pieces[m.group()][1]]
        return offsets

    def _chunk_to_ids(self, chunk: str) -> list[int]:
        """Ids of a whitespace-free run of raw text, without offsets."""
        pieces = self._pieces
        return [i for piece in self.normalizer.raw_pieces.findall(chunk) for i in pieces[piece][0]]

    # ----- text to ids

    def _segments(self, text: str) -> list[tuple[int, str | int]]:
        """(start, text) for ordinary stretches and (start, id) for special tokens written in the text."""
        out: list[tuple[int, str | int]] = []
        pos = 0
        for m in self._special_re.finditer(text):
            if m.start() > pos:
                out.append((pos, text[pos : m.start()]))
            out.append((m.start(), self._special_ids[m.group()]))
            pos = m.end()
        if pos < len(text):
            out.append((pos, text[pos:]))
        return out

    def _has_special(self, text: str) -> bool:
        return any(c in text for c in self._special_initials)

    def _text_ids(self, text: str) -> list[int]:
        """Ids of a text without special tokens around it: the hot path, a dict lookup per chunk."""
        chunk_ids = self._chunk_ids.__getitem__
        if not self._has_special(text):
            return list(chain.from_iterable(map(chunk_ids, split_chunks(text))))
        out: list[int] = []
        for _, segment in self._segments(text):
            if isinstance(segment, int):
                out.append(segment)
            else:
                out += chain.from_iterable(map(chunk_ids, split_chunks(segment)))
        return out

    def _text_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character offsets into `text` of the tokens _text_ids finds, special tokens written in it included."""
        offsets: list[tuple[int, int]] = []
        cache = self._chunk_offsets
        for start, segment in self._segments(text) if self._has_special(text) else [(0, text)]:
            if isinstance(segment, int):
                offsets.append((start, start + len(self.ids_to_tokens[segment])))
                continue
            for m in CHUNK_RE.finditer(segment):
                base = start + m.start()
                offsets += [(base + s, base + e) for s, e in cache[m.group()]]
        return offsets

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of `text`, without [CLS]/[SEP]."""
        tokens = self.ids_to_tokens
        return [tokens[i] for i in self._text_ids(text)]

    def tokenize_to_ids(self, texts: Iterable[str], num_workers: int | None = None) -> list[list[int]]:
        """Ids of each text, no special tokens, no offsets: the fastest path, for corpora.

        Batches of at least PARALLEL_MIN_TEXTS (parallel.py) texts are shared over `num_workers` forked
        processes (default: the CPUs this process may use)."""
        if isinstance(texts, str):
            raise InvalidArgumentError("tokenize_to_ids takes a list of texts; wrap a single text in a list")
        texts = texts if isinstance(texts, list | tuple) else list(texts)
        try:
            with gc_paused():  # forked workers inherit the pause
                return map_texts(self._text_ids, texts, num_workers)
        except (TypeError, AttributeError):  # checked only on failure, to keep the hot path lean
            bad = [t for t in texts if not isinstance(t, str)][:1]
            if not bad:
                raise
            raise InvalidArgumentError(
                f"texts must be strings, got {type(bad[0]).__name__}: {bad[0]!r:.50}"
            ) from None

    # ----- encodings

    def encode(
        self,
        text: str,
        pair: str | None = None,
        max_length: int | None = None,
        truncation: bool | str = False,
        add_special_tokens: bool = True,
    ) -> Encoding:
        """`[CLS] text [SEP]` or `[CLS] text [SEP] pair [SEP]` with segment ids, offsets and masks."""
        _check_text("text", text)
        second = self._text_ids(_check_text("pair", pair)) if pair is not None else None
        strategy = resolve_truncation(truncation)
        return self._encoding(
            text, self._text_ids(text), pair, second, max_length, strategy, add_special_tokens
        )

    def _encoding(
        self,
        text: str,
        first: list[int],
        pair: str | None,
        second: list[int] | None,
        max_length: int | None,
        strategy: str | None,
        add_special_tokens: bool,
    ) -> Encoding:
        """Truncate the ids of text (and pair) as asked, then put them in the template."""
        if strategy is not None:
            first, second = truncate(first, second, max_length, strategy, add_special_tokens)
        ids, type_ids, special = assemble(
            first, second, self.cls_token_id, self.sep_token_id, add_special_tokens
        )
        n1, n2 = len(first), None if second is None else len(second)  # the closure keeps lengths, not lists

        def offsets() -> list[tuple[int, int]]:
            """(0, 0) for added tokens, as tokenizers gives them."""
            template = pair_template(n1, n2, add_special_tokens)
            out = [(0, 0)] * template.length
            out[template.first] = self._text_offsets(text)[:n1]
            if pair is not None:
                out[template.second] = self._text_offsets(pair)[:n2]
            return out

        return Encoding(ids, type_ids, special, offsets, self.ids_to_tokens)

    def encode_batch(
        self,
        texts: Sequence[str] | Sequence[tuple[str, str]],
        max_length: int | None = None,
        truncation: bool | str = False,
        add_special_tokens: bool = True,
    ) -> list[Encoding]:
        """encode() of each text, or of each (text, pair) tuple. The ids come from tokenize_to_ids, so large
        batches use its worker processes; offsets are found in this process if asked for."""
        if isinstance(texts, str):
            raise InvalidArgumentError("encode_batch takes a list of texts; use encode() for a single text")
        items = [(_check_text("text", t), None) if isinstance(t, str) else _check_pair(t) for t in texts]
        strategy = resolve_truncation(truncation)
        with gc_paused():
            firsts = self.tokenize_to_ids([text for text, _ in items])
            seconds = iter(self.tokenize_to_ids([pair for _, pair in items if pair is not None]))
            return [
                self._encoding(
                    text,
                    ids,
                    pair,
                    next(seconds) if pair is not None else None,
                    max_length,
                    strategy,
                    add_special_tokens,
                )
                for (text, pair), ids in zip(items, firsts, strict=True)
            ]

    def __call__(
        self,
        texts: str | Sequence[str],
        pairs: str | Sequence[str] | None = None,
        padding: bool | str = True,
        max_length: int | None = None,
        truncation: bool | str = False,
        return_tensors: str | None = "pt",
        pad_to_multiple_of: int | None = None,
        add_special_tokens: bool = True,
    ) -> dict:
        """A model-ready batch: input_ids, token_type_ids, attention_mask (padded with [PAD] on the right)."""
        if isinstance(texts, str):
            texts = [texts]
            pairs = [pairs] if isinstance(pairs, str) else pairs
        if pairs is not None and len(pairs) != len(texts):
            raise InvalidArgumentError(f"pairs has {len(pairs)} texts but texts has {len(texts)}")
        items = list(zip(texts, pairs, strict=True)) if pairs is not None else list(texts)
        encodings = self.encode_batch(items, max_length, truncation, add_special_tokens)
        length = padded_length([len(e) for e in encodings], padding, max_length, pad_to_multiple_of)
        if length is not None:
            encodings = [pad(e, length, self.pad_token_id) for e in encodings]
        return to_tensors(encodings, return_tensors)

    # ----- ids to text

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Text from ids as `tokenizers` writes it with this tokenizer's decoder (decode.py)."""
        tokens = self.convert_ids_to_tokens(ids)
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self._special_ids]
        return decode_with(tokens, self.decoder)


def _check_text(name: str, text: object) -> str:
    if not isinstance(text, str):
        raise InvalidArgumentError(f"{name} must be a string, got {type(text).__name__}")
    return text


def _check_pair(item: object) -> tuple[str, str]:
    if not isinstance(item, tuple | list) or len(item) != 2:
        raise InvalidArgumentError(f"expected a text or a (text, pair) tuple, got {item!r:.80}")
    return _check_text("text", item[0]), _check_text("pair", item[1])


def _as_list(ids: Iterable[int]) -> list[int]:
    """Accept lists, tuples, numpy arrays and torch tensors of ids."""
    return ids.tolist() if hasattr(ids, "tolist") else list(ids)
