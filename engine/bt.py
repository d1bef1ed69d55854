"""Bradley–Terry maximum likelihood from pair cells: kernels, fit driver, CIs.

Model: P(a beats b) = sigmoid(theta_a - theta_b). A tie counts as half a
win for each side (LMArena); a both-bad tie too by default, or is dropped.

Prior: by default (BTConfig.prior None) none where the maximum-likelihood
estimate exists, i.e. in every connected component whose "beat or tied"
graph is strongly connected (auto_prior_kernel); every competitor of a
component where it does not (an undefeated or winless group, a competitor
without votes) plays AUTO_PRIOR virtual games against a virtual competitor
fixed at theta = 0, half won and half lost: one virtual tie against the mean.
That keeps it finite (an undefeated competitor with n wins lands near
theta = ln(2 n / prior) above its opponents), and BTFit.regularized says so
per competitor. A number for BTConfig.prior gives every competitor that many
(it pulls theta toward 0 by about a fraction prior / g, g its games).
Prior-free components are centred at mean 0: their level is not identified.
Components are reported so that ratings of disconnected groups are not
compared with each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine._jit import kernel
from engine.cells import CellTable
from engine.clusters import ClusterTable
from engine.config import BOTH_BAD, CI_METHODS, STEPS, BTConfig  # BTConfig, CI_METHODS: re-exported
from engine.counter_rng import mix64, poisson, poisson1_weight, poisson_cdf_table, poisson_count
from engine.fit import NOT_CONVERGED, RoundRunner, run_fit, run_rounds, sufficient_decrease
from engine.fit import ConvergenceError as ConvergenceError  # re-exported: the one fit error
from engine.outcomes import TIE_SCORE
from engine.scale import RatingScale
from engine.scale import win_probability as rating_win_probability
from engine.standings import CI_PERCENTILES, Standings
from engine.tree_precond import spanning_forest_kernel, tree_factor, tree_solve

NEWMAN, MM, NEWTON, AUTO = STEPS["newman"], STEPS["mm"], STEPS["newton"], STEPS["auto"]
# "auto": Newman's iteration, the fastest on arena boards (~10 iterations of
# one pass over the cells: 0.4 ms for 100 models), and Newton-CG from where
# it got if it has not converged after AUTO_SWITCH iterations. Newman stalls
# on sparse graphs with weakly linked groups: 7,165 iterations on the
# international football data and no convergence in 200 k on the WTA tennis
# data, where Newton-CG needs 16 and 23.
AUTO_SWITCH = 100
AUTO_PRIOR = 1.0  # virtual ties per competitor of a component without an MLE (BTConfig.prior None)
MAX_NEWTON_STEP = 2.0  # in theta, ~350 rating points
ROUNDING = 1e-12  # relative rounding error allowed in a summed objective (tree_newton_fit's line search)
SANDWICH_MAX_COMPETITORS = 4000
_BT_STREAM = np.uint64(0x42542D626F6F7473)  # keeps BT draws apart from the Elo bootstrap's
_CLUSTER_STREAM = np.uint64(0x636C757374657273)  # a round's cluster weights apart from its cell draws
_NO_CLUSTERS = (
    np.zeros(0, np.uint64),
    np.zeros(1, np.int64),
    np.zeros(0, np.int64),
    np.zeros((0, 4)),
    np.zeros((0, 4)),
)


@dataclass(frozen=True)
class BTFit:
    theta: NDArray[np.float64]  # [M], slot order, on the prior's scale (not centred)
    iterations: int
    log_likelihood: float  # of the data (weighted if reweighting), without the prior
    prior_weight: NDArray[np.float64]  # [M] virtual ties each competitor played (0: the plain MLE's row)

    @property
    def regularized(self) -> NDArray[np.bool_]:
        """[M]: the prior moved this competitor's theta (no plain MLE for its component, or an explicit prior)."""
        return self.prior_weight > 0


# ------------------------------------------------------------------ kernels


@kernel
def effective_wins_kernel(
    counts: np.ndarray, both_bad_weight: float, reweight: bool, w_lo: np.ndarray, w_hi: np.ndarray
) -> None:
    """Per cell, the (fractional) wins of lo and hi that the likelihood sees."""
    for c in range(counts.shape[0]):
        tied = TIE_SCORE * counts[c, 2] + both_bad_weight * counts[c, 3]
        wl = counts[c, 0] + tied
        wh = counts[c, 1] + tied
        if reweight:
            r = 1.0 / max(wl + wh, 50.0)
            wl *= r
            wh *= r
        w_lo[c] = wl
        w_hi[c] = wh


@kernel
def cg_advance(p, hp, rz, direction, r, n: int) -> bool:
    """One preconditioned conjugate-gradient move along ``p`` (``hp`` = H p), shared by every Newton-CG
    solver here and in engine.ties: ``direction`` += alpha p, ``r`` -= alpha H p, alpha = r.z / p.H.p.
    False, moving nothing, when H is not positive along ``p``."""
    php = 0.0
    for i in range(n):
        php += p[i] * hp[i]
    if not php > 0.0:
        return False
    alpha = rz / php
    for i in range(n):
        direction[i] += alpha * p[i]
        r[i] -= alpha * hp[i]
    return True


@kernel
def cg_turn(r, z, p, rz, n: int) -> float:
    """The next search direction from the preconditioned residual ``z``; returns the new r.z."""
    rz_new = 0.0
    for i in range(n):
        rz_new += r[i] * z[i]
    beta = rz_new / rz
    for i in range(n):
        p[i] = z[i] + beta * p[i]
    return rz_new


