"""Style control (engine.style): the fit against scipy and a numpy twin, the CIs' coverage,
recovery of true strengths, zero features = plain BT, and agreement with arena-rank."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import bt, style
from engine.cells import CellTable
from tests.conftest import style_votes, synthetic_votes

M = 10
TRUE_LENGTH_EFFECT = 0.4


def objective(data: style.StyleData, config: style.StyleConfig, params: np.ndarray) -> tuple[float, np.ndarray]:
    """The penalised loss and its gradient, written plainly in numpy (the kernel's twin)."""
    m = data.n_competitors
    theta, beta = params[:m], params[m:]
    z = theta[data.slot_a] - theta[data.slot_b] + data.x @ beta
    loss = np.sum(data.weight * (np.logaddexp(0.0, z) - data.score * z))
    residual = data.weight * (1.0 / (1.0 + np.exp(-z)) - data.score)
    grad = np.zeros_like(params)
    np.add.at(grad, data.slot_a, residual)
    np.add.at(grad, data.slot_b, -residual)
    grad[m:] = data.x.T @ residual
    s = config.effective_strength
    if config.penalty == "all":
        lam_theta, lam_beta = s / math.log(10.0) ** 2, s
    else:
        lam_theta, lam_beta = 0.0, s * data.weight.sum()
    loss += 0.5 * lam_theta * theta @ theta + 0.5 * lam_beta * beta @ beta + 0.5 * theta.sum() ** 2
    grad[:m] += lam_theta * theta + theta.sum()
    grad[m:] += lam_beta * beta
    return loss, grad


@pytest.mark.parametrize("penalty", ["all", "coefficients"])
def test_fit_equals_scipys_optimum_of_the_same_penalised_likelihood(penalty):
    from scipy.optimize import minimize

    a, b, outcome, values, _ = style_votes(4000, M, seed=1, tie_rate=0.1)
    config = style.StyleConfig(penalty=penalty)
    data = style.style_data(a, b, outcome, values, M, config)
    fit = style.fit(data, config)
    best = minimize(
        lambda p: objective(data, config, p),
        np.zeros(M + 4),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-16, "maxiter": 50_000},
    )
    assert np.abs(fit.params - best.x).max() < 1e-6
    assert objective(data, config, fit.params)[0] <= best.fun + 1e-9
    assert np.abs(objective(data, config, fit.params)[1]).max() < 1e-6  # stationary
    assert abs(fit.theta.sum()) < 1e-9
    # A warm start from the optimum stays there.
    again = style.fit(data, config, params0=fit.params)
    assert again.iterations <= 2 and np.abs(again.params - fit.params).max() < 1e-9


def test_standardised_features_follow_fastchats_recipe():
    values = np.array([[10.0, 0.0, 5.0, 2.0], [0.0, 3.0, 5.0, 0.0], [4.0, 4.0, 0.0, 1.0]])  # F = 2
    data = style.style_data(
        np.array([0, 1, 2]), np.array([1, 2, 0]), np.array([1, 2, 3]), values, 3, style.StyleConfig()
    )
    diff = (values[:, :2] - values[:, 2:]) / (values[:, :2] + values[:, 2:] + 1.0)
    np.testing.assert_allclose(data.x, (diff - diff.mean(axis=0)) / diff.std(axis=0))
    np.testing.assert_array_equal(data.score, [1.0, 0.0, 0.5])
    flat = style.style_data(
        np.array([0, 1]), np.array([1, 0]), np.array([1, 1]), np.ones((2, 2)), 2, style.StyleConfig()
    )
    assert np.all(flat.x == 0.0)  # no spread: the feature stays 0 instead of dividing by 0


