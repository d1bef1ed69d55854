"""Agreement with the reference implementations (skipped when they are not installed:
``bash benchmarks/install_references.sh`` installs them)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine import bt
from engine.cells import CellTable
from engine.outcomes import WINNER_LABELS
from tests.conftest import shared_file

_spec = importlib.util.spec_from_file_location(
    "references", Path(__file__).resolve().parent.parent / "benchmarks" / "references.py"
)
references = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(references)

# The references fit the plain MLE, as our default does where it exists (every board here).
PLAIN_MLE = bt.BTConfig()
POINTS_PER_THETA = 400 / np.log(10)


def ours(model_a, model_b, winner, config: bt.BTConfig, ci: str = "none", rounds: int = 1000):
    names = list(dict.fromkeys([*model_a, *model_b]))
    index = {n: i for i, n in enumerate(names)}
    a = np.array([index[x] for x in model_a], dtype=np.int32)
    b = np.array([index[x] for x in model_b], dtype=np.int32)
    outcome = np.array([WINNER_LABELS[w] for w in winner], dtype=np.int8)
    table = CellTable.from_votes(len(names), a, b, outcome)
    counts = np.zeros((len(names), 4), dtype=np.int64)
    s, _ = bt.standings(
        table, counts, np.arange(len(names), dtype=np.int32), config, bt.BTQuery(ci=ci, rounds=rounds), threads=2
    )
    rows = zip(s.competitor_ids, s.rating, s.rating_lower, s.rating_upper, s.regularized)
    return {names[i]: (r, lo, hi, flag) for i, r, lo, hi, flag in rows}


def shared_board(name: str):
    frame = pl.read_parquet(shared_file(name))
    frame = frame.filter(pl.col("model_a") != pl.col("model_b"))  # the MTEB votes hold a few self-plays
    return frame["model_a"].to_list(), frame["model_b"].to_list(), frame["winner"].to_list()


def llmfao():
    return shared_board("llmfao_crowd_human.parquet")


def synthetic():
    a, b, w = references.synthetic_votes(100_000, 100, seed=0)
    return a.tolist(), b.tolist(), w.tolist()


BOARDS = {"llmfao": llmfao, "synthetic 100k": synthetic}
# Every sample board whose MLE exists (the international football data's has none: a winless team).
MLE_BOARDS = {
    **BOARDS,
    "mteb arena": lambda: shared_board("mteb_arena_human_votes.parquet"),
    "copilot arena": lambda: shared_board("copilot_arena_examples.parquet"),
    "english football": lambda: shared_board("football_england_league.parquet"),
}


def scipy_mle(model_a, model_b, winner, reweight: bool) -> dict[str, float]:
    """The BT log-likelihood written per vote in numpy and maximised by scipy (mean rating 1000).

    A tie is half a win each way; with ``reweight`` each vote weighs 1 / max(votes of its pair, 50).
    """
    minimize = pytest.importorskip("scipy.optimize").minimize
    names = sorted(set(model_a) | set(model_b))
    index = {n: i for i, n in enumerate(names)}
    a = np.array([index[x] for x in model_a])
    b = np.array([index[x] for x in model_b])
    y = np.array([{"model_a": 1.0, "model_b": 0.0}.get(w, 0.5) for w in winner])
    weight = np.ones(len(a))
    if reweight:
        pair = np.minimum(a, b) * len(names) + np.maximum(a, b)
        _, inverse, per_pair = np.unique(pair, return_inverse=True, return_counts=True)
        weight = 1 / np.maximum(per_pair[inverse], 50)

    def nll(theta):
        d = theta[a] - theta[b]
        value = np.sum(weight * (np.logaddexp(0, d) - y * d))
        g = weight * (1 / (1 + np.exp(-d)) - y)
        return value, np.bincount(a, g, len(names)) - np.bincount(b, g, len(names))

    theta = minimize(nll, np.zeros(len(names)), jac=True, method="L-BFGS-B",
                     options={"gtol": 1e-11, "ftol": 1e-16, "maxiter": 50_000}).x  # fmt: skip
    return dict(zip(names, (theta - theta.mean()) * POINTS_PER_THETA + 1000))


@pytest.fixture(scope="module")
def arena_rank():
    pytest.importorskip("arena_rank", reason="arena-rank is not installed (benchmarks/install_references.sh)")
    return references


@pytest.mark.parametrize("board", list(MLE_BOARDS))
@pytest.mark.parametrize("reweight", [False, True])
def test_default_ratings_are_arena_ranks_and_scipys_mle(arena_rank, board, reweight):
    """Where the MLE exists the default fit is it: within 0.001 points of arena-rank's BradleyTerry
    run to its optimum and of an independent scipy fit; within 0.05 of arena-rank at its defaults
    on the LMArena-like boards (its L-BFGS stops on a relative loss change of 1e-9: ~0.01 points short
    on LLMFAO, 1.2 points on the 147-team English football board)."""
    votes = MLE_BOARDS[board]()
    mine = ours(*votes, bt.BTConfig(reweight=reweight))
    assert not any(regularized for *_, regularized in mine.values())
    for theirs, tolerance in (
        (arena_rank.arena_rank_bt(*votes, reweight=reweight, **arena_rank.ARENA_RANK_TO_OPTIMUM), 0.001),
        (scipy_mle(*votes, reweight=reweight), 0.001),
        *([(arena_rank.arena_rank_bt(*votes, reweight=reweight), 0.05)] if board in BOARDS else []),
    ):
        assert set(theirs) == set(mine)
        assert max(abs(mine[m][0] - theirs[m]) for m in theirs) < tolerance


@pytest.mark.parametrize("board", list(BOARDS))
def test_ci_widths_match_arena_rank_sandwich(arena_rank, board):
    votes = BOARDS[board]()
    rating, lower, upper = arena_rank.arena_rank_sandwich(*votes)
    theirs = np.array([upper[m] - lower[m] for m in rating])
    for ci in ("sandwich", "bootstrap"):
        mine = ours(*votes, PLAIN_MLE, ci=ci)
        width = np.array([mine[m][2] - mine[m][1] for m in rating])
        assert abs(np.mean(width / theirs) - 1) < 0.15, ci
        if ci == "sandwich":  # the same formula: equal up to arena-rank's 1e-5 ridge
            np.testing.assert_allclose(width, theirs, rtol=0.01)


def test_ratings_match_fastchat_mle_with_tie():
    pytest.importorskip("sklearn", reason="FastChat's BT needs scikit-learn (benchmarks/install_references.sh)")
    try:
        theirs = references.fastchat_bt(*llmfao(), recentre_mean=True)
    except ImportError as exc:
        pytest.skip(str(exc))
    mine = ours(*llmfao(), bt.BTConfig())
    # FastChat's L2 penalty (C=1) and tol=1e-4 leave it up to ~1.5 points from the optimum.
    assert max(abs(mine[m][0] - theirs[m]) for m in theirs) < 2.0
