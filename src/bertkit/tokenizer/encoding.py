"""Encodings: the Encoding object, truncation, padding and tensors.

Every rule here is Hugging Face `tokenizers`' (what transformers 5's BertTokenizer runs): offsets (0, 0) and
`special_tokens_mask` 1 for the tokens padding adds, and its three truncation strategies with the same length
arithmetic. Where the template puts the text, the pair and the special tokens is template.py's.
"""

from collections.abc import Callable

import numpy as np

from bertkit.constants import CLS, SEP
from bertkit.errors import InvalidArgumentError
from bertkit.tokenizer.template import pair_template

TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second")


class Encoding:
    """One encoded input: ids, type_ids, attention_mask, special_tokens_mask, and `tokens` and `offsets`, the
    (start, end) character positions in the text each token came from (the first text for segment 0, the pair
    for segment 1; (0, 0) for added tokens). Tokens and offsets are computed on first access: most batches
    only feed ids to a model, and building a tuple per token costs more than finding the ids."""

    __slots__ = ("_offsets", "_offsets_fn", "_tokens", "_vocab", "attention_mask", "ids", "special_tokens_mask",
                 "type_ids")  # fmt: skip

    def __init__(
        self,
        ids: list[int],
        type_ids: list[int],
        special_tokens_mask: list[int],
        offsets: Callable[[], list[tuple[int, int]]],
        vocab: list[str],
        attention_mask: list[int] | None = None,
    ):
        self.ids = ids
        self.type_ids = type_ids
        self.special_tokens_mask = special_tokens_mask
        self.attention_mask = attention_mask if attention_mask is not None else [1] * len(ids)
        self._offsets_fn = offsets
        self._vocab = vocab
        self._offsets: list[tuple[int, int]] | None = None
        self._tokens: list[str] | None = None

    @property
    def tokens(self) -> list[str]:
        if self._tokens is None:
            vocab = self._vocab
            self._tokens = [vocab[i] for i in self.ids]
        return self._tokens

    @property
    def offsets(self) -> list[tuple[int, int]]:
        if self._offsets is None:
            self._offsets = self._offsets_fn()
        return self._offsets

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"Encoding(ids={self.ids}, tokens={self.tokens}, offsets={self.offsets}, type_ids={self.type_ids})"


def resolve_truncation(truncation: bool | str) -> str | None:
    """The strategy name for `truncation=True/False/"longest_first"/...`, as transformers accepts it."""
    if truncation is True:
        return "longest_first"
    if truncation is False or truncation is None or truncation == "do_not_truncate":
        return None
    if truncation not in TRUNCATION_STRATEGIES:
        raise InvalidArgumentError(
            f"truncation={truncation!r}: expected True, False or one of {TRUNCATION_STRATEGIES}"
        )
    return truncation


def truncate(
    first: list[int],
    second: list[int] | None,
    max_length: int | None,
    strategy: str,
    add_special_tokens: bool,
) -> tuple[list[int], list[int] | None]:
    """The ids of the text (and pair) cut by `strategy` so that the template holds at most `max_length` tokens."""
    if max_length is None:
        raise InvalidArgumentError(f"truncation={strategy!r} needs max_length")
    added = pair_template(0, None if second is None else 0, add_special_tokens)
    if max_length < added.length:
        names = " ".join([CLS] * len(added.cls) + [SEP] * len(added.sep))
        raise InvalidArgumentError(
            f"max_length={max_length} is smaller than the {added.length} special tokens {names} need"
        )
    n1, n2 = truncated_lengths(
        len(first), None if second is None else len(second), max_length - added.length, strategy
    )
    return first[:n1], None if second is None else second[:n2]