def test_sandwich_matches_its_numpy_twin_and_the_bootstrap():
    a, b, outcome, values, _ = style_votes(6000, M, seed=2)
    config = style.StyleConfig()
    data = style.style_data(a, b, outcome, values, M, config)
    fit = style.fit(data, config)
    cov = style.sandwich_covariance(data, config, fit)
    # numpy twin: per-vote score vectors, the penalised Hessian by finite differences of the gradient
    m, size = M, M + 4
    z = fit.theta[data.slot_a] - fit.theta[data.slot_b] + data.x @ fit.beta
    r = data.weight * (data.score - 1.0 / (1.0 + np.exp(-z)))
    design = np.zeros((len(z), size))
    design[np.arange(len(z)), data.slot_a] = 1.0
    design[np.arange(len(z)), data.slot_b] = -1.0
    design[:, m:] = data.x
    scores = r[:, None] * design
    meat = scores.T @ scores - np.outer(scores.sum(0), scores.sum(0)) / len(z)
    eps = 1e-6
    gradient = lambda p: objective(data, config, p)[1]  # noqa: E731
    hess = np.array(
        [(gradient(fit.params + eps * e) - gradient(fit.params - eps * e)) / (2 * eps) for e in np.eye(size)]
    )
    twin = np.linalg.inv(hess) @ meat @ np.linalg.inv(hess)
    np.testing.assert_allclose(np.diag(cov), np.diag(twin), rtol=1e-4)
    samples = style.bootstrap(data, config, fit, rounds=300, seed=5, threads=2)
    ratio = samples.std(axis=0) / np.sqrt(np.diag(cov))
    assert np.all((ratio > 0.8) & (ratio < 1.2)), ratio


def test_bootstrap_is_deterministic_and_independent_of_threads():
    a, b, outcome, values, _ = style_votes(2000, 6, seed=3)
    config = style.StyleConfig()
    data = style.style_data(a, b, outcome, values, 6, config)
    fit = style.fit(data, config)
    one = style.bootstrap(data, config, fit, rounds=40, seed=9, threads=1)
    two = style.bootstrap(data, config, fit, rounds=40, seed=9, threads=2)
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, style.bootstrap(data, config, fit, rounds=40, seed=10, threads=2))


def test_coefficient_intervals_cover_the_true_length_effect_and_control_recovers_strengths():
    """On 120 boards with a known length effect: the 95% sandwich interval of the tokens
    coefficient covers it in 90-99% of boards, and controlled ratings are closer to the true
    strengths than plain BT's on average and on most boards."""
    config = style.StyleConfig()
    covered, controlled_error, plain_error = 0, [], []
    boards = 120
    for seed in range(boards):
        a, b, outcome, values, strength = style_votes(3000, M, seed=100 + seed, length_effect=TRUE_LENGTH_EFFECT)
        data = style.style_data(a, b, outcome, values, M, config)
        fit = style.fit(data, config)
        sd = np.sqrt(np.diag(style.sandwich_covariance(data, config, fit)))
        covered += abs(fit.beta[0] - TRUE_LENGTH_EFFECT) <= bt.Z_95 * sd[M]
        plain = style.fit(style.style_data(a, b, outcome, np.zeros_like(values), M, config), config)
        truth = strength - strength.mean()
        controlled_error.append(np.sqrt(np.mean((fit.theta - truth) ** 2)))
        plain_error.append(np.sqrt(np.mean((plain.theta - truth) ** 2)))
    assert 0.90 <= covered / boards <= 0.99, covered / boards
    controlled_error, plain_error = np.array(controlled_error), np.array(plain_error)
    assert controlled_error.mean() < 0.6 * plain_error.mean()
    assert (controlled_error < plain_error).mean() > 0.9


