"""Style control: Bradley–Terry with per-vote style covariates (contextual BT).

LMArena's style-controlled leaderboard separates a model's quality from how
its answers look (length, markdown), which voters reward. Each vote i with
competitors a, b carries, per style feature k, the two sides' raw values
(tokens, header count, ...). The model:

    logit P(a beats b) = theta_a - theta_b + sum_k beta_k x_ik
    x_ik = standardise( (value_a - value_b) / (value_a + value_b + 1) )

standardised over the votes of the fit (population mean and standard
deviation; a feature with zero spread is left at 0), FastChat's choice.
Ties, of both kinds, score 0.5 (engine.outcomes.TIE_SCORE) (or are left out with both_bad="ignore").

Penalised maximum likelihood, two reference penalties:

- "all" (FastChat's ``compute_style_control``, the default): ridge of
  strength s = 0.5 on every parameter, the ratings measured in log-``base``
  units as FastChat fits them: s/2 * (sum (theta / ln base)^2 + sum beta^2),
  added to the summed negative log-likelihood. It keeps an undefeated
  model's rating finite and barely moves the rest.
- "coefficients" (arena-rank's ``ContextualBradleyTerry``): ridge on the
  style coefficients only, s = 1.0 per unit of vote weight (arena-rank's
  mean loss): s/2 * sum(w) * sum beta^2. Ratings are unpenalised, fixed to
  sum 0. This shrinks the coefficients hard (4x the curvature of a
  standardised feature), so their intervals are not centred on the truth.

The fit is Newton's method on all M + F parameters, each iteration one
compiled pass over the votes for the gradient and Hessian (O(N (F + 2)^2)),
then a Cholesky solve (O((M + F)^3)) and a backtracking line search, warm
started from the previous fit. CIs: the sandwich H^-1 (sum s_i s_i^T) H^-1,
and a vote-level Poisson bootstrap (counter-based weights, so a round does
not depend on the thread that ran it), rounds warm-started from the full
fit and run in parallel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine._jit import kernel
from engine.bt import Z_95, BTQuery
from engine.cells import CellTable
from engine.config import StyleConfig  # re-exported: engine.style.StyleConfig is the same class
from engine.counter_rng import mix64, poisson1_weight
from engine.fit import NOT_CONVERGED, SINGULAR, RoundRunner, run_fit, run_rounds, sufficient_decrease
from engine.outcomes import SCORE_A, Outcome
from engine.scale import RatingScale
from engine.standings import CI_PERCENTILES, Standings

MAX_PARAMETERS = 1500  # the Hessian is dense: (M + F)^3 / 3 flops a Newton step
_GAUGE = 1.0  # (sum theta)^2 / 2 weight: fixes the free shift of unpenalised ratings
_STYLE_STREAM = np.uint64(0x5354594C452D4254)  # keeps style-bootstrap draws apart from the others


@dataclass(frozen=True)
class StyleData:
    """The votes of a style fit, in arrays the kernels take. N votes, F features."""

    slot_a: NDArray[np.int32]
    slot_b: NDArray[np.int32]
    score: NDArray[np.float64]  # side A's score: 1, 0 or 0.5
    weight: NDArray[np.float64]  # 1, or 0 for a both-bad tie under both_bad="ignore"
    x: NDArray[np.float64]  # [N, F], standardised
    mean: NDArray[np.float64]  # [F] of the raw (a - b) / (a + b + 1), for reporting
    std: NDArray[np.float64]  # [F]
    n_competitors: int

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])


@dataclass(frozen=True)
class StyleFit:
    theta: NDArray[np.float64]  # [M], sum 0
    beta: NDArray[np.float64]  # [F], logit per standard deviation of each feature
    iterations: int
    log_likelihood: float

    @property
    def params(self) -> NDArray[np.float64]:
        return np.concatenate([self.theta, self.beta])


def style_data(
    slot_a: NDArray[np.int32],
    slot_b: NDArray[np.int32],
    outcome: NDArray[np.int8],
    values: NDArray[np.float64],
    n_competitors: int,
    config: StyleConfig,
    vote_weight: NDArray[np.float64] | None = None,
) -> StyleData:
    """values: float64[N, 2F], side A's F raw feature values then side B's (non-negative).

    ``vote_weight``: float64[N], the votes' own weights (None: all 1). A vote of weight w counts as w
    copies of it: in the likelihood, in the standardisation's mean and spread, and in reweighting's
    pair counts, so weight 2 fits exactly as the vote given twice (to rounding).
    """
    if vote_weight is not None:
        return _weighted_style_data(slot_a, slot_b, outcome, values, n_competitors, config, vote_weight)
    n = slot_a.shape[0]
    f = values.shape[1] // 2
    a, b = values[:, :f], values[:, f:]
    diff = (a - b) / (a + b + 1.0)
    mean = diff.mean(axis=0) if n else np.zeros(f)
    std = diff.std(axis=0) if n else np.ones(f)
    std = np.where(std > 0, std, 1.0)
    score = SCORE_A[outcome]
    weight = np.ones(n)
    if config.reweight and n:
        pairs = np.minimum(slot_a, slot_b).astype(np.int64) * (n_competitors + 1) + np.maximum(slot_a, slot_b)
        _, pair_of, pair_count = np.unique(pairs, return_inverse=True, return_counts=True)
        weight = 1.0 / np.maximum(pair_count[pair_of], 50).astype(np.float64)
        weight /= weight.mean()
    if config.both_bad == "ignore":
        weight[outcome == Outcome.TIE_BOTH_BAD] = 0.0
    return StyleData(
        np.ascontiguousarray(slot_a, dtype=np.int32),
        np.ascontiguousarray(slot_b, dtype=np.int32),
        score,
        weight,
        np.ascontiguousarray((diff - mean) / std),
        mean,
        std,
        int(n_competitors),
    )


# ----------------------------------------------------------------- kernels


@kernel
def pass_kernel(slot_a, slot_b, score, weight, x, boot, params, n_comp, start, stop, grad, hess, meat, mode) -> float:
    """Votes [start, stop): returns the negative log-likelihood; mode 1 adds to grad and the
    upper triangle of hess, mode 2 also the score outer products to meat. ``boot`` (empty: none)
    multiplies each vote's weight."""
    n_feat = x.shape[1]
    loss = 0.0
    has_boot = boot.shape[0] > 0
    design = np.empty(n_feat)
    for i in range(start, stop):
        w = weight[i] * boot[i] if has_boot else weight[i]
        if w == 0.0:
            continue
        a = slot_a[i]
        b = slot_b[i]
        z = params[a] - params[b]
        for k in range(n_feat):
            design[k] = x[i, k]
            z += params[n_comp + k] * design[k]
        y = score[i]
        e = math.exp(-abs(z))  # one exp serves the loss and the probability
        loss += w * (max(z, 0.0) + math.log1p(e) - y * z)
        if mode == 0:
            continue
        p = 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)
        r = w * (y - p)  # minus the derivative of the vote's loss in z
        h = w * p * (1.0 - p)
        grad[a] -= r
        grad[b] += r
        lo, hi = (a, b) if a < b else (b, a)
        hess[a, a] += h
        hess[b, b] += h
        hess[lo, hi] -= h
        for k in range(n_feat):
            col = n_comp + k
            grad[col] -= r * design[k]
            hess[a, col] += h * design[k]
            hess[b, col] -= h * design[k]
            for m in range(k, n_feat):
                hess[col, n_comp + m] += h * design[k] * design[m]
        if mode == 2:
            s2 = r * r
            meat[a, a] += s2
            meat[b, b] += s2
            meat[lo, hi] -= s2
            for k in range(n_feat):
                col = n_comp + k
                meat[a, col] += s2 * design[k]
                meat[b, col] -= s2 * design[k]
                for m in range(k, n_feat):
                    meat[col, n_comp + m] += s2 * design[k] * design[m]
    return loss


