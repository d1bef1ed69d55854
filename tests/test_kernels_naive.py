"""Each kernel against its plain-Python twin (tests/naive.py) on random inputs and edge cases.

Kernels: count_cells_kernel and rehash_kernel (through PairCells), union_kernel and roots_kernel,
assign_slots_kernel, mix64 / poisson1_weight / poisson (the counter-based draws) and
style's cholesky_solve. The last test runs the engine tests again with NUMBA_DISABLE_JIT=1,
so the kernels' Python source is what runs (and what a coverage run would measure).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
import types
from fractions import Fraction
from pathlib import Path

import numba
import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

from engine import Board, EloConfig
from engine.cells import CellTable, PairCells, count_cells_kernel, roots_kernel, union_kernel
from engine.counter_rng import (
    POISSON1_THRESHOLDS,
    mix64,
    poisson,
    poisson1_weight,
    poisson1_weights,
    poisson_cdf_table,
    poisson_count,
)
from engine.interning import assign_slots_kernel
from engine.style import cholesky_solve
from tests import naive

ROOT = Path(__file__).resolve().parent.parent
JIT_OFF = bool(numba.config.DISABLE_JIT)
SEEDS = range(6)


def random_votes(rng: np.random.Generator, n: int, m: int) -> list[tuple[int, int, int]]:
    """n votes (a, b, outcome) among slots 0..m-1 (m >= 2), a != b, outcomes 1..4."""
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    return list(zip(a.tolist(), b.tolist(), rng.integers(1, 5, n).tolist()))


def columns(votes):
    """int32 slot_a, int32 slot_b, int8 outcome arrays of a vote list."""
    a = np.array([v[0] for v in votes], dtype=np.int32)
    b = np.array([v[1] for v in votes], dtype=np.int32)
    return a, b, np.array([v[2] for v in votes], dtype=np.int8)


def cells_of(table: CellTable) -> dict[tuple[int, int], list[int]]:
    """A CellTable as the twin's {(lo, hi): counts}, in the table's cell order."""
    return {(lo, hi): c for lo, hi, c in zip(table.cell_lo.tolist(), table.cell_hi.tolist(), table.counts.tolist())}


# ----------------------------------------------------------------- cells


def check_cells(votes, m: int, batches: list[int] | None = None) -> None:
    """PairCells fed ``votes`` (in ``batches`` of these sizes, from the smallest table, so it grows
    and rehashes) equals the twin: same cells, same order, same counts, same pair lookups."""
    twin = naive.count_cells(votes)
    a, b, o = columns(votes)
    cells = PairCells()
    start = 0
    for size in batches or [len(votes)]:
        cells.add(a[start : start + size], b[start : start + size], o[start : start + size])
        start += size
    assert start >= len(votes)
    table = cells.table(m)
    assert list(cells_of(table).items()) == list(twin.items())  # order too: cells in order of first vote
    assert table.cell_lo.dtype == np.int32 and table.counts.dtype == np.int64
    assert table.n_votes == len(votes)
    assert list(cells_of(CellTable.from_votes(m, a, b, o)).items()) == list(twin.items())
    restored = PairCells.from_state(cells.state())
    slots = sorted({s for v in votes for s in v[:2]} | {0, 1})
    probes = [(x, y) for x in slots for y in slots if x != y][:4000]
    for x, y in probes:
        expected = naive.pair_counts(twin, x, y)
        assert cells.pair(x, y).tolist() == expected, (x, y)
        assert restored.pair(x, y).tolist() == expected, (x, y)


@pytest.mark.parametrize("seed", SEEDS)
def test_cells_equal_twin_on_random_votes(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 60))
    n = int(rng.integers(1, 3000))
    votes = random_votes(rng, n, m)
    batches = rng.integers(1, 400, n).tolist()  # more than enough: the last batches are empty
    check_cells(votes, m, batches)


@pytest.mark.parametrize(
    ("case", "votes", "m"),
    [
        ("no votes", [], 0),
        ("one vote, a > b", [(1, 0, 1)], 2),
        ("one pair, both orders, all outcomes", [(0, 1, o) for o in range(1, 5)] + [(1, 0, o) for o in range(1, 5)], 2),
        ("one pair repeated", [(5, 2, 1)] * 7 + [(2, 5, 2)] * 3, 6),
        ("a chain", [(i + 1, i, 1 + i % 4) for i in range(99)], 100),
        ("slots at the top of int32", [(2**31 - 1, 0, 1), (0, 2**31 - 1, 1), (2**31 - 2, 2**31 - 1, 2)], 2),
    ],
)
def test_cells_equal_twin_on_edge_cases(case, votes, m):
    check_cells(votes, m, batches=[1] * len(votes))
    check_cells(votes, m)


def test_count_cells_kernel_stops_before_a_cell_it_has_no_room_for():
    """The kernel's own contract: it returns (cells, index of the first vote not counted) when the
    table is full, having counted everything before that vote, and resumes from there."""
    rng = np.random.default_rng(7)
    votes = random_votes(rng, 200, 12)
    a, b, o = columns(votes)
    keys = np.full(8, -1, dtype=np.int64)  # room for 8 // 2 = 4 cells
    cell_of_key = np.zeros(8, dtype=np.int32)
    lo, hi = np.zeros(16, dtype=np.int32), np.zeros(16, dtype=np.int32)
    counts = np.zeros((16, 4), dtype=np.int64)
    no_weight, no_weighted = np.zeros(0), np.zeros((0, 4))
    n_cells, stop = count_cells_kernel(keys, cell_of_key, lo, hi, counts, 0, a, b, o, 0, no_weight, no_weighted)
    first_pairs = list(dict.fromkeys((min(x, y), max(x, y)) for x, y, _ in votes))
    fifth = next(i for i, (x, y, _) in enumerate(votes) if (min(x, y), max(x, y)) == first_pairs[4])
    assert (n_cells, stop) == (4, fifth)
    twin = naive.count_cells(votes[:fifth])
    assert list(zip(lo[:4].tolist(), hi[:4].tolist())) == list(twin)
    assert counts[:4].tolist() == list(twin.values()) and not counts[4:].any()


# ----------------------------------------------------------------- components


def check_components(m: int, pairs: list[tuple[int, int]]) -> None:
    smallest, label = naive.components(m, pairs)
    lo = np.array([min(p) for p in pairs], dtype=np.int32)
    hi = np.array([max(p) for p in pairs], dtype=np.int32)
    parent = np.arange(m, dtype=np.int64)
    union_kernel(parent, lo, hi)
    roots_kernel(parent)
    assert parent.tolist() == smallest
    got = CellTable(m, lo, hi, np.ones((len(pairs), 4), dtype=np.int64)).components()
    assert got.dtype == np.int32 and got.tolist() == label


@pytest.mark.parametrize("seed", SEEDS)
def test_components_equal_twin_on_random_graphs(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(20):
        m = int(rng.integers(2, 120))
        # Few edges for many competitors: several components and isolated competitors.
        n_edges = int(rng.integers(0, m + 1))
        votes = random_votes(rng, n_edges, m)
        cells = naive.count_cells(votes)  # distinct pairs, lo < hi, as a cell table holds them
        order = rng.permutation(len(cells))
        check_components(m, [list(cells)[i] for i in order])


@pytest.mark.parametrize(
    ("case", "m", "pairs"),
    [
        ("nobody", 0, []),
        ("one competitor", 1, []),
        ("isolated competitors only", 5, []),
        ("a chain", 50, [(i, i + 1) for i in range(49)]),
        ("a chain joined from its far end", 50, [(i, i + 1) for i in reversed(range(49))]),
        ("a star on the last slot", 8, [(i, 7) for i in range(7)]),
        ("a cycle", 6, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 5)]),
        ("equal sizes: the lowest slot's is first", 6, [(3, 5), (1, 4), (2, 4)]),
        ("equal sizes, interleaved", 6, [(1, 3), (3, 5), (0, 2), (2, 4)]),
        ("bigger beats lower", 7, [(0, 1), (2, 3), (3, 4), (4, 6)]),
    ],
)
def test_components_equal_twin_on_edge_cases(case, m, pairs):
    check_components(m, pairs)


# ----------------------------------------------------------------- slots


def run_assign_slots(known: dict[int, int], votes: list[tuple[int, int]], size: int):
    """assign_slots_kernel on ``votes`` from the state ``known`` ({id: slot}); results as lists."""
    slot_of = np.full(size, -1, dtype=np.int32)
    for competitor, slot in known.items():
        slot_of[competitor] = slot
    a = np.array([v[0] for v in votes], dtype=np.int32)
    b = np.array([v[1] for v in votes], dtype=np.int32)
    slot_a, slot_b = np.full(len(votes), -1, np.int32), np.full(len(votes), -1, np.int32)
    new_ids = np.full(2 * len(votes), -1, dtype=np.int32)
    n_slots = assign_slots_kernel(slot_of, len(known), a, b, slot_a, slot_b, new_ids)
    after = {c: int(s) for c, s in enumerate(slot_of.tolist()) if s >= 0}
    n_new = n_slots - len(known)
    assert not (new_ids[n_new:] != -1).any()
    return after, new_ids[:n_new].tolist(), slot_a.tolist(), slot_b.tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_slots_equal_twin_on_random_votes(seed):
    rng = np.random.default_rng(200 + seed)
    for _ in range(10):
        size = int(rng.integers(2, 1000))
        n_known = int(rng.integers(0, min(size, 50)))
        known_ids = rng.choice(size, n_known, replace=False).tolist()
        known = dict(zip(known_ids, rng.permutation(n_known).tolist()))
        pool = rng.choice(size, int(rng.integers(2, min(size, 80) + 1)), replace=False)
        votes = [(x, y) for x, y, _ in random_votes(rng, int(rng.integers(0, 300)), len(pool))]
        votes = [(int(pool[x]), int(pool[y])) for x, y in votes]
        assert run_assign_slots(known, votes, size) == naive.assign_slots(known, votes)


@pytest.mark.parametrize(
    ("case", "known", "votes"),
    [
        ("no votes", {3: 0}, []),
        ("b new, a known", {9: 0}, [(9, 4)]),
        ("a before b", {}, [(7, 2), (2, 7), (0, 7)]),
        ("one pair repeated", {}, [(5, 1)] * 5),
        ("a chain", {0: 0}, [(i, i + 1) for i in range(30)]),
        ("everyone known", {4: 1, 2: 0, 6: 2}, [(6, 2), (2, 4)]),
    ],
)
def test_slots_equal_twin_on_edge_cases(case, known, votes):
    assert run_assign_slots(known, votes, 40) == naive.assign_slots(known, votes)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_board_slots_follow_first_appearance_across_batches(seed):
    rng = np.random.default_rng(300 + seed)
    ids = rng.choice(100_000, 60, replace=False)
    votes = [(int(ids[x]), int(ids[y])) for x, y, _ in random_votes(rng, 2000, 60)]
    board = Board(EloConfig(bootstrap_rounds=0))
    start = 0
    while start < len(votes):
        stop = start + int(rng.integers(1, 200))
        chunk = votes[start:stop]
        board.apply(np.array([v[0] for v in chunk]), np.array([v[1] for v in chunk]), np.ones(len(chunk), np.int8))
        start = stop
    slot_of, new_ids, _, _ = naive.assign_slots({}, votes)
    assert board.competitor_ids.tolist() == new_ids
    assert all(board.slot_of(c) == s for c, s in slot_of.items())


# ----------------------------------------------------------------- counter-based draws

EDGE_WORDS = [0, 1, 2, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]


def random_words(rng: np.random.Generator, n: int) -> list[int]:
    return [int(x) for x in rng.integers(0, 2**64, n, dtype=np.uint64)] + EDGE_WORDS


def test_mix64_equals_twin():
    for x in random_words(np.random.default_rng(1), 2000):
        assert int(mix64(np.uint64(x))) == naive.mix64(x)


def test_poisson1_thresholds_are_the_cdf_times_two_to_the_64():
    """T[k] = P(X <= k) * 2**64 for X ~ Poisson(1), to float precision (the CDF in exact rationals)."""
    e_inv = sum(Fraction((-1) ** j, math.factorial(j)) for j in range(40))  # exp(-1) to ~1e-48
    cdf = Fraction(0)
    for k, threshold in enumerate(POISSON1_THRESHOLDS.tolist()):
        cdf += e_inv / math.factorial(k)
        assert abs(threshold - math.floor(cdf * 2**64)) <= 2**64 * 2**-49  # a few ulps of a float near 1
    assert POISSON1_THRESHOLDS.dtype == np.uint64 and len(POISSON1_THRESHOLDS) == 13


def test_poisson1_weight_equals_twin():
    hashes = random_words(np.random.default_rng(2), 5000)
    for threshold in POISSON1_THRESHOLDS.tolist():  # at each step of the inverse CDF, and either side
        hashes += [threshold - 1, threshold, threshold + 1]
    for h in hashes:
        assert poisson1_weight(np.uint64(h)) == naive.poisson1_by_inversion(h), h
    # The definition the bootstrap relies on: weight = #{k : h >= T[k]}.
    for k, threshold in enumerate(POISSON1_THRESHOLDS.tolist()):
        assert (poisson1_weight(np.uint64(threshold - 1)), poisson1_weight(np.uint64(threshold))) == (k, k + 1)


@pytest.mark.parametrize("seed", [0, 1, 9, 2**63, 2**64 - 1])
def test_bootstrap_weights_equal_twin(seed):
    rng = np.random.default_rng(seed % 1000)
    ordinals = np.array([0, 1, 2**40, 2**64 - 1] + rng.integers(0, 10**6, 40).tolist(), dtype=np.uint64)
    for n_replicas in (0, 1, 37):
        weights = poisson1_weights(seed, ordinals, n_replicas)
        assert weights.shape == (len(ordinals), n_replicas)
        twin = [[naive.bootstrap_weight(seed, int(o), r) for r in range(n_replicas)] for o in ordinals]
        assert weights.tolist() == twin


def test_bootstrap_weights_are_independent_across_replicas():
    """Two independent Poisson(1) draws are equal with probability sum_k P(X = k)^2 = 0.3085,
    whatever the two replicas are. Before ENGINE_STATE_VERSION 2 (an unmixed Weyl sequence):
    0.0 at lag 1, 0.97 at lag 89, 0.997 at lag 987."""
    weights = poisson1_weights(seed=3, ordinals=np.arange(100), n_replicas=1000)
    for lag in (1, 2, 3, 89, 144, 610, 987):
        agree = float(np.mean(weights[:, :-lag] == weights[:, lag:]))
        # >= 1300 pairs: the binomial sd of the fraction is < 0.013.
        assert 0.25 < agree < 0.37, f"weights of replicas r and r + {lag} agree {agree:.3f} of the time"


LAMBDAS = [0.0, 1e-9, 0.3, 1.0, 4.0, 9.999, 10.0, 10.5, 37.0, 1000.0, 123_456.0]


@pytest.mark.parametrize("lam", LAMBDAS)
def test_poisson_draw_equals_twin(lam):
    for key in random_words(np.random.default_rng(int(lam * 1000) % 2**32), 2000):
        assert poisson(lam, np.uint64(key)) == naive.poisson_draw(lam, key), (lam, key)


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 9, 10, 11, 40])
def test_tabled_poisson_draw_equals_twin(count):
    """The bootstrap's table-driven draw of an integer count is poisson()'s (and the twin's), bit for bit."""
    table = poisson_cdf_table()
    for key in random_words(np.random.default_rng(count), 2000):
        drawn = poisson_count(count, np.uint64(key), table)
        assert drawn == poisson(float(count), np.uint64(key)) == naive.poisson_draw(float(count), key), (count, key)


def unmix64(y: int) -> int:
    """The inverse of mix64 (a bijection): undo its steps, last first."""

    def unshift(y: int, shift: int) -> int:  # the x with x ^ (x >> shift) == y
        x = y
        for _ in range(64 // shift + 1):
            x = y ^ (x >> shift)
        return x

    y = unshift(y, 31)
    y = unshift((y * pow(0x94D049BB133111EB, -1, 2**64)) & naive.MASK64, 27)
    return unshift((y * pow(0xBF58476D1CE4E5B9, -1, 2**64)) & naive.MASK64, 30)


@pytest.mark.parametrize("lam", [0.3, 1.0, 4.0, 9.5])
def test_poisson_inversion_at_the_cdf_steps(lam):
    """X <= k exactly when u <= P(X <= k): a uniform equal to a step of the CDF gives k, the next
    float up gives k + 1 (keys built by inverting mix64, so u_1 lands exactly on the step)."""
    assert all(naive.mix64(unmix64(x)) == x for x in random_words(np.random.default_rng(3), 100))
    p = cdf = math.exp(-lam)
    checked = 0
    for k in range(30):
        top53 = cdf * 2**53
        if top53 + 1 < 2**53 and top53 == math.floor(top53):  # u = (h >> 11) / 2**53 can equal the step
            checked += 1
            for bits, expected in ((int(top53), k), (int(top53) + 1, k + 1)):
                key = (unmix64(bits << 11) - naive.GOLDEN64) & naive.MASK64  # u_1 = uniform01(mix64(key + golden))
                assert naive.uniform01(naive.mix64((key + naive.GOLDEN64) & naive.MASK64)) == bits / 2**53
                assert poisson(lam, np.uint64(key)) == naive.poisson_draw(lam, key) == expected, (k, bits)
        p *= lam / (k + 1)
        cdf += p
    assert checked >= 2


@pytest.mark.parametrize("lam", [0.3, 4.0, 10.0, 37.0, 5000.0])
def test_poisson_draws_have_poisson_moments(lam):
    """Both twins could share a mistake of the algorithm: check the draws' mean and variance too."""
    n = 2000 if JIT_OFF else 20_000
    keys = np.random.default_rng(5).integers(0, 2**64, n, dtype=np.uint64)
    draws = np.array([poisson(lam, key) for key in keys])
    assert np.all(draws >= 0) and np.all(draws == np.round(draws))
    # Mean: sd sqrt(lam / n); variance: sd ~ lam sqrt(2 / n). Five standard deviations.
    assert abs(draws.mean() - lam) < 5 * math.sqrt(lam / n)
    assert abs(draws.var() - lam) < 5 * lam * math.sqrt((2 + 1 / lam) / n)


# ----------------------------------------------------------------- Cholesky solve


def check_cholesky(a: np.ndarray, b: np.ndarray, rtol: float) -> np.ndarray:
    """cholesky_solve equals the twin (the factor and the solution, to ``rtol``) and solves a x = b."""
    n = a.shape[0]
    out, lower = np.full(n, np.nan), np.zeros((n, n))
    assert cholesky_solve(a, b, out, lower)
    twin = naive.cholesky_solve(a.tolist(), b.tolist())
    assert twin is not None
    twin_lower, twin_x = np.array(twin[0]).reshape(n, n), np.array(twin[1])
    scale = math.sqrt(np.abs(a).max()) if n else 1.0
    np.testing.assert_allclose(np.tril(lower), twin_lower, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(out, twin_x, rtol=rtol, atol=rtol * np.abs(twin_x).max(initial=0.0))
    # Backward stable whatever the conditioning: L L^T = a and a x = b up to rounding.
    if n:
        np.testing.assert_allclose(np.tril(lower) @ np.tril(lower).T, a, rtol=0, atol=1e-13 * n * np.abs(a).max())
        assert np.abs(a @ out - b).max() <= 1e-12 * n * np.abs(a).max() * np.abs(out).max() + 1e-300
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_cholesky_solve_equals_twin_on_random_spd_matrices(seed):
    rng = np.random.default_rng(400 + seed)
    for n in (1, 2, 3, 8, 25, 60):
        g = rng.normal(size=(n, n)) * rng.uniform(0.1, 10)
        a = g @ g.T + n * np.eye(n)  # well conditioned
        b = rng.normal(size=n)
        x = check_cholesky(a, b, rtol=1e-10)
        np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_cholesky_solve_equals_twin_near_singular(seed):
    """Eigenvalues down to 1e-12 of the largest: still positive definite, still solved to rounding."""
    rng = np.random.default_rng(500 + seed)
    for n in (2, 10, 40):
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        a = (q * np.logspace(0, -12, n)) @ q.T
        a = (a + a.T) / 2
        if np.linalg.eigvalsh(a).min() <= 0:  # rounding may push the smallest eigenvalue below zero
            a += 1e-15 * np.eye(n)
        check_cholesky(a, rng.normal(size=n), rtol=1e-3)  # forward error ~ cond * eps = 1e-4


@pytest.mark.parametrize(
    ("case", "a"),
    [
        ("zero", np.zeros((3, 3))),
        ("singular", np.ones((3, 3))),
        ("indefinite", np.array([[1.0, 2.0], [2.0, 1.0]])),
        ("negative diagonal", np.array([[4.0, 0.0, 0.0], [0.0, -1e-300, 0.0], [0.0, 0.0, 1.0]])),
        ("one by one, negative", np.array([[-2.0]])),
    ],
)
def test_cholesky_solve_refuses_what_is_not_positive_definite(case, a):
    n = a.shape[0]
    assert not cholesky_solve(a, np.ones(n), np.empty(n), np.zeros((n, n)))
    assert naive.cholesky_solve(a.tolist(), [1.0] * n) is None


def test_cholesky_solve_edge_sizes():
    assert cholesky_solve(np.empty((0, 0)), np.empty(0), np.empty(0), np.empty((0, 0)))
    assert naive.cholesky_solve([], []) == ([], [])
    out = check_cholesky(np.array([[4.0]]), np.array([2.0]), rtol=0)
    assert out.tolist() == [0.5]


# ----------------------------------------------------------------- without the JIT

KERNELS = (
    count_cells_kernel, union_kernel, roots_kernel, assign_slots_kernel, mix64, poisson1_weight, poisson, cholesky_solve
)  # fmt: skip


def test_the_jit_setting_reaches_the_kernels():
    """With NUMBA_DISABLE_JIT=1 every kernel is its plain Python function (numba.njit returns it
    unwrapped, cache=True and all); otherwise a compiled dispatcher."""
    assert JIT_OFF == (os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"))
    for kernel in KERNELS:
        assert isinstance(kernel, types.FunctionType if JIT_OFF else CPUDispatcher), kernel


# The engine tests that run without the JIT. A kernel then runs as Python, ~100x slower, so
# the tests doing millions of kernel steps are left out (their kernels are still exercised by
# the tests that are kept). ~20 s in all on an idle 2-core machine.
JIT_OFF_TESTS = [
    "tests/test_kernels_naive.py",
    "tests/test_elo.py",
    "tests/test_bootstrap.py",
    "tests/test_bt.py",
    "tests/test_style.py",
    "tests/test_ties.py",
]
# Test id (a prefix: every parametrisation) -> why it is left out. Keep in step with renames:
# a stale id is silently ignored and its test runs, slowly.
JIT_OFF_EXCLUDED = {
    "tests/test_bootstrap.py::test_poisson_weights_have_poisson1_frequencies": "2 M Poisson draws, ~40 s",
    "tests/test_bootstrap.py::test_batching_does_not_change_a_bit": "10 M replica updates, minutes",
    "tests/test_bootstrap.py::test_checkpoint_state_round_trip_continues_identically": "600 k replica updates",
    "tests/test_bootstrap.py::test_bootstrap_mean_tracks_point_rating": "70 M replica updates",
    "tests/test_bootstrap.py::test_ci_width_grows_then_plateaus_at_a_level_set_by_k": "130 M replica updates",
    "tests/test_bootstrap.py::test_standings_are_sorted_and_consistent": "10 M replica updates",
    "tests/test_bootstrap.py::test_engine_from_a_thread_pool_equals_serial": "6 M replica updates",
    "tests/test_bt.py::test_coverage_of_the_true_strengths": "200 boards x 400 bootstrap fits, ~100 s",
    "tests/test_bt.py::test_mm_agrees_with_newman": "MM's thousands of sweeps over 20 k votes, ~8 s",
    "tests/test_style.py::test_sandwich_matches_its_numpy_twin_and_the_bootstrap": "style bootstrap, ~100 s",
    "tests/test_style.py::test_bootstrap_is_deterministic_and_independent_of_threads": "style bootstrap, ~10 s",
    "tests/test_style.py::test_coefficient_intervals_cover_the_true_length_effect": "style bootstraps, ~150 s",
    "tests/test_style.py::test_agrees_with_arena_ranks_contextual_bradley_terry": "large style fits, ~12 s",
    "tests/test_style.py::test_with_all_features_zero_style_control_is_plain_bt": "style and BT fits, ~5 s",
    "tests/test_ties.py::test_agrees_with_leaderbot": "leaderbot's own numba kernels, uncompiled too",
    "tests/test_ties.py::test_recovers_a_known_tie_parameter_within_its_ci": "200-round bootstraps of 8 k votes",
    "tests/test_ties.py::test_replay_json_has_the_tie_model": "the command line, not a kernel",
    "tests/test_ties.py::test_grpc_and_http_agree_with_davidson": "a server and its warm-up, not a kernel",
    "tests/test_ties.py::test_notebook_api_takes_a_tie_model": "the notebook API, not a kernel",
    "tests/test_kernels_naive.py::test_engine_tests_pass_without_the_jit": "this test: it would start itself again",
}


@pytest.mark.nojit
@pytest.mark.skipif(JIT_OFF, reason="already running without the JIT")
def test_engine_tests_pass_without_the_jit():
    """The engine tests again, in a subprocess with NUMBA_DISABLE_JIT=1: the kernels run as their
    plain Python source, so a kernel whose compiled meaning differs from its Python meaning
    (integer types and wrap-around, globals frozen at compile time) shows up here, and a
    coverage run of the same selection measures the kernels' lines."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "--durations=5", *JIT_OFF_TESTS]
    # uint64 arithmetic on numpy scalars warns when it wraps around, as the hash means it to.
    command += ["-W", "ignore:overflow encountered in scalar:RuntimeWarning"]
    for node in JIT_OFF_EXCLUDED:
        command += ["--deselect", node]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, out[-5000:] + result.stderr[-5000:]
    assert "PASSED tests/test_kernels_naive.py::test_the_jit_setting_reaches_the_kernels" in out
    summary = out.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and not re.search(r"\d+ (failed|error)", summary), summary
    slowest = re.search(r"slowest 5 durations =+\n(.*?)\n=", out, re.S)
    print(slowest.group(1) if slowest else "")  # with -s: where the time goes
    print(f"engine tests without the JIT: {summary} ({elapsed:.1f} s in all)")
