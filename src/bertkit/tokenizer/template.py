"""BERT's input template: `[CLS] A [SEP]` for one text, `[CLS] A [SEP] B [SEP]` for a pair.

Segment (token type) ids are 0 for `[CLS] A [SEP]` and 1 for `B [SEP]`; the special-tokens mask is 1 at the
added tokens only. This is Hugging Face tokenizers' BERT template ("[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1") and
Google's create_pretraining_data.py. It is defined once, as positions: the tokenizer fills Python lists from
them (`assemble`), the pre-training loader fills fixed-size numpy arrays.
"""

from functools import lru_cache
from typing import NamedTuple


class Template(NamedTuple):
    """Where each part goes, for texts of known lengths: slices and int positions, which index a Python list
    and a numpy array alike. Cached and shared, so never modified."""

    length: int  # tokens in all
    first: slice  # A's tokens
    second: slice  # B's tokens (empty for one text)
    cls: tuple[int, ...]  # [CLS]: (0,), or () without special tokens
    sep: tuple[int, ...]  # each [SEP]: after A, and after B for a pair
    segment_b: slice  # segment id 1: B and its [SEP] (empty for one text)


# Cached: the tokenizer asks once per encoding and lengths repeat, so a hit (a tuple of ints and slices, never
# mutated) saves most of the cost of building it.
@lru_cache(maxsize=4096)
def pair_template(n1: int, n2: int | None = None, add_special_tokens: bool = True) -> Template:
    """The template for a first text of `n1` tokens and a pair of `n2` (None: no pair). Without special
    tokens it is just A B, B still in segment 1."""
    s = 1 if add_special_tokens else 0  # each text is followed by a [SEP], the first preceded by [CLS]
    end_a = s + n1
    if n2 is None:
        n = end_a + s
        return Template(n, slice(s, end_a), slice(n, n), (0,) * s, (end_a,) * s, slice(n, n))
    start_b = end_a + s
    end_b = start_b + n2
    n = end_b + s
    return Template(
        n, slice(s, end_a), slice(start_b, end_b), (0,) * s, (end_a, end_b) * s, slice(start_b, n)
    )


def assemble(
    first: list[int], second: list[int] | None, cls_id: int, sep_id: int, add_special_tokens: bool = True
) -> tuple[list[int], list[int], list[int]]:
    """ids, segment ids and special-tokens mask of `first` (and `second`) in the template, as lists."""
    n, a, b, cls, sep, segment_b = pair_template(
        len(first), None if second is None else len(second), add_special_tokens
    )
    ids = [0] * n
    type_ids = [0] * n
    special = [0] * n
    ids[a] = first
    if second is not None:
        ids[b] = second
        type_ids[segment_b] = [1] * (n - segment_b.start)
    for p in cls:
        ids[p] = cls_id
        special[p] = 1
    for p in sep:
        ids[p] = sep_id
        special[p] = 1
    return ids, type_ids, special