@kernel
def _mirror(a) -> None:
    n = a.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            a[j, i] = a[i, j]


@kernel
def _penalty(params, n_comp, lam_theta, lam_beta, grad, hess, mode) -> float:
    """Ridge (lam_theta on ratings, lam_beta on coefficients) plus the gauge term on sum(theta)."""
    total = 0.0
    theta_sum = 0.0
    for j in range(params.shape[0]):
        lam = lam_theta if j < n_comp else lam_beta
        total += 0.5 * lam * params[j] * params[j]
        if j < n_comp:
            theta_sum += params[j]
        if mode:
            grad[j] += lam * params[j]
            hess[j, j] += lam
    total += 0.5 * _GAUGE * theta_sum * theta_sum
    if mode:
        for j in range(n_comp):
            grad[j] += _GAUGE * theta_sum
            for i in range(j, n_comp):
                hess[j, i] += _GAUGE
    return total


@kernel
def cholesky_solve(a, b, out, lower) -> bool:
    """Solve a @ out = b for symmetric positive-definite a; False if a is not."""
    n = a.shape[0]
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= lower[j, k] * lower[j, k]
        if s <= 0.0:
            return False
        d = math.sqrt(s)
        lower[j, j] = d
        for i in range(j + 1, n):
            t = a[i, j]
            for k in range(j):
                t -= lower[i, k] * lower[j, k]
            lower[i, j] = t / d
    for i in range(n):
        t = b[i]
        for k in range(i):
            t -= lower[i, k] * out[k]
        out[i] = t / lower[i, i]
    for i in range(n - 1, -1, -1):
        t = out[i]
        for k in range(i + 1, n):
            t -= lower[k, i] * out[k]
        out[i] = t / lower[i, i]
    return True


