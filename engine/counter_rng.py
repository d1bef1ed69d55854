"""Counter-based random numbers for the online bootstrap.

A vote's Poisson(1) weight in replica r is a pure function of
(board seed, the vote's position in its board, r). There is no RNG state to
carry between batches, so the replicas do not depend on how votes were
batched, and replaying the log reproduces them bit for bit.

The hash is SplitMix64 (Steele, Lea & Flood 2014): one multiply-xorshift
finaliser per draw, a few ns, and it passes BigCrush when fed a counter.
"""

from __future__ import annotations

import math

import numpy as np

from engine._jit import kernel

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)

# Poisson(1) by inversion on the raw 64-bit hash: weight = #{k : h >= T[k]}
# with T[k] = P(X <= k) * 2**64. A sum of comparisons has no data-dependent
# branch, so the replica loop stays vectorisable. The weight is capped at
# len(T) = 13; P(X > 13) = 3.2e-12 for Poisson(1), far below anything a
# 1000-replica percentile can see.
POISSON_MAX_WEIGHT = 13


def _poisson1_thresholds(max_weight: int) -> np.ndarray:
    cdf = 0.0
    thresholds = []
    for k in range(max_weight):
        cdf += math.exp(-1.0) / math.factorial(k)
        thresholds.append(min(int(cdf * 2.0**64), 2**64 - 1))
    return np.array(thresholds, dtype=np.uint64)


POISSON1_THRESHOLDS: np.ndarray = _poisson1_thresholds(POISSON_MAX_WEIGHT)


@kernel
def mix64(x: np.uint64) -> np.uint64:
    """SplitMix64's finaliser: a bijection on uint64 with full avalanche."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@kernel
def vote_key(seed: np.uint64, ordinal: np.uint64) -> np.uint64:
    """The per-vote stream key; replica r then draws mix64(key + (r + 1) * GOLDEN)."""
    return mix64(mix64(seed) ^ ordinal)


@kernel
def poisson1_weight(h: np.uint64) -> float:
    # numba freezes the global array into the code, and the trip count is a
    # constant, so LLVM unrolls this into 13 compares and adds.
    w = 0.0
    for j in range(POISSON_MAX_WEIGHT):
        w += 1.0 if h >= POISSON1_THRESHOLDS[j] else 0.0
    return w


@kernel
def poisson1_weights_kernel(seed: np.uint64, ordinals: np.ndarray, n_replicas: int, out: np.ndarray) -> None:
    """out: float64[N, B], the weight of vote i in replica r (for tests and audits)."""
    for i in range(ordinals.shape[0]):
        key = vote_key(seed, np.uint64(ordinals[i]))
        for r in range(n_replicas):
            out[i, r] = poisson1_weight(mix64(key + np.uint64(r + 1) * GOLDEN))


def poisson1_weights(seed: int, ordinals: np.ndarray, n_replicas: int) -> np.ndarray:
    """The bootstrap weights the Elo kernel uses: float64[N, B]."""
    ordinals = np.ascontiguousarray(ordinals, dtype=np.uint64)
    out = np.empty((ordinals.shape[0], n_replicas), dtype=np.float64)
    poisson1_weights_kernel(np.uint64(seed), ordinals, n_replicas, out)
    return out


@kernel
def uniform01(h: np.uint64) -> float:
    """The top 53 bits of a hash as a float in [0, 1)."""
    return float(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@kernel
def poisson(lam: float, key: np.uint64) -> float:
    """A Poisson(lam) draw from the counter stream ``key``: a pure function of (lam, key).

    Inversion for lam < 10; for larger lam, Hörmann's transformed rejection
    (PTRS, 1993), as numpy's generator does, with uniforms
    mix64(key + j * GOLDEN) for j = 1, 2, ...
    """
    if lam <= 0.0:
        return 0.0
    j = np.uint64(1)
    if lam < 10.0:
        u = uniform01(mix64(key + j * GOLDEN))
        p = math.exp(-lam)
        cdf = p
        k = 0.0
        while u > cdf and k < 1000.0:
            k += 1.0
            p *= lam / k
            cdf += p
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform01(mix64(key + j * GOLDEN)) - 0.5
        v = uniform01(mix64(key + (j + np.uint64(1)) * GOLDEN))
        j += np.uint64(2)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -lam + k * loglam - math.lgamma(k + 1.0):
            return k


POISSON_TABLE_LAMBDAS = 10  # integer means 0..9: every count that ``poisson`` draws by inversion
POISSON_TABLE_TERMS = 64  # P(X >= 64) < 1e-30 for a mean below 10; beyond, poisson() decides


@kernel
def poisson_cdf_table() -> np.ndarray:
    """float64[POISSON_TABLE_LAMBDAS, POISSON_TABLE_TERMS]: row lam holds the CDF that ``poisson``'s inversion
    builds for that integer mean, term by term in the same floating-point order, so that a draw from the
    table equals poisson(lam, key) bit for bit. Row 0 is unused (a zero mean draws 0)."""
    table = np.ones((POISSON_TABLE_LAMBDAS, POISSON_TABLE_TERMS))
    for lam_i in range(1, POISSON_TABLE_LAMBDAS):
        lam = float(lam_i)
        p = math.exp(-lam)
        cdf = p
        table[lam_i, 0] = cdf
        for k in range(1, POISSON_TABLE_TERMS):
            p *= lam / float(k)
            cdf += p
            table[lam_i, k] = cdf
    return table


@kernel
def poisson_count(count: int, key: np.uint64, table: np.ndarray) -> float:
    """poisson(float(count), key) for an integer count, by ``table`` (poisson_cdf_table) where it has the row:
    bootstrap rounds draw every cell's counts, mostly small, and the table spares each draw an exp and
    the running products."""
    if count <= 0:
        return 0.0
    if count >= POISSON_TABLE_LAMBDAS:
        return poisson(float(count), key)
    u = uniform01(mix64(key + GOLDEN))
    k = 0
    while u > table[count, k]:
        k += 1
        if k == POISSON_TABLE_TERMS:
            return poisson(float(count), key)
    return float(k)
