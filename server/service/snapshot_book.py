"""The snapshot book: which snapshots exist, taking them (on request and on schedule), and their views.

A snapshot freezes a board's views at one seq (server.storage.snapshots: the file format, names, the
schedule's arithmetic). ``SnapshotBook`` keeps the registry (the store's ``snapshots`` rows) and
takes snapshots; ``LoadedSnapshots`` keeps the views of the last few snapshots queried, loaded from
their files or rebuilt from the log when a file is missing or damaged.

Locks. ``SnapshotBook._lock``: one snapshot taken at a time; the registry list is replaced whole under
it, so readers take the list without the lock. ``LoadedSnapshots._lock``: one snapshot loaded at a
time, and its map of loaded views. They are never held together. Order: ``SnapshotBook._lock``
may be held while taking the engine lock (to copy the board) and the writer lock (to store the row);
``LoadedSnapshots._lock`` while taking the writer lock (a rebuild reads the version's Elo settings).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.views import BoardViews
from server.domain.errors import AlreadyExists, ResourceExhausted, Unavailable
from server.domain.queries import SnapshotRef
from server.domain.snapshot_info import SnapshotInfo
from server.service.config import ServiceConfig
from server.service.versions import BoardVersions, apply_logged
from server.service.writer import Writer
from server.storage import snapshots
from server.storage.store import LoggedBatch

log = logging.getLogger(__name__)

LOADED_SNAPSHOTS = 8  # snapshots whose arrays stay loaded (each: a board's views)


class SnapshotBook:
    def __init__(
        self,
        directory: Path,
        registry: list[SnapshotInfo],
        writer: Writer,
        versions: BoardVersions,
        config: ServiceConfig,
        stopping: threading.Event,
    ) -> None:
        self._directory = directory
        self._snapshots = registry  # replaced whole under _lock, never mutated
        self._writer = writer
        self._versions = versions
        self._config = config
        self._stopping = stopping
        self._lock = threading.Lock()
        self._scheduler: threading.Thread | None = None

    def create(self, board: str, name: str, scheduled: bool = False, timeout: float | None = None) -> SnapshotInfo:
        """Freeze ``board`` (every view) as it is once every vote acknowledged so far is applied."""
        snapshots.check_name(name)
        self._versions.wait_applied(self._writer.last_seq, timeout)
        with self._lock:
            if any(s.board == board and s.name == name for s in self._snapshots):
                raise AlreadyExists(f"board {board!r} already has a snapshot {name!r}")
            limit = self._config.capacity.max_snapshots_per_board
            if sum(1 for s in self._snapshots if s.board == board) >= limit:
                raise ResourceExhausted(
                    f"board {board!r} has {limit} snapshots, the limit (serve --max-snapshots); nothing was taken"
                )
            frozen = self._versions.freeze(board)
            snapshot_id = max((s.id for s in self._snapshots), default=0) + 1
            info = SnapshotInfo(snapshot_id, board, name, frozen.version, frozen.seq, time.time(), frozen.votes,
                                scheduled)  # fmt: skip
            # The file first: a row never points at a missing file, and a crash in
            # between leaves only an orphan file, overwritten by the next snapshot.
            try:
                snapshots.save(self._directory, info, frozen.states)
            except OSError as exc:  # a full or read-only disk: retry later, as for the store
                raise Unavailable(f"storage failed, the snapshot was not taken: {exc.strerror or exc}") from exc
            self._writer.add_snapshot(info)
            self._snapshots = [*self._snapshots, info]
        log.info("snapshot %r of %r at seq %d (%d votes)", name, board, info.seq, info.votes)
        return info

    def of_board(self, board: str) -> list[SnapshotInfo]:
        return [s for s in self._snapshots if s.board == board]

    @property
    def registry(self) -> list[SnapshotInfo]:
        """Every snapshot; a new list whenever one is added or removed (so ``is`` tells a change)."""
        return self._snapshots

    def find(self, board: str, ref: SnapshotRef) -> SnapshotInfo:
        return snapshots.find(self._snapshots, board, ref.name, ref.time)

    def counts(self) -> dict[str, int]:
        """Snapshots per board."""
        counts: dict[str, int] = {}
        for snapshot in self._snapshots:
            counts[snapshot.board] = counts.get(snapshot.board, 0) + 1
        return counts

    def boards_needing_snapshot(self) -> list[str]:
        """Boards with votes since their newest snapshot."""
        newest: dict[str, int] = {}
        for s in self._snapshots:
            newest[s.board] = max(newest.get(s.board, 0), s.seq)
        return self._versions.changed_since(newest)

    def start_schedule(self) -> None:
        """Snapshot every board with new votes at each multiple of ``snapshot_every_seconds``, until stopping."""
        if self._config.snapshot_every_seconds > 0:
            self._scheduler = threading.Thread(target=self._schedule, name="snapshots", daemon=True)
            self._scheduler.start()

    def join(self) -> None:
        """After ``stopping`` is set: wait for the schedule to end."""
        if self._scheduler is not None:
            self._scheduler.join()

    def _schedule(self) -> None:
        every = self._config.snapshot_every_seconds
        while True:
            due = snapshots.next_due(time.time(), every)
            if self._stopping.wait(max(0.0, due - time.time())):
                return
            for name in self.boards_needing_snapshot():
                try:
                    self.create(name, snapshots.scheduled_name(due), scheduled=True)
                except Exception:  # noqa: BLE001 - the schedule goes on; the next run retries
                    log.exception("scheduled snapshot of %r failed", name)


class LoadedSnapshots:
    """The views of the last ``LOADED_SNAPSHOTS`` snapshots asked for, loaded by one thread at a time."""

    def __init__(
        self,
        directory: Path,
        batches: Callable[[int, int], Iterator[LoggedBatch]],
        writer: Writer,
        threads: int,
    ) -> None:
        self._directory = directory
        self._batches = batches  # Store.board_batches: a version's batches up to a seq, on its own connection
        self._writer = writer
        self._threads = threads
        self._lock = threading.Lock()
        self._views: OrderedDict[int, BoardViews] = OrderedDict()  # by snapshot id, oldest loaded first

    def views(self, snapshot: SnapshotInfo) -> BoardViews:
        """The snapshot's frozen views (never changed: read them without the engine lock)."""
        with self._lock:
            views = self._views.get(snapshot.id)
            if views is None:
                views = snapshots.load(self._directory, snapshot) or self._rebuild(snapshot)
                views.threads = self._threads
                if len(self._views) >= LOADED_SNAPSHOTS:
                    self._views.popitem(last=False)  # the oldest loaded
                self._views[snapshot.id] = views
            return views

    def _rebuild(self, snapshot: SnapshotInfo) -> BoardViews:
        """The snapshot's views from the vote log (its file is missing or damaged)."""
        views = BoardViews(self._writer.stored_config(snapshot.board_id), threads=self._threads)
        for batch in self._batches(snapshot.board_id, snapshot.seq):
            apply_logged(views, batch)
        return views
