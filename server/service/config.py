"""The service's settings (``serve``'s flags end up here) and where it keeps its files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from engine import EloConfig
from engine.bt import BTConfig
from engine.style import StyleConfig
from server.domain.limits import Limits
from server.domain.listing_config import ListingConfig
from server.service.capacity import CapacityLimits
from server.service.standings_cache import DEFAULT_MAX_BYTES

DATABASE_NAME = "votes.sqlite3"
CHECKPOINT_DIR = "checkpoints"
SNAPSHOT_DIR = "snapshots"
CREATE_BOARDS = ("auto", "configured")  # serve --create-boards


@dataclass(frozen=True)
class ServiceConfig:
    default_elo: EloConfig = EloConfig()
    bt: BTConfig = BTConfig()  # every board's Bradley–Terry settings
    style: StyleConfig = StyleConfig()  # style control's penalty (engine.style)
    board_elo: Mapping[str, EloConfig] | None = None  # per-board overrides, applied when a board is created
    # Which writes may create a board: "auto" (any), or "configured" (only the boards of board_elo, i.e.
    # serve --board-config; a write to another board that does not exist is NOT_FOUND).
    create_boards: str = "auto"
    limits: Limits = Limits()
    capacity: CapacityLimits = CapacityLimits()  # competitors, views, boards, snapshots, memory (capacity.py)
    listing: ListingConfig = ListingConfig()  # every board's preliminary and listing thresholds ...
    board_listing: Mapping[str, ListingConfig] | None = None  # ... and per-board overrides
    board_titles: Mapping[str, str] | None = None  # boards' display names (serve --board-config "display_name")
    # Scheduled snapshots every this many seconds, at multiples of it since the
    # epoch (86400: daily at 00:00 UTC); 0 turns them off.
    snapshot_every_seconds: float = 86_400.0
    checkpoint_every_votes: int = 1_000_000
    checkpoint_every_seconds: float = 300.0
    apply_queue_batches: int = 1024  # committed-but-unapplied batches before ingest waits (back-pressure)
    close_apply_seconds: float = 5.0  # at shutdown, how long the backlog is applied before the checkpoint
    # Threads for the bootstrap kernel. Default: all cores but one, which is
    # left to gRPC decode and the commit. Letting the kernel take every core
    # put it in the acks' way: 1000-vote SubmitVotes p50 went from 1.1 ms to
    # 3.6 ms on 2 cores (benchmarks/bench_service.py).
    engine_threads: int | None = None
    # Computed standings kept for reuse (server.service.standings_cache), least recently used dropped past this.
    standings_cache_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.create_boards not in CREATE_BOARDS:
            raise ValueError(f"create_boards must be one of {', '.join(CREATE_BOARDS)}, got {self.create_boards!r}")

    def threads(self) -> int:
        if self.engine_threads is not None:
            return max(1, self.engine_threads)
        return max(1, (os.cpu_count() or 1) - 1)

    def thresholds(self, board: str) -> ListingConfig:
        return (self.board_listing or {}).get(board, self.listing)

    def may_create(self, board: str) -> bool:
        """Whether a write may create ``board`` (serve --create-boards)."""
        return self.create_boards == "auto" or board in (self.board_elo or {})

    def elo_for(self, board: str) -> EloConfig:
        """A new board's Elo settings: its override, or the default."""
        return (self.board_elo or {}).get(board, self.default_elo)
