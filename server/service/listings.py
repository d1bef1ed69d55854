"""Published leaderboards: a query's standings, live or as of a snapshot, listed and compared.

What a ``ListingQuery`` asks, assembled from the parts: the standings (server.service.standings,
live or of a snapshot), the competitors' metadata (one version for both sides of a comparison), the
board's thresholds, and the snapshot it is compared with. The listing itself (rows, ranks among the
listed rows, flags, deltas) is the domain's (server.domain.listing). No state, no lock of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from server.domain import listing
from server.domain.competitors import CompetitorInfo
from server.domain.listing import Listing
from server.domain.listing_config import ListingConfig
from server.domain.queries import LeaderboardQuery, ListingQuery
from server.domain.results import BoardStandings
from server.domain.snapshot_info import SnapshotInfo
from server.domain.style_deltas import add_style_deltas
from server.service.standings import Standings


def publish(
    request: ListingQuery,
    standings: Standings,
    as_of: SnapshotInfo | None,
    compared_to: SnapshotInfo | None,
    metadata: Mapping[str, CompetitorInfo],
    thresholds: ListingConfig,
) -> Listing:
    """``request``'s leaderboard as published, live or ``as_of`` a snapshot, compared with ``compared_to``."""
    query = request.query

    def standings_of(asked: LeaderboardQuery) -> BoardStandings:
        return standings.of_snapshot(as_of, asked) if as_of else standings.live(asked)

    present: Callable[[BoardStandings], Listing] = lambda result: listing.present(  # noqa: E731
        result, metadata, request.filters, thresholds, query.category, request.gap_ranks
    )
    shown = add_style_deltas(replace(present(standings_of(query)), as_of=as_of), query, standings_of)
    if compared_to is None:
        return shown
    if not standings.snapshot_has_view(compared_to, query.category):  # the view began after it
        none: list = [None] * len(shown.result.models)
        return replace(shown, rank_delta=none, rating_delta=list(none), compared_to=compared_to,
                       compared_view_empty=True)  # fmt: skip
    return listing.compare(shown, present(standings.of_snapshot(compared_to, query)), compared_to)
