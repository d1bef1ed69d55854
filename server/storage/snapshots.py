"""Leaderboard snapshots: a board's whole engine state frozen at one seq.

A snapshot keeps the arrays of the board and every category view (Elo
ratings and replicas, BT pair cells), not a rendered table, so any query
(method, CI, category, filters) can be asked of it later, and deltas
against it are exact. The arrays go to a checksummed file named by the
snapshot's id (server.storage.checkpoint's format); the store's ``snapshots`` table
says which seq it covers. A file that is missing or fails its checksum is
rebuilt from the vote log up to that seq, which is the source of truth.

Scheduled snapshots are taken at multiples of the interval since the Unix
epoch (daily: at 00:00 UTC), named ``auto-<UTC time>``, for boards that
received votes since their last snapshot.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from engine.views import BoardViews
from server.domain import names
from server.domain.errors import NotFound
from server.domain.snapshot_info import SnapshotInfo  # the store's row; imported from here too
from server.storage import checkpoint

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 64


def check_name(name: str) -> None:
    names.check_snapshot(name, MAX_NAME_LENGTH)


def find(snapshots: Iterable[SnapshotInfo], board: str, name: str | None, time: float | None) -> SnapshotInfo:
    """The board's snapshot called ``name``, or its newest one created at or before ``time``."""
    mine = [s for s in snapshots if s.board == board]
    if name is not None:
        for snapshot in mine:
            if snapshot.name == name:
                return snapshot
        raise NotFound(f"board {board!r} has no snapshot {name!r}")
    earlier = [s for s in mine if time is not None and s.created <= time]
    if not earlier:
        raise NotFound(f"board {board!r} has no snapshot taken at or before {_iso(time or 0.0)}")
    return max(earlier, key=lambda s: (s.created, s.id))


def path_of(directory: Path, snapshot_id: int) -> Path:
    return directory / f"snapshot-{snapshot_id:08d}.npz"


def save(directory: Path, snapshot: SnapshotInfo, states: dict[str, dict]) -> None:
    """Write BoardViews.state() as the snapshot's file."""
    checkpoint.write_states(path_of(directory, snapshot.id), snapshot.seq, states)


def load(directory: Path, snapshot: SnapshotInfo) -> BoardViews | None:
    """The frozen views, or None (logged) when the file is missing or damaged."""
    path = path_of(directory, snapshot.id)
    try:
        seq, states = checkpoint.read_states(path)
        if seq != snapshot.seq:
            raise ValueError(f"covers seq {seq}, the snapshot seq {snapshot.seq}")
        return BoardViews.from_state(states)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("snapshot %r of %r: %s is unusable (%s); rebuilding it from the log", snapshot.name,
                    snapshot.board, path, exc)  # fmt: skip
        return None


def next_due(now: float, every: float) -> float:
    """The next multiple of ``every`` seconds since the epoch, after ``now``."""
    return (math.floor(now / every) + 1) * every


def scheduled_name(moment: float) -> str:
    return "auto-" + _iso(moment)


def _iso(moment: float) -> str:
    try:
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):  # outside what a calendar date can show
        return f"{moment:g} (Unix seconds)"