@kernel
def newman_step(cell_lo, cell_hi, w_lo, w_hi, half_prior, theta, theta_new, scratch) -> None:
    """pi_i <- sum_j w_ij pi_j / (pi_i + pi_j)  /  sum_j w_ji / (pi_i + pi_j)   (Newman 2023, eq. 7)."""
    pi, num, den = scratch[0], scratch[1], scratch[2]
    for i in range(theta.shape[0]):
        pi[i] = math.exp(theta[i])
        virtual = half_prior[i] / (pi[i] + 1.0)
        num[i] = virtual
        den[i] = virtual
    for c in range(cell_lo.shape[0]):
        i = cell_lo[c]
        j = cell_hi[c]
        s = pi[i] + pi[j]
        num[i] += w_lo[c] * pi[j] / s
        den[i] += w_hi[c] / s
        num[j] += w_hi[c] * pi[i] / s
        den[j] += w_lo[c] / s
    for i in range(theta.shape[0]):
        theta_new[i] = math.log(num[i]) - math.log(den[i])


@kernel
def mm_step(cell_lo, cell_hi, w_lo, w_hi, half_prior, theta, theta_new, scratch) -> None:
    """pi_i <- W_i / sum_j n_ij / (pi_i + pi_j)   (Zermelo 1929; Hunter 2004)."""
    pi, num, den = scratch[0], scratch[1], scratch[2]
    for i in range(theta.shape[0]):
        pi[i] = math.exp(theta[i])
        num[i] = half_prior[i]
        den[i] = 2.0 * half_prior[i] / (pi[i] + 1.0)
    for c in range(cell_lo.shape[0]):
        i = cell_lo[c]
        j = cell_hi[c]
        n_over_s = (w_lo[c] + w_hi[c]) / (pi[i] + pi[j])
        num[i] += w_lo[c]
        num[j] += w_hi[c]
        den[i] += n_over_s
        den[j] += n_over_s
    for i in range(theta.shape[0]):
        theta_new[i] = math.log(num[i]) - math.log(den[i])


@kernel
def _log_sigmoid(x: float) -> float:
    return -(max(-x, 0.0) + math.log1p(math.exp(-abs(x))))


@kernel
def objective(cell_lo, cell_hi, w_lo, w_hi, half_prior, theta) -> float:
    """The penalised negative log-likelihood that every step minimises; half_prior: float64[M]."""
    total = data_nll(cell_lo, cell_hi, w_lo, w_hi, theta)
    for i in range(theta.shape[0]):
        if half_prior[i] > 0.0:
            total -= half_prior[i] * (_log_sigmoid(theta[i]) + _log_sigmoid(-theta[i]))
    return total


@kernel
def data_nll(cell_lo, cell_hi, w_lo, w_hi, theta) -> float:
    total = 0.0
    for c in range(cell_lo.shape[0]):
        d = theta[cell_lo[c]] - theta[cell_hi[c]]
        total -= w_lo[c] * _log_sigmoid(d) + w_hi[c] * _log_sigmoid(-d)
    return total


@kernel
def _hessian_times(cell_lo, cell_hi, h, diag_prior, v, out) -> None:
    """out = H v for the Hessian of cells (cell_lo, cell_hi) with weights h, plus the prior's diagonal."""
    for i in range(v.shape[0]):
        out[i] = diag_prior[i] * v[i]
    for c in range(cell_lo.shape[0]):
        i = cell_lo[c]
        j = cell_hi[c]
        d = h[c] * (v[i] - v[j])
        out[i] += d
        out[j] -= d


@kernel
def newton_step(cell_lo, cell_hi, w_lo, w_hi, half_prior, theta, theta_new, scratch) -> None:
    """One damped Newton step, its system solved by Jacobi-preconditioned CG.

    For large sparse boards (tens of thousands of competitors, long chains
    of weakly linked ones) where the fixed-point steps need thousands of
    iterations: CG needs O(sqrt(condition)) Hessian products per step, and
    Newton a handful of steps. Each Hessian product is O(cells).
    """
    m = theta.shape[0]
    grad, diag, direction, r, z, p, hp, diag_prior = (
        scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5], scratch[6], scratch[7],
    )  # fmt: skip
    h = np.empty(cell_lo.shape[0])
    for i in range(m):
        sig = 1.0 / (1.0 + math.exp(-theta[i]))
        grad[i] = half_prior[i] * (2.0 * sig - 1.0)
        diag_prior[i] = 2.0 * half_prior[i] * sig * (1.0 - sig)
        diag[i] = diag_prior[i]
    for c in range(cell_lo.shape[0]):
        i = cell_lo[c]
        j = cell_hi[c]
        n = w_lo[c] + w_hi[c]
        prob = 1.0 / (1.0 + math.exp(theta[j] - theta[i]))
        g = n * prob - w_lo[c]
        grad[i] += g
        grad[j] -= g
        h[c] = n * prob * (1.0 - prob)
        diag[i] += h[c]
        diag[j] += h[c]
    # CG on H d = -grad, with the forcing term of inexact Newton.
    gnorm = 0.0
    for i in range(m):
        direction[i] = 0.0
        r[i] = -grad[i]
        z[i] = r[i] / diag[i]
        p[i] = z[i]
        gnorm += grad[i] * grad[i]
    gnorm = math.sqrt(gnorm)
    target = min(0.5, math.sqrt(gnorm)) * gnorm
    rz = 0.0
    for i in range(m):
        rz += r[i] * z[i]
    for _ in range(10 * m + 100):
        rnorm = 0.0
        for i in range(m):
            rnorm += r[i] * r[i]
        if math.sqrt(rnorm) <= target:
            break
        _hessian_times(cell_lo, cell_hi, h, diag_prior, p, hp)
        if not cg_advance(p, hp, rz, direction, r, m):
            # Without a prior H is singular along each component's constant vector; rounding in a
            # near-zero residual can point p there. The direction so far is the best CG has.
            break
        for i in range(m):
            z[i] = r[i] / diag[i]  # Jacobi
        rz = cg_turn(r, z, p, rz, m)
    # A step of at most MAX_NEWTON_STEP in any theta: an inexact CG solve can
    # put a huge component on a barely-determined competitor, and the sigmoid
    # makes far jumps useless anyway. Then backtracking (Armijo): the
    # objective is convex, so a descent direction has an acceptable step.
    largest = 0.0
    for i in range(m):
        largest = max(largest, abs(direction[i]))
    shrink = min(1.0, MAX_NEWTON_STEP / largest) if largest > 0 else 1.0
    slope = 0.0
    for i in range(m):
        direction[i] *= shrink
        slope += grad[i] * direction[i]
    before = objective(cell_lo, cell_hi, w_lo, w_hi, half_prior, theta)
    step = 1.0
    for _ in range(60):
        for i in range(m):
            theta_new[i] = theta[i] + step * direction[i]
        if sufficient_decrease(before, objective(cell_lo, cell_hi, w_lo, w_hi, half_prior, theta_new), step, -slope):
            return
        step *= 0.5


