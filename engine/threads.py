"""The engine's one thread pool, for kernels split by replica or round range.

Python threads, not numba's parallel=True: the kernels release the GIL, and a
plain pool is safe to call from any number of caller threads (gRPC workers),
which numba's default workqueue threading layer is not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def engine_pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="engine")
        return _pool


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """[0, n) in at most ``parts`` contiguous, near-equal, non-empty ranges."""
    import numpy as np

    parts = max(1, min(parts, n))
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


def run_split(kernel: Callable[..., object], span: tuple[int, int], parts: int, head: tuple, tail: tuple) -> None:
    """Run kernel(*head, lo, hi, *tail) over ``span`` cut in ``parts`` ranges, on the pool when more than one."""
    start, stop = span
    ranges = [(start + lo, start + hi) for lo, hi in split(stop - start, parts)]
    if len(ranges) == 1:
        kernel(*head, *ranges[0], *tail)
        return
    futures = [engine_pool().submit(kernel, *head, lo, hi, *tail) for lo, hi in ranges]
    for future in futures:
        future.result()
