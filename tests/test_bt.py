"""Bradley–Terry: the fit against scipy, invariants, CIs against twins and the truth, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from engine import Board, EloConfig, bt
from engine.cells import CellTable, PairCells
from engine.counter_rng import mix64, poisson
from engine.scale import RatingScale
from tests import naive
from tests.conftest import synthetic_votes


def table_of(a, b, outcome, m=None) -> CellTable:
    m = m if m is not None else int(max(np.max(a), np.max(b))) + 1
    return CellTable.from_votes(m, np.asarray(a), np.asarray(b), np.asarray(outcome))


def scipy_optimum(table: CellTable, config: bt.BTConfig, prior_weight=None) -> np.ndarray:
    """The same penalised likelihood, written per cell in numpy, minimised by a generic optimiser.

    ``prior_weight``: virtual ties per competitor (float64[M]); default ``config.prior`` for all.
    From theta = 0 L-BFGS keeps each prior-free component at mean 0 (its gradient sums to 0 there).
    """
    w_lo, w_hi = bt.effective_wins(table, config)
    lo, hi = table.cell_lo, table.cell_hi
    half_prior = (np.full(table.n_competitors, config.prior) if prior_weight is None else prior_weight) / 2

    def nll(theta):
        d = theta[lo] - theta[hi]
        p = 1 / (1 + np.exp(-d))
        value = -(w_lo @ np.log(p) + w_hi @ np.log1p(-p))
        value -= half_prior @ (np.log(1 / (1 + np.exp(-theta))) + np.log(1 / (1 + np.exp(theta))))
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


POINTS = 400 / math.log(10)  # rating points per unit of theta


def random_board(rng: np.random.Generator, m: int, n: int, tie_rate: float):
    """n votes among m competitors, strengths ~ N(0, 1), a share of ties; some pairs never meet."""
    strength = rng.normal(size=m)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    p = 1 / (1 + np.exp(strength[b] - strength[a]))
    outcome = np.where(rng.random(n) < p, 1, 2)
    outcome[rng.random(n) < tie_rate] = 3
    return a, b, outcome


@pytest.mark.parametrize("seed", range(8))
def test_default_fit_is_the_plain_mle_where_it_exists(seed):
    """No prior at all where the MLE exists: the unpenalised optimum, to well under 0.001 points."""
    rng = np.random.default_rng(100 + seed)
    m = int(rng.integers(3, 30))
    a, b, outcome = random_board(rng, m, int(rng.integers(20 * m, 200 * m)), tie_rate=float(rng.choice([0, 0.2])))
    if seed % 3 == 2:  # two boards side by side: disconnected, each with its own MLE
        a, b = np.r_[a, a + m], np.r_[b, b + m]
        outcome = np.r_[outcome, outcome[::-1]]
        m *= 2
    config = bt.BTConfig(step=["auto", "newman", "newton", "mm"][seed % 4], reweight=seed % 2 == 1, tol=1e-12)
    table = table_of(a, b, outcome, m)
    assert not bt.prior_weights(table, config).any()  # the boards are dense enough to have one
    fit = bt.fit(table, config)
    assert not fit.regularized.any()
    mle = scipy_optimum(table, config, np.zeros(m))
    assert np.max(np.abs(fit.theta - mle)) * POINTS < 1e-4
    np.testing.assert_allclose(centred(fit.theta), centred(mle), atol=1e-7, rtol=0)


@pytest.mark.parametrize("seed", range(40))
def test_mle_exists_exactly_where_every_cut_is_crossed_both_ways(seed):
    """The fit's prior goes to exactly the competitors of components without an MLE (twin: every cut)."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 8))
    n = int(rng.integers(1, 3 * m))
    a, b, outcome = random_board(rng, m, n, tie_rate=0.15)
    outcome[rng.random(n) < 0.1] = 4  # both-bad ties: half a win each, or nothing with "ignore"
    config = bt.BTConfig(both_bad="ignore" if seed % 2 else "tie")
    table = table_of(a, b, outcome, m)
    w_lo, w_hi = bt.effective_wins(table, config)
    cells = {(int(lo), int(hi)): [wl, wh] for lo, hi, wl, wh in zip(table.cell_lo, table.cell_hi, w_lo, w_hi)}
    exists = np.array(naive.mle_exists(m, cells))
    assert np.array_equal(bt.prior_weights(table, config), np.where(exists, 0.0, bt.AUTO_PRIOR))
    fit = bt.fit(table, config)
    assert np.array_equal(fit.regularized, ~exists) and np.all(np.isfinite(fit.theta))
    # The fit is the optimum of the likelihood with exactly that prior.
    np.testing.assert_allclose(fit.theta, scipy_optimum(table, config, fit.prior_weight), atol=1e-6, rtol=0)


