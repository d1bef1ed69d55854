"""What a client asks the service for: a leaderboard view, and how to list it."""

from __future__ import annotations

from dataclasses import dataclass

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