@kernel
def _reach_from_roots(
    forward, check, root, adj_start, adj_cell, cell_lo, cell_hi, w_lo, w_hi, seen, stack, reached
) -> None:  # fmt: skip
    """reached[k]: how many competitors component k's root reaches along "beat or tied" edges
    (``forward``: i -> j when i won or tied a vote against j) or against them; 0 where not check[k]."""
    for i in range(seen.shape[0]):
        seen[i] = 0
    for k in range(root.shape[0]):
        reached[k] = 0
        if not check[k]:
            continue
        seen[root[k]] = 1
        stack[0] = root[k]
        top = 1
        while top > 0:
            top -= 1
            i = stack[top]
            reached[k] += 1
            for e in range(adj_start[i], adj_start[i + 1]):
                c = adj_cell[e]
                if cell_lo[c] == i:
                    j, out_w, in_w = cell_hi[c], w_lo[c], w_hi[c]
                else:
                    j, out_w, in_w = cell_lo[c], w_hi[c], w_lo[c]
                if (out_w if forward else in_w) > 0.0 and seen[j] == 0:
                    seen[j] = 1
                    stack[top] = j
                    top += 1


@kernel
def auto_prior_kernel(
    prior, check, component, sizes, root, adj_start, adj_cell, cell_lo, cell_hi, w_lo, w_hi, half_prior, work,
    reached,
) -> None:  # fmt: skip
    """half_prior[i]: 0 where i's component has a maximum-likelihood estimate, prior / 2 where not.

    The MLE of a connected component exists iff its "beat or tied" graph is
    strongly connected (Zermelo 1929; Ford 1957): otherwise some group never
    lost (or never won) to the rest and the likelihood keeps rising as the
    gap grows. Two searches from the component's root, along the edges and
    against them, decide it in O(cells). A competitor alone (no votes that
    count) has no estimate either. check: bool[K], the components to decide (the others take the prior:
    a bootstrap round skips those without an MLE on the full board, since resampling only removes
    votes, and a cut crossed one way only stays so). work: int64[2, M]; reached: int64[2, K].
    """
    args = (root, adj_start, adj_cell, cell_lo, cell_hi, w_lo, w_hi, work[0], work[1])
    _reach_from_roots(True, check, *args, reached[0])
    _reach_from_roots(False, check, *args, reached[1])
    for i in range(component.shape[0]):
        k = component[i]
        exists = check[k] and sizes[k] >= 2 and reached[0, k] == sizes[k] and reached[1, k] == sizes[k]
        half_prior[i] = 0.0 if exists else prior / 2.0


@kernel
def centre_free_components(theta, half_prior, component, n_components) -> None:
    """Shift each component without a prior to mean theta 0.

    Without a prior a component's level is free (the likelihood sees only
    differences), so it is fixed here, after every step: at mean 0, where a
    fit from theta = 0 (arena-rank's, scipy's) also leaves it, since the
    gradient sums to zero over a component.
    """
    sums = np.zeros(n_components)
    members = np.zeros(n_components)
    for i in range(theta.shape[0]):
        if half_prior[i] == 0.0:
            sums[component[i]] += theta[i]
            members[component[i]] += 1.0
    for i in range(theta.shape[0]):
        if half_prior[i] == 0.0:
            theta[i] -= sums[component[i]] / members[component[i]]


@kernel
def fit_kernel(step, cell_lo, cell_hi, w_lo, w_hi, half_prior, component, n_components, theta, tol, max_iter) -> int:
    """The one fit driver; ``step`` picks the iteration. theta: float64[M], the start in, the fit out.

    half_prior: float64[M], half the virtual games of each competitor (0: none);
    component: int32[M], labels 0..n_components-1. Returns the iterations used,
    or NOT_CONVERGED when max_iter passed first (engine.fit's contract). BT
    has an additive gauge, so convergence is judged on centred theta.
    """
    m = theta.shape[0]
    theta_new = np.empty(m)
    scratch = np.empty((8, m))
    centre_free_components(theta, half_prior, component, n_components)
    for it in range(max_iter):
        current = step
        if step == AUTO:
            current = NEWMAN if it < AUTO_SWITCH else NEWTON
        if current == NEWMAN:
            newman_step(cell_lo, cell_hi, w_lo, w_hi, half_prior, theta, theta_new, scratch)
        elif current == MM:
            mm_step(cell_lo, cell_hi, w_lo, w_hi, half_prior, theta, theta_new, scratch)
        else:
            newton_step(cell_lo, cell_hi, w_lo, w_hi, half_prior, theta, theta_new, scratch)
        centre_free_components(theta_new, half_prior, component, n_components)
        mean_change = 0.0
        for i in range(m):
            mean_change += theta_new[i] - theta[i]
        mean_change /= m
        delta = 0.0
        for i in range(m):
            delta = max(delta, abs(theta_new[i] - theta[i] - mean_change))
            theta[i] = theta_new[i]
        if delta < tol:
            return it + 1
    return NOT_CONVERGED


@kernel
def draw_count(count, key: np.uint64, table: np.ndarray) -> float:
    """A cell count's bootstrap draw, Poisson(count): an integer count (every count of an unweighted
    board, int64, or a weighted one that happens to be whole) by poisson_count, bit for bit as before
    weights; a fractional weighted count by poisson(count). A weight w thus resamples as w votes."""
    whole = np.int64(count)
    if whole == count:
        return poisson_count(whole, key, table)
    return poisson(float(count), key)


