"""A style-controlled listing's rank deltas: the one step the service and the offline replay share.

With style control each listed row also shows its rank among the same rows ranked by plain BT
(no style covariates, no CI) minus its style-controlled rank. Where the standings come from (the
service's cache, a snapshot, a board in memory) is the caller's; what is compared with what is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from server.domain.listing import Listing, with_style_deltas
from server.domain.queries import LeaderboardQuery
from server.domain.results import BoardStandings


def plain_query(query: LeaderboardQuery) -> LeaderboardQuery:
    """The query a style-controlled ``query`` is compared with: the same view, plain BT, no CI."""
    return replace(query, style_control=False, ci="none", rounds=0)


def add_style_deltas(
    shown: Listing, query: LeaderboardQuery, standings_of: Callable[[LeaderboardQuery], BoardStandings]
) -> Listing:
    """``shown`` with its style rank deltas when ``query`` is style-controlled (``standings_of`` computes
    the plain query); otherwise ``shown`` unchanged."""
    if not query.style_control:
        return shown
    return with_style_deltas(shown, standings_of(plain_query(query)))
