"""Standings: the sorted table behind a leaderboard, with CIs and CI-aware ranks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

CI_PERCENTILES = (2.5, 97.5)


def rank_upper_bound(rating_lower: NDArray[np.float64], rating_upper: NDArray[np.float64]) -> NDArray[np.int64]:
    """LMArena's rank (UB): 1 + number of models whose lower bound exceeds this model's upper bound.

    O(M log M): count lower bounds above each upper bound in one sorted pass.
    """
    sorted_lower = np.sort(rating_lower)
    above = sorted_lower.shape[0] - np.searchsorted(sorted_lower, rating_upper, side="right")
    return 1 + above.astype(np.int64)


@dataclass(frozen=True)
class Standings:
    """Rows sorted by rating, best first. Every array is [M], row-aligned.

    Immutable once built: the server publishes one and many readers share it.
    """

    competitor_ids: NDArray[np.int32]
    rating: NDArray[np.float64]
    rating_lower: NDArray[np.float64]
    rating_upper: NDArray[np.float64]
    rank: NDArray[np.int64]
    rank_ub: NDArray[np.int64]
    wins: NDArray[np.int64]
    losses: NDArray[np.int64]
    ties: NDArray[np.int64]  # both kinds of tie
    ties_both_bad: NDArray[np.int64]
    component: NDArray[np.int32]  # connected component of the comparison graph, 0 = the largest
    regularized: NDArray[np.bool_]  # a prior set this rating, not the plain MLE (engine.bt; always False for Elo)
    total_votes: int
    as_of_seq: int
    bootstrap_rounds: int  # 0 when the CI is not a bootstrap's

    @property
    def votes(self) -> NDArray[np.int64]:
        return self.wins + self.losses + self.ties

    def __len__(self) -> int:
        return int(self.rating.shape[0])

    def select(self, rows: NDArray[np.int64]) -> Standings:
        """Only these rows (positions, best first), ranked among themselves.

        Rank and rank (UB) count the rows kept: hiding a model that sits
        above another frees a place for it, as on LMArena's published board.
        Ratings and CIs are unchanged (the fit saw every vote).
        """
        rows = np.sort(np.asarray(rows, dtype=np.int64))
        lower, upper = self.rating_lower[rows], self.rating_upper[rows]
        return Standings(
            competitor_ids=self.competitor_ids[rows],
            rating=self.rating[rows],
            rating_lower=lower,
            rating_upper=upper,
            rank=np.arange(1, rows.shape[0] + 1, dtype=np.int64),
            rank_ub=rank_upper_bound(lower, upper),
            wins=self.wins[rows],
            losses=self.losses[rows],
            ties=self.ties[rows],
            ties_both_bad=self.ties_both_bad[rows],
            component=self.component[rows],
            regularized=self.regularized[rows],
            total_votes=self.total_votes,
            as_of_seq=self.as_of_seq,
            bootstrap_rounds=self.bootstrap_rounds,
        )

    @classmethod
    def build(
        cls,
        competitor_ids: NDArray[np.int32],
        rating: NDArray[np.float64],
        rating_lower: NDArray[np.float64],
        rating_upper: NDArray[np.float64],
        counts: NDArray[np.int64],
        total_votes: int,
        as_of_seq: int,
        bootstrap_rounds: int,
        component: NDArray[np.int32] | None = None,
        regularized: NDArray[np.bool_] | None = None,
    ) -> Standings:
        """Sort best first and derive ranks. All inputs [M] in one (slot) order; counts: int64[M, 4]."""
        # Equal ratings keep a stable order by competitor id.
        order = np.lexsort((competitor_ids, -rating))
        lower, upper = rating_lower[order], rating_upper[order]
        counts = counts[order]
        component = np.zeros(len(order), dtype=np.int32) if component is None else component[order]
        return cls(
            competitor_ids=competitor_ids[order].copy(),
            rating=rating[order].copy(),
            rating_lower=lower,
            rating_upper=upper,
            rank=np.arange(1, len(order) + 1, dtype=np.int64),
            rank_ub=rank_upper_bound(lower, upper),
            wins=counts[:, 0].copy(),
            losses=counts[:, 1].copy(),
            ties=counts[:, 2] + counts[:, 3],
            ties_both_bad=counts[:, 3].copy(),
            component=component.astype(np.int32),
            regularized=np.zeros(len(order), dtype=bool) if regularized is None else regularized[order].astype(bool),
            total_votes=int(total_votes),
            as_of_seq=int(as_of_seq),
            bootstrap_rounds=int(bootstrap_rounds),
        )

    @classmethod
    def from_elo(
        cls,
        competitor_ids: NDArray[np.int32],
        ratings: NDArray[np.float64],
        replicas: NDArray[np.float64],
        counts: NDArray[np.int64],
        total_votes: int,
        as_of_seq: int,
        component: NDArray[np.int32] | None = None,
    ) -> Standings:
        """ratings: float64[M]; replicas: float64[M, B]; counts: int64[M, 4].

        The CI is the 2.5 / 97.5 percentile of the replicas; with B = 0 there
        is no CI and both bounds equal the rating.
        """
        n_rounds = replicas.shape[1] if replicas.ndim == 2 else 0
        if n_rounds and len(ratings):
            lower, upper = np.percentile(replicas, CI_PERCENTILES, axis=1)
        else:
            lower, upper = ratings.copy(), ratings.copy()
        return cls.build(competitor_ids, ratings, lower, upper, counts, total_votes, as_of_seq, n_rounds, component)