@kernel
def resample_wins_kernel(counts, table, round_key, both_bad_weight, reweight, w_lo, w_hi, active) -> int:
    """One round's Poisson draws of every cell's counts, straight into effective wins (as
    effective_wins_kernel on the drawn counts). active: int64[C], filled with the cells that drew a
    vote that counts; returns how many. A draw is poisson(count, mix64(round_key ^ (4 c + k))).
    """
    n_active = 0
    for c in range(counts.shape[0]):
        base = np.uint64(4 * c)
        won_lo = draw_count(counts[c, 0], mix64(round_key ^ base), table)
        won_hi = draw_count(counts[c, 1], mix64(round_key ^ (base + np.uint64(1))), table)
        ties = draw_count(counts[c, 2], mix64(round_key ^ (base + np.uint64(2))), table)
        both_bad = draw_count(counts[c, 3], mix64(round_key ^ (base + np.uint64(3))), table)
        tied = TIE_SCORE * ties + both_bad_weight * both_bad
        wl = won_lo + tied
        wh = won_hi + tied
        if reweight:
            r = 1.0 / max(wl + wh, 50.0)
            wl *= r
            wh *= r
        w_lo[c] = wl
        w_hi[c] = wh
        if wl + wh > 0.0:
            active[n_active] = c
            n_active += 1
    return n_active


@kernel
def resample_clusters_kernel(
    cluster_key, cluster_start, row_cell, row_counts, loose, table, round_key, both_bad_weight, reweight, drawn, w_lo,
    w_hi, active,
) -> int:  # fmt: skip
    """One round of the cluster bootstrap (engine.clusters), into effective wins as resample_wins_kernel:
    each cell's loose counts (votes without a cluster id) drawn Poisson as there, plus every row's counts
    times its cluster's Poisson(1) weight, a pure function of (round, cluster key): one hash per cluster,
    and the rows of the ~37% of clusters that draw 0 are not read. drawn: float64[C, 4] scratch.
    O(clusters + rows + cells)."""
    for c in range(loose.shape[0]):
        base = np.uint64(4 * c)
        for k in range(4):
            drawn[c, k] = draw_count(loose[c, k], mix64(round_key ^ (base + np.uint64(k))), table)
    stream = mix64(round_key ^ _CLUSTER_STREAM)
    for g in range(cluster_key.shape[0]):
        w = poisson1_weight(mix64(stream ^ cluster_key[g]))
        if w > 0.0:
            for r in range(cluster_start[g], cluster_start[g + 1]):
                c = row_cell[r]
                for k in range(4):
                    drawn[c, k] += w * row_counts[r, k]
    effective_wins_kernel(drawn, both_bad_weight, reweight, w_lo, w_hi)
    n_active = 0
    for c in range(loose.shape[0]):
        if w_lo[c] + w_hi[c] > 0.0:
            active[n_active] = c
            n_active += 1
    return n_active


@kernel
def _round_state(
    active, act_lo, act_hi, act_wlo, act_whi, half_prior, component, theta, comp_obj, grad, h, act_h, diag
) -> None:  # fmt: skip
    """At theta, in one pass over the active cells (act_*: their ends and wins, packed): each
    component's objective (comp_obj[K]), the gradient, the cells' Hessian weights (h[C] for the tree,
    act_h packed for the products) and the Hessian's diagonal. One exp and one log1p per cell."""
    for k in range(comp_obj.shape[0]):
        comp_obj[k] = 0.0
    for i in range(theta.shape[0]):
        sig = 1.0 / (1.0 + math.exp(-theta[i]))
        grad[i] = half_prior[i] * (2.0 * sig - 1.0)
        diag[i] = 2.0 * half_prior[i] * sig * (1.0 - sig)
        if half_prior[i] > 0.0:
            comp_obj[component[i]] -= half_prior[i] * (_log_sigmoid(theta[i]) + _log_sigmoid(-theta[i]))
    for t in range(active.shape[0]):
        i = act_lo[t]
        j = act_hi[t]
        d = theta[i] - theta[j]
        e = math.exp(-abs(d))
        soft = math.log1p(e)
        prob = 1.0 / (1.0 + e) if d >= 0.0 else e / (1.0 + e)  # P(lo beats hi)
        n = act_wlo[t] + act_whi[t]
        comp_obj[component[i]] += act_wlo[t] * (max(-d, 0.0) + soft) + act_whi[t] * (max(d, 0.0) + soft)
        g = n * prob - act_wlo[t]
        grad[i] += g
        grad[j] -= g
        weight = n * prob * (1.0 - prob)
        h[active[t]] = weight
        act_h[t] = weight
        diag[i] += weight
        diag[j] += weight


