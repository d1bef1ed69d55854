"""Which pair to show next: sampling weights over pairs from a BT fit and its covariance.

A vote on pair (i, j) adds Fisher information w v v^T to the fit, v = e_i - e_j, w = p (1 - p) at the
fitted p = P(i beats j). With Cov the inverse Fisher information (centred), the rank-one update of
``votes`` votes, s = votes w / (1 + votes w v^T Cov v), is

    Cov' = Cov - s (Cov v)(Cov v)^T,

so both what a vote would teach and what it leaves uncertain are closed forms (Sherman–Morrison). The
weights are a plan for the next ``horizon`` votes: a greedy design spends them a slice at a time on the
pair with the largest expected gain, updating Cov after each slice, so a pair's gain falls as it gets
votes (two slices on one pair are worth less than one on each of two independent pairs).

Objectives:
  ci_width   gain: the fall of trace(Cov), the summed variances (hence CI widths) of every competitor:
             votes w (v^T Cov^2 v) / (1 + votes w v^T Cov v). O(M^2) a slice (Cov and Cov^2 both updated).
  top_k      gain: the fall of the probability that the top k are misordered, summed over the adjacent
             pairs of the top k + 1 and the k-th against each contender (a competitor outside the top k
             whose CI overlaps the k-th's); Phi(-|d| / sd(d)) per pair, a normal approximation. Votes go
             to adjacent or CI-overlapping pairs among the top k and the contenders. O(S^3) a slice,
             S = k + contenders.
  placement  one competitor's first votes: opponents ranked by the fall of its variance,
             w (Cov_xx - Cov_xj)^2 / (1 + w v^T Cov v), largest near its estimate with a narrow CI.
             A competitor without votes is placed at the board's mean with the spread of the board as
             its variance. O(M).

Kernels are bare loops writing into arrays; the wrappers below validate and lay the arrays out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine._jit import kernel
from engine.bt import Z_95, BTConfig, effective_wins, prior_weights
from engine.cells import CellTable

OBJECTIVES = ("top_k", "ci_width", "placement")
DEFAULT_HORIZON = 1000  # votes the weights plan for (the next query's distance)
SLICES_PER_PAIR = 2  # greedy slices per requested pair: finer slices spread a horizon better, cost linearly
MAX_COMPETITORS = 4000  # a dense M x M covariance, as engine.bt.sandwich_covariance


# ------------------------------------------------------------------ kernels


@kernel
def fisher_kernel(cell_lo, cell_hi, n, theta, prior_diag, out) -> None:
    """out: float64[M, M] = sum_c n_c p_c (1 - p_c) (e_lo - e_hi)(e_lo - e_hi)^T + diag(prior_diag)."""
    m = theta.shape[0]
    for i in range(m):
        for j in range(m):
            out[i, j] = 0.0
        out[i, i] = prior_diag[i]
    for c in range(cell_lo.shape[0]):
        i = cell_lo[c]
        j = cell_hi[c]
        p = 1.0 / (1.0 + math.exp(theta[j] - theta[i]))
        h = n[c] * p * (1.0 - p)
        out[i, i] += h
        out[j, j] += h
        out[i, j] -= h
        out[j, i] -= h


@kernel
def _normal_tail(x: float) -> float:
    """Phi(-x): the probability a normal difference x standard deviations from 0 falls on the other side."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


@kernel
def _record(a, b, chosen, n_chosen, out_a, out_b, out_votes, votes) -> int:
    """Add ``votes`` to pair (a, b) of the plan; returns the distinct pairs now in it."""
    for t in range(n_chosen):
        if out_a[t] == a and out_b[t] == b:
            out_votes[t] += votes
            return n_chosen
    out_a[n_chosen] = a
    out_b[n_chosen] = b
    out_votes[n_chosen] = votes
    chosen[a, b] = True
    return n_chosen + 1


