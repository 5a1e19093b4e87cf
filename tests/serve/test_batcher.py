import asyncio
import threading

import pytest

from bertkit import InvalidArgumentError
from bertkit.serve import DynamicBatcher, QueueFullError


class Recorder:
    """A batch function that records the batches it was given; squares numbers, fails on negative ones."""

    def __init__(self, gate: threading.Event | None = None):
        self.batches: list[list[int]] = []
        self.gate = gate

    def __call__(self, items: list[int], mode: str = "a") -> list[int]:
        if self.gate is not None:
            self.gate.wait(timeout=10)
        self.batches.append(list(items))
        if any(i < 0 for i in items):
            raise InvalidArgumentError(f"negative item in {items}")
        return [i * i for i in items]


def run(coroutine):
    return asyncio.run(coroutine)


def test_requests_that_arrive_together_share_one_call():
    async def main():
        batcher, square = DynamicBatcher(max_batch_size=8, max_wait_ms=50), Recorder()
        results = await asyncio.gather(*(batcher.submit(square, i) for i in range(20)))
        await batcher.stop()
        return batcher, square, results

    batcher, square, results = run(main())
    assert results == [i * i for i in range(20)]  # every caller gets its own answer, in order
    assert [len(b) for b in square.batches] == [8, 8, 4]
    assert batcher.stats.batches == 3 and batcher.stats.requests == 20 and batcher.stats.largest_batch == 8


def test_a_lone_request_waits_only_the_wait_budget():
    async def main():
        batcher, square = DynamicBatcher(max_batch_size=32, max_wait_ms=20), Recorder()
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await batcher.submit(square, 3) == 9
        elapsed = loop.time() - start
        await batcher.stop()
        return elapsed

    assert run(main()) < 5.0  # not a timing assertion on speed: only that it does not wait for a full batch


def test_different_functions_and_options_are_never_mixed():
    async def main():
        batcher, square, other = DynamicBatcher(max_wait_ms=20), Recorder(), Recorder()
        jobs = [batcher.submit(square, 1, mode="a"), batcher.submit(square, 2, mode="b")]
        jobs += [batcher.submit(other, 3, mode="a"), batcher.submit(square, 4, mode="a")]
        results = await asyncio.gather(*jobs)
        await batcher.stop()
        return results, square.batches, other.batches

    results, square_batches, other_batches = run(main())
    assert results == [1, 4, 9, 16]
    assert sorted(square_batches) == [[1, 4], [2]] and other_batches == [[3]]


def test_one_bad_request_fails_alone():
    async def main():
        batcher, square = DynamicBatcher(max_wait_ms=20), Recorder()
        results = await asyncio.gather(
            *(batcher.submit(square, i) for i in (1, -2, 3)), return_exceptions=True
        )
        await batcher.stop()
        return results, square.batches

    results, batches = run(main())
    assert results[0] == 1 and results[2] == 9
    assert isinstance(results[1], InvalidArgumentError)
    assert batches[0] == [1, -2, 3] and sorted(batches[1:]) == [[-2], [1], [3]]


def test_past_the_queue_limit_requests_are_refused_at_once():
    async def main():
        gate = threading.Event()
        batcher, square = DynamicBatcher(max_batch_size=1, max_wait_ms=0, max_queue=3), Recorder(gate)
        running = asyncio.ensure_future(batcher.submit(square, 0))
        while batcher.stats.batches == 0:  # the first request is with the model, blocked on the gate
            await asyncio.sleep(0.001)
        waiting = [asyncio.ensure_future(batcher.submit(square, i)) for i in (1, 2, 3)]
        await asyncio.sleep(0.01)
        with pytest.raises(QueueFullError, match="3 requests are already waiting"):
            await batcher.submit(square, 4)
        gate.set()
        results = await asyncio.gather(running, *waiting)
        await batcher.stop()
        return results, batcher.stats

    results, stats = run(main())
    assert results == [0, 1, 4, 9] and stats.rejected == 1


def test_a_request_whose_client_left_is_skipped():
    async def main():
        gate = threading.Event()
        batcher, square = DynamicBatcher(max_batch_size=4, max_wait_ms=0), Recorder(gate)
        first = asyncio.ensure_future(batcher.submit(square, 1))
        while batcher.stats.batches == 0:
            await asyncio.sleep(0.001)
        gone = asyncio.ensure_future(batcher.submit(square, 2))
        kept = asyncio.ensure_future(batcher.submit(square, 3))
        await asyncio.sleep(0.01)
        gone.cancel()
        gate.set()
        results = await asyncio.gather(first, kept)
        await batcher.stop()
        return results, square.batches

    results, batches = run(main())
    assert results == [1, 9] and batches == [[1], [3]]


def test_stop_cancels_what_is_still_waiting():
    async def main():
        gate = threading.Event()
        batcher, square = DynamicBatcher(max_batch_size=1, max_wait_ms=0), Recorder(gate)
        first = asyncio.ensure_future(batcher.submit(square, 1))
        while batcher.stats.batches == 0:
            await asyncio.sleep(0.001)
        waiting = asyncio.ensure_future(batcher.submit(square, 2))
        await asyncio.sleep(0.01)
        threading.Timer(0.05, gate.set).start()  # the model finishes only after stop() has begun
        await batcher.stop()
        await asyncio.sleep(0)
        return first, waiting

    first, waiting = run(main())
    assert first.cancelled() and waiting.cancelled()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_batch_size": 0}, "`max_batch_size` must be a positive integer"),
        ({"max_queue": -1}, "`max_queue` must be a positive integer"),
        ({"max_wait_ms": -1}, "`max_wait_ms` must be between 0 and 1000"),
    ],
)
def test_bad_settings(options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        DynamicBatcher(**options)