@kernel
def newton_kernel(slot_a, slot_b, score, weight, x, boot, n_comp, lam_theta, lam_beta, params, tol, max_iter) -> int:
    """Minimise the penalised loss from ``params`` (in place); returns iterations, NOT_CONVERGED or
    SINGULAR (the Hessian is not positive definite): engine.fit's contract."""
    size = params.shape[0]
    n = slot_a.shape[0]
    grad = np.empty(size)
    hess = np.empty((size, size))
    lower = np.zeros((size, size))
    step = np.empty(size)
    trial = np.empty(size)
    no_meat = np.empty((0, 0))
    for it in range(max_iter):
        grad[:] = 0.0
        hess[:] = 0.0
        loss = pass_kernel(slot_a, slot_b, score, weight, x, boot, params, n_comp, 0, n, grad, hess, no_meat, 1)
        loss += _penalty(params, n_comp, lam_theta, lam_beta, grad, hess, 1)
        _mirror(hess)
        if not cholesky_solve(hess, grad, step, lower):
            return SINGULAR
        slope = 0.0
        biggest = 0.0
        for j in range(size):
            slope += grad[j] * step[j]
            biggest = max(biggest, abs(step[j]))
        t = 1.0
        while True:  # backtracking (Armijo) line search on the convex objective
            for j in range(size):
                trial[j] = params[j] - t * step[j]
            value = pass_kernel(slot_a, slot_b, score, weight, x, boot, trial, n_comp, 0, n, grad, hess, no_meat, 0)
            value += _penalty(trial, n_comp, lam_theta, lam_beta, grad, hess, 0)
            if sufficient_decrease(loss, value, t, slope) or t < 1e-10:
                break
            t *= 0.5
        params[:] = trial
        if t * biggest < tol:
            return it + 1
    return NOT_CONVERGED


@kernel
def bootstrap_kernel(
    slot_a, slot_b, score, weight, x, n_comp, lam_theta, lam_beta_per_weight, full, seed,
    round_start, round_stop, tol, max_iter, out_params, out_iterations,
) -> None:  # fmt: skip
    """Rounds [round_start, round_stop): each vote enters with a Poisson(1) weight drawn from
    (seed, round, vote), and the fit starts from the full-data one."""
    n = slot_a.shape[0]
    boot = np.empty(n)
    params = np.empty(full.shape[0])
    seed_key = mix64(mix64(seed) ^ _STYLE_STREAM)
    for r in range(round_start, round_stop):
        round_key = mix64(seed_key ^ np.uint64(r))
        total = 0.0
        for i in range(n):
            boot[i] = poisson1_weight(mix64(round_key ^ np.uint64(i)))
            total += boot[i] * weight[i]
        params[:] = full
        lam_beta = lam_beta_per_weight * total if lam_beta_per_weight >= 0 else -lam_beta_per_weight
        out_iterations[r] = newton_kernel(
            slot_a, slot_b, score, weight, x, boot, n_comp, lam_theta, lam_beta, params, tol, max_iter
        )
        out_params[r] = params


# ----------------------------------------------------------------- wrappers