@kernel
def tree_newton_fit(
    active, cell_lo, cell_hi, w_lo, w_hi, half_prior, component, n_components, parent, parent_cell, order, theta, tol,
    max_iter,
) -> int:  # fmt: skip
    """fit_kernel's Newton-CG fit, for bootstrap rounds on large sparse boards: the same optimum and the
    same stopping rule (no theta moves more than tol), cheaper per step. Returns the Newton steps taken
    or NOT_CONVERGED.

    - CG is preconditioned by a spanning forest of the comparison graph (engine.tree_precond:
      parent, parent_cell, order), exact on chains, where Jacobi needs hundreds of iterations.
    - Objective, gradient and Hessian come from one pass over the cells with a vote this round
      (``active``): the accepted trial point of a line search is the next step's start.
    - The components are separate problems (the objective is a sum over them): each takes its own
      step length (cap and backtracking), so that one barely-determined competitor does not shrink
      the step of every other component.
    - A step that moves no theta by tol is taken without a line search: it ends the fit.
    """
    m = theta.shape[0]
    grad, diag, direction, r, z, p, hp, diag_prior = (
        np.empty(m), np.empty(m), np.empty(m), np.empty(m), np.empty(m), np.empty(m), np.empty(m), np.empty(m),
    )  # fmt: skip
    grad_new, diag_new, theta_new, pivot = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    h = np.zeros(cell_lo.shape[0])
    h_new = np.zeros(cell_lo.shape[0])
    # The cells with a vote this round, packed: the Hessian products stream through them.
    act_lo, act_hi, act_wlo, act_whi = cell_lo[active], cell_hi[active], w_lo[active], w_hi[active]
    act_h, act_h_new = np.empty(active.shape[0]), np.empty(active.shape[0])
    obj, obj_new = np.empty(n_components), np.empty(n_components)
    largest, slope, step = np.empty(n_components), np.empty(n_components), np.empty(n_components)
    centre_free_components(theta, half_prior, component, n_components)
    _round_state(active, act_lo, act_hi, act_wlo, act_whi, half_prior, component, theta, obj, grad, h, act_h, diag)
    for it in range(max_iter):
        for i in range(m):
            sig = 1.0 / (1.0 + math.exp(-theta[i]))
            diag_prior[i] = 2.0 * half_prior[i] * sig * (1.0 - sig)
        tree_factor(parent, parent_cell, order, h, diag, pivot)
        gnorm = 0.0
        for i in range(m):
            direction[i] = 0.0
            r[i] = -grad[i]
            gnorm += grad[i] * grad[i]
        gnorm = math.sqrt(gnorm)
        # The forcing term of inexact Newton, tighter than newton_step's 0.5: with the tree
        # preconditioner CG iterations are cheap against Newton steps (each a pass with exp and log1p,
        # and a line search), and loose solves left rounds at 14 steps of linear convergence, not 9.
        target = min(0.1, math.sqrt(gnorm)) * gnorm
        tree_solve(parent, parent_cell, order, h, pivot, r, z)
        rz = 0.0
        for i in range(m):
            p[i] = z[i]
            rz += r[i] * z[i]
        for _ in range(10 * m + 100):
            rnorm = 0.0
            for i in range(m):
                rnorm += r[i] * r[i]
            if math.sqrt(rnorm) <= target:
                break
            _hessian_times(act_lo, act_hi, act_h, diag_prior, p, hp)  # over the packed active cells
            if not cg_advance(p, hp, rz, direction, r, m):
                break  # as in newton_step: H is singular along free components' constants
            tree_solve(parent, parent_cell, order, h, pivot, r, z)
            rz = cg_turn(r, z, p, rz, m)
        # At most MAX_NEWTON_STEP in any theta (see newton_step), by clipping each theta's move rather
        # than scaling the component's: a resampled board moves a few barely-determined competitors far
        # (a lone win drawn zero or thrice), and scaling would slow all the others to their pace.
        # The clipped direction is kept where it still descends, else the scaled one is used.
        for k in range(n_components):
            largest[k] = 0.0
            slope[k] = 0.0
            step[k] = 0.0  # here: the slope of the scaled direction
        for i in range(m):
            k = component[i]
            largest[k] = max(largest[k], abs(direction[i]))
            slope[k] += grad[i] * max(-MAX_NEWTON_STEP, min(MAX_NEWTON_STEP, direction[i]))
        delta = 0.0
        for i in range(m):
            k = component[i]
            if largest[k] > MAX_NEWTON_STEP:
                if slope[k] < 0.0:
                    direction[i] = max(-MAX_NEWTON_STEP, min(MAX_NEWTON_STEP, direction[i]))
                else:
                    direction[i] *= MAX_NEWTON_STEP / largest[k]
            delta = max(delta, abs(direction[i]))
        for k in range(n_components):
            slope[k] = 0.0
            step[k] = 1.0
        for i in range(m):
            slope[component[i]] += grad[i] * direction[i]
        if delta < tol:
            for i in range(m):
                theta[i] += direction[i]
            centre_free_components(theta, half_prior, component, n_components)
            return it + 1
        # Backtracking (Armijo) per component; components that pass keep their step.
        for _ in range(60):
            for i in range(m):
                theta_new[i] = theta[i] + step[component[i]] * direction[i]
            _round_state(
                active, act_lo, act_hi, act_wlo, act_whi, half_prior, component, theta_new, obj_new, grad_new, h_new,
                act_h_new, diag_new,
            )  # fmt: skip
            short = False
            for k in range(n_components):
                # Armijo up to the rounding of a sum over ~cells terms: near the optimum the predicted
                # decrease falls below it, and a strict test would shrink converging steps to nothing.
                noise = ROUNDING * abs(obj[k])
                if step[k] > 0.0 and not sufficient_decrease(obj[k] + noise, obj_new[k], step[k], -slope[k]):
                    step[k] = 0.5 * step[k] if step[k] > 1e-18 else 0.0
                    short = True
            if not short:
                break
        centre_free_components(theta_new, half_prior, component, n_components)
        delta = 0.0
        for i in range(m):
            delta = max(delta, abs(theta_new[i] - theta[i]))
            theta[i] = theta_new[i]
        grad, grad_new = grad_new, grad
        diag, diag_new = diag_new, diag
        h, h_new = h_new, h
        act_h, act_h_new = act_h_new, act_h
        obj, obj_new = obj_new, obj
        if delta < tol:
            return it + 1
    return NOT_CONVERGED


@kernel
def mle_components(half_prior_full, component, n_components: int) -> np.ndarray:
    """The components whose full-board fit had an MLE (no prior): only they can have one in a bootstrap
    round, so only they are checked there (see auto_prior_kernel)."""
    check = np.zeros(n_components, dtype=np.bool_)
    for i in range(half_prior_full.shape[0]):
        if half_prior_full[i] == 0.0:
            check[component[i]] = True
    return check


