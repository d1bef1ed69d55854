"""Bootstrap rounds as Ray tasks: ``RayRounds`` is an ``engine.fit.RoundRunner``.

A job's rounds (BT, tie-model, clustered BT or style control: the same contract, engine.fit.RoundsJob)
are cut into blocks, a few per CPU, and each block is one task. The job's inputs (the pair cells or the
style rows, and the full fit every round starts from) go to the object store once; a round's weights
come from (seed, round) alone, so a block fits the same rows on any node as it would here.

The kernel travels by name (its module and function), not pickled: each worker imports it and loads
its compiled code from numba's cache, or compiles it once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from engine.fit import RoundsDone, RoundsJob, fit_block
from engine.threads import split
from server.distributed.cluster import Cluster, ray_module
from server.distributed.progress import finished

ray = ray_module()

BLOCKS_PER_CPU = 4  # small blocks: a retried task or a slow node holds back little of the job
MAX_RETRIES = 3


@dataclass(frozen=True)
class KernelName:
    module: str
    name: str

    @classmethod
    def of(cls, kernel: Callable) -> KernelName:
        function = getattr(kernel, "py_func", kernel)  # a numba dispatcher's Python function
        named = cls(function.__module__, function.__name__)
        if named.resolve() is not kernel:
            raise ValueError(f"{named.module}.{named.name} is not importable by that name")
        return named

    def resolve(self) -> Callable:
        return getattr(importlib.import_module(self.module), self.name)


def _writable(head: tuple) -> tuple:
    """The job's inputs as writable arrays: the object store's are read-only, and numba compiles a
    kernel anew for read-only arrays."""
    return tuple(np.array(x) if isinstance(x, np.ndarray) else x for x in head)


@ray.remote(num_cpus=1, max_retries=MAX_RETRIES)
def _block_task(kernel: KernelName, head: tuple, job: RoundsJob, start: int, stop: int) -> RoundsDone:
    return fit_block(replace(job, kernel=kernel.resolve(), head=_writable(head)), start, stop)


@dataclass(frozen=True)
class RayRounds:
    """Fits bootstrap rounds on ``cluster``, ``BLOCKS_PER_CPU`` blocks a CPU."""

    cluster: Cluster

    def run(self, job: RoundsJob, progress: Callable[[int], object] | None) -> RoundsDone:
        """``job``'s rounds, calling ``progress(n)`` as each block of n rounds comes back."""
        kernel = KernelName.of(job.kernel)
        head = ray.put(job.head)  # once: every block's task reads it from its node's store
        rest = replace(job, kernel=_by_name, head=())
        blocks = split(job.rounds, self.cluster.tasks(BLOCKS_PER_CPU))
        refs = [_block_task.remote(kernel, head, rest, lo, hi) for lo, hi in blocks]
        done = finished(refs, lambda i: progress(blocks[i][1] - blocks[i][0]) if progress else None)
        return RoundsDone(np.concatenate([d.params for d in done]), np.concatenate([d.iterations for d in done]))


def _by_name(*args) -> None:
    """The kernel's place in a shipped job: the task resolves the kernel by name."""
    raise RuntimeError("a shipped job's kernel is resolved by its KernelName")