def _weighted_style_data(slot_a, slot_b, outcome, values, n_competitors, config, vote_weight) -> StyleData:
    """style_data with vote weights: a separate path, so that unweighted fits stay bit-identical."""
    n = slot_a.shape[0]
    f = values.shape[1] // 2
    vote_weight = np.asarray(vote_weight, dtype=np.float64)
    total = float(vote_weight.sum())
    a, b = values[:, :f], values[:, f:]
    diff = (a - b) / (a + b + 1.0)
    if n and total > 0:
        mean = vote_weight @ diff / total
        std = np.sqrt(vote_weight @ (diff - mean) ** 2 / total)
    else:
        mean, std = np.zeros(f), np.ones(f)
    std = np.where(std > 0, std, 1.0)
    weight = vote_weight.copy()
    if config.reweight and n:
        pairs = np.minimum(slot_a, slot_b).astype(np.int64) * (n_competitors + 1) + np.maximum(slot_a, slot_b)
        _, pair_of = np.unique(pairs, return_inverse=True)
        pair_count = np.bincount(pair_of, weights=vote_weight)
        per_vote = 1.0 / np.maximum(pair_count[pair_of], 50.0)
        per_vote /= vote_weight @ per_vote / total
        weight = vote_weight * per_vote
    if config.both_bad == "ignore":
        weight[outcome == Outcome.TIE_BOTH_BAD] = 0.0
    return StyleData(
        np.ascontiguousarray(slot_a, dtype=np.int32),
        np.ascontiguousarray(slot_b, dtype=np.int32),
        SCORE_A[outcome],
        weight,
        np.ascontiguousarray((diff - mean) / std),
        mean,
        std,
        int(n_competitors),
    )


def _lambdas(data: StyleData, config: StyleConfig, base: float, boot_total: float | None = None):
    """(lam_theta, lam_beta) for the summed loss."""
    s = config.effective_strength
    if config.penalty == "all":
        return s / math.log(base) ** 2, s
    total = float(data.weight.sum()) if boot_total is None else boot_total
    return 0.0, s * total


def check_size(n_competitors: int, n_features: int) -> None:
    if n_competitors + n_features > MAX_PARAMETERS:
        raise ValueError(
            f"style control fits a dense Hessian of {n_competitors + n_features} parameters; "
            f"the limit is {MAX_PARAMETERS} (competitors + features)"
        )


def fit(
    data: StyleData, config: StyleConfig, base: float = 10.0, params0: NDArray[np.float64] | None = None
) -> StyleFit:
    """The penalised maximum-likelihood ratings and coefficients; ``params0`` warm-starts."""
    check_size(data.n_competitors, data.n_features)
    m, f = data.n_competitors, data.n_features
    params = np.zeros(m + f)
    if params0 is not None and params0.shape == params.shape:
        params[:] = params0
    lam_theta, lam_beta = _lambdas(data, config, base)
    no_boot = np.empty(0)
    args = (data.slot_a, data.slot_b, data.score, data.weight, data.x, no_boot, m, lam_theta, lam_beta, params)
    iterations = run_fit(
        newton_kernel, (*args, config.tol, config.max_iter), f"the style-controlled fit (penalty {config.penalty!r})",
        config.tol, config.max_iter, "a competitor without wins or without losses needs penalty 'all'",
    )  # fmt: skip
    nll = pass_kernel(
        data.slot_a, data.slot_b, data.score, data.weight, data.x, no_boot, params, m, 0, len(data.slot_a),
        np.empty(0), np.empty((0, 0)), np.empty((0, 0)), 0,
    )  # fmt: skip
    return StyleFit(params[:m].copy(), params[m:].copy(), iterations, -nll)


def sandwich_covariance(
    data: StyleData, config: StyleConfig, full: StyleFit, base: float = 10.0
) -> NDArray[np.float64]:
    """H^-1 B H^-1 over (theta, beta), H the penalised Hessian, B the centred score outer products.
    The theta block is in the sum-zero gauge."""
    m, f = data.n_competitors, data.n_features
    size = m + f
    params = full.params
    grad = np.zeros(size)
    hess = np.zeros((size, size))
    meat = np.zeros((size, size))
    pass_kernel(data.slot_a, data.slot_b, data.score, data.weight, data.x, np.empty(0), params, m, 0,
                len(data.slot_a), grad, hess, meat, 2)  # fmt: skip
    lam_theta, lam_beta = _lambdas(data, config, base)
    score_sum = grad.copy()  # sum of the votes' score vectors (minus sign irrelevant below)
    _penalty(params, m, lam_theta, lam_beta, grad, hess, 1)
    _mirror(hess)
    _mirror(meat)
    n = max(float(data.weight.sum()), 1.0)
    meat -= np.outer(score_sum, score_sum) / n  # centre: at a penalised optimum the scores do not sum to 0
    inverse = np.linalg.inv(hess)
    return inverse @ meat @ inverse


