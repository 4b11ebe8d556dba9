"""Process-wide settings of the Python runtime for long-running shiptrack processes.

Measured under load (BENCHMARKS.md): with CPython's default collector settings a server or
worker process ran a full collection about every 0.4 s, each walking the ~150,000 objects that
startup leaves behind (FastAPI, pydantic, SQLAlchemy, the mapping tables) for 75-100 ms. Every
request under way waited for it: start-tracking's p99 was ~100 ms where its p50 was ~20 ms.
Freezing what exists once startup is done takes those objects out of every later collection, and a
larger young generation collects short-lived request objects less often, before they are promoted.
"""

from __future__ import annotations

import gc

#: Allocations between two young-generation collections (CPython's default is 700).
YOUNG_GENERATION_THRESHOLD = 10_000


def settle_heap() -> None:
    """Call once startup is complete: collect what startup left over, exclude the survivors from
    future collections, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
