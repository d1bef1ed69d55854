"""The driver's progress bars, fed from the tasks.

Each task reports how far it has come (votes applied, rounds fitted) to one small actor, as a total
per task: a task that Ray runs again after its worker died reports from zero again, and the bar does
not count its first try twice. The driver polls the actor while it waits for the tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tqdm import tqdm

from server.distributed.cluster import ray_module

ray = ray_module()

POLL_SECONDS = 0.25


class Tally:
    """How far each task has come."""

    def __init__(self) -> None:
        self.done: dict[int, int] = {}

    def report(self, task: int, done: int) -> None:
        self.done[task] = done

    def total(self) -> int:
        return sum(self.done.values())


class Reporter:
    """A task's handle on the tally (None: nobody is watching, and reports cost nothing)."""

    def __init__(self, tally: Any, task: int) -> None:
        self.tally = tally
        self.task = task

    def __call__(self, done: int) -> None:
        if self.tally is not None:
            self.tally.report.remote(self.task, done)


def gather(refs: Sequence[Any], bar: tqdm, tally: Any) -> list:
    """The tasks' results in the order of ``refs``, with ``bar`` kept at the tally's total as they run."""
    pending = list(refs)
    while pending:
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_SECONDS)
        if tally is not None:
            bar.update(ray.get(tally.total.remote()) - bar.n)
    results = ray.get(list(refs))
    bar.update(bar.total - bar.n if bar.total is not None else 0)
    return results


def finished(refs: Sequence[Any], on_done: Callable[[int], object]) -> list:
    """The tasks' results in the order of ``refs``, calling ``on_done(i)`` as task i finishes."""
    index = {ref: i for i, ref in enumerate(refs)}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            on_done(index[ref])
    return ray.get(list(refs))


_TallyActor: Any = ray.remote(num_cpus=0)(Tally)


def new_tally(shown: bool) -> Any:
    """A tally actor for a job whose bar is ``shown`` (None when it is not)."""
    return _TallyActor.remote() if shown else None