def bootstrap(
    data: StyleData,
    config: StyleConfig,
    full: StyleFit,
    rounds: int,
    seed: int,
    threads: int = 1,
    base: float = 10.0,
    runner: RoundRunner | None = None,
) -> NDArray[np.float64]:
    """(theta, beta) of each round: float64[rounds, M + F] (on ``runner``, engine.fit.RoundRunner)."""
    m = data.n_competitors
    lam_theta, lam_beta = _lambdas(data, config, base)
    # "coefficients" scales with each round's total weight; "all" is fixed (passed negated).
    per_weight = config.effective_strength if config.penalty == "coefficients" else -lam_beta
    head = (data.slot_a, data.slot_b, data.score, data.weight, data.x, m, lam_theta, per_weight, full.params,
            np.uint64(seed))  # fmt: skip
    return run_rounds(
        bootstrap_kernel, head, rounds, m + data.n_features, config.bootstrap_tol, config.max_iter, threads,
        what=f"the style-controlled fit (penalty {config.penalty!r})", runner=runner,
    )  # fmt: skip


@dataclass(frozen=True)
class Coefficient:
    name: str
    value: float  # logit per standard deviation of the feature
    lower: float
    upper: float


def coefficients(names: Sequence[str], beta: NDArray[np.float64], lower, upper) -> list[Coefficient]:
    return [Coefficient(n, float(v), float(lo), float(hi)) for n, v, lo, hi in zip(names, beta, lower, upper)]


def standings(
    slot_a: NDArray[np.int32],
    slot_b: NDArray[np.int32],
    outcome: NDArray[np.int8],
    values: NDArray[np.float64],
    names: Sequence[str],
    competitor_ids: NDArray[np.int32],
    config: StyleConfig,
    query: BTQuery,
    scale: RatingScale,
    threads: int = 1,
    params0: NDArray[np.float64] | None = None,
    vote_weight: NDArray[np.float64] | None = None,
    runner: RoundRunner | None = None,
) -> tuple[Standings, StyleFit, list[Coefficient]]:
    """The style-controlled leaderboard of a board's style rows (slots index ``competitor_ids``).

    Only competitors with style votes are ranked; their vote counts are those of the fit.
    """
    present = np.unique(np.concatenate([slot_a, slot_b]))
    dense = np.full(int(present.max()) + 1 if present.size else 0, -1, dtype=np.int32)
    dense[present] = np.arange(present.shape[0], dtype=np.int32)
    a, b = dense[slot_a], dense[slot_b]
    m = present.shape[0]
    data = style_data(a, b, outcome, values, m, config, vote_weight)
    full = fit(data, config, scale.base, params0)
    rating = scale.ratings(full.theta)
    rounds = 0
    if query.ci == "bootstrap":
        rounds = query.rounds
        samples = bootstrap(data, config, full, rounds, query.seed, threads, scale.base, runner)
        lower, upper = np.percentile(scale.ratings(samples[:, :m]), CI_PERCENTILES, axis=0)
        beta_lower, beta_upper = np.percentile(samples[:, m:], CI_PERCENTILES, axis=0)
    elif query.ci == "sandwich":
        sd = np.sqrt(np.maximum(np.diag(sandwich_covariance(data, config, full, scale.base)), 0.0))
        half = Z_95 * sd[:m] * scale.points_per_theta
        lower, upper = rating - half, rating + half
        beta_lower, beta_upper = full.beta - Z_95 * sd[m:], full.beta + Z_95 * sd[m:]
    else:
        lower, upper, beta_lower, beta_upper = rating, rating, full.beta, full.beta
    counts = np.zeros((m, 4), dtype=np.int64)
    # Columns of counts: (wins, losses, ties, both-bad ties), each vote counted for both sides.
    columns = {Outcome.A_WINS: (0, 1), Outcome.B_WINS: (1, 0), Outcome.TIE: (2, 2), Outcome.TIE_BOTH_BAD: (3, 3)}
    for code, (side_a, side_b) in columns.items():
        chosen = outcome == code
        counts[:, side_a] += np.bincount(a[chosen], minlength=m)
        counts[:, side_b] += np.bincount(b[chosen], minlength=m)
    component = CellTable.from_votes(m, a, b, outcome).components()
    # The ridge on all parameters pulls every rating (regularized); on the coefficients only, none.
    regularized = np.full(m, config.penalty == "all")
    table = Standings.build(
        competitor_ids[present], rating, lower, upper, counts, len(a), 0, rounds, component, regularized
    )
    return table, full, coefficients(names, full.beta, beta_lower, beta_upper)
