"""Running a function over a large batch of texts: in forked worker processes, with the garbage collector paused.

Workers are forked, not spawned, because a forked child inherits this process's memory: the tokenizer with its
warm cache and the texts reach it without being pickled (the tokenizer pickles without its caches).
"""

import contextlib
import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

# Batches smaller than this are not worth forking workers for.
PARALLEL_MIN_TEXTS = 20_000

T = TypeVar("T")


def map_texts(fn: Callable[[str], T], texts: Sequence[str], num_workers: int | None = None) -> list[T]:
    """`[fn(t) for t in texts]`, shared over `num_workers` processes (default: the CPUs this process may use)
    when the batch has at least PARALLEL_MIN_TEXTS texts. A daemonic process (a DataLoader worker) may not
    have children, so it maps alone."""
    if num_workers is None:
        num_workers = (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        )
    if num_workers > 1 and len(texts) >= PARALLEL_MIN_TEXTS and not multiprocessing.current_process().daemon:
        return _forked_map(fn, texts, num_workers)
    return list(map(fn, texts))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Run a batch with the cyclic garbage collector paused: encodings create no reference cycles, and the
    collector's repeated passes over millions of fresh lists cost 2-3x the encoding itself (measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# The function and batch a forked worker reads. A module global because that is what a forked child inherits
# for free; anything handed to a Pool task is pickled instead. Set just before forking, reset after.
_FORK_STATE: tuple[Callable[[str], object], Sequence[str]] | None = None


def _map_range(bounds: tuple[int, int]) -> list:
    fn, texts = _FORK_STATE
    return list(map(fn, texts[bounds[0] : bounds[1]]))


def _forked_map(fn: Callable[[str], T], texts: Sequence[str], num_workers: int) -> list[T]:
    """`fn` over `texts` in `num_workers` processes: this one and forked children.

    This process first maps a slice on its own, so the children inherit a warm cache instead of each
    rebuilding it; then it maps its share while the children map theirs."""
    global _FORK_STATE
    warm = len(texts) // (8 * num_workers)
    step = -(-(len(texts) - warm) // num_workers)
    bounds = [(i, min(i + step, len(texts))) for i in range(warm, len(texts), step)]
    head = list(map(fn, texts[:warm]))
    _FORK_STATE = fn, texts
    try:
        with multiprocessing.get_context("fork").Pool(len(bounds) - 1) as pool:
            children = pool.map_async(_map_range, bounds[1:])
            own = _map_range(bounds[0])
            return head + own + [result for part in children.get() for result in part]
    finally:
        _FORK_STATE = None
