"""The fit driver shared by the Bradley–Terry fit (engine.bt) and the style-controlled one (engine.style).

Each model has its own compiled iteration (BT: Newman, MM or Newton-CG steps over pair cells; style:
dense Newton over votes). What they share lives here:

- the kernel contract: a fit kernel improves its parameters in place and returns the iterations it
  used, or ``NOT_CONVERGED`` (max_iter passed first) or ``SINGULAR`` (a Newton system was not
  positive definite); a bootstrap kernel fits rounds [start, stop) and records each round's code;
- the sufficient-decrease (Armijo) test of both Newton line searches;
- ``run_fit`` and ``run_rounds``, which call the kernels (rounds split over threads) and turn a
  failure into the one ``ConvergenceError``. The service reports that as FAILED_PRECONDITION: the
  fit did not converge for this board's data with the server's settings, which retrying won't change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from engine._jit import kernel
from engine.errors import ConvergenceError as ConvergenceError  # re-exported
from engine.threads import run_split

NOT_CONVERGED = -1  # a fit kernel's return: max_iter iterations passed before the tolerance was met
SINGULAR = -2  # a fit kernel's return: a Newton step met a Hessian that is not positive definite
ARMIJO = 1e-4  # the sufficient-decrease constant of the backtracking line searches


@kernel
def sufficient_decrease(before: float, after: float, step: float, rate: float) -> bool:
    """Armijo: does a step of length ``step`` along a direction, whose objective falls at ``rate``
    (minus the directional derivative, > 0 for a descent direction), lower it from ``before`` to
    ``after`` by at least ARMIJO of that rate?"""
    return after <= before - ARMIJO * step * rate


def run_fit(fit_kernel: Callable[..., int], args: tuple, what: str, tol: float, max_iter: int, hint: str = "") -> int:
    """``fit_kernel(*args)``; its iterations, or ConvergenceError naming ``what`` and the ``hint``."""
    iterations = int(fit_kernel(*args))
    if iterations >= 0:
        return iterations
    why = "met a singular Hessian" if iterations == SINGULAR else f"did not converge to {tol:g}"
    raise ConvergenceError(f"{what} {why} in {max_iter} iterations{'; ' + hint if hint else ''}")


@dataclass(frozen=True)
class RoundsJob:
    """Bootstrap rounds to fit: ``kernel(*head, start, stop, tol, max_iter, out, out_iterations)`` fits
    rounds [start, stop) of ``rounds`` into rows of ``out: float64[rounds, n_params]``. Each round draws its
    weights from (seed, round) alone, so any block of rounds can be fitted anywhere and gives the same rows."""

    kernel: Callable[..., None]
    head: tuple
    rounds: int
    n_params: int
    tol: float
    max_iter: int


@dataclass(frozen=True)
class RoundsDone:
    params: NDArray[np.float64]  # [rows, n_params]
    iterations: NDArray[np.int64]  # [rows]; < 0: the round did not converge (NOT_CONVERGED, SINGULAR)


def fit_block(job: RoundsJob, start: int, stop: int) -> RoundsDone:
    """Rounds [start, stop) of ``job`` on this thread: rows start..stop-1 of the job's output."""
    out = np.empty((stop, job.n_params))  # rows below start are never written (np.empty touches no page)
    iterations = np.empty(stop, dtype=np.int64)
    job.kernel(*job.head, start, stop, job.tol, job.max_iter, out, iterations)
    return RoundsDone(out[start:], iterations[start:])


class RoundRunner(Protocol):
    """Somewhere else to fit a job's rounds (server.distributed runs them as Ray tasks)."""

    def run(self, job: RoundsJob, progress: Callable[[int], object] | None) -> RoundsDone: ...


def run_rounds(
    bootstrap_kernel: Callable[..., None],
    head: tuple,
    rounds: int,
    n_params: int,
    tol: float,
    max_iter: int,
    threads: int = 1,
    progress: Callable[[int], object] | None = None,
    what: str = "fit",
    runner: RoundRunner | None = None,
) -> NDArray[np.float64]:
    """The parameters of each bootstrap round, float64[rounds, n_params].

    Calls ``bootstrap_kernel(*head, start, stop, tol, max_iter, out, out_iterations)`` over the
    rounds, split across ``threads``, or hands them to ``runner``; ``progress(n)``, if given, is called
    as each block of n rounds finishes. Raises ConvergenceError if any round did not converge.
    """
    if rounds < 1:
        raise ValueError(f"bootstrap needs at least one round, got {rounds}")
    if runner is not None:
        done = runner.run(RoundsJob(bootstrap_kernel, head, rounds, n_params, tol, max_iter), progress)
        out, iterations = done.params, done.iterations
    else:
        out = np.empty((rounds, n_params))
        iterations = np.empty(rounds, dtype=np.int64)
        block = rounds if progress is None else max(16 * threads, 64)
        for start in range(0, rounds, block):
            stop = min(start + block, rounds)
            run_split(bootstrap_kernel, (start, stop), threads, head, (tol, max_iter, out, iterations))
            if progress is not None:
                progress(stop - start)
    failed = int((iterations < 0).sum())
    if failed:
        raise ConvergenceError(
            f"{what}: {failed} of {rounds} bootstrap rounds did not converge to {tol:g} in {max_iter} iterations"
        )
    return out