def test_an_explicit_prior_applies_to_every_competitor():
    a, b, outcome, _ = synthetic_votes(2000, 10, seed=13)
    table = table_of(a, b, outcome, 10)
    fit = bt.fit(table, bt.BTConfig(prior=2.5))
    assert np.all(fit.prior_weight == 2.5) and fit.regularized.all()
    np.testing.assert_allclose(fit.theta, scipy_optimum(table, bt.BTConfig(prior=2.5)), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="positive"):
        bt.BTConfig(prior=0.0)


@pytest.mark.parametrize("step", ["auto", "newton"])
def test_a_bootstrap_round_is_the_point_fit_of_its_resampled_board(step):
    """Each round applies the point fit's rule to its own resampled counts: a cell that loses its
    only win takes its component off the MLE in that round, and the round still converges. With
    "auto" on this well-connected board the rounds run Newman's iteration; with "newton" the tree
    solver (the one sparse boards get)."""
    rng = np.random.default_rng(14)
    a, b, outcome = random_board(rng, 6, 200, tie_rate=0.1)
    a, b, outcome = np.r_[a, 6, 7], np.r_[b, 0, 6], np.r_[outcome, 1, 1]  # 6 beat 0 once, lost to 7 once
    a, b, outcome = np.r_[a, 0, 7], np.r_[b, 7, 1], np.r_[outcome, 1, 2]  # 7: one loss and one win
    table = table_of(a, b, outcome, 8)
    config = bt.BTConfig(step=step)
    full = bt.fit(table, config)
    assert not full.regularized.any()
    rounds = bt.bootstrap(table, config, full, rounds=24, seed=5, threads=2)
    assert np.array_equal(rounds, bt.bootstrap(table, config, full, rounds=24, seed=5, threads=1))
    seed_key = np.uint64(mix64(np.uint64(mix64(np.uint64(5))) ^ bt._BT_STREAM))
    regularized_rounds = 0
    for r in range(24):
        round_key = np.uint64(mix64(seed_key ^ np.uint64(r)))
        counts = np.array(
            [[poisson(float(table.counts[c, k]), np.uint64(mix64(round_key ^ np.uint64(4 * c + k)))) for k in range(4)]
             for c in range(table.n_cells)], dtype=np.int64,
        )  # fmt: skip
        resampled = CellTable(table.n_competitors, table.cell_lo, table.cell_hi, counts)
        again = bt.fit(resampled, bt.BTConfig(tol=1e-12))
        regularized_rounds += bool(again.regularized.any())
        np.testing.assert_allclose(rounds[r], again.theta, atol=1e-5, rtol=0)
    assert 0 < regularized_rounds < 24


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
    """H^+ B H^+ built vote by vote, in plain Python loops; ``prior``: virtual ties per competitor
    (a number or float64[M]). H^+, the pseudo-inverse: the levels of prior-free components are fixed
    by centring, not estimated."""
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
    inverse = np.linalg.pinv(h, rcond=1e-12, hermitian=True)
    centre = np.eye(m) - 1 / m  # the covariance of theta - mean(theta)
    return centre @ inverse @ meat @ inverse @ centre


