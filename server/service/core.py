"""The rating service's core: durable ingest, the single writer, published standings.

Ingest path (any gRPC thread, serialised by the writer lock):
  validate -> drop duplicate vote_ids -> assign seqs -> one SQLite
  transaction -> ack. The batch is then queued for the applier.

Apply path (one applier thread): takes committed batches in seq order and
runs the engine kernels on them. Acks do not wait for it: their latency is
the commit's, not the bootstrap's. ``leaderboard(min_seq=ack.last_seq)``
reads your own writes.

Read path: a query copies the view's arrays under the engine lock (the
applier holds it only while applying one batch), computes the standings
outside it, and caches them until the view changes; concurrent queries for
one view share that computation. What is listed (filters, ranks among the
listed rows, preliminary flags, deltas against a snapshot) is decided per
query from the cached standings by server.listing, in O(models).

A board is a set of views (engine.views): every vote updates the board,
and each of its tags' category views.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from engine import Board, EloConfig, Interner
from engine.bt import BTConfig
from engine.style import StyleConfig
from engine.views import BoardViews
from server.domain import listing
from server.domain.ballots import RankingBallot, ballot_votes
from server.domain.competitors import CompetitorInfo, CompetitorUpdate, validate_updates
from server.domain.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from server.domain.filters import FilterRun, VoteFilters
from server.domain.limits import Limits
from server.domain.listing import Listing
from server.domain.listing_config import ListingConfig
from server.domain.queries import LeaderboardQuery, ListingQuery, SnapshotRef
from server.domain.results import (
    Ack,
    BoardInfo,
    BoardList,
    BoardStandings,
    CategoryInfo,
    HeadToHead,
    HeadToHeadMatrix,
    ReplayResult,
)
from server.domain.style_deltas import add_style_deltas
from server.domain.votes import VoteBatch, validate
from server.service.capacity import CapacityBook, CapacityLimits, Growth
from server.service.compute import Inputs, compute_standings, copy_inputs, win_probability
from server.service.standings_cache import DEFAULT_MAX_BYTES, StandingsCache
from server.storage import checkpoint, datadir_lock, snapshots
from server.storage.snapshots import SnapshotInfo
from server.storage.store import LoggedBatch, NewBoard, Store

log = logging.getLogger(__name__)

DATABASE_NAME = "votes.sqlite3"
CHECKPOINT_DIR = "checkpoints"
SNAPSHOT_DIR = "snapshots"
_MAX_WAIT_SECONDS = 86_400.0
_SNAPSHOT_CACHE = 8  # snapshots whose arrays stay loaded (each: a board's views)


@dataclass(frozen=True)
class _Swap:
    """Applier instruction: the replayed version ``board_id`` replaces the live ``name``."""

    name: str
    board_id: int


@dataclass(frozen=True)
class _Discard:
    """Applier instruction: drop the abandoned version ``board_id``."""

    name: str
    board_id: int


@dataclass(frozen=True)
class ServiceConfig:
    default_elo: EloConfig = EloConfig()
    bt: BTConfig = BTConfig()  # every board's Bradley–Terry settings
    style: StyleConfig = StyleConfig()  # style control's penalty (engine.style)
    board_elo: Mapping[str, EloConfig] | None = None  # per-board overrides, applied when a board is created
    limits: Limits = Limits()
    capacity: CapacityLimits = CapacityLimits()  # competitors, views, boards, snapshots, memory (server.capacity)
    listing: ListingConfig = ListingConfig()  # every board's preliminary and listing thresholds ...
    board_listing: Mapping[str, ListingConfig] | None = None  # ... and per-board overrides
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
    # Computed standings kept for reuse (server.standings_cache), least recently used dropped past this.
    standings_cache_bytes: int = DEFAULT_MAX_BYTES

    def threads(self) -> int:
        if self.engine_threads is not None:
            return max(1, self.engine_threads)
        return max(1, (os.cpu_count() or 1) - 1)

    def thresholds(self, board: str) -> ListingConfig:
        return (self.board_listing or {}).get(board, self.listing)


class RatingsService:
    def __init__(self, data_dir: Path, config: ServiceConfig | None = None) -> None:
        self.config = config or ServiceConfig()
        self.data_dir = Path(data_dir)
        # Before anything reads or writes the directory: a second service on it refuses to start.
        self._dir_lock = datadir_lock.acquire(self.data_dir)
        try:
            self._open()
        except BaseException:
            self._dir_lock.release()
            raise

    def _open(self) -> None:
        """Open the store, recover the engine state, start the applier (and the snapshot schedule)."""
        self._checkpoint_dir = self.data_dir / CHECKPOINT_DIR
        self._snapshot_dir = self.data_dir / SNAPSHOT_DIR
        self._store = Store(self.data_dir / DATABASE_NAME)

        # Writer state, guarded by _write_lock.
        self._write_lock = threading.Lock()
        self._closed = False
        self._interner = Interner(self._store.competitor_names())
        # A board name has one active version; a replay builds a pending one
        # that replaces it. Versions left pending by a crash are discarded.
        self._board_ids: dict[str, int] = {}  # name -> active version id
        self._board_names: dict[int, str] = {}  # version id -> name (active and pending)
        self._board_configs: dict[str, EloConfig] = {}
        for version in self._store.boards():
            if version.state == "pending":
                log.warning("discarding board %r version %d: its replay did not complete", version.name, version.id)
                self._store.discard(version.id)
            elif version.state == "active":
                self._board_ids[version.name] = version.id
                self._board_names[version.id] = version.name
                self._board_configs[version.name] = EloConfig(**version.config)
        self._next_board_id = self._store.max_board_id() + 1
        self._capacity = CapacityBook(self.config.capacity)  # what the engine will hold, checked before commits
        self._failure: str | None = None  # set when the applier fails: writes are refused from then on
        self._failure_listeners: list[Callable[[str], None]] = []
        self._failed_boards: dict[str, str] = {}  # boards that could not be rebuilt at start-up -> why
        self._vote_ids: dict[int, set[str]] = {}  # version id -> accepted vote ids (idempotency is per board)
        self._style_names: dict[int, list[str]] = {}  # version id -> its style features (fixed by the first)
        self._replays: dict[str, int] = {}  # board name -> pending version id being replayed
        self._last_seq = 0
        # Replaced whole on every change (never mutated), so readers need no lock.
        self._metadata: dict[str, CompetitorInfo] = {
            name: CompetitorInfo.from_json(name, meta) for name, meta in self._store.competitor_metadata().items()
        }
        self._snapshots: list[SnapshotInfo] = self._store.snapshots()
        self._snapshot_lock = threading.Lock()  # one snapshot taken at a time
        self._snapshot_views: dict[int, BoardViews] = {}  # loaded snapshots, by id (bounded) ...
        self._snapshot_views_lock = threading.Lock()  # ... loaded by one thread at a time
        self._stopping = threading.Event()  # set by close(): watches and the snapshot schedule end

        # Engine state, guarded by _engine_lock; _applied signals progress.
        self._engine_lock = threading.Lock()
        self._applied = threading.Condition(self._engine_lock)
        self._boards: dict[str, BoardViews] = {}  # active versions, by name
        self._live_versions: dict[str, int] = {}  # name -> version id of the views in _boards
        self._pending: dict[int, BoardViews] = {}  # versions being built by replays, by id
        self._swaps: set[int] = set()  # versions the applier has swapped in (or discarded)
        self._applied_seq = 0
        # (board, query key) -> the view's last seq and its standings, bounded in bytes; concurrent
        # queries for the same key share one computation (single flight).
        self._standings = StandingsCache(self.config.standings_cache_bytes)
        self._bt_theta: dict[tuple, np.ndarray] = {}  # last fit per (board, category, style): the next warm start
        self._checkpoint_seq = 0
        self._checkpoint_attempt_seq = 0  # where the last (maybe failed) attempt was: retries wait their turn
        self._checkpoint_time = time.monotonic()
        self._close_deadline: float | None = None  # set by close(): when the applier stops applying the backlog

        self._recover()
        self._queue: queue.Queue[LoggedBatch | _Swap | _Discard | None] = queue.Queue(
            maxsize=self.config.apply_queue_batches
        )
        self._applier = threading.Thread(target=self._apply_loop, name="applier", daemon=True)
        self._applier.start()
        self._scheduler = None
        if self.config.snapshot_every_seconds > 0:
            self._scheduler = threading.Thread(target=self._snapshot_schedule, name="snapshots", daemon=True)
            self._scheduler.start()

    # ----------------------------------------------------------------- start-up

    def _recover(self) -> None:
        """Load the newest checkpoint, then replay the log after it, on every core.

        A board that cannot be rebuilt within the limits (server.capacity) or the
        memory there is, is left out and reported failed; the others start.
        """
        started = time.perf_counter()
        cores = os.cpu_count() or 1  # nothing else runs yet: replica ranges split over every core
        store_last = self._store.last_seq()
        restored = checkpoint.load_latest(self._checkpoint_dir)
        if restored is not None and restored[0] > store_last:
            log.warning("checkpoint at seq %d is ahead of the log (seq %d); ignoring it", restored[0], store_last)
            restored = None
        from_checkpoint: set[str] = set()
        if restored is not None:
            seq, states = restored
            for name, (version, views) in checkpoint.unflatten_views(states).items():
                # A board replaced by a replay after this checkpoint is rebuilt from the log.
                if version == self._board_ids.get(name):
                    try:
                        self._boards[name] = self._new_views_from(views, cores)
                    except MemoryError:
                        self._fail_board(name, version, "out of memory loading it from the checkpoint")
                        continue
                    self._live_versions[name] = version
                    from_checkpoint.add(name)
            self._applied_seq = self._checkpoint_seq = seq
        replayed = 0
        for batch in self._store.batches():
            name = self._board_names.get(batch.board_id)
            if name is None or name in self._failed_boards:  # a retired version, or a board given up
                continue
            self._vote_ids.setdefault(batch.board_id, set()).update(batch.vote_id)
            if batch.style_names:
                self._style_names.setdefault(batch.board_id, batch.style_names)
            try:
                self._capacity.commit(self._plan(batch, name))
            except ResourceExhausted as exc:
                self._fail_board(name, batch.board_id, f"rebuilding it would pass a limit: {exc}")
                continue
            if name in from_checkpoint and batch.last_seq <= self._checkpoint_seq:
                continue
            if name in from_checkpoint and batch.first_seq <= self._checkpoint_seq:
                raise RuntimeError(
                    f"checkpoint seq {self._checkpoint_seq} splits batch {batch.first_seq}..{batch.last_seq}"
                )
            try:
                self._apply(batch, threads=cores)
            except MemoryError:
                self._fail_board(name, batch.board_id, "out of memory rebuilding it from the log")
                continue
            replayed += batch.last_seq - batch.first_seq + 1
        for views in self._boards.values():
            views.threads = self.config.threads()
        self._applied_seq = store_last
        self._last_seq = store_last
        log.info(
            "recovered %d votes on %d boards (checkpoint seq %d, %d votes replayed from the log) in %.2f s",
            store_last,
            len(self._boards),
            self._checkpoint_seq,
            replayed,
            time.perf_counter() - started,
        )

    def _fail_board(self, name: str, board_id: int, reason: str) -> None:
        """At start-up: leave ``name`` out (its memory freed); its queries and writes say why."""
        log.error("board %r cannot be served: %s; the other boards start (its votes stay in the log)", name, reason)
        self._failed_boards[name] = reason
        self._boards.pop(name, None)
        self._live_versions.pop(name, None)
        self._capacity.drop(board_id)

    def _plan(self, batch: LoggedBatch, name: str) -> Growth:
        """What applying ``batch`` will hold (server.capacity), or ResourceExhausted."""
        rounds = self._config_for(name).bootstrap_rounds
        features = len(batch.style_names or ())
        return self._capacity.plan(batch.board_id, name, rounds, batch.model_a, batch.model_b, batch.tags, features)

    def _new_views_from(self, states: dict[str, dict[str, np.ndarray]], threads: int) -> BoardViews:
        views = BoardViews.from_state(states)
        views.threads = threads
        return views

    # ------------------------------------------------------------------ ingest

    def submit(self, batch: VoteBatch) -> Ack:
        """Store a batch durably (all or nothing) and queue it for the engine."""
        validate(batch, self.config.limits)
        batch.stamp(time.time())
        with self._write_lock:
            self._check_open(batch.board)
            if batch.board in self._replays:
                raise Unavailable(
                    f"board {batch.board!r} is being replaced by a replay; retry when it completes "
                    "(your votes would not be in the new version)"
                )
            board_id = self._board_ids.get(batch.board)
            accepted_ids = self._vote_ids.get(board_id, set()) if board_id is not None else set()
            fresh = np.ones(len(batch), dtype=bool)
            seen: set[str] = set()
            for i, vote_id in enumerate(batch.vote_id):
                if vote_id in accepted_ids or vote_id in seen:
                    fresh[i] = False
                seen.add(vote_id)
            duplicate_index = np.flatnonzero(~fresh).tolist()
            if not fresh.any():
                return Ack(0, len(batch), 0, 0, duplicate_index)
            kept = batch if fresh.all() else batch.select(fresh)
            new_board = None
            if board_id is None:
                board_id = self._next_board_id
                new_board = NewBoard(board_id, kept.board, asdict(self._config_for(kept.board)))
            logged = self._append(kept, board_id, new_board)
        return Ack(len(kept), len(batch) - len(kept), logged.first_seq, logged.last_seq, duplicate_index)

    def replay(
        self,
        board: str,
        filters: VoteFilters,
        batches: Iterable[VoteBatch],
        still_wanted: Callable[[], bool] = lambda: True,
    ) -> ReplayResult:
        """Build a new version of ``board`` from ``batches`` and swap it in atomically.

        Until the swap, queries see the old version and live ingest into the
        board is refused (UNAVAILABLE). If anything fails or the caller goes
        away, the new version is discarded and nothing changes.
        ``still_wanted()`` is asked once the batches run out: a cancelled gRPC
        stream can look like one that ended, and must not be committed.
        """
        run = FilterRun(filters)
        with self._write_lock:
            self._check_open(board)
            if board in self._replays:
                raise FailedPrecondition(f"board {board!r} is already being replayed")
            board_id = self._next_board_id
            config = self._config_for(board)
            try:
                self._store.create_pending_board(board_id, board, asdict(config))
            except sqlite3.Error as exc:
                raise Unavailable(f"storage failed: {exc}") from exc
            self._next_board_id += 1
            self._replays[board] = board_id
            self._board_names[board_id] = board
            with self._engine_lock:
                self._pending[board_id] = BoardViews(config, threads=self.config.threads())
        received = first_seq = last_seq = 0
        try:
            for batch in batches:
                if batch.board != board:
                    raise InvalidArgument("board", f"a replay is into one board ({board!r}), got {batch.board!r}")
                validate(batch, self.config.limits)
                batch.stamp(time.time())
                received += len(batch)
                kept = run.apply(batch)
                if len(kept):
                    with self._write_lock:
                        self._check_open()
                        logged = self._append(kept, board_id, None)
                    first_seq = first_seq or logged.first_seq
                    last_seq = logged.last_seq
            if run.kept == 0:
                raise InvalidArgument("votes", "the replay has no votes left after its filters")
            with self._write_lock:
                if not still_wanted():
                    raise Unavailable(f"the replay of {board!r} was cancelled by its caller")
                self._store.activate(board_id)
                old = self._board_ids.get(board)
                self._board_ids[board] = board_id
                self._board_configs[board] = config
                if old is not None:
                    self._vote_ids.pop(old, None)
                    self._capacity.drop(old)
                del self._replays[board]
                self._queue.put(_Swap(board, board_id))
        except BaseException:
            self._abandon_replay(board, board_id)
            raise
        with self._engine_lock:
            self._applied.wait_for(lambda: board_id in self._swaps or self._failure is not None)
            if board_id not in self._swaps:
                raise Unavailable(f"{self._failure} (the replay of {board!r} is logged; a restart applies it)")
            self._swaps.discard(board_id)
            as_of = self._applied_seq
        log.info("replay of %r: %d votes received, %d applied, version %d live", board, received, run.kept, board_id)
        return ReplayResult(board, received, run.kept, run.summary(), first_seq, last_seq, as_of)

    def _abandon_replay(self, board: str, board_id: int) -> None:
        with self._write_lock:
            if self._replays.get(board) != board_id:
                return  # already activated: the swap is queued
            del self._replays[board]
            self._vote_ids.pop(board_id, None)
            self._capacity.drop(board_id)
            try:
                self._store.discard(board_id)
            except sqlite3.Error:  # start-up discards pending versions anyway
                log.exception("discarding replayed version %d of %r failed", board_id, board)
            self._queue.put(_Discard(board, board_id))
        log.warning("replay of %r abandoned; the board is unchanged", board)

    def _check_open(self, board: str | None = None) -> None:
        """Under the writer lock: refuse writes while closing, after an applier failure, or to a failed board."""
        if self._closed:
            raise Unavailable("the service is shutting down; retry against the restarted server")
        if self._failure is not None:
            raise Unavailable(self._failure)
        if board is not None and board in self._failed_boards:
            raise Unavailable(f"board {board!r} could not be rebuilt at start-up: {self._failed_boards[board]}")

    def _append(self, kept: VoteBatch, board_id: int, new_board: NewBoard | None) -> LoggedBatch:
        """Under the writer lock: intern names, assign seqs, commit, then update memory and queue."""
        declared = self._style_names.get(board_id)
        if kept.style_names and declared is not None and kept.style_names != declared:
            raise InvalidArgument(
                "columns.style_features", f"{kept.style_names} differ from board {kept.board!r}'s features {declared}"
            )
        # Name ids are provisional until the commit succeeds.
        name_ids = np.full(len(kept.names), -1, dtype=np.int32)
        new_competitors: list[tuple[int, str]] = []
        pending: dict[str, int] = {}
        # Only names a vote uses: a batch may list others, which validation does not look at.
        for j in np.unique(np.concatenate([kept.model_a, kept.model_b])).tolist():
            name = kept.names[j]
            known = self._interner.id_of(name)
            if known is None:
                known = pending.get(name)
                if known is None:
                    known = pending[name] = len(self._interner) + len(pending)
                    new_competitors.append((known, name))
            name_ids[j] = known
        first_seq = self._last_seq + 1
        logged = LoggedBatch(
            first_seq=first_seq,
            last_seq=first_seq + len(kept) - 1,
            board_id=board_id,
            model_a=name_ids[kept.model_a],
            model_b=name_ids[kept.model_b],
            outcome=kept.outcome.astype(np.int8),
            timestamp=kept.timestamp,
            vote_id=kept.vote_id,
            voter_id=kept.voter_id or None,
            tags=kept.tags_of() if kept.tags else None,
            style_names=kept.style_names or None,
            style=kept.style if kept.style_names else None,
        )
        growth = self._plan(logged, kept.board)  # ResourceExhausted here stores nothing
        try:
            self._store.append(logged, new_board, new_competitors)
        except sqlite3.Error as exc:
            log.error("storing batch %d..%d failed: %s", logged.first_seq, logged.last_seq, exc)
            raise Unavailable(f"storage failed, nothing was stored: {exc}") from exc

        # Committed: now, and only now, the in-memory state follows.
        self._capacity.commit(growth)
        if new_board is not None:
            self._board_ids[kept.board] = board_id
            self._board_names[board_id] = kept.board
            self._board_configs[kept.board] = self._config_for(kept.board)
            self._next_board_id += 1
        for _, name in new_competitors:
            self._interner.intern(name)
        self._vote_ids.setdefault(board_id, set()).update(kept.vote_id)
        if kept.style_names:
            self._style_names.setdefault(board_id, kept.style_names)
        self._last_seq = logged.last_seq
        self._queue.put(logged)  # blocks when the applier is far behind: back-pressure
        return logged

    def _config_for(self, board: str) -> EloConfig:
        known = self._board_configs.get(board)
        if known is not None:
            return known
        overrides = self.config.board_elo or {}
        return overrides.get(board, self.config.default_elo)

    # ------------------------------------------------------------------- apply

    def _apply_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._failure is not None or self._past_close_deadline():
                continue  # committed, so in the log: the next start applies it; keep draining so writers never block
            try:
                with self._engine_lock:
                    if isinstance(item, LoggedBatch):
                        self._apply(item)
                    else:
                        self._finish_replay(item)
                    self._applied.notify_all()
                self._maybe_checkpoint()
            except Exception as exc:  # a bug or memory the budget did not foresee: input was validated
                self._fail(item, exc)

    def _fail(self, item: LoggedBatch | _Swap | _Discard, exc: Exception) -> None:
        """The applier cannot go on: refuse writes from now on, tell the listeners (health), keep serving reads."""
        what = f"seqs {item.first_seq}..{item.last_seq}" if isinstance(item, LoggedBatch) else repr(item)
        log.critical("the applier failed on %s; refusing writes until a restart rebuilds from the log", what,
                     exc_info=exc)  # fmt: skip
        reason = f"the engine failed applying {what} ({type(exc).__name__}: {exc}); writes are refused until a restart"
        with self._engine_lock:
            self._failure = reason
            self._applied.notify_all()
        for listener in self._failure_listeners:
            listener(reason)

    def on_failure(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(reason)`` if the applier fails (at once if it already has)."""
        self._failure_listeners.append(listener)
        if self._failure is not None:
            listener(self._failure)

    def _past_close_deadline(self) -> bool:
        """Closing, and the backlog has had its time: the rest waits in the log for the next start."""
        return self._close_deadline is not None and time.monotonic() > self._close_deadline

    def _apply(self, batch: LoggedBatch, threads: int | None = None) -> None:
        views = self._pending.get(batch.board_id)
        if views is None:
            name = self._board_names[batch.board_id]
            views = self._boards.get(name)
            if views is None:
                config = self._board_configs[name]
                views = self._boards[name] = BoardViews(config, threads=threads or self.config.threads())
                self._live_versions[name] = batch.board_id
        _apply_logged(views, batch)
        self._applied_seq = max(self._applied_seq, batch.last_seq)

    def _finish_replay(self, item: _Swap | _Discard) -> None:
        """Under the engine lock: the new version replaces the live board, or is dropped."""
        views = self._pending.pop(item.board_id)
        if isinstance(item, _Swap):
            self._boards[item.name] = views
            self._live_versions[item.name] = item.board_id
            for key in [key for key in self._bt_theta if key[0] == item.name]:
                del self._bt_theta[key]  # slots differ: no warm start from the old version
        self._swaps.add(item.board_id)

    def _maybe_checkpoint(self) -> None:
        since = max(self._checkpoint_seq, self._checkpoint_attempt_seq)
        due_votes = self._applied_seq - since >= self.config.checkpoint_every_votes
        due_time = time.monotonic() - self._checkpoint_time >= self.config.checkpoint_every_seconds
        if (due_votes or due_time) and self._applied_seq > self._checkpoint_seq:
            self._checkpoint_attempt_seq = self._applied_seq
            try:
                self.checkpoint()
            except OSError as exc:  # disk full, read-only: the log has every vote; try again later
                log.warning("checkpoint failed (%s); the log still holds every vote, retrying later", exc)
                self._checkpoint_time = time.monotonic()

    def checkpoint(self) -> int:
        """Write the engine state as of the applied seq; returns that seq."""
        with self._engine_lock:
            seq = self._applied_seq
            states = checkpoint.flatten_views(
                {name: (self._live_versions[name], views) for name, views in self._boards.items()}
            )
        path = checkpoint.save(self._checkpoint_dir, seq, states)
        self._checkpoint_seq = seq
        self._checkpoint_time = time.monotonic()
        log.info("checkpoint at seq %d: %s", seq, path.name)
        return seq

    # ------------------------------------------------------------------- query

    def wait_applied(self, min_seq: int, timeout: float | None) -> int:
        """Block until the engine covers ``min_seq``; returns the applied seq."""
        last = self._last_seq  # an int read is atomic; taking the writer lock could wait behind back-pressure
        if min_seq > last:
            raise InvalidArgument("min_seq", f"{min_seq} is beyond the last accepted seq {last}")
        if timeout is not None and timeout > _MAX_WAIT_SECONDS:
            timeout = None  # a call without a deadline reports ~forever, past what a condition wait accepts
        with self._engine_lock:
            if not self._applied.wait_for(lambda: self._applied_seq >= min_seq or self._failure, timeout):
                raise DeadlineExceeded(f"seq {min_seq} not applied yet (applied: {self._applied_seq})")
            if self._applied_seq < min_seq:
                raise Unavailable(self._failure or "")
            return self._applied_seq

    def leaderboard(self, query: LeaderboardQuery, min_seq: int = 0, timeout: float | None = None) -> BoardStandings:
        """The view's standings over every competitor, as of (at least) ``min_seq``; computed off the
        ingest path, then cached until the view changes.

        Single flight: a query that finds the same computation running waits for it and takes its
        result if it covers every vote the view had when the query arrived; only then does it start
        another. On a board that changes every millisecond, queries therefore share fits instead of
        queueing one fit each behind the lock.
        """
        self.wait_applied(min_seq, timeout)
        key = (query.board, *query.cache_key())
        with self._engine_lock:
            arrival = self._view(query.board, query.category).last_seq  # NotFound before anything else
            applied = self._applied_seq  # the result covers every vote of the view up to here
        with self._standings.single_flight(key):
            cached = self._standings.get(key)
            if cached is None or cached.stamp < arrival:
                with self._engine_lock:
                    board = self._view(query.board, query.category)
                    stamp = board.last_seq
                    applied = max(applied, self._applied_seq)
                    inputs = copy_inputs(board, query, self._interner)
                cached = self._standings.put(key, stamp, self._compute(query, inputs))
        result = cached.standings
        return replace(result, standings=replace(result.standings, as_of_seq=max(applied, cached.stamp)))

    def _view(self, board: str, category: str) -> Board:
        """Under the engine lock: the live board or category view, or NotFound."""
        views = self._boards.get(board)
        if views is None:
            if board in self._failed_boards:
                raise Unavailable(f"board {board!r} could not be rebuilt at start-up: {self._failed_boards[board]}")
            raise NotFound(f"board {board!r} has no votes")
        view = views.view(category)
        if view is None:
            raise NotFound(f"board {board!r} has no votes tagged {category!r}")
        return view

    def _compute(self, query: LeaderboardQuery, inputs: Inputs) -> BoardStandings:
        warm = (query.board, query.category, query.style_control)
        result, theta = compute_standings(
            query, inputs, self._interner, self.config.bt, self.config.threads(), self._bt_theta.get(warm),
            style_config=self.config.style,
        )  # fmt: skip
        if theta is not None:
            self._bt_theta[warm] = theta
        return result

    def listing(self, request: ListingQuery, min_seq: int = 0, timeout: float | None = None) -> Listing:
        """The leaderboard as published: listed rows ranked among themselves, flags, deltas, summary."""
        query = request.query
        as_of = None
        if request.as_of is not None:
            as_of = self._find_snapshot(query.board, request.as_of)
            result = self._snapshot_standings(as_of, query)
        else:
            result = self.leaderboard(query, min_seq, timeout)
        present = self._presenter(request)
        shown = replace(present(result), as_of=as_of)

        def standings_of(plain: LeaderboardQuery) -> BoardStandings:
            return self._snapshot_standings(as_of, plain) if as_of else self.leaderboard(plain)

        shown = add_style_deltas(shown, query, standings_of)  # each row's rank against its plain BT rank
        if request.compare_to is None:
            return shown
        then = self._find_snapshot(query.board, request.compare_to)
        return listing.compare(shown, present(self._snapshot_standings(then, query)), then)

    def _presenter(self, request: ListingQuery) -> Callable[[BoardStandings], Listing]:
        metadata = self._metadata  # one version for both sides of a comparison
        thresholds = self.config.thresholds(request.query.board)

        def present(result: BoardStandings) -> Listing:
            return listing.present(
                result, metadata, request.filters, thresholds, request.query.category, request.gap_ranks
            )

        return present

    def view_stamp(self, board: str, category: str = "") -> int:
        """The seq of the last vote applied to a view (changes exactly when its standings can)."""
        with self._engine_lock:
            return self._view(board, category).last_seq

    def head_to_head(
        self, board: str, model_a: str, model_b: str, min_seq: int = 0, timeout: float | None = None
    ) -> HeadToHead:
        fitted = self.leaderboard(LeaderboardQuery(board, "bt", "none"), min_seq, timeout)
        rating = dict(zip(fitted.models, fitted.standings.rating.tolist()))
        with self._engine_lock:
            engine_board = self._view(board, "")
            slots = []
            for field, name in (("model_a", model_a), ("model_b", model_b)):
                competitor = self._interner.id_of(name)
                slot = None if competitor is None else engine_board.slot_of(competitor)
                if slot is None or name not in rating:
                    raise NotFound(f"{field}: {name!r} has no votes on board {board!r}")
                slots.append(slot)
            if slots[0] == slots[1]:
                raise InvalidArgument("model_b", "equals model_a")
            counts = engine_board.cells.pair(*slots)
            config = engine_board.config
        predicted = win_probability(rating[model_a], rating[model_b], config)
        return HeadToHead(board, model_a, model_b, tuple(int(c) for c in counts), predicted, fitted.standings.as_of_seq)

    def head_to_head_matrix(
        self, request: ListingQuery, top_k: int, min_seq: int = 0, timeout: float | None = None
    ) -> HeadToHeadMatrix:
        """Battle counts, empirical and predicted win rates among the top ``top_k`` listed models."""
        shown = self.listing(request, min_seq, timeout)
        models = shown.result.models[:top_k]
        rating = shown.result.standings.rating[:top_k]
        query = request.query
        if request.as_of is not None:
            views = self._views_of_snapshot(shown.as_of)
            source = views.view(query.category)
        else:
            source = None
        k = len(models)
        counts = np.zeros((k, k, 4), dtype=np.int64)
        with self._engine_lock:
            board = source if source is not None else self._view(query.board, query.category)
            slots = [board.slot_of(self._interner.id_of(name)) for name in models]
            for i in range(k):
                for j in range(i + 1, k):
                    counts[i, j] = board.cells.pair(slots[i], slots[j])
            config = board.config
        # pair() is from the first slot's side: (wins of i, wins of j, ties, both-bad ties)
        wins = counts[:, :, 0] + counts[:, :, 1].T
        ties = counts[:, :, 2] + counts[:, :, 3]
        ties = ties + ties.T
        battles = wins + wins.T + ties
        with np.errstate(invalid="ignore", divide="ignore"):
            empirical = np.where(battles > 0, (wins + 0.5 * ties) / battles, np.nan)
        predicted = win_probability(rating[:, None], rating[None, :], config)
        np.fill_diagonal(predicted, 0.5)
        return HeadToHeadMatrix(
            query.board, query.category, list(models), battles, empirical, predicted, shown.result.standings.as_of_seq
        )

    def boards(self) -> BoardList:
        """Every live board (and every board that failed to start) with its views, votes and memory."""
        snapshot_counts: dict[str, int] = {}
        for snapshot in self._snapshots:
            snapshot_counts[snapshot.board] = snapshot_counts.get(snapshot.board, 0) + 1
        infos = []
        with self._engine_lock:
            for name, views in self._boards.items():
                overall = views.overall
                infos.append(BoardInfo(
                    name, overall.n_votes, overall.n_competitors, overall.last_seq,
                    [CategoryInfo(tag, b.n_votes, b.n_competitors) for tag, b in sorted(views.categories.items())],
                    snapshot_counts.get(name, 0), self.config.thresholds(name), views.memory(),
                ))  # fmt: skip
        for name, reason in self._failed_boards.items():
            infos.append(BoardInfo(name, 0, 0, 0, [], snapshot_counts.get(name, 0), self.config.thresholds(name),
                                   failure=reason))  # fmt: skip
        with self._write_lock:
            used = self._capacity.used
        return BoardList(sorted(infos, key=lambda info: info.name), self.config.capacity.memory_budget_bytes, used)

    # ------------------------------------------------------ ballots, metadata

    def submit_ranking(self, ballot: RankingBallot) -> Ack:
        """Store a multi-way ranking as its pairwise votes (server.ballots); a retry adds nothing."""
        return self.submit(ballot_votes(ballot, self.config.limits))

    def upsert_competitors(self, updates: list[CompetitorUpdate]) -> tuple[int, int]:
        """Set competitors' metadata durably; returns (created, updated)."""
        validate_updates(updates, self.config.limits)
        with self._write_lock:
            self._check_open()
            current = self._metadata
            changed = {u.name: u.applied_to(current.get(u.name)) for u in updates}
            try:
                self._store.upsert_competitor_metadata({name: info.as_json() for name, info in changed.items()})
            except sqlite3.Error as exc:
                raise Unavailable(f"storage failed, nothing was stored: {exc}") from exc
            self._metadata = {**current, **changed}
        created = sum(1 for name in changed if name not in current)
        return created, len(changed) - created

    def competitors(self) -> dict[str, CompetitorInfo]:
        return self._metadata

    # -------------------------------------------------------------- snapshots

    def create_snapshot(
        self, board: str, name: str, scheduled: bool = False, timeout: float | None = None
    ) -> SnapshotInfo:
        """Freeze ``board`` (every view) as it is once every vote acknowledged so far is applied."""
        snapshots.check_name(name)
        self.wait_applied(self._last_seq, timeout)
        with self._snapshot_lock:
            if any(s.board == board and s.name == name for s in self._snapshots):
                raise AlreadyExists(f"board {board!r} already has a snapshot {name!r}")
            limit = self.config.capacity.max_snapshots_per_board
            if sum(1 for s in self._snapshots if s.board == board) >= limit:
                raise ResourceExhausted(
                    f"board {board!r} has {limit} snapshots, the limit (serve --max-snapshots); nothing was taken"
                )
            with self._engine_lock:
                views = self._boards.get(board)
                if views is None:
                    raise NotFound(f"board {board!r} has no votes")
                states = views.state()
                seq, votes = views.overall.last_seq, views.overall.n_votes
                version = self._live_versions[board]
            snapshot_id = max((s.id for s in self._snapshots), default=0) + 1
            info = SnapshotInfo(snapshot_id, board, name, version, seq, time.time(), votes, scheduled)
            # The file first: a row never points at a missing file, and a crash in
            # between leaves only an orphan file, overwritten by the next snapshot.
            try:
                snapshots.save(self._snapshot_dir, info, states)
            except OSError as exc:  # a full or read-only disk: retry later, as for the store
                raise Unavailable(f"storage failed, the snapshot was not taken: {exc.strerror or exc}") from exc
            with self._write_lock:
                self._check_open()
                try:
                    self._store.add_snapshot(info)
                except sqlite3.Error as exc:
                    raise Unavailable(f"storage failed, the snapshot was not taken: {exc}") from exc
            self._snapshots = [*self._snapshots, info]
        log.info("snapshot %r of %r at seq %d (%d votes)", name, board, seq, votes)
        return info

    def snapshots(self, board: str) -> list[SnapshotInfo]:
        return [s for s in self._snapshots if s.board == board]

    def _find_snapshot(self, board: str, ref: SnapshotRef) -> SnapshotInfo:
        return snapshots.find(self._snapshots, board, ref.name, ref.time)

    def _snapshot_standings(self, snapshot: SnapshotInfo, query: LeaderboardQuery) -> BoardStandings:
        """``query`` computed on the snapshot's frozen views (cached: a snapshot never changes)."""
        key = ("snapshot", snapshot.id, *query.cache_key())
        with self._standings.single_flight(key):
            cached = self._standings.get(key)
            if cached is None:
                board = self._views_of_snapshot(snapshot).view(query.category)
                if board is None:
                    raise NotFound(
                        f"snapshot {snapshot.name!r} of {snapshot.board!r} has no votes tagged {query.category!r}"
                    )
                inputs = copy_inputs(board, query, self._interner)
                result, _ = compute_standings(
                    query, inputs, self._interner, self.config.bt, self.config.threads(), style_config=self.config.style
                )
                cached = self._standings.put(key, snapshot.seq, result)
        result = cached.standings
        return replace(result, standings=replace(result.standings, as_of_seq=snapshot.seq))

    def _views_of_snapshot(self, snapshot: SnapshotInfo) -> BoardViews:
        with self._snapshot_views_lock:
            views = self._snapshot_views.get(snapshot.id)
            if views is None:
                views = snapshots.load(self._snapshot_dir, snapshot) or self._rebuild(snapshot)
                views.threads = self.config.threads()
                if len(self._snapshot_views) >= _SNAPSHOT_CACHE:
                    self._snapshot_views.pop(next(iter(self._snapshot_views)))  # the oldest loaded
                self._snapshot_views[snapshot.id] = views
            return views

    def _rebuild(self, snapshot: SnapshotInfo) -> BoardViews:
        """The snapshot's views from the vote log (its file is missing or damaged)."""
        views = BoardViews(EloConfig(**self._store_config(snapshot.board_id)), threads=self.config.threads())
        for batch in self._store.board_batches(snapshot.board_id, snapshot.seq):
            _apply_logged(views, batch)
        return views

    def _store_config(self, board_id: int) -> dict:
        with self._write_lock:
            return next(version.config for version in self._store.boards() if version.id == board_id)

    def _snapshot_schedule(self) -> None:
        every = self.config.snapshot_every_seconds
        while True:
            due = snapshots.next_due(time.time(), every)
            if self._stopping.wait(max(0.0, due - time.time())):
                return
            for name in self.boards_needing_snapshot():
                try:
                    self.create_snapshot(name, snapshots.scheduled_name(due), scheduled=True)
                except Exception:  # noqa: BLE001 - the schedule goes on; the next run retries
                    log.exception("scheduled snapshot of %r failed", name)

    def boards_needing_snapshot(self) -> list[str]:
        """Boards with votes since their newest snapshot."""
        newest: dict[str, int] = {}
        for s in self._snapshots:
            newest[s.board] = max(newest.get(s.board, 0), s.seq)
        with self._engine_lock:
            return [name for name, views in self._boards.items() if views.overall.last_seq > newest.get(name, 0)]

    @property
    def stopping(self) -> threading.Event:
        """Set when the service begins to close (long-lived streams end)."""
        return self._stopping

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def standings_cache(self) -> StandingsCache:
        return self._standings

    # ---------------------------------------------------------------- shutdown

    def begin_shutdown(self) -> None:
        """End long-lived streams (watches) and the snapshot schedule; writes still work until close()."""
        self._stopping.set()

    def close(self) -> None:
        """Refuse new writes, apply everything committed, checkpoint, close the store."""
        self.begin_shutdown()
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
        if self._scheduler is not None:
            self._scheduler.join()
        # The backlog gets a bounded time; what is left is in the log and the next start applies it.
        self._close_deadline = time.monotonic() + self.config.close_apply_seconds
        self._queue.put(None)
        self._applier.join()
        if self._failure is None and self._applied_seq > self._checkpoint_seq:
            try:
                self.checkpoint()
            except OSError as exc:
                log.warning("final checkpoint failed (%s); the next start replays the log instead", exc)
        self._store.close()
        self._dir_lock.release()  # last: until the store is closed, this service may still write


def _apply_logged(views: BoardViews, batch: LoggedBatch) -> None:
    views.apply(batch.model_a, batch.model_b, batch.outcome, batch.tags, batch.last_seq, batch.style_names, batch.style)
