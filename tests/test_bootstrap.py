"""Incremental Poisson bootstrap: exactness, batching invariance, statistical sanity."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from engine import Board, EloConfig
from engine.counter_rng import GOLDEN, mix64, poisson1_weights
from engine.standings import rank_upper_bound
from tests.conftest import synthetic_votes
from tests.naive import bootstrap_replicas, rank_ub, splitmix64


def test_hash_is_splitmix64():
    # SplitMix64's published first outputs for state 0 and 1 (Vigna's splitmix64.c).
    assert splitmix64(0) == 0xE220A8397B1DCDAF
    for state in (0, 1, 12345, 2**63 + 7):
        assert int(mix64(np.uint64((state + int(GOLDEN)) % 2**64))) == splitmix64(state)


def test_poisson_weights_have_poisson1_frequencies():
    weights = poisson1_weights(seed=11, ordinals=np.arange(4000), n_replicas=500).ravel()
    assert weights.min() == 0 and np.all(weights == np.round(weights))
    freq = np.bincount(weights.astype(int), minlength=6)[:6] / weights.size
    pmf = np.exp(-1.0) / np.array([1, 1, 2, 6, 24, 120])
    # 2 M draws: binomial sd of each frequency is < 4e-4.
    np.testing.assert_allclose(freq, pmf, atol=2e-3)
    assert abs(weights.mean() - 1.0) < 3e-3 and abs(weights.var() - 1.0) < 6e-3


def test_weights_differ_by_seed_and_vote():
    w = poisson1_weights(seed=1, ordinals=np.arange(2), n_replicas=2000)
    assert not np.array_equal(w[0], w[1])
    assert not np.array_equal(w, poisson1_weights(seed=2, ordinals=np.arange(2), n_replicas=2000))


def test_kernel_equals_naive_twin():
    a, b, outcome, _ = synthetic_votes(400, 6, seed=5, tie_rate=0.3)
    board = Board(EloConfig(bootstrap_rounds=64, seed=9))
    board.apply(a, b, outcome)
    runs = bootstrap_replicas(list(zip(a.tolist(), b.tolist(), outcome.tolist())), 64, seed=9)
    for slot, competitor in enumerate(board.competitor_ids.tolist()):
        twin = np.array([run[competitor] for run in runs])
        np.testing.assert_allclose(board.replicas[slot], twin, atol=1e-9, rtol=0)


@pytest.mark.parametrize("sizes", [[1], [7, 1, 1000], [999, 1], [4096]])
def test_batching_does_not_change_a_bit(sizes):
    a, b, outcome, _ = synthetic_votes(6000, 30, seed=6)
    whole = Board(EloConfig(bootstrap_rounds=200, seed=3), threads=1)
    whole.apply(a, b, outcome)
    split = Board(EloConfig(bootstrap_rounds=200, seed=3), threads=2)
    start, i = 0, 0
    while start < len(a):
        stop = min(start + sizes[i % len(sizes)], len(a))
        split.apply(a[start:stop], b[start:stop], outcome[start:stop])
        start, i = stop, i + 1
    assert np.array_equal(whole.competitor_ids, split.competitor_ids)
    assert np.array_equal(whole.ratings, split.ratings)
    assert np.array_equal(whole.replicas, split.replicas)
    assert np.array_equal(whole.counts, split.counts)


def test_checkpoint_state_round_trip_continues_identically():
    a, b, outcome, _ = synthetic_votes(3000, 20, seed=7)
    straight = Board(EloConfig(bootstrap_rounds=100, seed=5))
    straight.apply(a, b, outcome)
    first = Board(EloConfig(bootstrap_rounds=100, seed=5))
    first.apply(a[:1234], b[:1234], outcome[:1234], last_seq=1234)
    resumed = Board.from_state(first.state())
    assert resumed.last_seq == 1234 and resumed.n_votes == 1234
    resumed.apply(a[1234:], b[1234:], outcome[1234:])
    assert np.array_equal(straight.replicas, resumed.replicas)
    assert np.array_equal(straight.ratings, resumed.ratings)


def test_bootstrap_mean_tracks_point_rating():
    for n in (2_000, 20_000, 200_000):
        a, b, outcome, _ = synthetic_votes(n, 10, seed=8)
        board = Board(EloConfig(bootstrap_rounds=300, seed=1))
        board.apply(a, b, outcome)
        standings = board.elo_standings()
        width = standings.rating_upper - standings.rating_lower
        mean = board.replicas.mean(axis=1)
        # The replica mean sits well inside the CI, near the point rating.
        assert np.all(np.abs(mean - board.ratings) < 0.25 * np.median(width))
        assert np.all((standings.rating_lower <= standings.rating) & (standings.rating <= standings.rating_upper))


def _median_ci_width(n_votes: int, k: float) -> float:
    a, b, outcome, _ = synthetic_votes(n_votes, 20, seed=8)
    board = Board(EloConfig(k=k, bootstrap_rounds=300, seed=1))
    board.apply(a, b, outcome)
    s = board.elo_standings()
    return float(np.median(s.rating_upper - s.rating_lower))


def test_ci_width_grows_then_plateaus_at_a_level_set_by_k():
    """Online Elo with a fixed K forgets: a rating reflects roughly its last
    1 / (K ln(base) / scale / 4) games (~700 at K=4), so its bootstrap CI
    widens from zero while a competitor's first games come in and then holds
    at a level that grows like sqrt(K); it does not shrink with more votes.
    (BT's CI does; see the Bradley-Terry tests.)"""
    early, settled, later = (_median_ci_width(n, 4.0) for n in (200, 20_000, 200_000))
    assert early < 0.7 * settled
    assert 0.75 < later / settled < 1.25
    ratio = _median_ci_width(200_000, 16.0) / later
    assert 1.6 < ratio < 2.8  # sqrt(4) = 2


def test_rank_upper_bound_equals_definition():
    rng = np.random.default_rng(2)
    for _ in range(50):
        lower = rng.normal(1000, 30, 25)
        upper = lower + rng.uniform(0, 80, 25)
        assert rank_upper_bound(lower, upper).tolist() == rank_ub(lower.tolist(), upper.tolist())


def test_standings_are_sorted_and_consistent():
    a, b, outcome, strength = synthetic_votes(50_000, 15, seed=9)
    board = Board(EloConfig(bootstrap_rounds=200))
    board.apply(a, b, outcome)
    s = board.elo_standings()
    assert np.all(np.diff(s.rating) <= 0)
    assert s.rank.tolist() == list(range(1, 16))
    assert np.all(s.rank_ub <= s.rank)
    assert int(s.votes.sum()) == 2 * 50_000 and s.total_votes == 50_000
    # The strongest competitor by construction is near the top.
    assert int(np.argmax(strength)) in s.competitor_ids[:3].tolist()


def test_engine_from_a_thread_pool_equals_serial():
    """Kernels run under gRPC threads: concurrent boards must not interfere."""
    inputs = [synthetic_votes(5000, 20, seed=s) for s in range(6)]

    def run(args):
        a, b, outcome, _ = args
        board = Board(EloConfig(bootstrap_rounds=100, seed=4))
        for start in range(0, len(a), 700):
            board.apply(a[start : start + 700], b[start : start + 700], outcome[start : start + 700])
        return board.ratings.copy(), board.replicas.copy()

    serial = [run(x) for x in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(run, inputs))
    for (r1, rep1), (r2, rep2) in zip(serial, parallel):
        assert np.array_equal(r1, r2) and np.array_equal(rep1, rep2)