def test_with_all_features_zero_style_control_is_plain_bt():
    a, b, outcome, _ = synthetic_votes(5000, M, seed=4)
    zeros = np.zeros((len(a), 8))
    # Ridge on coefficients only: the plain MLE, as engine.bt fits it with a vanishing prior.
    config = style.StyleConfig(penalty="coefficients")
    fit = style.fit(style.style_data(a, b, outcome, zeros, M, config), config)
    table = CellTable.from_votes(M, a, b, outcome)
    mle = bt.fit(table, bt.BTConfig(prior=1e-12))
    np.testing.assert_allclose(fit.theta, mle.theta - mle.theta.mean(), atol=1e-7)
    assert np.all(fit.beta == 0.0)
    # Ridge on everything: the same objective with no features at all.
    config = style.StyleConfig(penalty="all")
    with_zeros = style.fit(style.style_data(a, b, outcome, zeros, M, config), config)
    without = style.fit(style.style_data(a, b, outcome, np.zeros((len(a), 0)), M, config), config)
    np.testing.assert_allclose(with_zeros.theta, without.theta, atol=1e-10)


def test_agrees_with_arena_ranks_contextual_bradley_terry():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("arena_rank")
    from arena_rank.models.contextual_bradley_terry import ContextualBradleyTerry
    from arena_rank.utils.data_utils import ContextualPairDataset

    a, b, outcome, values, _ = style_votes(6000, 8, seed=6, tie_rate=0.1)
    names = np.array([f"m{i}" for i in range(8)])
    diff = (values[:, :4] - values[:, 4:]) / (values[:, :4] + values[:, 4:] + 1.0)
    frame = pd.DataFrame({"model_a": names[a], "model_b": names[b],
                          "winner": np.array(["", "model_a", "model_b", "tie", "both_bad"])[outcome]})  # fmt: skip
    features = ["tokens", "headers", "lists", "bold"]
    for k, feature in enumerate(features):
        frame[feature] = diff[:, k]
    dataset = ContextualPairDataset.from_pandas(frame, feature_cols=features, reweighted=True)
    model = ContextualBradleyTerry(n_competitors=len(dataset.competitors), n_features=4)
    model.fit(dataset)
    theirs = np.asarray(model.params["ratings"]) * 400 / math.log(10)
    theirs = dict(zip(dataset.competitors, theirs - theirs.mean() + 1000))
    config = style.StyleConfig(penalty="coefficients", reweight=True)
    fit = style.fit(style.style_data(a, b, outcome, values, 8, config), config)
    ours = fit.theta * 400 / math.log(10) + 1000
    assert max(abs(ours[i] - theirs[f"m{i}"]) for i in range(8)) < 0.5
    np.testing.assert_allclose(fit.beta, np.asarray(model.params["coeffs"]), atol=2e-3)


def test_too_many_competitors_and_bad_configs_are_refused():
    with pytest.raises(ValueError, match="limit"):
        style.check_size(style.MAX_PARAMETERS, 4)
    with pytest.raises(ValueError, match="penalty"):
        style.StyleConfig(penalty="lasso")
    with pytest.raises(ValueError, match="strength"):
        style.StyleConfig(strength=float("nan"))


def test_style_and_bt_fits_fail_with_the_one_convergence_error():
    """engine.fit drives both fits: the same ConvergenceError from a fit and from bootstrap rounds."""
    from engine.fit import ConvergenceError

    assert bt.ConvergenceError is ConvergenceError
    a, b, outcome, values, _ = style_votes(2000, 6, seed=3)
    config = style.StyleConfig(max_iter=1)
    data = style.style_data(a, b, outcome, values, 6, config)
    with pytest.raises(ConvergenceError, match=r"style-controlled fit \(penalty 'all'\) did not converge"):
        style.fit(data, config)
    full = style.fit(data, style.StyleConfig())
    with pytest.raises(ConvergenceError, match="4 of 4 bootstrap rounds did not converge"):
        style.bootstrap(data, config, full, rounds=4, seed=0)
    table = CellTable.from_votes(6, a, b, outcome)
    with pytest.raises(ConvergenceError, match=r"Bradley–Terry fit \(newman\) did not converge to 1e-10 in 1 "):
        bt.fit(table, bt.BTConfig(step="newman", max_iter=1))
    with pytest.raises(ValueError, match="max_iter"):  # both configs check their stopping rules alike
        style.StyleConfig(max_iter=0)
