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

# The references fit the plain MLE; a vanishing prior is ours at their setting.
PLAIN_MLE = bt.BTConfig(prior=1e-6)


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
    return {names[i]: (r, lo, hi) for i, r, lo, hi in zip(s.competitor_ids, s.rating, s.rating_lower, s.rating_upper)}


def llmfao():
    frame = pl.read_parquet(shared_file("llmfao_crowd_human.parquet"))
    return frame["model_a"].to_list(), frame["model_b"].to_list(), frame["winner"].to_list()


def synthetic():
    a, b, w = references.synthetic_votes(100_000, 100, seed=0)
    return a.tolist(), b.tolist(), w.tolist()


BOARDS = {"llmfao": llmfao, "synthetic 100k": synthetic}


@pytest.fixture(scope="module")
def arena_rank():
    pytest.importorskip("arena_rank", reason="arena-rank is not installed (benchmarks/install_references.sh)")
    return references


@pytest.mark.parametrize("board", list(BOARDS))
@pytest.mark.parametrize("reweight", [False, True])
def test_ratings_match_arena_rank(arena_rank, board, reweight):
    votes = BOARDS[board]()
    theirs = arena_rank.arena_rank_bt(*votes, reweight=reweight)
    mine = ours(*votes, bt.BTConfig(prior=1e-6, reweight=reweight))
    assert set(theirs) == set(mine)
    # arena-rank's L-BFGS stops on a relative loss change of 1e-9, ~0.01 points short of the optimum.
    assert max(abs(mine[m][0] - theirs[m]) for m in theirs) < 0.05


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
