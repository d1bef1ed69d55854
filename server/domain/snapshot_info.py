"""What a snapshot froze: a domain record, read by the listing and the exports and stored by the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SnapshotInfo:
    """A row of ``snapshots``: what a snapshot froze (its arrays are in a file named by ``id``)."""

    id: int
    board: str
    name: str
    board_id: int  # the board version it froze
    seq: int  # the log seq it covers
    created: float  # Unix seconds
    votes: int
    scheduled: bool
