"""The writer: every durable change, one at a time, under the writer lock.

Ingest: validate -> drop duplicate vote_ids -> intern new names -> assign seqs -> check capacity
(server.service.capacity) -> one SQLite transaction -> update memory -> queue for the applier -> ack.
Memory changes only after the commit, so a failed commit changes nothing. A replay's votes take the
same path into a pending board version, which the writer registers, activates (one transaction) or
abandons; a deleted board's version is retired the same way (one transaction, then memory).
Competitors' metadata and snapshot rows are written here too.

State, all guarded by ``lock`` (the writer lock): the store's one connection (every call on it is
made under the lock, except at start-up, before any thread runs, and ``Store.board_batches``, which
opens a connection of its own); the board versions' ids, names and Elo settings; the accepted vote
ids and style features per version; the replays in progress; the capacity book; the last seq; the
closed flag. Read without the lock: ``last_seq`` (an int) and ``metadata`` (replaced whole, never
mutated); ``interner`` only grows, under the lock, after a commit, so any thread may look names up.

Lock order: the writer lock may be held while taking the engine lock (a replay registers its pending
views, a deletion drops the live ones) and while waiting for room in the applier's queue
(back-pressure); never the reverse. The snapshot book holds its own lock while it takes this one.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np

from engine import EloConfig, Interner
from server.domain.competitors import CompetitorInfo, CompetitorUpdate, validate_updates
from server.domain.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from server.domain.filters import FilterRun, VoteFilters
from server.domain.results import Ack, Upserted
from server.domain.snapshot_info import SnapshotInfo
from server.domain.votes import VoteBatch, validate
from server.service.applier import Applier, Committed, Discard, Swap
from server.service.capacity import CapacityBook, Growth
from server.service.config import ServiceConfig
from server.service.versions import BoardVersions
from server.storage.store import LoggedBatch, NewBoard, NewCompetitor, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayLogged:
    """A replay's votes, committed, and its version activated; the applier swaps it in next."""

    board_id: int
    received: int
    applied: int
    removed: dict[str, int]  # by filter
    first_seq: int
    last_seq: int