@pytest.mark.parametrize(
    ("prior", "board"),
    [(prior, board) for prior in (None, 1.0, 1e-6) for board in ("one component", "and an unbeaten pair",
     "and a second component") if prior != 1e-6 or board == "one component"],
)  # fmt: skip
def test_sandwich_equals_per_vote_twin(prior, board):
    """(Prior 1e-6 on one component only: a second component's level under it has an H eigenvalue
    ~1e-9 of the largest, below what the twin's pseudo-inverse can tell from a null direction.)"""
    a, b, outcome, _ = synthetic_votes(600, 7, seed=7, tie_rate=0.3)
    if board != "one component":  # slots 7 and 8: 7 beat 8 twice (no MLE), or once each way
        a, b, outcome = np.r_[a, 7, 7], np.r_[b, 8, 8], np.r_[outcome, 1, 1 if board == "and an unbeaten pair" else 2]
    table = table_of(a, b, outcome)
    config = bt.BTConfig(prior=prior)
    fit = bt.fit(table, config)
    np.testing.assert_allclose(
        bt.sandwich_covariance(table, config, fit.theta), naive_sandwich(a, b, outcome, fit.theta, fit.prior_weight),
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
        # {2, 3} never lost to {0, 1}: their component has no MLE; {4, 5}, apart, has one.
        ("a group that never lost", [0, 1, 2, 3, 2, 4, 5], [1, 0, 3, 2, 0, 5, 4], [1] * 7, 6),
        ("one vote", [0], [1], [1], 2),
        ("one pair", [0, 1, 0], [1, 0, 1], [1, 1, 3], 2),
        ("a competitor without votes", [0], [1], [4], 3),
    ],
)
def test_edge_cases_give_finite_documented_results(case, a, b, outcome, m):
    """Finite everywhere; the prior (and the flag) on exactly the components without an MLE."""
    regularized = {
        "never lost": [0, 1, 2], "never won": [0, 1, 2], "a group that never lost": [0, 1, 2, 3], "one vote": [0, 1],
        "a competitor without votes": [2], "two disconnected groups": [2, 3],
    }.get(case, [])  # fmt: skip
    table = table_of(a, b, outcome, m)
    for ci in ("bootstrap", "sandwich"):
        s, fit = query_standings(table, ci, rounds=100)
        assert np.all(np.isfinite(fit.theta)) and np.isfinite(fit.log_likelihood)
        for column in (s.rating, s.rating_lower, s.rating_upper):
            assert np.all(np.isfinite(column)), f"{case}: {column}"
        assert np.all(s.rating_lower <= s.rating + 1e-9) and np.all(s.rating <= s.rating_upper + 1e-9)
    rating = s.rating[np.argsort(s.competitor_ids)]
    component = s.component[np.argsort(s.competitor_ids)]
    assert np.flatnonzero(s.regularized[np.argsort(s.competitor_ids)]).tolist() == regularized
    assert np.flatnonzero(fit.regularized).tolist() == regularized
    if case == "never lost":
        assert rating.argmax() == 0
    if case == "never won":
        assert rating.argmin() == 2
    if case == "two disconnected groups":
        assert sorted(set(component.tolist())) == [0, 1] and component[0] == component[1] != component[2]
    if case == "a competitor without votes":
        assert rating[2] == pytest.approx(1000.0, abs=1e-6) or component[2] == 1
    if case == "two disconnected groups":  # {0, 1}: its MLE centred at the mean; {2, 3}: 2 never lost
        assert rating[0] + rating[1] == pytest.approx(2000) and rating[2] + rating[3] == pytest.approx(2000)
    # One virtual tie against the mean keeps an unbeaten record finite and moderate.
    assert np.all(np.abs(rating - 1000) < 1000)


def random_graph(rng: np.random.Generator, m: int, n_cells: int):
    """Random cells (lo < hi, distinct pairs) over m competitors: several components, chains and cycles."""
    pairs = {tuple(sorted(map(int, rng.choice(m, 2, replace=False)))) for _ in range(n_cells)}
    lo, hi = np.array(sorted(pairs), dtype=np.int32).T
    return lo, hi


@pytest.mark.parametrize("seed", range(8))
def test_tree_preconditioner_solves_its_matrix(seed):
    """tree_factor + tree_solve apply P^-1, P = diag(d) - A_tree (the forest's edges, this weight), checked
    against numpy.linalg.solve on the dense P; and the forest spans each connected component."""
    from engine.tree_precond import NO_PARENT, spanning_forest_kernel, tree_factor, tree_solve

    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 30))
    lo, hi = random_graph(rng, m, int(rng.integers(1, 3 * m)))
    table = CellTable(m, lo, hi, np.ones((lo.shape[0], 4), dtype=np.int64))
    graph = bt._Graph.of(table)
    weight = rng.exponential(1.0, lo.shape[0])
    parent, parent_cell, order = (np.empty(m, dtype=np.int64) for _ in range(3))
    spanning_forest_kernel(
        lo, hi, np.argsort(-weight), graph.adj_start, graph.adj_cell, parent, parent_cell, order,
        np.empty(lo.shape[0], dtype=np.bool_),
    )  # fmt: skip
    assert sorted(order) == list(range(m))
    roots = parent == NO_PARENT
    assert roots.sum() == graph.sizes.shape[0]  # one tree per connected component
    position = np.argsort(order)
    assert np.all(position[parent[~roots]] < position[~roots])  # parents come first
    tree_cells = set(parent_cell[~roots].tolist())
    dense_laplacian = bt._laplacian(m, lo, hi, weight)
    diag = np.diag(dense_laplacian) + rng.exponential(0.1, m) * (rng.random(m) < 0.5)
    p = np.diag(diag)
    for i in np.flatnonzero(~roots):
        p[i, parent[i]] = p[parent[i], i] = -weight[parent_cell[i]]
    assert len(tree_cells) == m - roots.sum()
    pivot = np.empty(m)
    tree_factor(parent, parent_cell, order, weight, diag, pivot)
    rhs = rng.normal(size=m)
    out = np.empty(m)
    tree_solve(parent, parent_cell, order, weight, pivot, rhs, out)
    if np.linalg.matrix_rank(p) == m and np.linalg.cond(p) < 1e8:
        np.testing.assert_allclose(out, np.linalg.solve(p, rhs), rtol=1e-8, atol=1e-10)
    # Where P is singular (a tree component whose diagonal has no surplus: no prior, no off-tree cell),
    # the pinned root makes the solve exact on P's range: right-hand sides summing to 0 per component.
    component = table.components()
    centred_rhs = rhs - (np.bincount(component, rhs) / np.bincount(component))[component]
    tree_solve(parent, parent_cell, order, weight, pivot, centred_rhs, out)
    np.testing.assert_allclose(p @ out, centred_rhs, rtol=0, atol=1e-8 * (1 + np.abs(out).max()))


