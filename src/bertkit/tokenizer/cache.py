"""The tokenizer's caches: where its speed comes from.

Real text is Zipfian, so almost every whitespace-delimited chunk ("world,") has been seen before and costs one
dict lookup; only a chunk seen for the first time is normalised and cut by WordPiece.
"""

from collections.abc import Callable

# A cache is emptied when it reaches this many entries, so streaming a huge corpus stays bounded in memory.
CACHE_LIMIT = 1_000_000


class Memo(dict):
    """A dict that computes a missing value with `compute` and keeps it; emptied when it reaches CACHE_LIMIT
    entries, so a stream of ever-new words cannot exhaust memory. A dict subclass, so a hit is a plain C
    lookup (`__missing__` runs only on a miss)."""

    def __init__(self, compute: Callable):
        super().__init__()
        self.compute = compute

    def __missing__(self, key: str):
        if len(self) >= CACHE_LIMIT:
            self.clear()
        value = self[key] = self.compute(key)
        return value