class Writer:
    def __init__(self, store: Store, config: ServiceConfig, versions: BoardVersions, applier: Applier) -> None:
        self.lock = threading.Lock()
        self._store = store
        self._config = config
        self._versions = versions
        self._applier = applier
        self._closed = False
        self.interner = Interner(store.competitor_names())
        # A board name has one active version; a replay builds a pending one
        # that replaces it. Versions left pending by a crash are discarded.
        self._board_ids: dict[str, int] = {}  # name -> active version id
        self._board_names: dict[int, str] = {}  # version id -> name (active and pending)
        self._board_configs: dict[str, EloConfig] = {}
        for version in store.boards():
            if version.state == "pending":
                log.warning("discarding board %r version %d: its replay did not complete", version.name, version.id)
                store.discard(version.id)
            elif version.state == "active":
                self._board_ids[version.name] = version.id
                self._board_names[version.id] = version.name
                self._board_configs[version.name] = EloConfig(**version.config)
        self._next_board_id = store.max_board_id() + 1
        self._capacity = CapacityBook(config.capacity)  # what the engine will hold, checked before commits
        self._vote_ids: dict[int, set[str]] = {}  # version id -> accepted vote ids (idempotency is per board)
        self._style_names: dict[int, list[str]] = {}  # version id -> its style features (fixed by the first)
        self._replays: dict[str, int] = {}  # board name -> pending version id being replayed
        self.last_seq = store.last_seq()
        self.metadata: dict[str, CompetitorInfo] = {
            name: CompetitorInfo.from_json(name, meta) for name, meta in store.competitor_metadata().items()
        }

    # ---------------------------------------------------------------------- ingest

    def submit(self, batch: VoteBatch) -> Ack:
        """Store a batch durably (all or nothing) and queue it for the engine."""
        validate(batch, self._config.limits)
        batch.stamp(time.time())
        with self.lock:
            self._check_open(batch.board)
            if batch.board in self._replays:
                raise Unavailable(
                    f"board {batch.board!r} is being replaced by a replay; retry when it completes "
                    "(your votes would not be in the new version)"
                )
            board_id = self._board_ids.get(batch.board)
            if board_id is None:
                self._check_creatable(batch.board)
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
                new_board = NewBoard(board_id, kept.board, asdict(self.config_for(kept.board)))
            logged = self._append(kept, board_id, new_board)
        return Ack(
            len(kept), len(batch) - len(kept), logged.first_seq, logged.last_seq, duplicate_index, new_board is not None
        )

    # --------------------------------------------------------------------- replays

    def replay(
        self, board: str, filters: VoteFilters, batches: Iterable[VoteBatch], still_wanted: Callable[[], bool]
    ) -> ReplayLogged:
        """Log ``batches`` (through ``filters``) as a new version of ``board`` and activate it.

        Live ingest into the board is refused meanwhile. If anything fails or the caller goes away,
        the new version is discarded and nothing changes. ``still_wanted()`` is asked once the
        batches run out: a cancelled gRPC stream can look like one that ended.
        """
        run = FilterRun(filters)
        with self.lock:
            self._check_open(board)
            if board in self._replays:
                raise FailedPrecondition(f"board {board!r} is already being replayed")
            if board not in self._board_ids:
                self._check_creatable(board)
            board_id = self._next_board_id
            config = self.config_for(board)
            try:
                self._store.create_pending_board(board_id, board, asdict(config))
            except sqlite3.Error as exc:
                raise Unavailable(f"storage failed: {exc}") from exc
            self._next_board_id += 1
            self._replays[board] = board_id
            self._board_names[board_id] = board
            self._versions.add_pending(board_id, config)
        received = first_seq = last_seq = 0
        try:
            for batch in batches:
                if batch.board != board:
                    raise InvalidArgument("board", f"a replay is into one board ({board!r}), got {batch.board!r}")
                validate(batch, self._config.limits)
                batch.stamp(time.time())
                received += len(batch)
                kept = run.apply(batch)
                if len(kept):
                    with self.lock:
                        self._check_open()
                        logged = self._append(kept, board_id, None)
                    first_seq = first_seq or logged.first_seq
                    last_seq = logged.last_seq
            if run.kept == 0:
                raise InvalidArgument("votes", "the replay has no votes left after its filters")
            with self.lock:
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
                self._applier.put(Swap(board, board_id))
        except BaseException:
            self._abandon_replay(board, board_id)
            raise
        return ReplayLogged(board_id, received, run.kept, run.summary(), first_seq, last_seq)

    def _abandon_replay(self, board: str, board_id: int) -> None:
        with self.lock:
            if self._replays.get(board) != board_id:
                return  # already activated: the swap is queued
            del self._replays[board]
            self._vote_ids.pop(board_id, None)
            self._capacity.drop(board_id)
            try:
                self._store.discard(board_id)
            except sqlite3.Error:  # start-up discards pending versions anyway
                log.exception("discarding replayed version %d of %r failed", board_id, board)
            self._applier.put(Discard(board, board_id))
        log.warning("replay of %r abandoned; the board is unchanged", board)

    # -------------------------------------------------------------------- deletion

    def delete_board(self, board: str) -> int:
        """Retire ``board``'s active version durably (DeleteBoard); returns the votes it held.

        Its votes stay in the log, skipped from now on, as a replaced version's are; its name, its vote ids
        and what it held in the engine are free at once, so the same votes can build a new board of that name.
        """
        with self.lock:
            self._check_open()
            if board in self._replays:
                raise FailedPrecondition(f"board {board!r} is being replayed; delete it once the replay has ended")
            board_id = self._board_ids.get(board)
            if board_id is None:
                raise NotFound(f"board {board!r} does not exist")
            votes = self._capacity.votes(board_id)
            try:
                self._store.retire(board_id)
            except sqlite3.Error as exc:
                raise Unavailable(f"storage failed, the board was not deleted: {exc}") from exc
            del self._board_ids[board], self._board_names[board_id]
            self._board_configs.pop(board, None)  # a new board of this name takes the settings of its day
            self._vote_ids.pop(board_id, None)
            self._style_names.pop(board_id, None)
            self._capacity.drop(board_id)
            self._versions.retire(board, board_id)
        return votes

    # ------------------------------------------------------------ metadata, snapshots

    def upsert_competitors(self, updates: list[CompetitorUpdate]) -> Upserted:
        """Set competitors' metadata durably."""
        validate_updates(updates, self._config.limits)
        with self.lock:
            self._check_open()
            current = self.metadata
            changed = {u.name: u.applied_to(current.get(u.name)) for u in updates}
            try:
                self._store.upsert_competitor_metadata({name: info.as_json() for name, info in changed.items()})
            except sqlite3.Error as exc:
                raise Unavailable(f"storage failed, nothing was stored: {exc}") from exc
            self.metadata = {**current, **changed}
        created = sum(1 for name in changed if name not in current)
        return Upserted(created, len(changed) - created)

    def competitor_list(self) -> list[CompetitorInfo]:
        """Every competitor known (named in a vote, or given metadata), by name, with its metadata."""
        metadata = self.metadata  # replaced whole on every change: no lock needed to read it
        known = set(self.interner.names) | set(metadata)
        return [metadata.get(name) or CompetitorInfo(name) for name in sorted(known)]

    def add_snapshot(self, info: SnapshotInfo) -> None:
        """Store a snapshot's row (its file is written already)."""
        with self.lock:
            self._check_open()
            try:
                self._store.add_snapshot(info)
            except sqlite3.Error as exc:
                raise Unavailable(f"storage failed, the snapshot was not taken: {exc}") from exc

    def stored_config(self, board_id: int) -> EloConfig:
        """The Elo settings a board version was stored with."""
        with self.lock:
            return EloConfig(**next(version.config for version in self._store.boards() if version.id == board_id))

    def memory_used(self) -> int:
        with self.lock:
            return self._capacity.used

    def close(self) -> bool:
        """Refuse writes from now on; False if that was done already."""
        with self.lock:
            if self._closed:
                return False
            self._closed = True
            return True

    # -------------------------------------------------------- start-up (no thread yet)

    def board_of(self, board_id: int) -> str | None:
        """The name of an active or pending version (None: retired)."""
        return self._board_names.get(board_id)

    def active_version(self, board: str) -> int | None:
        return self._board_ids.get(board)

    def restore(self, batch: LoggedBatch, board: str) -> None:
        """A logged batch, read at start-up: its vote ids, style features and what it holds (or ResourceExhausted)."""
        self._vote_ids.setdefault(batch.board_id, set()).update(batch.vote_id)
        if batch.style_names:
            self._style_names.setdefault(batch.board_id, batch.style_names)
        self._capacity.commit(self._plan(batch, board))

    def forget(self, board_id: int) -> None:
        """A board left out at start-up holds nothing."""
        self._capacity.drop(board_id)

    # ------------------------------------------------------------------- internals

    def config_for(self, board: str) -> EloConfig:
        known = self._board_configs.get(board)
        return known if known is not None else self._config.elo_for(board)

    def _check_creatable(self, board: str) -> None:
        """Under the lock: a write would create ``board``; NotFound unless serve --create-boards allows it."""
        if not self._config.may_create(board):
            raise NotFound(
                f"board {board!r} does not exist, and this server creates only the boards of its --board-config "
                "(serve --create-boards configured)"
            )

    def _check_open(self, board: str | None = None) -> None:
        """Under the lock: refuse writes while closing, after an applier failure, or to a failed board."""
        if self._closed:
            raise Unavailable("the service is shutting down; retry against the restarted server")
        if self._versions.failure is not None:
            raise Unavailable(self._versions.failure)
        failed = self._versions.failed
        if board is not None and board in failed:
            raise Unavailable(f"board {board!r} could not be rebuilt at start-up: {failed[board]}")

    def _plan(self, batch: LoggedBatch, board: str) -> Growth:
        """What applying ``batch`` will hold (server.service.capacity), or ResourceExhausted."""
        rounds = self.config_for(board).bootstrap_rounds
        features = len(batch.style_names or ())
        ids_of = (batch.voter_id, batch.prompt_id)
        has_id = tuple(None if ids is None else np.array([bool(i) for i in ids]) for ids in ids_of)
        return self._capacity.plan(
            batch.board_id, board, rounds, batch.model_a, batch.model_b, batch.tags, features, has_id
        )

    def _append(self, kept: VoteBatch, board_id: int, new_board: NewBoard | None) -> LoggedBatch:
        """Under the lock: intern names, assign seqs, commit, then update memory and queue."""
        declared = self._style_names.get(board_id)
        if kept.style_names and declared is not None and kept.style_names != declared:
            raise InvalidArgument(
                "columns.style_features", f"{kept.style_names} differ from board {kept.board!r}'s features {declared}"
            )
        # Name ids are provisional until the commit succeeds.
        name_ids = np.full(len(kept.names), -1, dtype=np.int32)
        new_competitors: list[NewCompetitor] = []
        pending: dict[str, int] = {}
        # Only names a vote uses: a batch may list others, which validation does not look at.
        for j in np.unique(np.concatenate([kept.model_a, kept.model_b])).tolist():
            name = kept.names[j]
            known = self.interner.id_of(name)
            if known is None:
                known = pending.get(name)
                if known is None:
                    known = pending[name] = len(self.interner) + len(pending)
                    new_competitors.append(NewCompetitor(known, name))
            name_ids[j] = known
        first_seq = self.last_seq + 1
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
            # All weights 1 is stored as none: the same votes, and the unweighted engine path.
            weight=None if kept.weight is None or (kept.weight == 1.0).all() else kept.weight,
            prompt_id=kept.prompt_id or None,
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
            self._board_configs[kept.board] = self.config_for(kept.board)
            self._next_board_id += 1
        for competitor in new_competitors:
            self.interner.intern(competitor.name)
        self._vote_ids.setdefault(board_id, set()).update(kept.vote_id)
        if kept.style_names:
            self._style_names.setdefault(board_id, kept.style_names)
        self.last_seq = logged.last_seq
        # Blocks when the applier is far behind: back-pressure.
        self._applier.put(Committed(logged, kept.board, self.config_for(kept.board)))
        return logged
