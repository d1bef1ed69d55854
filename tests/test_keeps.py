"""An offline replay keeps only what its query reads (server.offline.replay.board_for), and a board
that keeps less gives the same numbers as one that keeps everything."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Board, EloConfig
from engine.board import Keeps
from server.domain.queries import LeaderboardQuery
from server.offline.replay import board_for
from tests.conftest import style_votes, synthetic_votes

CONFIG = EloConfig(bootstrap_rounds=64, seed=7)


@pytest.mark.parametrize(
    ("query", "replicas", "cells", "style"),
    [
        (LeaderboardQuery("b"), 0, True, False),
        (LeaderboardQuery("b", ci="none"), 0, True, False),
        (LeaderboardQuery("b", style_control=True), 0, True, True),
        (LeaderboardQuery("b", method="elo"), 64, False, False),
        (LeaderboardQuery("b", method="elo", ci="none"), 0, False, False),
    ],
)
def test_a_replay_board_keeps_what_its_query_reads(query, replicas, cells, style):
    board = board_for(query, CONFIG)
    assert (board.config.bootstrap_rounds, board.keeps) == (replicas, Keeps(cells=cells, style=style, clusters=()))
    assert board_for(query, CONFIG, pairs=True).keeps.cells


def several_components(seed: int):
    """Votes on three groups of competitors that never meet, and one competitor who plays nobody twice."""
    parts = []
    for offset, m in ((0, 9), (20, 4), (40, 2)):
        a, b, outcome, _ = synthetic_votes(600, m, seed + offset)
        parts.append((a + offset, b + offset, outcome))
    a, b, outcome = (np.concatenate(x) for x in zip(*parts))
    order = np.random.default_rng(seed).permutation(a.shape[0])
    return a[order], b[order], outcome[order]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_elo_without_cells_equals_elo_with_them(seed):
    a, b, outcome = several_components(seed)
    full, lean = Board(CONFIG), Board(CONFIG, keeps=Keeps(cells=False, style=False))
    for start in range(0, a.shape[0], 333):  # in chunks, as a replay applies them
        for board in (full, lean):
            board.apply(a[start : start + 333], b[start : start + 333], outcome[start : start + 333])
    want, got = full.elo_standings(), lean.elo_standings()
    for name in ("competitor_ids", "rating", "rating_lower", "rating_upper", "rank_ub", "wins", "component"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert sorted(set(got.component.tolist())) == [0, 1, 2]
    assert lean.cells.n_cells == 0 and lean.memory().cells < full.memory().cells
    with pytest.raises(ValueError, match="keeps no pair cells"):
        lean.cell_table()
    with pytest.raises(ValueError, match="keeps everything"):
        lean.state()
    np.testing.assert_array_equal(lean.snapshot().elo_standings().rating, want.rating)


def test_style_rows_are_kept_only_when_asked():
    a, b, outcome, values, _ = style_votes(500, 6, seed=3, n_features=2)
    names = ["tokens", "bold"]
    kept, dropped = Board(CONFIG), Board(CONFIG, keeps=Keeps(style=False))
    for board in (kept, dropped):
        board.apply(a.astype(np.int32), b.astype(np.int32), outcome, None, names, values)
    assert len(kept.style) == 500 and len(dropped.style) == 0
    assert kept.cell_table().counts.tolist() == dropped.cell_table().counts.tolist()


def test_a_replay_reads_only_the_columns_its_query_and_filters_use():
    from server.domain.filters import VoteFilters, needed_fields

    assert needed_fields(VoteFilters(), category=False, style_control=False) == {"tstamp"}
    assert needed_fields(VoteFilters(), category=True, style_control=True) == {"tstamp", "tags", "style"}
    every = VoteFilters(
        anony_only=True, languages=frozenset({"en"}), tags=frozenset({"x"}), dedupe=True, daily_cap=2, drop_ties=True
    )
    assert needed_fields(every, False, False) == {"tstamp", "anony", "language", "tags", "vote_id", "judge"}