@kernel
def bootstrap_kernel(
    step, cell_lo, cell_hi, counts, both_bad_weight, reweight, auto_prior, half_prior_full, component, sizes, root,
    adj_start, adj_cell, parent, parent_cell, order, tree_rounds, theta_full, seed, cluster_key, cluster_start,
    row_cell, row_counts, loose, round_start, round_stop, tol, max_iter, out_theta, out_iterations,
) -> None:  # fmt: skip
    """Rounds [round_start, round_stop) of the count-space bootstrap.

    Resampling N votes with replacement gives each cell count a
    Binomial(N, count / N) ~ Poisson(count) draw; drawing those directly
    costs O(cells) per round, whatever N is. Each round is warm-started
    from the full-data fit. Draws come from the counter stream
    (seed, round, cell, column), so a round's result does not depend on
    which thread ran it.

    A round is the point fit's estimator applied to the resampled board:
    with ``auto_prior`` > 0 (BTConfig.prior None) it decides afresh which
    components have an MLE, since a resampled cell can lose its only win
    (then that component takes the prior in this round, where its MLE
    would be infinite); else every round uses ``half_prior_full``.
    With ``tree_rounds`` a round runs tree_newton_fit with the spanning
    forest (parent, parent_cell, order) of the full fit's Hessian; else
    fit_kernel with ``step`` (see ``bootstrap`` for which).

    With cluster rows (``loose`` not empty: engine.clusters) a round resamples whole clusters
    (resample_clusters_kernel) instead of the cells' counts.
    """
    n_cells = counts.shape[0]
    m = theta_full.shape[0]
    n_components = sizes.shape[0]
    w_lo = np.empty(n_cells)
    w_hi = np.empty(n_cells)
    active = np.empty(n_cells, dtype=np.int64)
    theta = np.empty(m)
    half_prior = half_prior_full.copy()
    work = np.empty((2, m), dtype=np.int64)
    reached = np.empty((2, n_components), dtype=np.int64)
    check = mle_components(half_prior_full, component, n_components)
    table = poisson_cdf_table()
    clustered = loose.shape[0] > 0
    drawn = np.zeros((n_cells if clustered else 0, 4))
    seed_key = mix64(mix64(seed) ^ _BT_STREAM)
    for r in range(round_start, round_stop):
        round_key = mix64(seed_key ^ np.uint64(r))
        if clustered:
            n_active = resample_clusters_kernel(
                cluster_key, cluster_start, row_cell, row_counts, loose, table, round_key, both_bad_weight, reweight,
                drawn, w_lo, w_hi, active,
            )  # fmt: skip
        else:
            n_active = resample_wins_kernel(counts, table, round_key, both_bad_weight, reweight, w_lo, w_hi, active)
        if auto_prior > 0.0:
            auto_prior_kernel(
                auto_prior, check, component, sizes, root, adj_start, adj_cell, cell_lo, cell_hi, w_lo, w_hi,
                half_prior, work, reached,
            )  # fmt: skip
        theta[:] = theta_full
        if tree_rounds:
            out_iterations[r] = tree_newton_fit(
                active[:n_active], cell_lo, cell_hi, w_lo, w_hi, half_prior, component, n_components, parent,
                parent_cell, order, theta, tol, max_iter,
            )  # fmt: skip
        else:
            out_iterations[r] = fit_kernel(
                step, cell_lo, cell_hi, w_lo, w_hi, half_prior, component, n_components, theta, tol, max_iter
            )
        out_theta[r] = theta


# ----------------------------------------------------------------- wrappers


def effective_wins(table: CellTable, config: BTConfig) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    w_lo = np.empty(table.n_cells)
    w_hi = np.empty(table.n_cells)
    effective_wins_kernel(table.fit_counts, BOTH_BAD[config.both_bad], config.reweight, w_lo, w_hi)
    return w_lo, w_hi


@dataclass(frozen=True)
class _Graph:
    """The comparison graph of a table, as the kernels walk it."""

    component: NDArray[np.int32]  # [M], 0..K-1 (CellTable.components)
    sizes: NDArray[np.int64]  # [K] competitors per component
    root: NDArray[np.int64]  # [K] each component's lowest slot, where the searches start
    adj_start: NDArray[np.int64]  # [M + 1]: the cells of competitor i are adj_cell[adj_start[i]:adj_start[i + 1]]
    adj_cell: NDArray[np.int64]  # [2 C]

    @classmethod
    def of(cls, table: CellTable) -> _Graph:
        m, n_cells = table.n_competitors, table.n_cells
        component = table.components()
        k = int(component.max()) + 1 if m else 0
        root = np.full(k, m, dtype=np.int64)
        np.minimum.at(root, component, np.arange(m, dtype=np.int64))
        ends = np.concatenate([table.cell_lo, table.cell_hi]).astype(np.int64)
        adj_cell = np.argsort(ends, kind="stable") % max(n_cells, 1)
        adj_start = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=m), out=adj_start[1:])
        return cls(component, np.bincount(component, minlength=k).astype(np.int64), root, adj_start, adj_cell)


def _half_prior(
    table: CellTable, config: BTConfig, graph: _Graph, w_lo: NDArray[np.float64], w_hi: NDArray[np.float64]
) -> NDArray[np.float64]:
    half_prior = np.full(table.n_competitors, (config.prior or 0.0) / 2)
    if config.prior is None:
        work = np.empty((2, table.n_competitors), dtype=np.int64)
        reached = np.empty((2, graph.sizes.shape[0]), dtype=np.int64)
        auto_prior_kernel(
            AUTO_PRIOR, np.ones(graph.sizes.shape[0], dtype=np.bool_), graph.component, graph.sizes, graph.root,
            graph.adj_start, graph.adj_cell, table.cell_lo, table.cell_hi, w_lo, w_hi, half_prior, work, reached,
        )  # fmt: skip
    return half_prior


def prior_weights(table: CellTable, config: BTConfig) -> NDArray[np.float64]:
    """float64[M]: the virtual ties each competitor plays against theta = 0 in the fit (see the module doc)."""
    w_lo, w_hi = effective_wins(table, config)
    return 2 * _half_prior(table, config, _Graph.of(table), w_lo, w_hi)


