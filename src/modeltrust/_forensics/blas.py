"""Hold BLAS to one thread while a comparison runs.

The randomized SVD multiplies each delta by a 24-column sketch. More BLAS threads hardly
speed that up, and on a busy machine BLAS threads waiting for each other cost more than
they save: measured 4-7x slower with two BLAS threads on two busy cores. The comparison
uses its own worker threads (one tensor pair each) instead. The limit is process-wide
while it holds (as BLAS's own setting is) and is restored afterwards.

``threadpoolctl`` (in the ``forensics`` extra) knows every BLAS numpy may be built with;
without it the limit is simply not applied.
"""

from __future__ import annotations

import contextlib


def blas_threads(n: int) -> contextlib.AbstractContextManager[object]:
    """Limit BLAS to ``n`` threads inside the block (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import (  # type: ignore[import-untyped,unused-ignore]
            threadpool_limits,
        )
    except ImportError:
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[object] = threadpool_limits(n, user_api="blas")
    return limits
