"""Head-to-head arithmetic: from the pair counts among k models to battles, empirical win rates and
the win probabilities their ratings predict. The service's matrix (server.service.head_to_head) and
the notebook API's (server.frames) are both this."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.outcomes import TIE_SCORE
from engine.scale import win_probability
from server.domain.results import HeadToHeadMatrix


def pair_matrix_of(
    board: str,
    category: str,
    models: list[str],
    rating: NDArray[np.float64],
    counts: NDArray[np.int64],
    scale: float,
    base: float,
    as_of_seq: int,
) -> HeadToHeadMatrix:
    """``counts``: int64[k, k, 4], for i < j the cell of models i and j from i's side (wins of i, wins
    of j, ties, both-bad ties); the rest is not read. ``rating``: the models' ratings, best first."""
    upper = np.triu(np.ones(counts.shape[:2], dtype=bool), 1)[:, :, None]
    counts = np.where(upper, counts, 0)
    wins = counts[:, :, 0] + counts[:, :, 1].T
    ties = counts[:, :, 2] + counts[:, :, 3]
    ties = ties + ties.T
    battles = wins + wins.T + ties
    with np.errstate(invalid="ignore", divide="ignore"):
        empirical = np.where(battles > 0, (wins + TIE_SCORE * ties) / battles, np.nan)
    predicted = win_probability(rating[:, None], rating[None, :], scale, base)
    np.fill_diagonal(predicted, 0.5)
    return HeadToHeadMatrix(board, category, list(models), battles, empirical, predicted, as_of_seq)
