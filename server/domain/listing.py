"""What a published leaderboard shows: which rows, ranked among themselves,
flagged, compared with a snapshot, and summarised.

The fit (server.service.compute) covers every competitor on the view; this module
only decides what is listed. Hidden competitors' votes stay in the fit, as
on LMArena, but ranks count the listed rows only: hiding a deprecated
model above you moves you up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from engine.standings import Standings
from server.domain.competitors import STATUSES, CompetitorInfo
from server.domain.listing_config import ListingConfig
from server.domain.results import BoardStandings
from server.domain.snapshot_info import SnapshotInfo

DEFAULT_GAP_RANKS = (10, 20)


@dataclass(frozen=True)
class RowFilters:
    """A query's choice of rows. The default lists active competitors above the board's listing threshold."""

    statuses: frozenset[str] = frozenset({"active"})
    open_weights_only: bool = False
    licenses: frozenset[str] = frozenset()  # empty: any
    organizations: frozenset[str] = frozenset()  # empty: any
    min_votes: int = 0
    include_unlisted: bool = False  # also list competitors under ListingConfig.listed_min_votes

    @classmethod
    def everything(cls) -> RowFilters:
        return cls(statuses=frozenset(STATUSES), include_unlisted=True)


@dataclass(frozen=True)
class Summary:
    models_listed: int
    models_hidden: int
    preliminary: int
    total_votes: int
    gaps: list[tuple[int, float]]  # (rank k, rating of rank 1 - rating of rank k), k within the rows listed
    tied_with_leader: int  # listed rows with rank (UB) 1


@dataclass(frozen=True)
class Listing:
    """The rows shown, best first; every list is row-aligned with ``result.models``."""

    result: BoardStandings  # standings of the listed rows, ranked among themselves
    category: str
    competitors: list[CompetitorInfo]
    preliminary: NDArray[np.bool_]
    summary: Summary
    thresholds: ListingConfig
    rank_delta: list[int | None] = field(default_factory=list)  # empty unless compared
    rating_delta: list[float | None] = field(default_factory=list)
    compared_to: SnapshotInfo | None = None
    compared_view_empty: bool = False  # compared_to had no votes in this view: no deltas
    as_of: SnapshotInfo | None = None
    style_rank_delta: list[int] = field(default_factory=list)  # empty unless style-controlled


def present(
    result: BoardStandings,
    metadata: Mapping[str, CompetitorInfo],
    filters: RowFilters,
    thresholds: ListingConfig,
    category: str = "",
    gap_ranks: Sequence[int] = DEFAULT_GAP_RANKS,
) -> Listing:
    """The listing of ``result`` under ``filters``."""
    s = result.standings
    info = [metadata.get(name) or CompetitorInfo(name) for name in result.models]
    votes = s.votes
    min_votes = filters.min_votes if filters.include_unlisted else max(filters.min_votes, thresholds.listed_min_votes)
    keep = np.array([_listed(c, filters) for c in info], dtype=bool) & (votes >= min_votes)
    rows = np.flatnonzero(keep)
    shown = s.select(rows)
    listed = replace(result, standings=shown, models=[result.models[i] for i in rows])
    preliminary = shown.votes < thresholds.preliminary_votes
    gaps = [(k, float(shown.rating[0] - shown.rating[k - 1])) for k in gap_ranks if 1 <= k <= len(shown)]
    summary = Summary(
        models_listed=len(shown),
        models_hidden=len(s) - len(shown),
        preliminary=int(preliminary.sum()),
        total_votes=s.total_votes,
        gaps=gaps,
        tied_with_leader=int((shown.rank_ub == 1).sum()),
    )
    return Listing(listed, category, [info[i] for i in rows], preliminary, summary, thresholds)


def compare(current: Listing, previous: Listing, snapshot: SnapshotInfo) -> Listing:
    """``current`` with each row's rank and rating change since ``previous`` (None: not listed then)."""
    before = {
        name: (int(rank), float(rating))
        for name, rank, rating in zip(
            previous.result.models, previous.result.standings.rank, previous.result.standings.rating
        )
    }
    rank_delta: list[int | None] = []
    rating_delta: list[float | None] = []
    s = current.result.standings
    for name, rank, rating in zip(current.result.models, s.rank.tolist(), s.rating.tolist()):
        then = before.get(name)
        rank_delta.append(None if then is None else then[0] - rank)
        rating_delta.append(None if then is None else rating - then[1])
    return replace(current, rank_delta=rank_delta, rating_delta=rating_delta, compared_to=snapshot)


def with_style_deltas(shown: Listing, uncontrolled: BoardStandings) -> Listing:
    """Each listed row's rank among the same rows ranked by plain BT, minus its style-controlled rank."""
    rating = dict(zip(uncontrolled.models, uncontrolled.standings.rating.tolist()))
    models = shown.result.models
    plain_order = sorted(models, key=lambda m: (-rating.get(m, -np.inf), m))
    plain_rank = {m: i + 1 for i, m in enumerate(plain_order)}
    deltas = [plain_rank[m] - int(rank) for m, rank in zip(models, shown.result.standings.rank)]
    return replace(shown, style_rank_delta=deltas)


def _listed(info: CompetitorInfo, filters: RowFilters) -> bool:
    return (
        info.status in filters.statuses
        and (not filters.open_weights_only or info.open_weights is True)
        and (not filters.licenses or info.license in filters.licenses)
        and (not filters.organizations or info.organization in filters.organizations)
    )


def row_tallies(standings: Standings, i: int) -> dict[str, int]:
    """Row ``i``'s vote tallies and component, under the names the wire and the published rows use."""
    return {
        "votes": int(standings.votes[i]),
        "wins": int(standings.wins[i]),
        "losses": int(standings.losses[i]),
        "ties": int(standings.ties[i]),
        "ties_both_bad": int(standings.ties_both_bad[i]),
        "component": int(standings.component[i]),
    }