@kernel
def ci_width_kernel(cov, cov_sq, info, slices, votes, out_a, out_b, out_votes) -> int:
    """Greedy plan minimising trace(Cov): ``slices`` slices of ``votes`` votes, at most out_a.shape[0] pairs.

    cov, cov_sq: float64[M, M], Cov and Cov^2 (updated in place); info: float64[M, M], p (1 - p) of each
    pair at the fit. Writes the pairs (a < b) and their votes; returns how many pairs.
    """
    m = cov.shape[0]
    max_pairs = out_a.shape[0]
    chosen = np.zeros((m, m), dtype=np.bool_)
    u = np.empty(m)
    cu = np.empty(m)
    d1 = np.empty(m)
    d2 = np.empty(m)
    n_chosen = 0
    for _ in range(slices):
        for i in range(m):
            d1[i] = cov[i, i]
            d2[i] = cov_sq[i, i]
        best, best_a, best_b, best_w, best_q = -1.0, -1, -1, 0.0, 0.0
        for a in range(m):
            for b in range(a + 1, m):
                if n_chosen == max_pairs and not chosen[a, b]:
                    continue
                w = votes * info[a, b]
                q = d1[a] + d1[b] - 2.0 * cov[a, b]
                gain = w * (d2[a] + d2[b] - 2.0 * cov_sq[a, b]) / (1.0 + w * q)
                if gain > best:
                    best, best_a, best_b, best_w, best_q = gain, a, b, w, q
        if best_a < 0:
            break
        n_chosen = _record(best_a, best_b, chosen, n_chosen, out_a, out_b, out_votes, votes)
        s = best_w / (1.0 + best_w * best_q)
        uu = 0.0
        for i in range(m):
            u[i] = cov[i, best_a] - cov[i, best_b]  # Cov v
            cu[i] = cov_sq[i, best_a] - cov_sq[i, best_b]  # Cov^2 v = Cov u
            uu += u[i] * u[i]
        # (Cov - s u u^T)^2 = Cov^2 - s (Cov u u^T + u u^T Cov) + s^2 |u|^2 u u^T; both stay symmetric.
        for i in range(m):
            for j in range(i, m):
                c1 = cov[i, j] - s * u[i] * u[j]
                c2 = cov_sq[i, j] - s * (cu[i] * u[j] + u[i] * cu[j]) + s * s * uu * u[i] * u[j]
                cov[i, j] = c1
                cov[j, i] = c1
                cov_sq[i, j] = c2
                cov_sq[j, i] = c2
    return n_chosen


@kernel
def top_k_kernel(cov, theta, cand_a, cand_b, target_a, target_b, slices, votes, out_a, out_b, out_votes) -> int:
    """Greedy plan minimising the summed misorder probabilities of the target pairs.

    On the S competitors of the top k and its contenders: cov float64[S, S] (updated in place), theta
    float64[S]; candidate vote pairs (cand_a, cand_b) and target pairs (target_a, target_b) index them.
    Writes the chosen candidate pairs and their votes; returns how many pairs.
    """
    s_count = theta.shape[0]
    max_pairs = out_a.shape[0]
    chosen = np.zeros((s_count, s_count), dtype=np.bool_)
    u = np.empty(s_count)
    n_targets = target_a.shape[0]
    var = np.empty(n_targets)
    before = np.empty(n_targets)
    n_chosen = 0
    for _ in range(slices):
        for t in range(n_targets):
            x = target_a[t]
            y = target_b[t]
            var[t] = max(cov[x, x] + cov[y, y] - 2.0 * cov[x, y], 1e-300)
            before[t] = _normal_tail(abs(theta[x] - theta[y]) / math.sqrt(var[t]))
        best, best_a, best_b, best_w, best_q = -1.0, -1, -1, 0.0, 0.0
        for c in range(cand_a.shape[0]):
            a = cand_a[c]
            b = cand_b[c]
            if n_chosen == max_pairs and not chosen[a, b]:
                continue
            p = 1.0 / (1.0 + math.exp(theta[b] - theta[a]))
            w = votes * p * (1.0 - p)
            q = cov[a, a] + cov[b, b] - 2.0 * cov[a, b]
            s = w / (1.0 + w * q)
            gain = 0.0
            for t in range(n_targets):
                x = target_a[t]
                y = target_b[t]
                shared = (cov[x, a] - cov[x, b]) - (cov[y, a] - cov[y, b])
                if shared != 0.0:
                    after = max(var[t] - s * shared * shared, 1e-300)
                    gain += before[t] - _normal_tail(abs(theta[x] - theta[y]) / math.sqrt(after))
            if gain > best:
                best, best_a, best_b, best_w, best_q = gain, a, b, w, q
        if best_a < 0:
            break
        n_chosen = _record(best_a, best_b, chosen, n_chosen, out_a, out_b, out_votes, votes)
        s = best_w / (1.0 + best_w * best_q)
        for i in range(s_count):
            u[i] = cov[i, best_a] - cov[i, best_b]
        for i in range(s_count):
            for j in range(s_count):
                cov[i, j] -= s * u[i] * u[j]
    return n_chosen


