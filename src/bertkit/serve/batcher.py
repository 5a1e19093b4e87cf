"""Dynamic batching: requests that arrive together share one model call.

A model forward on 32 texts costs far less than 32 forwards on one text each (the matrix products fill the
cores; Python and dispatch overhead is paid once), so the server holds a request for a few milliseconds to see
whether others arrive. The model runs on one worker thread: the event loop stays free to accept and answer,
and the model never runs twice at once (two concurrent forwards would only fight for the same cores).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bertkit.checks import check_int
from bertkit.errors import InvalidArgumentError

# run(items, **options) -> one result per item, in order. Items batched together share `run` and `options`.
BatchFunction = Callable[..., Sequence[Any]]


class QueueFullError(Exception):
    """More requests are waiting than the server accepts; the client should retry later (HTTP 429)."""


@dataclass
class BatchStats:
    """What the batcher did so far: how many model calls, for how many requests, the largest batch."""

    batches: int = 0
    requests: int = 0
    largest_batch: int = 0
    rejected: int = 0


@dataclass
class _Request:
    run: BatchFunction
    options: tuple[tuple[str, Hashable], ...]
    item: Any
    future: asyncio.Future
    arrived: float

    def same_batch(self, other: _Request) -> bool:
        return self.run == other.run and self.options == other.options


@dataclass
class DynamicBatcher:
    """Gathers requests with the same function and options into batches of up to `max_batch_size`.

    The first request of a batch waits at most `max_wait_ms` for company, so an idle server answers a lone
    request almost at once, while under load a batch fills up during the previous model call and goes
    without waiting. Past `max_queue` waiting requests, `submit` raises QueueFullError at once rather than
    letting latency grow without bound.
    """

    max_batch_size: int = 32
    max_wait_ms: float = 5.0
    max_queue: int = 256
    stats: BatchStats = field(default_factory=BatchStats)

    def __post_init__(self) -> None:
        check_int("`max_batch_size`", self.max_batch_size)
        check_int("`max_queue`", self.max_queue)
        if not isinstance(self.max_wait_ms, int | float) or not 0 <= self.max_wait_ms <= 1000:
            raise InvalidArgumentError(f"`max_wait_ms` must be between 0 and 1000, got {self.max_wait_ms!r}")
        self._pending: deque[_Request] = deque()
        self._arrived: asyncio.Event | None = None  # made in start(): an Event belongs to one event loop
        self._running: list[_Request] = []  # the batch with the model now
        self._executor: ThreadPoolExecutor | None = None
        self._worker: asyncio.Task | None = None

    @property
    def waiting(self) -> int:
        """Requests queued and not yet handed to the model."""
        return len(self._pending)

    async def submit(self, run: BatchFunction, item: Any, **options: Hashable) -> Any:
        """`run([..., item, ...], **options)[i]` for this item, computed in one call with the other waiting
        requests for the same function and options."""
        if len(self._pending) >= self.max_queue:
            self.stats.rejected += 1
            raise QueueFullError(f"{len(self._pending)} requests are already waiting; try again shortly")
        if self._worker is None:
            self.start()
        loop = asyncio.get_running_loop()
        request = _Request(run, tuple(sorted(options.items())), item, loop.create_future(), loop.time())
        self._pending.append(request)
        self._arrived.set()
        return await request.future

    def start(self) -> None:
        """Start the worker in the running event loop (submit does this on its first call)."""
        if self._worker is None:
            self._arrived = asyncio.Event()
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bertkit-model")
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker; requests still waiting, or with the model, are cancelled."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        for request in [*self._running, *self._pending]:
            request.future.cancel()
        self._pending.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            first = self._pending[0]
            deadline = first.arrived + self.max_wait_ms / 1000
            while self._count_like(first) < self.max_batch_size and (left := deadline - loop.time()) > 0:
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), left)
            batch = self._take_like(first)
            if batch:
                await self._run(batch)

    def _count_like(self, first: _Request) -> int:
        return sum(r.same_batch(first) for r in self._pending)

    def _take_like(self, first: _Request) -> list[_Request]:
        """Up to max_batch_size requests like `first`, oldest first; others keep their place in the queue.
        Requests whose client has gone (cancelled futures) are dropped here."""
        batch, rest = [], deque()
        for request in self._pending:
            if request.future.done():
                continue
            if len(batch) < self.max_batch_size and request.same_batch(first):
                batch.append(request)
            else:
                rest.append(request)
        self._pending = rest
        return batch

    async def _run(self, batch: list[_Request]) -> None:
        loop = asyncio.get_running_loop()
        self.stats.batches += 1
        self.stats.requests += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        self._running = batch
        try:
            call = functools.partial(batch[0].run, [r.item for r in batch], **dict(batch[0].options))
            results = await loop.run_in_executor(self._executor, call)
        except Exception as err:
            self._running = []
            if len(batch) == 1:
                _settle(batch[0].future, error=err)
                return
            # One bad request must not fail the others it was batched with: find it by running each alone.
            for request in batch:
                await self._run([request])
            return
        self._running = []
        for request, result in zip(batch, results, strict=True):
            _settle(request.future, result=result)


def _settle(future: asyncio.Future, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():  # the client went away while its batch ran
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