def test_resampled_wins_are_effective_wins_of_the_drawn_counts():
    """resample_wins_kernel fuses the draws and effective_wins_kernel: the same numbers as the two apart."""
    from engine.counter_rng import poisson_cdf_table

    rng = np.random.default_rng(3)
    counts = rng.integers(0, 14, (500, 4)) * (rng.random((500, 4)) < 0.6)
    key = np.uint64(12345)
    for both_bad, reweight in [(0.5, False), (0.0, True)]:
        w_lo, w_hi, active = np.empty(500), np.empty(500), np.empty(500, dtype=np.int64)
        n_active = bt.resample_wins_kernel(counts, poisson_cdf_table(), key, both_bad, reweight, w_lo, w_hi, active)
        drawn = np.array(
            [[poisson(float(counts[c, k]), np.uint64(mix64(key ^ np.uint64(4 * c + k)))) for k in range(4)]
             for c in range(500)],
        )  # fmt: skip
        want_lo, want_hi = np.empty(500), np.empty(500)
        bt.effective_wins_kernel(drawn, both_bad, reweight, want_lo, want_hi)
        assert np.array_equal(w_lo, want_lo) and np.array_equal(w_hi, want_hi)
        assert np.array_equal(active[:n_active], np.flatnonzero(want_lo + want_hi > 0))


@pytest.mark.parametrize("prior", [None, 0.5])
def test_tree_newton_fit_equals_the_point_fit(prior):
    """The rounds' solver on a sparse chain-and-islands board reaches the point fit's optimum from a far start."""
    rng = np.random.default_rng(21)
    m = 60
    a = rng.integers(0, m, 3000)
    b = np.clip(a + rng.integers(1, 4, 3000) * rng.choice([-1, 1], 3000), 0, m - 1)  # chains
    keep = (a != b) & ((a < 40) == (b < 40))  # two groups apart
    strength = np.linspace(2, -2, m)
    outcome = np.where(rng.random(3000) < 1 / (1 + np.exp(strength[b] - strength[a])), 1, 2)[keep]
    table = table_of(a[keep], b[keep], outcome, m)
    config = bt.BTConfig(prior=prior, tol=1e-12)
    full = bt.fit(table, config)
    graph = bt._Graph.of(table)
    parent, parent_cell, order = bt._forest(table, config, graph, np.zeros(m))  # a forest from other weights
    w_lo, w_hi = bt.effective_wins(table, config)
    theta = rng.normal(0, 1, m)
    iterations = bt.tree_newton_fit(
        np.flatnonzero(w_lo + w_hi > 0), table.cell_lo, table.cell_hi, w_lo, w_hi, full.prior_weight / 2,
        graph.component, graph.sizes.shape[0], parent, parent_cell, order, theta, 1e-10, 200,
    )  # fmt: skip
    assert 0 < iterations < 50
    # 1e-6: the point fit's own error (with prior 0.5 its AUTO steps stop 1.2e-7 short along the island's
    # weakly held level, while tree_newton_fit's gradient ends at 2e-14).
    np.testing.assert_allclose(theta, full.theta, atol=1e-6, rtol=0)
