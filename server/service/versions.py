"""Board versions: the engine's boards as queries and the applier see them, under the one engine lock.

A board name has one live version (the ``BoardViews`` queries read); a replay builds a pending
version beside it, which no query sees, until the applier swaps it in between two batches, so a
query reads one version whole.

State, all guarded by ``_lock`` (the engine lock):
  live, live_version   name -> the live version's views, and its version id
  pending              version id -> views a replay is building
  swapped              pending versions the applier swapped in (or discarded); a replay waits for its own
  retired              versions deleted (DeleteBoard): their batches still queued for the applier are skipped,
                       so a deleted board never comes back from the queue
  applied_seq          the last seq applied; ``_applied`` (a condition on the lock) is notified when it
                       moves, when a swap is done and when the applier fails
  failure              why the applier stopped (None while it runs): waits end, the writer refuses writes
  failed               boards left out at start-up -> why; written before any thread starts (and replaced
                       whole when one is deleted), read freely after

The applier holds the lock while it applies one batch; queries hold it only to copy what they read
(server.service.compute), never while computing. Lock order: the writer lock, the snapshot book's
lock and the applier's checkpoint lock may be held while taking the engine lock, never the reverse:
nothing here takes another lock while holding it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np

from engine import Board, EloConfig, Interner
from engine.clusters import batch_clusters
from engine.views import BoardViews
from server.domain.errors import DeadlineExceeded, NotFound, Unavailable
from server.domain.listing_config import ListingConfig
from server.domain.queries import LeaderboardQuery
from server.domain.results import BoardInfo, CategoryInfo
from server.service.compute import Inputs, copy_inputs
from server.storage.checkpoint import VersionedViews, flatten_views
from server.storage.store import LoggedBatch

MAX_WAIT_SECONDS = 86_400.0  # a call without a deadline reports ~forever, past what a condition wait accepts

T = TypeVar("T")


class ViewStamp(NamedTuple):
    seq: int  # the view's last applied seq: its standings change exactly when this does
    applied: int  # the engine's applied seq at the same moment


@dataclass(frozen=True)
class ViewCopy:
    """What a query read from a live view, under the engine lock."""

    seq: int  # the view's last seq
    applied: int  # the engine's applied seq
    version: int  # the board version it was read from (warm starts are per version)
    inputs: Inputs


@dataclass(frozen=True)
class FrozenBoard:
    """A live board's arrays, copied for a snapshot."""

    version: int
    seq: int
    votes: int
    states: dict[str, dict[str, np.ndarray]]  # BoardViews.state()


@dataclass(frozen=True)
class EngineState:
    """Every live board's arrays at one applied seq, in checkpoint form."""

    seq: int
    boards: dict[str, dict[str, np.ndarray]]  # checkpoint.flatten_views()


def apply_logged(views: BoardViews, batch: LoggedBatch) -> None:
    """Run the engine kernels on one stored batch."""
    views.apply(batch.model_a, batch.model_b, batch.outcome, batch.tags, batch.last_seq, batch.style_names, batch.style,
                batch.timestamp, batch.weight, batch_clusters(batch.voter_id, batch.prompt_id))  # fmt: skip