def truncated_lengths(n1: int, n2: int | None, max_tokens: int, strategy: str) -> tuple[int, int | None]:
    """How many tokens of each sequence survive so that n1 + n2 <= max_tokens (specials already subtracted).

    longest_first takes from the longer sequence until both are equal, then splits the budget, giving the
    odd token to the second: the closed form tokenizers uses (utils/truncation.rs)."""
    total = n1 + (n2 or 0)
    if total <= max_tokens:
        return n1, n2
    if max_tokens == 0:  # tokenizers empties both sequences here, whatever the strategy
        return 0, None if n2 is None else 0
    if strategy == "longest_first":
        if n2 is None:
            return max_tokens, None
        short, long_ = min(n1, n2), max(n1, n2)
        long_ = short if short > max_tokens else max(short, max_tokens - short)
        if short + long_ > max_tokens:
            short, long_ = max_tokens // 2, max_tokens // 2 + max_tokens % 2
        return (long_, short) if n1 > n2 else (short, long_)
    to_remove = total - max_tokens
    if strategy == "only_second" and n2 is None:
        raise InvalidArgumentError("truncation='only_second' needs a pair of texts")
    target = n1 if strategy == "only_first" else n2
    if target <= to_remove:
        which = "first" if strategy == "only_first" else "second"
        raise InvalidArgumentError(
            f"truncation={strategy!r}: the {which} text has {target} tokens, it cannot lose the {to_remove} "
            f"needed to fit max_length; use truncation='longest_first' or a larger max_length"
        )
    return (n1 - to_remove, n2) if strategy == "only_first" else (n1, n2 - to_remove)


def padded_length(
    lengths: list[int], padding: bool | str, max_length: int | None, multiple: int | None
) -> int | None:
    """The length every encoding is padded to, or None for no padding."""
    if padding is False or padding is None or padding == "do_not_pad":
        return None
    if padding is True or padding == "longest":
        length = max(lengths, default=0)
    elif padding == "max_length":
        if max_length is None:
            raise InvalidArgumentError("padding='max_length' needs max_length")
        length = max_length
    else:
        raise InvalidArgumentError(f"padding={padding!r}: expected True, False, 'longest' or 'max_length'")
    if multiple:
        if multiple < 0:
            raise InvalidArgumentError(f"pad_to_multiple_of={multiple}: expected a positive integer")
        length += -length % multiple
    return length


def pad(encoding: Encoding, length: int, pad_id: int) -> Encoding:
    """Right-pad to `length` with [PAD] (longer encodings are left as they are, as in tokenizers)."""
    n = length - len(encoding)
    if n <= 0:
        return encoding
    return Encoding(
        ids=encoding.ids + [pad_id] * n,
        type_ids=encoding.type_ids + [0] * n,
        special_tokens_mask=encoding.special_tokens_mask + [1] * n,
        offsets=lambda: encoding.offsets + [(0, 0)] * n,
        vocab=encoding._vocab,
        attention_mask=encoding.attention_mask + [0] * n,
    )


def to_tensors(encodings: list[Encoding], return_tensors: str | None) -> dict:
    """The model inputs of a batch: torch tensors ("pt"), numpy arrays ("np") or lists of lists (None)."""
    batch = {
        "input_ids": [e.ids for e in encodings],
        "token_type_ids": [e.type_ids for e in encodings],
        "attention_mask": [e.attention_mask for e in encodings],
    }
    if return_tensors is None:
        return batch
    if return_tensors not in ("pt", "np"):
        raise InvalidArgumentError(f"return_tensors={return_tensors!r}: expected 'pt', 'np' or None")
    if len({len(e) for e in encodings}) > 1:
        raise InvalidArgumentError(
            f"return_tensors={return_tensors!r} needs equal lengths; pass padding=True to pad the batch"
        )
    width = len(encodings[0]) if encodings else 0
    arrays = {k: np.array(v, dtype=np.int64).reshape(len(encodings), width) for k, v in batch.items()}
    if return_tensors == "np":
        return arrays
    import torch  # only when asked for: the tokenizer itself has no torch dependency

    return {k: torch.from_numpy(v) for k, v in arrays.items()}