# ----------------------------------------------------------------- wrappers


def fisher_information(
    table: CellTable, config: BTConfig, theta: NDArray[np.float64], prior: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """The BT fit's observed = expected Fisher information at ``theta``: float64[M, M], from the pair cells'
    counts (as the fit weighs them) and the fit's per-competitor prior (``prior``: bt.prior_weights' answer,
    when the caller has it)."""
    m = table.n_competitors
    if m > MAX_COMPETITORS:
        raise ValueError(f"pair suggestions need a dense {m} x {m} covariance; refused above {MAX_COMPETITORS}")
    w_lo, w_hi = effective_wins(table, config)
    sigma = 1.0 / (1.0 + np.exp(-theta))
    prior = prior_weights(table, config) if prior is None else prior
    prior_diag = prior * sigma * (1 - sigma)
    out = np.empty((m, m))
    fisher_kernel(table.cell_lo, table.cell_hi, w_lo + w_hi, np.ascontiguousarray(theta, np.float64), prior_diag, out)
    return out


def covariance(table: CellTable, config: BTConfig, theta: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse Fisher information of the centred parameters theta - mean(theta): float64[M, M].

    A component without a prior leaves the information singular along its constant vector (its level is
    fixed by centring); its pseudo-inverse is taken there as in engine.bt.sandwich_covariance. Centring
    keeps the rank-one updates exact: a vote's v = e_i - e_j is orthogonal to the constant vector.
    """
    m = table.n_competitors
    if m == 0:
        return np.zeros((0, 0))
    prior = prior_weights(table, config)  # one pass over the comparison graph (its adjacency sort is O(C log C))
    info = fisher_information(table, config, theta, prior)
    free = prior == 0
    component = table.components()[free]
    null = np.zeros((m, int(component.max()) + 1 if component.size else 0))
    null[np.flatnonzero(free), component] = 1.0
    null /= np.sqrt(np.maximum(null.sum(axis=0), 1.0))
    c = float(np.mean(np.diag(info))) or 1.0
    inverse = np.linalg.inv(info + c * null @ null.T) - null @ null.T / c
    inverse -= inverse.mean(axis=0)
    inverse -= inverse.mean(axis=1, keepdims=True)
    return (inverse + inverse.T) / 2


@dataclass(frozen=True)
class Basis:
    """What the plans read of a fit, computed once per fit (the service keeps it until the view moves)."""

    theta: NDArray[np.float64]  # [M], centred
    cov: NDArray[np.float64]  # [M, M], covariance() at theta
    cov_sq: NDArray[np.float64]  # [M, M], cov @ cov
    info: NDArray[np.float64]  # [M, M], p (1 - p) of each pair at theta: a vote's Fisher information

    @classmethod
    def of(cls, theta: NDArray[np.float64], cov: NDArray[np.float64]) -> Basis:
        theta = np.ascontiguousarray(theta, np.float64)
        cov = np.ascontiguousarray(cov, np.float64)
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # [a, b]: P(a beats b)
        return cls(theta, cov, cov @ cov, p * (1 - p))


@dataclass(frozen=True)
class Plan:
    """Suggested pairs (slots; a before b) with sampling weights summing to 1, best first."""

    slot_a: NDArray[np.int64]
    slot_b: NDArray[np.int64]
    weight: NDArray[np.float64]


def _plan(a: NDArray[np.int64], b: NDArray[np.int64], votes: NDArray[np.float64]) -> Plan:
    order = np.argsort(-votes, kind="stable")
    total = votes.sum()
    weight = votes[order] / total if total > 0 else np.full(len(order), 1.0 / max(len(order), 1))
    return Plan(a[order].astype(np.int64), b[order].astype(np.int64), weight)


def _slices(n: int, horizon: int) -> tuple[int, float]:
    slices = SLICES_PER_PAIR * n
    return slices, horizon / slices


def ci_width_plan(basis: Basis, n: int, horizon: int = DEFAULT_HORIZON) -> Plan:
    """At most ``n`` pairs planning ``horizon`` votes to shrink the summed variances most (module doc)."""
    m = basis.theta.shape[0]
    n = min(n, m * (m - 1) // 2)
    if n < 1:
        return _plan(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    slices, votes = _slices(n, horizon)
    out_a, out_b, out_votes = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n)
    k = ci_width_kernel(basis.cov.copy(), basis.cov_sq.copy(), basis.info, slices, votes, out_a, out_b, out_votes)
    return _plan(out_a[:k], out_b[:k], out_votes[:k])


def contenders(theta: NDArray[np.float64], cov: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    """Slots of the top k by theta, best first, then the competitors whose 95% CI overlaps the k-th's, the
    likeliest to be above it first (at most k + max(k, 10) in all)."""
    order = np.argsort(-theta, kind="stable")
    k = min(k, len(order))
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    kth = order[k - 1]
    rest = order[k:]
    rest = rest[theta[rest] + Z_95 * sd[rest] >= theta[kth] - Z_95 * sd[kth]]
    # z of "above the k-th" (a normal approximation, the pair's covariance ignored): the likeliest first
    z = (theta[rest] - theta[kth]) / np.sqrt(np.maximum(sd[rest] ** 2 + sd[kth] ** 2, 1e-300))
    rest = rest[np.argsort(-z, kind="stable")][: max(k, 10)]
    return np.concatenate([order[:k], rest[np.argsort(-theta[rest], kind="stable")]]).astype(np.int64)


def top_k_plan(basis: Basis, n: int, k: int, horizon: int = DEFAULT_HORIZON) -> Plan:
    """At most ``n`` pairs planning ``horizon`` votes to settle the order of the top ``k`` (module doc)."""
    theta, cov = basis.theta, basis.cov
    slots = contenders(theta, cov, k)
    s_count = len(slots)
    k = min(k, s_count)
    sub_theta = np.ascontiguousarray(theta[slots], np.float64)
    sub_cov = np.array(cov[np.ix_(slots, slots)], dtype=np.float64, order="C")
    sd = np.sqrt(np.maximum(np.diag(sub_cov), 0.0))
    a, b = np.triu_indices(s_count, 1)
    overlap = np.abs(sub_theta[a] - sub_theta[b]) <= Z_95 * (sd[a] + sd[b])
    keep = (b == a + 1) | overlap
    cand_a, cand_b = a[keep].astype(np.int64), b[keep].astype(np.int64)
    # Order of the top k: each adjacent pair among the top k + 1, and the k-th against every contender.
    target_a = np.concatenate([np.arange(min(k, s_count - 1)), np.full(max(s_count - k - 1, 0), k - 1)])
    target_b = np.concatenate([np.arange(1, min(k, s_count - 1) + 1), np.arange(k + 1, s_count)])
    n = min(n, len(cand_a))
    if n < 1:
        return _plan(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    slices, votes = _slices(n, horizon)
    out_a, out_b, out_votes = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n)
    count = top_k_kernel(
        sub_cov, sub_theta, cand_a, cand_b, target_a.astype(np.int64), target_b.astype(np.int64), slices, votes,
        out_a, out_b, out_votes,
    )  # fmt: skip
    return _plan(slots[out_a[:count]], slots[out_b[:count]], out_votes[:count])


def placement_plan(basis: Basis, n: int, slot: int | None) -> tuple[Plan, float]:
    """At most ``n`` opponents for competitor ``slot`` (None: one without votes, placed at the board's mean
    with the board's spread as its variance), weighted by the fall of its variance (module doc). Also the
    estimate it was placed at (theta)."""
    theta, cov = basis.theta, basis.cov
    m = theta.shape[0]
    if slot is None:
        mean = float(theta.mean()) if m else 0.0
        var_x = float(theta.var() + np.mean(np.diag(cov))) if m else 1.0
        var_x = max(var_x, 1.0)
        p = 1.0 / (1.0 + np.exp(theta - mean))
        w = p * (1 - p)
        gain = w * var_x**2 / (1 + w * (var_x + np.diag(cov)))
        opponents = np.arange(m)
        x, estimate = -1, mean
    else:
        opponents = np.delete(np.arange(m), slot)
        p = 1.0 / (1.0 + np.exp(theta[opponents] - theta[slot]))
        w = p * (1 - p)
        shared = cov[slot, slot] - cov[slot, opponents]
        q = cov[slot, slot] + np.diag(cov)[opponents] - 2 * cov[slot, opponents]
        gain = w * shared**2 / (1 + w * q)
        x, estimate = slot, float(theta[slot])
    best = np.argsort(-gain, kind="stable")[:n]
    chosen = opponents[best].astype(np.int64)
    return _plan(np.full(len(chosen), x, np.int64), chosen, np.maximum(gain[best], 1e-300)), estimate
