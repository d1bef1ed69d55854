"""What a client asks the service for: a leaderboard view, and how to list it."""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import CI_METHODS, METHODS
from server.domain.errors import InvalidArgument
from server.domain.listing import DEFAULT_GAP_RANKS, RowFilters

DEFAULT_BT_ROUNDS = 1000


@dataclass(frozen=True)
class LeaderboardQuery:
    board: str
    method: str = "bt"  # "bt" or "elo"
    ci: str = "bootstrap"  # "bootstrap", "sandwich" or "none" (the last two: BT only)
    rounds: int = 0  # BT bootstrap rounds; 0: DEFAULT_BT_ROUNDS
    anchor_model: str | None = None  # BT only
    anchor_rating: float = 1000.0
    category: str = ""  # a category view of the board; "": every vote
    style_control: bool = False  # BT with the votes' style features as covariates (engine.style)

    def cache_key(self) -> tuple:
        return (
            self.category, self.method, self.ci, self.rounds, self.anchor_model, self.anchor_rating, self.style_control
        )  # fmt: skip


def check_query(method: str, ci: str, rounds: int = 0, anchored: bool = False, style_control: bool = False) -> None:
    """The rules a leaderboard query's options obey together, for the service (``convert.query_from_pb``)
    and the command line's offline replay alike: raises InvalidArgument naming the option at fault."""
    if method not in METHODS:
        raise InvalidArgument("method", f"{method!r} is not a method ({', '.join(METHODS)})")
    if ci not in CI_METHODS:
        raise InvalidArgument("ci", f"{ci!r} is not a CI method ({', '.join(CI_METHODS)})")
    if style_control and (method == "elo" or anchored):
        field = "method" if method == "elo" else "anchor"
        raise InvalidArgument(field, "style control is a BT fit, centred on the mean; not with ELO or an anchor")
    if method == "elo":
        if ci != "bootstrap":
            raise InvalidArgument("ci", "ELO's CI is the board's online bootstrap; SANDWICH and CI_NONE are BT's")
        if rounds or anchored:
            field = "rounds" if rounds else "anchor"
            raise InvalidArgument(field, "applies to BT; ELO's replicas are fixed per board")


@dataclass(frozen=True)
class SnapshotRef:
    """A snapshot by name, or the board's newest one created at or before ``time``."""

    name: str | None = None
    time: float | None = None


@dataclass(frozen=True)
class ListingQuery:
    """A leaderboard as published: the standings of ``query``, listed through ``filters``."""

    query: LeaderboardQuery
    filters: RowFilters = RowFilters()
    compare_to: SnapshotRef | None = None
    as_of: SnapshotRef | None = None
    gap_ranks: tuple[int, ...] = DEFAULT_GAP_RANKS
