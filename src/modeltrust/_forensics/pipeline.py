"""Measure tensor pairs with the storage and the CPU busy at the same time.

A reader thread maps the next pairs and reads their pages in (up to :data:`READ_AHEAD`
bytes ahead) while worker threads measure earlier pairs; numpy releases the GIL in both.
Callers hold BLAS to one thread (:mod:`blas`): parallelism comes from the workers, one
pair each.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor

from modeltrust._forensics.delta import TensorDelta, compare
from modeltrust._forensics.tensors import BYTES_PER, ByteArray, TensorRef, touch

Pair = tuple[TensorRef, TensorRef]
Raws = tuple[ByteArray, ByteArray]
Progress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, tensor_name)`` after each tensor pair."""

READ_AHEAD = 64 * 1024 * 1024
"""Bytes of tensor pairs read ahead of the pairs being measured (at least one pair)."""
MAX_WORKERS = 4
"""Pairs measured at once, at most (one per CPU below that)."""
PARALLEL_BYTES = 256 * 1024 * 1024
"""Pairs are measured side by side only while their stored bytes together fit in this; a
larger pair is measured alone, so memory stays one pair and its delta however big the
model's tensors are (a 70B model's embedding is 2 GB a side)."""


def measure(pairs: list[Pair], svd: bool, progress: Progress | None = None,
            workers: int | None = None) -> list[TensorDelta]:
    """Measure every pair; the result is in the order of ``pairs``."""
    workers = workers or max(1, min(MAX_WORKERS, os.cpu_count() or 1))
    deltas: list[TensorDelta] = []
    running: deque[tuple[Future[TensorDelta], int]] = deque()

    def collect() -> None:
        deltas.append(running.popleft()[0].result())
        if progress is not None:
            progress(len(deltas), len(pairs), pairs[len(deltas) - 1][0].name)

    pool = ThreadPoolExecutor(workers, thread_name_prefix="modeltrust-measure")
    with contextlib.closing(read_ahead(pairs)) as reads, pool:
        for (a, b), raws in reads:
            size = _nbytes((a, b))
            while running and (len(running) >= workers
                               or sum(n for _, n in running) + size > PARALLEL_BYTES):
                collect()
            running.append((pool.submit(compare, a, b, svd, raws), size))
            del raws  # the task holds the pair's bytes; they are unmapped when it ends
        while running:
            collect()
    return deltas


def read_ahead(pairs: list[Pair]) -> Generator[tuple[Pair, Raws], None, None]:
    """Yield each pair with its stored bytes, read by a thread ahead of the consumer.

    Nothing here keeps a yielded pair's bytes referenced, so they are unmapped as soon as
    the consumer drops them.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modeltrust-read")
    queue: deque[tuple[Future[Raws], int]] = deque()
    ahead = nxt = 0
    try:
        for pair in pairs:
            while nxt < len(pairs) and (not queue or ahead + _nbytes(pairs[nxt]) <= READ_AHEAD):
                queue.append((pool.submit(_read, pairs[nxt]), _nbytes(pairs[nxt])))
                ahead += queue[-1][1]
                nxt += 1
            ahead -= queue[0][1]
            yield pair, queue.popleft()[0].result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read(pair: Pair) -> Raws:
    """Map both tensors of a pair and read their pages in (runs in the reader thread)."""
    ra, rb = pair[0].raw(), pair[1].raw()
    touch(ra)
    touch(rb)
    return ra, rb


def _nbytes(pair: Pair) -> int:
    return sum(t.size * BYTES_PER.get(t.dtype, 1) for t in pair)
