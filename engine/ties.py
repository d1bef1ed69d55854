"""Bradley–Terry with a tie model: Davidson (1970) and Rao–Kupper (1967), fitted from the pair cells.

Each model has one tie parameter beside the ratings, fitted with them by maximum likelihood:

- Davidson: P(i beats j) = p_i / (p_i + p_j + nu sqrt(p_i p_j)), P(tie) = nu sqrt(p_i p_j) / (...),
  nu >= 0. Parameter s = log nu. Per cell the negative log-likelihood is n log D - (w_i - w_j) d / 2 - t s,
  D = e^{d/2} + e^{-d/2} + e^s, d = theta_i - theta_j: a log-sum-exp, so convex in (theta, s).
- Rao–Kupper: P(i beats j) = p_i / (p_i + theta p_j), P(tie) = (theta^2 - 1) p_i p_j / (...), theta >= 1.
  Parameter s = log theta > 0: P(i beats j) = F(d - s), P(tie) = F(d + s) - F(d - s), F the logistic
  CDF. An ordinal logistic model with cut points d -/+ s, whose log-likelihood is concave in them
  (Pratt 1981), so in (theta, s) on s > 0 (the line search never leaves it).

The sufficient statistic is BT's: per cell the wins of each side and the ties (both-bad ties among them
unless BTConfig.both_bad is "ignore"), so each iteration is O(cells). The fit is Newton-CG on
(theta, s): the Hessian is applied per cell (a 2 x 2 block in (d, s)), never formed. The prior is
engine.bt's (the same virtual half-win, half-loss games against theta = 0 for the competitors of
components without an MLE, or for every competitor with BTConfig.prior), so ``regularized`` means what
it means for BT. Without a tie (or without a decisive vote) the tie parameter has no MLE: a board
without ties fixes it at its bound (nu = 0, theta = 1: plain BT), and a board of ties only is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine import bt
from engine._jit import kernel
from engine.bt import (
    AUTO_PRIOR,
    MAX_NEWTON_STEP,
    ROUNDING,
    Z_95,
    BTQuery,
    _Graph,
    _half_prior,
    auto_prior_kernel,
    cg_advance,
    cg_turn,
    mle_components,
)
from engine.cells import CellTable
from engine.config import BOTH_BAD, BTConfig
from engine.counter_rng import mix64, poisson_cdf_table, poisson_count
from engine.fit import NOT_CONVERGED, ConvergenceError, RoundRunner, run_fit, run_rounds, sufficient_decrease
from engine.scale import RatingScale
from engine.standings import CI_PERCENTILES, Standings

DAVIDSON, RAO_KUPPER = 1, 2  # the kernels' model numbers
MODEL_CODES = {"davidson": DAVIDSON, "rao-kupper": RAO_KUPPER}
_BT_STREAM = np.uint64(0x42542D626F6F7473)  # engine.bt's: a round draws the same counts as a BT round
_MAX_TIE_STEP = 2.0  # in s (log nu, log theta)
# CG's largest relative residual (inexact Newton's forcing term): engine.bt's 0.5 took 7-14 Newton steps a
# bootstrap round on LLMFAO and international football, 0.01 takes 5-9 and is 1.5-2x faster.
_FORCING = 0.01


@dataclass(frozen=True)
class TieFit:
    theta: NDArray[np.float64]  # [M], slot order, on the prior's scale (not centred)
    log_tie: float  # s: log nu (Davidson) or log theta (Rao–Kupper)
    model: str  # "davidson" or "rao-kupper"
    iterations: int
    log_likelihood: float  # of the data (weighted if reweighting), without the prior
    prior_weight: NDArray[np.float64]  # [M] virtual ties each competitor played
    tie_free: bool  # False: no tie on the board, the parameter sits at its bound
    n_params: int  # free parameters: ratings less one per component without a prior, plus the tie parameter

    @property
    def regularized(self) -> NDArray[np.bool_]:
        return self.prior_weight > 0

    @property
    def tie_parameter(self) -> float:
        """nu (Davidson) or theta (Rao–Kupper)."""
        return tie_parameter(self.model, self.log_tie)

    @property
    def aic(self) -> float:
        return 2.0 * self.n_params - 2.0 * self.log_likelihood

    @property
    def params(self) -> NDArray[np.float64]:
        """float64[M + 1]: theta and s, the warm start of the next fit."""
        return np.append(self.theta, self.log_tie)


def tie_parameter(model: str, log_tie: float | NDArray[np.float64]):
    """nu = e^s (Davidson, 0 at s = -inf) or theta = e^s (Rao–Kupper)."""
    return np.exp(log_tie)


# ------------------------------------------------------------------ kernels


@kernel
def _log_add_exp(x: float, y: float) -> float:
    top = max(x, y)
    return top + math.log(math.exp(x - top) + math.exp(y - top))


@kernel
def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@kernel
def _log_sigmoid(x: float) -> float:
    return -(max(-x, 0.0) + math.log1p(math.exp(-abs(x))))


@kernel
def cell_terms(model: int, d: float, s: float, wi: float, wj: float, t: float):
    """One cell's negative log-likelihood and its derivatives in (d, s), d = theta_i - theta_j:
    (nll, g_d, g_s, h_dd, h_ds, h_ss). wi, wj: wins of i and j; t: ties (float, weighted or drawn).
    Linear in (wi, wj, t), so a unit weight gives one vote's score (the sandwich's meat)."""
    if model == DAVIDSON:
        x = 0.5 * d
        top = max(abs(x), s)
        log_d = top + math.log(math.exp(x - top) + math.exp(-x - top) + math.exp(s - top))
        a = math.exp(x - log_d)
        b = math.exp(-x - log_d)
        tt = math.exp(s - log_d)
        n = wi + wj + t
        nll = n * log_d - (wi - wj) * x - t * s
        g_d = 0.5 * n * (a - b) - 0.5 * (wi - wj)
        g_s = n * tt - t
        h_dd = 0.25 * n * ((a + b) - (a - b) * (a - b))
        h_ds = -0.5 * n * (a - b) * tt
        h_ss = n * (tt - tt * tt)
        return nll, g_d, g_s, h_dd, h_ds, h_ss
    # Rao–Kupper, s = log theta > 0: cut points u = d - s, v = d + s.
    # s = 0 (theta = 1, no tie possible) only where the board has no tie: the parameter is fixed there.
    if s < 0.0 or (s == 0.0 and t > 0.0):
        return math.inf, 0.0, 0.0, 0.0, 0.0, 0.0
    u = d - s
    v = d + s
    fu = _sigmoid(u)
    fv = _sigmoid(v)
    du = fu * (1.0 - fu)
    dv = fv * (1.0 - fv)
    nll = -(wi * _log_sigmoid(u) + wj * _log_sigmoid(-v))
    # Of the log-likelihood, in (u, v).
    lu = wi * (1.0 - fu)
    lv = -wj * fv
    luu = -wi * du
    lvv = -wj * dv
    luv = 0.0
    if t > 0.0:
        log_tie = math.log(math.expm1(2.0 * s)) - _log_add_exp(0.5 * d, s - 0.5 * d)
        log_tie -= _log_add_exp(-0.5 * d, s + 0.5 * d)
        tie = math.exp(log_tie)
        nll -= t * log_tie
        lu -= t * du / tie
        lv += t * dv / tie
        luu -= t * (du * (1.0 - 2.0 * fu) / tie + du * du / (tie * tie))
        lvv += t * (dv * (1.0 - 2.0 * fv) / tie - dv * dv / (tie * tie))
        luv = t * du * dv / (tie * tie)
    return nll, -(lu + lv), -(lv - lu), -(luu + 2.0 * luv + lvv), -(lvv - luu), -(luu - 2.0 * luv + lvv)


@kernel
def cell_terms_kernel(model, cell_lo, cell_hi, wi, wj, wt, theta, s, out) -> None:
    """out: float64[C, 6], cell_terms of every cell at (theta, s)."""
    for c in range(cell_lo.shape[0]):
        terms = cell_terms(model, theta[cell_lo[c]] - theta[cell_hi[c]], s, wi[c], wj[c], wt[c])
        for k in range(6):
            out[c, k] = terms[k]


@kernel
def _prior_nll(half_prior, theta) -> float:
    total = 0.0
    for i in range(theta.shape[0]):
        if half_prior[i] > 0.0:
            total -= half_prior[i] * (_log_sigmoid(theta[i]) + _log_sigmoid(-theta[i]))
    return total


@kernel
def data_nll(model, cell_lo, cell_hi, wi, wj, wt, params) -> float:
    """params: float64[M + 1], theta then s."""
    m = params.shape[0] - 1
    s = params[m]
    total = 0.0
    for c in range(cell_lo.shape[0]):
        if wi[c] + wj[c] + wt[c] > 0.0:
            total += cell_terms(model, params[cell_lo[c]] - params[cell_hi[c]], s, wi[c], wj[c], wt[c])[0]
    return total


@kernel
def objective(model, cell_lo, cell_hi, wi, wj, wt, half_prior, params) -> float:
    """The penalised negative log-likelihood the fit minimises (the prior as engine.bt's)."""
    return data_nll(model, cell_lo, cell_hi, wi, wj, wt, params) + _prior_nll(half_prior, params[:-1])


@kernel
def _hessian_times(cell_lo, cell_hi, h, diag_prior, tie_free, v, out) -> None:
    """out = H v, H the Hessian in (theta, s) from the cells' 2 x 2 blocks h[C, 3] = (dd, ds, ss)."""
    m = v.shape[0] - 1
    for i in range(m):
        out[i] = diag_prior[i] * v[i]
    out[m] = 0.0 if tie_free else v[m]
    vs = v[m] if tie_free else 0.0
    for c in range(cell_lo.shape[0]):
        i = cell_lo[c]
        j = cell_hi[c]
        dv = v[i] - v[j]
        x = h[c, 0] * dv + h[c, 1] * vs
        out[i] += x
        out[j] -= x
        if tie_free:
            out[m] += h[c, 1] * dv + h[c, 2] * vs


@kernel
def _centre(params, half_prior, component, n_components) -> None:
    """Each component without a prior at mean theta 0 (engine.bt.centre_free_components)."""
    m = params.shape[0] - 1
    sums = np.zeros(n_components)
    members = np.zeros(n_components)
    for i in range(m):
        if half_prior[i] == 0.0:
            sums[component[i]] += params[i]
            members[component[i]] += 1.0
    for i in range(m):
        if half_prior[i] == 0.0:
            params[i] -= sums[component[i]] / members[component[i]]


@kernel
def newton_step(model, cell_lo, cell_hi, wi, wj, wt, half_prior, tie_free, params, params_new, scratch, h) -> None:
    """One damped Newton step on (theta, s), its system solved by Jacobi-preconditioned CG (as engine.bt's)."""
    n = params.shape[0]
    m = n - 1
    grad, diag, direction, r, z, p, hp, diag_prior = (
        scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5], scratch[6], scratch[7],
    )  # fmt: skip
    s = params[m]
    for i in range(m):
        sig = 1.0 / (1.0 + math.exp(-params[i]))
        grad[i] = half_prior[i] * (2.0 * sig - 1.0)
        diag_prior[i] = 2.0 * half_prior[i] * sig * (1.0 - sig)
        diag[i] = diag_prior[i]
    grad[m] = 0.0
    diag[m] = 0.0
    for c in range(cell_lo.shape[0]):
        i = cell_lo[c]
        j = cell_hi[c]
        _, g_d, g_s, h_dd, h_ds, h_ss = cell_terms(model, params[i] - params[j], s, wi[c], wj[c], wt[c])
        grad[i] += g_d
        grad[j] -= g_d
        grad[m] += g_s
        h[c, 0] = h_dd
        h[c, 1] = h_ds
        h[c, 2] = h_ss
        diag[i] += h_dd
        diag[j] += h_dd
        diag[m] += h_ss
    if not tie_free:
        grad[m] = 0.0
        diag[m] = 1.0
    for i in range(n):
        if not diag[i] > 0.0:
            diag[i] = 1.0
    gnorm = 0.0
    for i in range(n):
        direction[i] = 0.0
        r[i] = -grad[i]
        z[i] = r[i] / diag[i]
        p[i] = z[i]
        gnorm += grad[i] * grad[i]
    gnorm = math.sqrt(gnorm)
    target = min(_FORCING, math.sqrt(gnorm)) * gnorm
    rz = 0.0
    for i in range(n):
        rz += r[i] * z[i]
    for _ in range(10 * n + 100):
        rnorm = 0.0
        for i in range(n):
            rnorm += r[i] * r[i]
        if math.sqrt(rnorm) <= target:
            break
        _hessian_times(cell_lo, cell_hi, h, diag_prior, tie_free, p, hp)
        if not cg_advance(p, hp, rz, direction, r, n):
            break  # along a free component's constant vector (engine.bt.newton_step)
        for i in range(n):
            z[i] = r[i] / diag[i]  # Jacobi
        rz = cg_turn(r, z, p, rz, n)
    largest = 0.0
    for i in range(m):
        largest = max(largest, abs(direction[i]))
    shrink = min(1.0, MAX_NEWTON_STEP / largest) if largest > 0 else 1.0
    if abs(direction[m]) * shrink > _MAX_TIE_STEP:
        shrink = _MAX_TIE_STEP / abs(direction[m])
    slope = 0.0
    for i in range(n):
        direction[i] *= shrink
        slope += grad[i] * direction[i]
    before = objective(model, cell_lo, cell_hi, wi, wj, wt, half_prior, params)
    step = 1.0
    for _ in range(60):
        for i in range(n):
            params_new[i] = params[i] + step * direction[i]
        after = objective(model, cell_lo, cell_hi, wi, wj, wt, half_prior, params_new)
        # Armijo up to the rounding of a sum over the cells (engine.bt.tree_newton_fit): near the optimum
        # the predicted decrease falls below it, and a strict test would shrink converging steps to nothing.
        if sufficient_decrease(before + ROUNDING * abs(before), after, step, -slope):
            return
        step *= 0.5
    for i in range(n):
        params_new[i] = params[i]