def fit(table: CellTable, config: BTConfig | None = None, theta0: NDArray[np.float64] | None = None) -> BTFit:
    """Fit BT to a cell table; ``theta0`` (e.g. the previous fit) warm-starts it."""
    config = config or BTConfig()
    theta = np.zeros(table.n_competitors)
    if theta0 is not None:
        theta[: min(len(theta0), len(theta))] = theta0[: len(theta)]  # new competitors start at 0
    w_lo, w_hi = effective_wins(table, config)
    graph = _Graph.of(table)
    half_prior = _half_prior(table, config, graph, w_lo, w_hi)
    args = (
        STEPS[config.step], table.cell_lo, table.cell_hi, w_lo, w_hi, half_prior, graph.component,
        graph.sizes.shape[0], theta,
    )  # fmt: skip
    hint = "--bt-prior X (virtual ties for every competitor) conditions it better"
    if config.prior is not None:
        hint = f"a larger prior (now {config.prior:g}) conditions it better"
    iterations = run_fit(
        fit_kernel, (*args, config.tol, config.max_iter), f"the Bradley–Terry fit ({config.step})",
        config.tol, config.max_iter, hint,
    )  # fmt: skip
    return BTFit(theta, iterations, -data_nll(table.cell_lo, table.cell_hi, w_lo, w_hi, theta), 2 * half_prior)