class BoardVersions:
    def __init__(self, threads: int) -> None:
        self.threads = threads  # new views' bootstrap threads
        self._lock = threading.Lock()
        self._applied = threading.Condition(self._lock)
        self._live: dict[str, BoardViews] = {}
        self._live_version: dict[str, int] = {}
        self._pending: dict[int, BoardViews] = {}
        self._swapped: set[int] = set()
        self._retired: set[int] = set()
        self.applied_seq = 0  # written under the lock; an int read needs none
        self.failure: str | None = None
        self.failed: dict[str, str] = {}

    # ---------------------------------------------------------- the applier's side

    def apply(self, batch: LoggedBatch, board: str, config: EloConfig, threads: int | None = None) -> None:
        """Apply ``batch`` to its pending version, or to ``board``'s live views (created with ``config``)."""
        with self._lock:
            if batch.board_id in self._retired:  # committed before its board was deleted
                self._advance(batch.last_seq)
                return
            views = self._pending.get(batch.board_id)
            if views is None:
                views = self._live.get(board)
                if views is None:
                    views = self._live[board] = BoardViews(config, threads=threads or self.threads)
                    self._live_version[board] = batch.board_id
            apply_logged(views, batch)
            self._advance(batch.last_seq)

    def _advance(self, seq: int) -> None:
        """Under the lock: the engine covers ``seq``."""
        self.applied_seq = max(self.applied_seq, seq)
        self._applied.notify_all()

    def add_pending(self, version: int, config: EloConfig) -> None:
        with self._lock:
            self._pending[version] = BoardViews(config, threads=self.threads)

    def finish_replay(self, board: str, version: int, swap: bool) -> None:
        """The pending ``version`` replaces ``board``'s live views (``swap``), or is dropped."""
        with self._lock:
            views = self._pending.pop(version)
            if swap:
                self._live[board] = views
                self._live_version[board] = version
            self._swapped.add(version)
            self._applied.notify_all()

    def retire(self, board: str, version: int) -> None:
        """Version ``version`` of ``board`` is deleted: its views go now, and its batches still queued are skipped."""
        with self._lock:
            self._retired.add(version)
            if self._live_version.get(board) == version:
                del self._live[board], self._live_version[board]
            if board in self.failed:  # replaced whole: readers take the dict without the lock
                self.failed = {name: reason for name, reason in self.failed.items() if name != board}

    def fail(self, reason: str) -> None:
        """The applier stopped: waits end, writes are refused from now on."""
        with self._lock:
            self.failure = reason
            self._applied.notify_all()

    def state(self) -> EngineState:
        """Every live board's arrays as of the applied seq (for a checkpoint)."""
        with self._lock:
            boards = {name: VersionedViews(self._live_version[name], views) for name, views in self._live.items()}
            return EngineState(self.applied_seq, flatten_views(boards))

    # -------------------------------------------------------------------- start-up

    def restore(self, board: str, version: int, views: BoardViews) -> None:
        with self._lock:
            self._live[board] = views
            self._live_version[board] = version

    def fail_board(self, board: str, reason: str) -> None:
        """Leave ``board`` out (its memory freed); its queries and writes say why."""
        with self._lock:
            self.failed[board] = reason
            self._live.pop(board, None)
            self._live_version.pop(board, None)

    def live_count(self) -> int:
        return len(self._live)

    def started(self, applied_seq: int) -> None:
        """Recovery is over: the engine covers ``applied_seq``; live views get the engine's threads back."""
        with self._lock:
            self.applied_seq = applied_seq
            for views in self._live.values():
                views.threads = self.threads

    # --------------------------------------------------------------------- queries

    def wait_applied(self, min_seq: int, timeout: float | None) -> int:
        """Block until the engine covers ``min_seq``; returns the applied seq."""
        if timeout is not None and timeout > MAX_WAIT_SECONDS:
            timeout = None
        with self._lock:
            if not self._applied.wait_for(lambda: self.applied_seq >= min_seq or self.failure, timeout):
                raise DeadlineExceeded(f"seq {min_seq} not applied yet (applied: {self.applied_seq})")
            if self.applied_seq < min_seq:
                raise Unavailable(self.failure or "")
            return self.applied_seq

    def wait_swapped(self, board: str, version: int) -> int:
        """Block until the applier has swapped ``version`` in; returns the applied seq then."""
        with self._lock:
            self._applied.wait_for(lambda: version in self._swapped or self.failure is not None)
            if version not in self._swapped:
                raise Unavailable(f"{self.failure} (the replay of {board!r} is logged; a restart applies it)")
            self._swapped.discard(version)
            return self.applied_seq

    def view_seq(self, board: str, category: str) -> int:
        """The view's last applied seq, read without the engine lock: the applier holds that lock while it
        applies a batch (milliseconds with a thousand replicas), and a cache lookup on the HTTP event loop must
        not wait for it. Safe without it: the dict lookups and the int read are each atomic, and ``last_seq`` is
        set once a batch is applied, so a read mid-batch sees the standings still published (NotFound and
        Unavailable as under the lock)."""
        return self._view(board, category).last_seq

    def stamp(self, board: str, category: str) -> ViewStamp:
        with self._lock:
            return ViewStamp(self._view(board, category).last_seq, self.applied_seq)

    def copy_inputs(self, query: LeaderboardQuery, interner: Interner) -> ViewCopy:
        """What computing ``query`` reads from the live view, copied under the lock."""
        with self._lock:
            view = self._view(query.board, query.category)
            inputs = copy_inputs(view, query, interner)
            return ViewCopy(view.last_seq, self.applied_seq, self._live_version[query.board], inputs)

    def live_version(self, board: str, category: str) -> tuple[int, int]:
        """The live version of ``board`` and the board's last applied seq, the end of a logged batch (a category
        view's own last seq may fall inside one); NotFound as a query of the ``category`` view."""
        with self._lock:
            self._view(board, category)
            return self._live_version[board], self._live[board].overall.last_seq

    def read(self, board: str, category: str, read: Callable[[Board], T]) -> T:
        """``read(view)`` on the live view, under the lock (``read`` must be quick and take no lock)."""
        with self._lock:
            return read(self._view(board, category))

    def freeze(self, board: str) -> FrozenBoard:
        """The live board's arrays, for a snapshot."""
        with self._lock:
            views = self._live.get(board)
            if views is None:
                raise NotFound(f"board {board!r} has no votes")
            overall = views.overall
            return FrozenBoard(self._live_version[board], overall.last_seq, overall.n_votes, views.state())

    def changed_since(self, seqs: Mapping[str, int]) -> list[str]:
        """Live boards with votes after ``seqs[board]`` (0 when absent)."""
        with self._lock:
            return [name for name, views in self._live.items() if views.overall.last_seq > seqs.get(name, 0)]

    def board_infos(
        self, thresholds: Callable[[str], ListingConfig], snapshots: Mapping[str, int], titles: Mapping[str, str]
    ) -> list[BoardInfo]:
        """Every live board (and every board that failed to start) with its views, votes and memory."""
        infos = []
        with self._lock:
            for name, views in self._live.items():
                overall = views.overall
                categories = [
                    CategoryInfo(tag, view.n_votes, view.n_competitors, len(view.style), tuple(sorted(view.clusters)))
                    for tag, view in sorted(views.categories.items())
                ]
                infos.append(BoardInfo(
                    name, overall.n_votes, overall.n_competitors, overall.last_seq, categories,
                    snapshots.get(name, 0), thresholds(name), views.memory(),
                    display_name=titles.get(name, ""), style_votes=len(overall.style),
                    clusters=tuple(sorted(overall.clusters)), weighted=overall.cells.is_weighted,
                ))  # fmt: skip
        for name, reason in self.failed.items():
            infos.append(BoardInfo(
                name, 0, 0, 0, [], snapshots.get(name, 0), thresholds(name), failure=reason,
                display_name=titles.get(name, ""),
            ))  # fmt: skip
        return infos

    def _view(self, board: str, category: str) -> Board:
        """Under the lock: the live board or category view, or NotFound."""
        views = self._live.get(board)
        if views is None:
            if board in self.failed:
                raise Unavailable(f"board {board!r} could not be rebuilt at start-up: {self.failed[board]}")
            raise NotFound(f"board {board!r} has no votes")
        view = views.view(category)
        if view is None:
            raise NotFound(f"board {board!r} has no votes tagged {category!r}")
        return view