@kernel
def fit_kernel(model, cell_lo, cell_hi, wi, wj, wt, half_prior, component, n_components, tie_free, params, tol,
               max_iter) -> int:  # fmt: skip
    """Newton-CG on params (float64[M + 1]: theta, then s), in place. Returns the steps taken or NOT_CONVERGED.
    Convergence: no centred theta and not s moves more than tol in a step."""
    n = params.shape[0]
    params_new = np.empty(n)
    scratch = np.empty((8, n))
    h = np.empty((cell_lo.shape[0], 3))
    _centre(params, half_prior, component, n_components)
    for it in range(max_iter):
        newton_step(model, cell_lo, cell_hi, wi, wj, wt, half_prior, tie_free, params, params_new, scratch, h)
        _centre(params_new, half_prior, component, n_components)
        delta = 0.0
        for i in range(n):
            delta = max(delta, abs(params_new[i] - params[i]))
            params[i] = params_new[i]
        if delta < tol:
            return it + 1
    return NOT_CONVERGED


@kernel
def tie_counts_kernel(counts, both_bad_weight, reweight, wi, wj, wt) -> None:
    """Per cell the wins of lo, of hi and the ties the likelihood sees (both-bad ties among the ties
    unless both_bad_weight is 0)."""
    for c in range(counts.shape[0]):
        a = float(counts[c, 0])
        b = float(counts[c, 1])
        t = counts[c, 2] + (counts[c, 3] if both_bad_weight > 0.0 else 0.0)
        if reweight:
            r = 1.0 / max(a + b + t, 50.0)
            a *= r
            b *= r
            t *= r
        wi[c] = a
        wj[c] = b
        wt[c] = t