def _forest(
    table: CellTable, config: BTConfig, graph: _Graph, theta: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(parent, parent_cell, order): a maximum-weight spanning forest of the Hessian's graph at theta,
    the full data's, rooted for tree_newton_fit's preconditioner. Rounds reweight its edges, not its shape."""
    m = table.n_competitors
    w_lo, w_hi = effective_wins(table, config)
    p = rating_win_probability(theta[table.cell_lo], theta[table.cell_hi], 1.0, math.e)
    by_weight = np.argsort(-((w_lo + w_hi) * p * (1 - p)), kind="stable")
    parent = np.empty(m, dtype=np.int64)
    parent_cell = np.empty(m, dtype=np.int64)
    order = np.empty(m, dtype=np.int64)
    in_tree = np.empty(table.n_cells, dtype=np.bool_)
    spanning_forest_kernel(
        table.cell_lo, table.cell_hi, by_weight, graph.adj_start, graph.adj_cell, parent, parent_cell, order, in_tree
    )
    return parent, parent_cell, order


def bootstrap(
    table: CellTable,
    config: BTConfig,
    full_fit: BTFit,
    rounds: int,
    seed: int,
    threads: int = 1,
    progress: Callable[[int], object] | None = None,
    clusters: ClusterTable | None = None,
    runner: RoundRunner | None = None,
) -> NDArray[np.float64]:
    """theta of each bootstrap round: float64[rounds, M]. Rounds run in parallel over ``threads``, or on
    ``runner`` (engine.fit.RoundRunner).

    ``progress(n)``, if given, is called as each block of n rounds finishes. ``clusters`` (the table's
    cluster rows, engine.clusters): resample whole clusters, each with one Poisson(1) weight a round.
    """
    step = STEPS[config.step]
    # Rounds start from the full fit. Where Newman's iteration converged it (AUTO within AUTO_SWITCH
    # iterations: a well-connected board such as an arena's), rounds take AUTO too, ~10 cheap passes each
    # (1.3-1.6x faster than the tree solver at 100-300 models). Where it needed Newton (sparse chains,
    # where Newman crawls), the tree-preconditioned Newton solver. A warm-started fit (the service's) that
    # converged quickly takes AUTO as well, which stays correct on any board, its Newton fallback included.
    tree_rounds = step == NEWTON or (step == AUTO and full_fit.iterations > AUTO_SWITCH)
    graph = _Graph.of(table)
    parent, parent_cell, order = _forest(table, config, graph, full_fit.theta)
    head = (
        step, table.cell_lo, table.cell_hi, table.fit_counts, BOTH_BAD[config.both_bad],
        config.reweight, AUTO_PRIOR if config.prior is None else 0.0, full_fit.prior_weight / 2, graph.component,
        graph.sizes, graph.root, graph.adj_start, graph.adj_cell, parent, parent_cell, order, tree_rounds,
        full_fit.theta, np.uint64(seed),
    )  # fmt: skip
    rows: tuple = _NO_CLUSTERS
    if clusters is not None:
        if clusters.loose.shape[0] != table.n_cells:
            raise ValueError(f"cluster rows cover {clusters.loose.shape[0]} cells, the table has {table.n_cells}")
        rows = (clusters.cluster_key, clusters.cluster_start, clusters.row_cell, clusters.row_counts, clusters.loose)
    return run_rounds(
        bootstrap_kernel, (*head, *rows), rounds, table.n_competitors, config.bootstrap_tol, config.max_iter,
        threads, progress, f"the Bradley–Terry fit ({config.step})", runner,
    )  # fmt: skip


def sandwich_covariance(
    table: CellTable, config: BTConfig, theta: NDArray[np.float64], anchor_slot: int | None = None
) -> NDArray[np.float64]:
    """Robust covariance H^-1 B H^-1 of the reported parameters: float64[M, M].

    Of theta - mean(theta) (centred ratings), or with ``anchor_slot`` of
    theta - theta[anchor]. H: Hessian of the negative log-likelihood (with
    the fit's per-competitor prior); B: sum over votes of the outer
    products of their score vectors, computed per cell from the counts.
    The gauge is removed from H^-1 *before* the product: with a weak prior
    H^-1 carries a huge component along (1, ..., 1) that B annihilates only
    up to rounding, and removing it afterwards cancelled catastrophically
    (3% off on a 59-model board at prior 1e-6). Dense: refused above
    SANDWICH_MAX_COMPETITORS competitors, where the O(M^3) inverse and
    M x M matrices (128 MB at M = 4000) stop paying; use the bootstrap there.
    """
    m = table.n_competitors
    if m > SANDWICH_MAX_COMPETITORS:
        raise ValueError(
            f"sandwich CIs need a dense {m} x {m} inverse; refused above {SANDWICH_MAX_COMPETITORS} "
            "competitors (O(M^3) time, M^2 memory). Use the bootstrap, whose cost is O(cells) per round."
        )
    lo, hi = table.cell_lo, table.cell_hi
    p = rating_win_probability(theta[lo], theta[hi], 1.0, math.e)  # P(lo beats hi), theta on its own scale
    w_lo, w_hi = effective_wins(table, config)
    hessian_weight = (w_lo + w_hi) * p * (1 - p)
    # Each vote's score is r (y - p) (e_lo - e_hi) with y = 1, 0 or 1/2.
    counts = table.fit_counts.astype(np.float64)
    tie_y = TIE_SCORE
    both_bad = BOTH_BAD[config.both_bad] > 0
    score_sq = (
        counts[:, 0] * (1 - p) ** 2 + counts[:, 1] * p**2 + (counts[:, 2] + both_bad * counts[:, 3]) * (tie_y - p) ** 2
    )
    if config.reweight:
        score_sq /= np.maximum(counts[:, 0] + counts[:, 1] + counts[:, 2] + both_bad * counts[:, 3], 50.0) ** 2
    sigma = 1.0 / (1.0 + np.exp(-theta))
    prior = prior_weights(table, config)
    hessian = _laplacian(m, lo, hi, hessian_weight) + np.diag(prior * sigma * (1 - sigma))
    # A component without a prior leaves H singular along its direction u (constant on its members):
    # its level is fixed by centring, not estimated. (H + c u u^T)^-1 - u u^T / c is then H's
    # pseudo-inverse on it; c of the size of H's diagonal keeps the sum well conditioned.
    free = prior == 0
    component = table.components()[free]
    null = np.zeros((m, int(component.max()) + 1 if component.size else 0))
    null[np.flatnonzero(free), component] = 1.0
    null /= np.sqrt(np.maximum(null.sum(axis=0), 1.0))
    c = float(np.mean(np.diag(hessian))) or 1.0
    meat = _laplacian(m, lo, hi, score_sq)
    bread = np.linalg.inv(hessian + c * null @ null.T) - null @ null.T / c
    gauge = bread.mean(axis=0) if anchor_slot is None else bread[anchor_slot]
    bread -= gauge  # rows: the linear map from scores to the reported parameters
    return bread @ meat @ bread.T


def _laplacian(
    m: int, lo: NDArray[np.int32], hi: NDArray[np.int32], weight: NDArray[np.float64]
) -> NDArray[np.float64]:
    """sum_c weight_c (e_lo - e_hi)(e_lo - e_hi)^T, dense [M, M]."""
    lo = lo.astype(np.int64)
    hi = hi.astype(np.int64)
    flat = np.concatenate([lo * m + lo, hi * m + hi, lo * m + hi, hi * m + lo])
    weights = np.concatenate([weight, weight, -weight, -weight])
    # numpy's stubs type bincount as intp whatever the weights; with float64 weights it is float64
    return np.bincount(flat, weights, minlength=m * m).reshape(m, m)  # type: ignore[return-value]


def win_probability(theta_a: float, theta_b: float) -> float:
    """P(a beats b) from BT parameters: engine.scale.win_probability on theta's own scale."""
    return rating_win_probability(theta_a, theta_b, 1.0, math.e)


@dataclass(frozen=True)
class BTQuery:
    """What a BT leaderboard asks for beyond the fit itself."""

    ci: str = "bootstrap"  # "bootstrap", "sandwich" or "none"
    rounds: int = 1000  # bootstrap rounds
    seed: int = 0  # bootstrap seed
    anchor_slot: int | None = None  # None: centred (mean rating = scale.initial)
    anchor_rating: float = 1000.0

    def __post_init__(self) -> None:
        if self.ci not in CI_METHODS:
            raise ValueError(f"ci must be one of {CI_METHODS}, got {self.ci!r}")
        if self.ci == "bootstrap" and self.rounds < 1:
            raise ValueError(f"a bootstrap needs at least one round, got {self.rounds}")


Z_95 = 1.959963984540054


def standings(
    table: CellTable,
    counts: NDArray[np.int64],
    competitor_ids: NDArray[np.int32],
    config: BTConfig,
    query: BTQuery,
    scale: RatingScale | None = None,
    threads: int = 1,
    total_votes: int = 0,
    as_of_seq: int = 0,
    theta0: NDArray[np.float64] | None = None,
    progress: Callable[[int], object] | None = None,
    clusters: ClusterTable | None = None,
    runner: RoundRunner | None = None,
) -> tuple[Standings, BTFit]:
    """The BT leaderboard of a board: the full-data fit as the point estimate, with CIs.

    ``progress`` reports bootstrap rounds as they finish (see ``bootstrap``).

    counts: int64[M, 4] per-competitor (wins, losses, ties, both-bad ties);
    all arrays in the table's slot order.
    """
    scale = scale or RatingScale()
    full = fit(table, config, theta0)
    anchor = (query.anchor_slot, query.anchor_rating)
    rating = scale.ratings(full.theta, *anchor)
    rounds = 0
    if query.ci == "bootstrap":
        rounds = query.rounds
        thetas = bootstrap(table, config, full, rounds, query.seed, threads, progress, clusters, runner)
        lower, upper = np.percentile(scale.ratings(thetas, *anchor), CI_PERCENTILES, axis=0)
    elif query.ci == "sandwich":
        variance = np.diag(sandwich_covariance(table, config, full.theta, query.anchor_slot))
        half_width = Z_95 * np.sqrt(np.maximum(variance, 0.0)) * scale.points_per_theta
        lower, upper = rating - half_width, rating + half_width
    else:
        lower, upper = rating.copy(), rating.copy()
    result = Standings.build(
        competitor_ids, rating, lower, upper, counts, total_votes, as_of_seq, rounds, table.components(),
        full.regularized,
    )  # fmt: skip
    return result, full
