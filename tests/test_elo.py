"""Online Elo: the kernel against FastChat's formula, known answers, invariants."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Board, EloConfig
from engine.elo import exp_by_squaring
from tests.conftest import shared_file, synthetic_votes
from tests.naive import lmarena_elo

NO_CI = EloConfig(bootstrap_rounds=0)


def ratings_by_id(board: Board) -> dict[int, float]:
    return dict(zip(board.competitor_ids.tolist(), board.ratings.tolist()))


def test_hand_worked_sequence():
    # Equal ratings: e = 0.5, so a win moves each side by K/2 = 2 points.
    board = Board(NO_CI)
    board.apply(np.array([0]), np.array([1]), np.array([1]))
    assert ratings_by_id(board) == {0: 1002.0, 1: 998.0}
    # 1002 vs 998 tie: e_a = 1 / (1 + 10 ** (-4 / 400)), A gives back 4 * (e_a - 0.5).
    board.apply(np.array([0]), np.array([1]), np.array([3]))
    e_a = 1 / (1 + 10 ** (-4 / 400))
    expected = {0: 1002 + 4 * (0.5 - e_a), 1: 998 - 4 * (0.5 - e_a)}
    got = ratings_by_id(board)
    assert abs(got[0] - expected[0]) < 1e-12 and abs(got[1] - expected[1]) < 1e-12
    assert board.counts.tolist() == [[1, 0, 1, 0], [0, 1, 1, 0]]


def test_matches_lmarena_formula_on_random_votes():
    a, b, outcome, _ = synthetic_votes(200_000, 40, seed=3, tie_rate=0.3)
    board = Board(NO_CI)
    board.apply(a, b, outcome)
    twin = lmarena_elo(zip(a.tolist(), b.tolist(), outcome.tolist()))
    got = ratings_by_id(board)
    assert max(abs(got[m] - twin[m]) for m in twin) < 1e-9


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.sampled_from([1, 2, 3, 4])), min_size=1, max_size=300),
    st.sampled_from([1.0, 4.0, 32.0]),
    st.sampled_from([(10.0, 400.0), (math.e, 1.0)]),
)
def test_matches_lmarena_formula_property(votes, k, base_scale):
    votes = [(a, b, o) for a, b, o in votes if a != b]
    if not votes:
        return
    base, scale = base_scale
    a, b, o = (np.array(col) for col in zip(*votes))
    board = Board(EloConfig(k=k, base=base, scale=scale, bootstrap_rounds=0))
    board.apply(a, b, o)
    twin = lmarena_elo(votes, k=k, base=base, scale=scale)
    got = ratings_by_id(board)
    assert max(abs(got[m] - twin[m]) for m in twin) < 1e-9


def test_matches_lmarena_formula_on_mteb_arena():
    frame = pl.read_parquet(shared_file("mteb_arena_human_votes.parquet"))
    frame = frame.filter(pl.col("model_a") != pl.col("model_b"))  # one self-battle in the source
    labels = {"model_a": 1, "model_b": 2, "tie": 3, "tie (bothbad)": 4}
    battles = [(a, b, labels[w]) for a, b, w in frame.select("model_a", "model_b", "winner").iter_rows()]
    names = {name: i for i, name in enumerate(dict.fromkeys(x for a, b, _ in battles for x in (a, b)))}
    board = Board(NO_CI)
    board.apply(
        np.array([names[a] for a, _, _ in battles]),
        np.array([names[b] for _, b, _ in battles]),
        np.array([o for _, _, o in battles]),
    )
    twin = lmarena_elo(battles)
    got = ratings_by_id(board)
    assert max(abs(got[names[m]] - twin[m]) for m in twin) < 1e-9
    assert len(twin) == 15


def test_swapping_sides_with_flipped_outcome_changes_nothing():
    a, b, outcome, _ = synthetic_votes(5000, 12, seed=4)
    flipped = np.array([0, 2, 1, 3, 4], dtype=np.int8)[outcome]
    one, two = Board(EloConfig(bootstrap_rounds=50)), Board(EloConfig(bootstrap_rounds=50))
    one.apply(a, b, outcome)
    two.apply(b, a, flipped)
    assert np.allclose(sorted(ratings_by_id(one).items()), sorted(ratings_by_id(two).items()), atol=1e-9, rtol=0)
    order_one, order_two = np.argsort(one.competitor_ids), np.argsort(two.competitor_ids)
    np.testing.assert_allclose(one.replicas[order_one], two.replicas[order_two], atol=1e-9, rtol=0)


def test_exp_by_squaring_accuracy():
    xs = np.linspace(-64.0, 64.0, 20_001)
    rel = np.array([abs(exp_by_squaring(x) / math.exp(x) - 1.0) for x in xs])
    assert rel.max() < 1e-13
    # Far outside: still the right side of 1, so the expected score saturates correctly.
    for x in (-5000.0, -300.0, 300.0, 5000.0):
        e = 1.0 / (1.0 + exp_by_squaring(x))
        assert e == (1.0 if x < 0 else 0.0) or abs(e - (1.0 if x < 0 else 0.0)) < 1e-27


def test_config_rejects_nonsense():
    import pytest

    for bad in (dict(k=0), dict(scale=-1), dict(base=1.0), dict(k=math.nan), dict(bootstrap_rounds=-1), dict(seed=-1)):
        with pytest.raises(ValueError):
            EloConfig(**bad)


def test_bad_votes_are_refused_not_applied():
    import pytest

    board = Board(NO_CI)
    for a, b, o in (([0], [0], [1]), ([0], [1], [0]), ([0], [1], [5]), ([-1], [1], [1])):
        with pytest.raises(ValueError):
            board.apply(np.array(a), np.array(b), np.array(o))
    assert board.n_votes == 0 and board.n_competitors == 0
