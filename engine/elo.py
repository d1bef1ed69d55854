"""Online Elo and its incremental Poisson bootstrap: kernels and their wrappers.

Conventions are LMArena's (FastChat ``compute_elo``): K=4, base 10, scale 400,
initial rating 1000, both kinds of tie score 0.5 for each side.
"""

from __future__ import annotations

import math

import numpy as np

from engine._jit import kernel
from engine.config import EloConfig  # re-exported: engine.elo.EloConfig is the same class
from engine.counter_rng import GOLDEN, mix64, poisson1_weight, vote_key
from engine.outcomes import Outcome


@kernel
def elo_kernel(
    ratings: np.ndarray,
    counts: np.ndarray,
    slot_a: np.ndarray,
    slot_b: np.ndarray,
    outcome: np.ndarray,
    weight: np.ndarray,
    score_a: np.ndarray,
    k: float,
    log_base_over_scale: float,
) -> None:
    """Apply votes in order to ``ratings: float64[M]`` and ``counts: int64[M, 4]``.

    ``weight: float64[N]`` scales each vote's step: K * w * (s - e). A weight of 1 multiplies K by 1.0,
    which is exact, so an unweighted board is bit-identical to one without weights. counts[m] counts
    votes, whatever their weight.

    counts[m] holds (wins, losses, ties, both-bad ties) of competitor m.
    base ** (d / scale) is computed as exp(d * ln(base) / scale) and
    e_b as 1 - e_a: one exp per vote instead of two pows, equal to FastChat's
    formula to ~1e-15 per vote (tests/test_elo.py checks 1e-9 after 1 M votes).
    """
    for i in range(slot_a.shape[0]):
        a = slot_a[i]
        b = slot_b[i]
        o = outcome[i]
        delta = k * weight[i] * (score_a[o] - 1.0 / (1.0 + math.exp((ratings[b] - ratings[a]) * log_base_over_scale)))
        ratings[a] += delta
        ratings[b] -= delta
        if o == Outcome.A_WINS:
            counts[a, 0] += 1
            counts[b, 1] += 1
        elif o == Outcome.B_WINS:
            counts[a, 1] += 1
            counts[b, 0] += 1
        else:  # TIE -> column 2, TIE_BOTH_BAD -> column 3
            counts[a, o - 1] += 1
            counts[b, o - 1] += 1


@kernel
def exp_by_squaring(x: float) -> float:
    """exp(x) = (Taylor_12(x / 256)) ** 256, in plain arithmetic.

    Unlike math.exp (a scalar libm call: the pip llvmlite has no vector math
    library) this vectorises, which makes the replica loop ~1.5x faster.
    Relative error < 1e-13 for |x| <= 64, i.e. rating gaps up to ~11,000
    points at base 10 / scale 400 (tests/test_elo.py). x is clamped to
    [-64, 64] (the Taylor polynomial is only accurate near 0), which moves an
    expected score by less than 1e-27.
    """
    y = min(max(x, -64.0), 64.0) * (1.0 / 256.0)
    p = 1.0 + y * (
        1.0
        + y
        * (
            1 / 2
            + y
            * (
                1 / 6
                + y
                * (
                    1 / 24
                    + y
                    * (
                        1 / 120
                        + y
                        * (
                            1 / 720
                            + y
                            * (
                                1 / 5040
                                + y
                                * (
                                    1 / 40320
                                    + y * (1 / 362880 + y * (1 / 3628800 + y * (1 / 39916800 + y * (1 / 479001600))))
                                )
                            )
                        )
                    )
                )
            )
        )
    )
    for _ in range(8):
        p = p * p
    return p


@kernel
def elo_bootstrap_kernel(
    replicas: np.ndarray,
    slot_a: np.ndarray,
    slot_b: np.ndarray,
    outcome: np.ndarray,
    weight: np.ndarray,
    ordinal: np.ndarray,
    score_a: np.ndarray,
    seed: np.uint64,
    k: float,
    log_base_over_scale: float,
    replica_base: int,
    replica_start: int,
    replica_stop: int,
    delta: np.ndarray,
) -> None:
    """Apply votes to columns ``[replica_start, replica_stop)`` of ``replicas: float64[M, B]``, which
    hold replicas ``replica_base + [0, B)`` of the bootstrap: a board that keeps a slice of the replicas
    (a shard of a distributed replay) draws each column's weights as the whole board draws that replica's.

    Vote i enters replica r with weight w ~ Poisson(1) drawn from
    hash(seed, ordinal[i], r) and moves it by K * w * (s - e): scaling K by w
    vectorises across replicas, applying the vote w times would not (and
    gives the same spread, ANCHORS.md). ``delta: float64[B]`` is scratch:
    computing all deltas first and then adding them lets LLVM vectorise both
    loops, which it does not do for one loop that reads and writes two rows
    of the same array. ``weight: float64[N]``, the votes' own weights, multiplies K
    (K * 1.0 is exact: unweighted replicas are unchanged). Disjoint replica ranges touch disjoint memory, so
    threads may run ranges concurrently (each with its own ``delta``).
    """
    for i in range(slot_a.shape[0]):
        ra = replicas[slot_a[i]]
        rb = replicas[slot_b[i]]
        sa = score_a[outcome[i]]
        kv = k * weight[i]
        key = vote_key(seed, np.uint64(ordinal[i]))
        for r in range(replica_start, replica_stop):
            w = poisson1_weight(mix64(key + np.uint64(replica_base + r + 1) * GOLDEN))
            ea = 1.0 / (1.0 + exp_by_squaring((rb[r] - ra[r]) * log_base_over_scale))
            delta[r] = kv * w * (sa - ea)
        for r in range(replica_start, replica_stop):
            ra[r] += delta[r]
            rb[r] -= delta[r]


def log_base_over_scale(config: EloConfig) -> float:
    return math.log(config.base) / config.scale


__all__ = [
    "EloConfig",
    "elo_bootstrap_kernel",
    "elo_kernel",
    "log_base_over_scale",
]