@kernel
def bootstrap_kernel(
    model, cell_lo, cell_hi, counts, both_bad_weight, reweight, auto_prior, half_prior_full, component, sizes, root,
    adj_start, adj_cell, tie_free, params_full, seed, round_start, round_stop, tol, max_iter, out, out_iterations,
) -> None:  # fmt: skip
    """Rounds [round_start, round_stop): each cell's four counts drawn Poisson(count) with engine.bt's keys
    (a round resamples the same votes as a BT round of the same seed), then the fit warm-started from the
    full one. The prior is decided afresh per round as engine.bt.bootstrap_kernel does. A round that drew
    no tie keeps the tie parameter at the full fit's value (its MLE would be at the bound)."""
    n_cells = counts.shape[0]
    m = params_full.shape[0] - 1
    n_components = sizes.shape[0]
    wi = np.empty(n_cells)
    wj = np.empty(n_cells)
    wt = np.empty(n_cells)
    w_lo = np.empty(n_cells)
    w_hi = np.empty(n_cells)
    params = np.empty(m + 1)
    half_prior = half_prior_full.copy()
    work = np.empty((2, m), dtype=np.int64)
    reached = np.empty((2, n_components), dtype=np.int64)
    check = mle_components(half_prior_full, component, n_components)
    table = poisson_cdf_table()
    seed_key = mix64(mix64(seed) ^ _BT_STREAM)
    for r in range(round_start, round_stop):
        round_key = mix64(seed_key ^ np.uint64(r))
        tie_total = 0.0
        for c in range(n_cells):
            base = np.uint64(4 * c)
            a = poisson_count(counts[c, 0], mix64(round_key ^ base), table)
            b = poisson_count(counts[c, 1], mix64(round_key ^ (base + np.uint64(1))), table)
            t = poisson_count(counts[c, 2], mix64(round_key ^ (base + np.uint64(2))), table)
            bb = poisson_count(counts[c, 3], mix64(round_key ^ (base + np.uint64(3))), table)
            if both_bad_weight > 0.0:
                t += bb
            if reweight:
                scale = 1.0 / max(a + b + t, 50.0)
                a *= scale
                b *= scale
                t *= scale
            wi[c] = a
            wj[c] = b
            wt[c] = t
            w_lo[c] = a  # decisive wins only: the prior rule of a tie model (see fit)
            w_hi[c] = b
            tie_total += t
        if auto_prior > 0.0:
            auto_prior_kernel(
                auto_prior, check, component, sizes, root, adj_start, adj_cell, cell_lo, cell_hi, w_lo, w_hi,
                half_prior, work, reached,
            )  # fmt: skip
        for i in range(m + 1):
            params[i] = params_full[i]
        out_iterations[r] = fit_kernel(
            model, cell_lo, cell_hi, wi, wj, wt, half_prior, component, n_components, tie_free and tie_total > 0.0,
            params, tol, max_iter,
        )  # fmt: skip
        for i in range(m + 1):
            out[r, i] = params[i]


