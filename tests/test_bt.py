"""Bradley–Terry: the fit against scipy, invariants, CIs against twins and the truth, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from engine import Board, EloConfig, bt
from engine.cells import CellTable, PairCells
from engine.scale import RatingScale
from tests.conftest import synthetic_votes


def table_of(a, b, outcome, m=None) -> CellTable:
    m = m if m is not None else int(max(np.max(a), np.max(b))) + 1
    return CellTable.from_votes(m, np.asarray(a), np.asarray(b), np.asarray(outcome))


def scipy_optimum(table: CellTable, config: bt.BTConfig) -> np.ndarray:
    """The same penalised likelihood, written per cell in numpy, minimised by a generic optimiser."""
    w_lo, w_hi = bt.effective_wins(table, config)
    lo, hi, half_prior = table.cell_lo, table.cell_hi, config.prior / 2

    def nll(theta):
        d = theta[lo] - theta[hi]
        p = 1 / (1 + np.exp(-d))
        value = -(w_lo @ np.log(p) + w_hi @ np.log1p(-p))
        value -= half_prior * np.sum(np.log(1 / (1 + np.exp(-theta))) + np.log(1 / (1 + np.exp(theta))))
        g_cell = w_lo - (w_lo + w_hi) * p
        grad = -np.bincount(lo, g_cell, table.n_competitors) + np.bincount(hi, g_cell, table.n_competitors)
        grad += half_prior * (2 / (1 + np.exp(-theta)) - 1)
        return value, grad

    result = minimize(nll, np.zeros(table.n_competitors), jac=True, method="L-BFGS-B",
                      options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20_000})  # fmt: skip
    return result.x


def centred(theta):
    return theta - theta.mean()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("step", ["auto", "newman", "newton"])
def test_fit_equals_scipy_optimum(seed, step):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(3, 25))
    a, b, outcome, _ = synthetic_votes(int(rng.integers(50, 5000)), m, seed=seed, tie_rate=0.3)
    config = bt.BTConfig(step=step, prior=float(rng.choice([0.1, 1.0, 3.0])), reweight=bool(seed % 2))
    table = table_of(a, b, outcome, m)
    fit = bt.fit(table, config)
    np.testing.assert_allclose(centred(fit.theta), centred(scipy_optimum(table, config)), atol=1e-6, rtol=0)


def test_mm_agrees_with_newman():
    a, b, outcome, _ = synthetic_votes(20_000, 15, seed=1, tie_rate=0.2)
    table = table_of(a, b, outcome)
    newman = bt.fit(table, bt.BTConfig(step="newman"))
    mm = bt.fit(table, bt.BTConfig(step="mm", tol=1e-13))
    np.testing.assert_allclose(centred(mm.theta), centred(newman.theta), atol=1e-6, rtol=0)


def test_warm_start_reaches_the_same_fit_faster():
    a, b, outcome, _ = synthetic_votes(50_000, 40, seed=2)
    table = table_of(a, b, outcome)
    cold = bt.fit(table)
    more = table_of(np.r_[a, [0, 1]], np.r_[b, [1, 2]], np.r_[outcome, [1, 3]])
    warm = bt.fit(more, theta0=cold.theta)
    again = bt.fit(more)
    assert warm.iterations < again.iterations
    np.testing.assert_allclose(centred(warm.theta), centred(again.theta), atol=1e-8, rtol=0)


def test_non_convergence_raises_a_runtime_error():
    a, b, outcome, _ = synthetic_votes(1000, 10, seed=3)
    with pytest.raises(bt.ConvergenceError) as err:
        bt.fit(table_of(a, b, outcome), bt.BTConfig(step="newman", max_iter=1))
    assert isinstance(err.value, RuntimeError)


def test_log_likelihood_and_win_probability():
    a, b, outcome, _ = synthetic_votes(3000, 8, seed=4, tie_rate=0.25)
    table = table_of(a, b, outcome)
    fit = bt.fit(table)
    score = np.array([np.nan, 1.0, 0.0, 0.5, 0.5])[outcome]
    p = 1 / (1 + np.exp(fit.theta[b] - fit.theta[a]))
    per_vote = score * np.log(p) + (1 - score) * np.log(1 - p)  # a tie is half a win each way
    assert fit.log_likelihood == pytest.approx(per_vote.sum(), rel=1e-12)
    assert bt.win_probability(fit.theta[0], fit.theta[1]) == pytest.approx(
        1 / (1 + math.exp(fit.theta[1] - fit.theta[0]))
    )


def test_votes_in_any_order_give_the_same_cells_and_ratings():
    a, b, outcome, _ = synthetic_votes(20_000, 30, seed=5, tie_rate=0.2)
    order = np.random.default_rng(0).permutation(len(a))
    one, two = table_of(a, b, outcome, 30), table_of(a[order], b[order], outcome[order], 30)
    assert sorted_cells(one) == sorted_cells(two)
    np.testing.assert_allclose(centred(bt.fit(one).theta), centred(bt.fit(two).theta), atol=1e-9, rtol=0)


def sorted_cells(table: CellTable):
    return sorted(zip(table.cell_lo.tolist(), table.cell_hi.tolist(), map(tuple, table.counts.tolist())))


def test_incremental_cells_equal_cells_rebuilt_from_the_log():
    a, b, outcome, _ = synthetic_votes(30_000, 200, seed=6, tie_rate=0.2)
    board = Board(EloConfig(bootstrap_rounds=0))
    for start in range(0, len(a), 777):
        board.apply(a[start : start + 777], b[start : start + 777], outcome[start : start + 777])
    slots = np.array([board.slot_of(int(c)) for c in range(200)])
    rebuilt = table_of(slots[a], slots[b], outcome, board.n_competitors)
    assert sorted_cells(board.cell_table()) == sorted_cells(rebuilt)
    # And they survive a checkpoint round trip, hash table included.
    restored = Board.from_state(board.state())
    assert sorted_cells(restored.cell_table()) == sorted_cells(rebuilt)
    assert (
        restored.cells.pair(int(slots[a[0]]), int(slots[b[0]])).tolist()
        == board.cells.pair(int(slots[a[0]]), int(slots[b[0]])).tolist()
    )


def test_pair_counts_from_either_side():
    cells = PairCells()
    cells.add(np.array([3, 1, 3, 1], np.int32), np.array([1, 3, 1, 3], np.int32), np.array([1, 1, 3, 4], np.int8))
    assert cells.pair(3, 1).tolist() == [1, 1, 1, 1]
    assert cells.pair(1, 3).tolist() == [1, 1, 1, 1]
    cells.add(np.array([3], np.int32), np.array([1], np.int32), np.array([1], np.int8))
    assert cells.pair(3, 1).tolist() == [2, 1, 1, 1] and cells.pair(1, 3).tolist() == [1, 2, 1, 1]
    assert cells.pair(0, 2).tolist() == [0, 0, 0, 0]


def naive_sandwich(a, b, outcome, theta, prior):
    """H^-1 B H^-1 built vote by vote, in plain Python loops."""
    m = len(theta)
    h = np.zeros((m, m))
    meat = np.zeros((m, m))
    for i, j, o in zip(a.tolist(), b.tolist(), outcome.tolist()):
        p = 1 / (1 + math.exp(theta[j] - theta[i]))
        y = {1: 1.0, 2: 0.0, 3: 0.5, 4: 0.5}[o]
        x = np.zeros(m)
        x[i], x[j] = 1.0, -1.0
        h += p * (1 - p) * np.outer(x, x)
        meat += (y - p) ** 2 * np.outer(x, x)
    sigma = 1 / (1 + np.exp(-theta))
    h += np.diag(prior * sigma * (1 - sigma))
    inverse = np.linalg.inv(h)
    centre = np.eye(m) - 1 / m  # the covariance of theta - mean(theta)
    return centre @ inverse @ meat @ inverse @ centre


@pytest.mark.parametrize("prior", [1.0, 1e-6])
def test_sandwich_equals_per_vote_twin(prior):
    a, b, outcome, _ = synthetic_votes(600, 7, seed=7, tie_rate=0.3)
    table = table_of(a, b, outcome)
    config = bt.BTConfig(prior=prior)
    fit = bt.fit(table, config)
    np.testing.assert_allclose(
        bt.sandwich_covariance(table, config, fit.theta), naive_sandwich(a, b, outcome, fit.theta, config.prior),
        rtol=1e-6, atol=1e-9,
    )  # fmt: skip


def test_sandwich_is_refused_above_its_limit(monkeypatch):
    a, b, outcome, _ = synthetic_votes(100, 6, seed=8)
    monkeypatch.setattr(bt, "SANDWICH_MAX_COMPETITORS", 5)
    with pytest.raises(ValueError, match="refused above 5 competitors"):
        bt.sandwich_covariance(table_of(a, b, outcome), bt.BTConfig(), np.zeros(6))


def test_bootstrap_is_seeded_and_thread_independent():
    a, b, outcome, _ = synthetic_votes(5000, 12, seed=9)
    table = table_of(a, b, outcome)
    fit = bt.fit(table)
    one = bt.bootstrap(table, bt.BTConfig(), fit, rounds=64, seed=3, threads=1)
    two = bt.bootstrap(table, bt.BTConfig(), fit, rounds=64, seed=3, threads=2)
    assert np.array_equal(one, two)
    assert not np.array_equal(one, bt.bootstrap(table, bt.BTConfig(), fit, rounds=64, seed=4, threads=2))
    # Reporting progress runs the rounds in blocks: the same rounds, the same numbers.
    done = []
    blocks = bt.bootstrap(table, bt.BTConfig(), fit, rounds=200, seed=3, threads=2, progress=done.append)
    assert np.array_equal(blocks[:64], one) and sum(done) == 200 and len(done) > 1


def query_standings(table, ci, rounds=400, seed=0, **kwargs):
    counts = np.zeros((table.n_competitors, 4), dtype=np.int64)
    ids = np.arange(table.n_competitors, dtype=np.int32)
    query = bt.BTQuery(ci=ci, rounds=rounds, seed=seed, **kwargs)
    return bt.standings(table, counts, ids, bt.BTConfig(), query, threads=2)


def test_coverage_of_the_true_strengths():
    """On 200 simulated boards, both 95% intervals cover the true (centred) rating 90-99% of the time."""
    covered = {"bootstrap": [], "sandwich": []}
    width_ratio = []
    scale = RatingScale()
    for seed in range(200):
        # No ties: ties drawn regardless of strength (as synthetic_votes makes them)
        # would pull every theta toward 0, and the truth would lie outside the model.
        a, b, outcome, strength = synthetic_votes(1500, 8, seed=1000 + seed, tie_rate=0.0)
        table = table_of(a, b, outcome, 8)
        truth = scale.ratings(strength)
        widths = {}
        for ci in covered:
            s, _ = query_standings(table, ci, rounds=200, seed=seed)
            true = truth[s.competitor_ids]
            covered[ci].extend(((s.rating_lower <= true) & (true <= s.rating_upper)).tolist())
            widths[ci] = (s.rating_upper - s.rating_lower)[np.argsort(s.competitor_ids)]
        width_ratio.append(np.mean(widths["bootstrap"] / widths["sandwich"]))
    for ci, hits in covered.items():
        assert 0.90 <= np.mean(hits) <= 0.99, f"{ci} coverage {np.mean(hits):.3f}"
    assert abs(np.mean(width_ratio) - 1) < 0.15


def test_ci_narrows_as_votes_grow():
    widths = []
    for n in (2_000, 20_000, 200_000):
        a, b, outcome, _ = synthetic_votes(n, 10, seed=11)
        s, _ = query_standings(table_of(a, b, outcome, 10), "sandwich")
        widths.append(np.median(s.rating_upper - s.rating_lower))
    # Width ~ 1 / sqrt(votes): ten times the votes, about a third of the width.
    assert 0.25 < widths[1] / widths[0] < 0.42 and 0.25 < widths[2] / widths[1] < 0.42


def test_anchoring_fixes_one_rating_and_keeps_the_gaps():
    a, b, outcome, _ = synthetic_votes(5000, 10, seed=12)
    table = table_of(a, b, outcome, 10)
    centred_board, _ = query_standings(table, "sandwich")
    anchored, _ = query_standings(table, "sandwich", anchor_slot=3, anchor_rating=1114.0)
    by_id = lambda s, arr: arr[np.argsort(s.competitor_ids)]  # noqa: E731
    assert by_id(anchored, anchored.rating)[3] == pytest.approx(1114.0)
    assert by_id(anchored, anchored.rating_upper - anchored.rating_lower)[3] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(
        np.diff(by_id(anchored, anchored.rating)), np.diff(by_id(centred_board, centred_board.rating)), atol=1e-9
    )
    assert np.mean(centred_board.rating) == pytest.approx(1000.0)


@pytest.mark.parametrize(
    ("case", "a", "b", "outcome", "m"),
    [
        ("never lost", [0, 0, 0, 1, 2], [1, 2, 1, 2, 1], [1, 1, 1, 1, 2], 3),
        ("never won", [0, 0, 1, 2], [2, 2, 2, 1], [1, 1, 1, 3], 3),
        ("two disconnected groups", [0, 1, 2, 3, 0], [1, 0, 3, 2, 1], [1, 3, 1, 2, 1], 4),
        ("one vote", [0], [1], [1], 2),
        ("one pair", [0, 1, 0], [1, 0, 1], [1, 1, 3], 2),
        ("a competitor without votes", [0], [1], [4], 3),
    ],
)
def test_edge_cases_give_finite_documented_results(case, a, b, outcome, m):
    table = table_of(a, b, outcome, m)
    for ci in ("bootstrap", "sandwich"):
        s, fit = query_standings(table, ci, rounds=100)
        assert np.all(np.isfinite(fit.theta)) and np.isfinite(fit.log_likelihood)
        for column in (s.rating, s.rating_lower, s.rating_upper):
            assert np.all(np.isfinite(column)), f"{case}: {column}"
        assert np.all(s.rating_lower <= s.rating + 1e-9) and np.all(s.rating <= s.rating_upper + 1e-9)
    rating = s.rating[np.argsort(s.competitor_ids)]
    component = s.component[np.argsort(s.competitor_ids)]
    if case == "never lost":
        assert rating.argmax() == 0
    if case == "never won":
        assert rating.argmin() == 2
    if case == "two disconnected groups":
        assert sorted(set(component.tolist())) == [0, 1] and component[0] == component[1] != component[2]
    if case == "a competitor without votes":
        assert rating[2] == pytest.approx(1000.0, abs=1e-6) or component[2] == 1
    # One virtual tie against the mean keeps an unbeaten record finite and moderate.
    assert np.all(np.abs(rating - 1000) < 1000)