# ----------------------------------------------------------------- wrappers


def _check_model(model: str) -> int:
    if model not in MODEL_CODES:
        raise ValueError(f"tie model must be one of {sorted(MODEL_CODES)} (or 'half': engine.bt), got {model!r}")
    return MODEL_CODES[model]


def tie_counts(
    table: CellTable, config: BTConfig
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(wins of lo, wins of hi, ties) per cell: float64[C] each."""
    wi, wj, wt = (np.empty(table.n_cells) for _ in range(3))
    tie_counts_kernel(table.counts, BOTH_BAD[config.both_bad], config.reweight, wi, wj, wt)
    return wi, wj, wt


def _start(model: str, wi, wj, wt) -> float:
    """s where the tie rate of two equal competitors is the board's: nu = 2 tau / (1 - tau) (Davidson),
    theta = (1 + tau) / (1 - tau) (Rao–Kupper)."""
    tau = float(wt.sum()) / max(float(wi.sum() + wj.sum() + wt.sum()), 1e-300)
    tau = min(max(tau, 1e-6), 1 - 1e-6)
    return math.log(2 * tau / (1 - tau)) if model == "davidson" else math.log((1 + tau) / (1 - tau))


def free_parameters(prior_weight: NDArray[np.float64], component: NDArray[np.int32], tie_free: bool) -> int:
    """Ratings less one per component without a prior (its level is fixed by centring), plus the tie parameter."""
    free_components = np.unique(component[prior_weight == 0]).shape[0]
    return int(prior_weight.shape[0] - free_components + (1 if tie_free else 0))


def fit(
    table: CellTable, model: str, config: BTConfig | None = None, params0: NDArray[np.float64] | None = None
) -> TieFit:
    """Fit ``model`` ("davidson" or "rao-kupper") to a cell table; ``params0`` (theta then s, e.g. the
    previous fit's ``params``) warm-starts it, else the BT fit with half-win ties does."""
    code = _check_model(model)
    config = config or BTConfig()
    m = table.n_competitors
    wi, wj, wt = tie_counts(table, config)
    tie_free = bool(wt.sum() > 0)
    if tie_free and not (wi.sum() + wj.sum()) > 0:
        raise ConvergenceError(
            f"the {model} tie model has no estimate on a board of ties only (its tie parameter grows without bound)"
        )
    params = np.zeros(m + 1)
    if params0 is not None and len(params0) >= 1:
        k = min(len(params0) - 1, m)
        params[:k] = params0[:k]
        params[m] = params0[-1]
    else:
        params[:m] = bt.fit(table, config).theta
        params[m] = _start(model, wi, wj, wt)
    if not tie_free:
        params[m] = -math.inf if model == "davidson" else 0.0
    elif not math.isfinite(params[m]) or (model == "rao-kupper" and params[m] <= 0):
        params[m] = _start(model, wi, wj, wt)
    graph = _Graph.of(table)
    # Which components have an MLE: those whose decisive wins connect every competitor both ways. Ties do
    # not count here, unlike under HALF: a competitor that tied but never lost a decisive vote is only ever
    # fitted better by moving it and the tie parameter off to infinity together (P(loss) -> 0 at a fixed
    # win/tie split), so it takes the prior like one that never lost.
    half_prior = _half_prior(table, config, graph, wi, wj)
    # A Davidson board without ties is BT (nu = 0): the kernels evaluate it at a finite s far below any fit's.
    kernel_params = params.copy()
    if not tie_free and model == "davidson":
        kernel_params[m] = -745.0
    hint = "--bt-prior X (virtual ties for every competitor) conditions it better"
    iterations = run_fit(
        fit_kernel,
        (code, table.cell_lo, table.cell_hi, wi, wj, wt, half_prior, graph.component, graph.sizes.shape[0],
         tie_free, kernel_params, config.tol, config.max_iter),
        f"the {model} tie-model fit", config.tol, config.max_iter, hint,
    )  # fmt: skip
    theta = kernel_params[:m].copy()
    s = float(kernel_params[m]) if tie_free else float(params[m])
    log_likelihood = -data_nll(code, table.cell_lo, table.cell_hi, wi, wj, wt, kernel_params)
    prior_weight = 2 * half_prior
    k = free_parameters(prior_weight, graph.component, tie_free)
    return TieFit(theta, s, model, iterations, float(log_likelihood), prior_weight, tie_free, k)


def bootstrap(
    table: CellTable,
    config: BTConfig,
    full_fit: TieFit,
    rounds: int,
    seed: int,
    threads: int = 1,
    progress: Callable[[int], object] | None = None,
    runner: RoundRunner | None = None,
) -> NDArray[np.float64]:
    """(theta, s) of each bootstrap round: float64[rounds, M + 1] (on ``runner``, engine.fit.RoundRunner)."""
    graph = _Graph.of(table)
    params = full_fit.params
    if not full_fit.tie_free:
        params[-1] = -745.0 if full_fit.model == "davidson" else 0.0
    head = (
        MODEL_CODES[full_fit.model], table.cell_lo, table.cell_hi, table.counts, BOTH_BAD[config.both_bad],
        config.reweight, AUTO_PRIOR if config.prior is None else 0.0, full_fit.prior_weight / 2, graph.component,
        graph.sizes, graph.root, graph.adj_start, graph.adj_cell, full_fit.tie_free, params, np.uint64(seed),
    )  # fmt: skip
    out = run_rounds(
        bootstrap_kernel, head, rounds, table.n_competitors + 1, config.bootstrap_tol, config.max_iter, threads,
        progress, f"the {full_fit.model} tie-model fit", runner,
    )  # fmt: skip
    if not full_fit.tie_free:
        out[:, -1] = full_fit.log_tie
    return out


def sandwich_covariance(
    table: CellTable, config: BTConfig, full_fit: TieFit, anchor_slot: int | None = None
) -> NDArray[np.float64]:
    """Robust covariance H^-1 B H^-1 of (reported theta, s): float64[M + 1, M + 1].

    Reported theta: centred (theta - mean) or, with ``anchor_slot``, theta - theta[anchor]; as
    engine.bt.sandwich_covariance, whose gauge handling this follows. B sums per cell the outer products
    of each outcome's score (one vote's), times its count. Dense: refused above SANDWICH_MAX_COMPETITORS.
    """
    m = table.n_competitors
    if m > bt.SANDWICH_MAX_COMPETITORS:
        raise ValueError(
            f"sandwich CIs need a dense {m} x {m} inverse; refused above {bt.SANDWICH_MAX_COMPETITORS} "
            "competitors (O(M^3) time, M^2 memory). Use the bootstrap, whose cost is O(cells) per round."
        )
    code = MODEL_CODES[full_fit.model]
    lo, hi = table.cell_lo, table.cell_hi
    wi, wj, wt = tie_counts(table, config)
    theta = full_fit.theta
    s = full_fit.log_tie if full_fit.tie_free else (-745.0 if full_fit.model == "davidson" else 0.0)
    terms = np.empty((table.n_cells, 6))
    cell_terms_kernel(code, lo, hi, wi, wj, wt, theta, s, terms)
    # Each vote's score, by outcome: the derivatives of a cell with one vote of that outcome.
    ones, zeros = np.ones(table.n_cells), np.zeros(table.n_cells)
    scores = []
    for unit in ((ones, zeros, zeros), (zeros, ones, zeros), (zeros, zeros, ones if full_fit.tie_free else zeros)):
        one = np.empty((table.n_cells, 6))
        cell_terms_kernel(code, lo, hi, *unit, theta, s, one)
        scores.append(one[:, 1:3])
    counts = table.counts.astype(np.float64)
    both_bad = BOTH_BAD[config.both_bad] > 0
    n_k = [counts[:, 0], counts[:, 1], counts[:, 2] + both_bad * counts[:, 3]]
    if config.reweight:
        n_all = np.maximum(n_k[0] + n_k[1] + n_k[2], 50.0)
        n_k = [n / n_all**2 for n in n_k]
    meat_dd = sum(n * g[:, 0] ** 2 for n, g in zip(n_k, scores, strict=True))
    meat_ds = sum(n * g[:, 0] * g[:, 1] for n, g in zip(n_k, scores, strict=True))
    meat_ss = sum(n * g[:, 1] ** 2 for n, g in zip(n_k, scores, strict=True))
    sigma = 1.0 / (1.0 + np.exp(-theta))
    prior = full_fit.prior_weight
    hessian = _block_matrix(m, lo, hi, terms[:, 3], terms[:, 4], terms[:, 5])
    hessian[np.arange(m), np.arange(m)] += prior * sigma * (1 - sigma)
    meat = _block_matrix(m, lo, hi, meat_dd, meat_ds, meat_ss)
    if not full_fit.tie_free:  # the parameter is fixed: no row of its own
        hessian[m, :] = 0.0
        hessian[:, m] = 0.0
        hessian[m, m] = 1.0
        meat[m, :] = 0.0
        meat[:, m] = 0.0
    free = prior == 0
    component = table.components()[free]
    null = np.zeros((m + 1, int(component.max()) + 1 if component.size else 0))
    null[np.flatnonzero(free), component] = 1.0
    null /= np.sqrt(np.maximum(null.sum(axis=0), 1.0))
    c = float(np.mean(np.diag(hessian))) or 1.0
    bread = np.linalg.inv(hessian + c * null @ null.T) - null @ null.T / c
    gauge = bread[:m].mean(axis=0) if anchor_slot is None else bread[anchor_slot].copy()
    bread[:m] -= gauge
    return bread @ meat @ bread.T


def _block_matrix(m: int, lo, hi, dd, ds, ss) -> NDArray[np.float64]:
    """sum_c of the cell's block in (theta, s): dd (e_lo - e_hi)(e_lo - e_hi)^T, ds its cross terms with
    e_s, ss on (s, s). Dense [M + 1, M + 1]."""
    out = np.zeros((m + 1, m + 1))
    out[:m, :m] = bt._laplacian(m, lo, hi, dd)
    cross = np.bincount(lo, ds, minlength=m) - np.bincount(hi, ds, minlength=m)
    out[:m, m] = cross
    out[m, :m] = cross
    out[m, m] = float(np.sum(ss))
    return out


@dataclass(frozen=True)
class TieParameter:
    """The fitted tie parameter (nu or theta) and its 95% interval (equal to it without a CI)."""

    model: str
    value: float
    lower: float
    upper: float


def standings(
    table: CellTable,
    counts: NDArray[np.int64],
    competitor_ids: NDArray[np.int32],
    config: BTConfig,
    query: BTQuery,
    model: str,
    scale: RatingScale | None = None,
    threads: int = 1,
    total_votes: int = 0,
    as_of_seq: int = 0,
    params0: NDArray[np.float64] | None = None,
    progress: Callable[[int], object] | None = None,
    runner: RoundRunner | None = None,
) -> tuple[Standings, TieFit, TieParameter]:
    """The leaderboard under a tie model: as engine.bt.standings, plus the tie parameter with its CI."""
    _check_model(model)
    scale = scale or RatingScale()
    full = fit(table, model, config, params0)
    anchor = (query.anchor_slot, query.anchor_rating)
    rating = scale.ratings(full.theta, *anchor)
    value = float(full.tie_parameter)
    rounds = 0
    if query.ci == "bootstrap":
        rounds = query.rounds
        params = bootstrap(table, config, full, rounds, query.seed, threads, progress, runner)
        lower, upper = np.percentile(scale.ratings(params[:, :-1], *anchor), CI_PERCENTILES, axis=0)
        tie_lower, tie_upper = np.percentile(tie_parameter(model, params[:, -1]), CI_PERCENTILES)
    elif query.ci == "sandwich":
        covariance = sandwich_covariance(table, config, full, query.anchor_slot)
        variance = np.maximum(np.diag(covariance), 0.0)
        half_width = Z_95 * np.sqrt(variance[:-1]) * scale.points_per_theta
        lower, upper = rating - half_width, rating + half_width
        tie_half = Z_95 * math.sqrt(variance[-1]) if full.tie_free else 0.0
        # On the log scale, where the parameter is fitted: the interval stays inside nu >= 0 / theta >= 1.
        tie_lower = float(tie_parameter(model, full.log_tie - tie_half))
        tie_upper = float(tie_parameter(model, full.log_tie + tie_half))
    else:
        lower, upper = rating.copy(), rating.copy()
        tie_lower, tie_upper = value, value
    result = Standings.build(
        competitor_ids, rating, lower, upper, counts, total_votes, as_of_seq, rounds, table.components(),
        full.regularized,
    )  # fmt: skip
    return result, full, TieParameter(model, value, float(tie_lower), float(tie_upper))
