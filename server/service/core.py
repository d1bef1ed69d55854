"""The rating service: a facade that wires together parts with one job each.

  writer          server.service.writer         validation, dedupe, interning, seqs, commit, ack;
                                                replays' pending versions; metadata and snapshot rows
  applier         server.service.applier        the thread applying committed batches in seq order;
                                                swaps; failure; checkpoint cadence; the close deadline
  board versions  server.service.versions       live and pending views, the engine lock, the applied seq
  listings        server.service.listings       a published leaderboard: standings listed and compared
  standings       server.service.standings      live and snapshot standings through the standings cache
                  (+ standings_cache)           (bounded, single flight, warm starts)
  snapshot book   server.service.snapshot_book  the registry, taking snapshots (and on schedule), their views
  suggestions     server.service.suggest        SuggestPairs: a view's point fit and covariance, kept per view
  start-up        server.service.recovery       the newest checkpoint, then the log
  metrics         server.metrics                ``service.metrics``: counters and histograms every transport
                                                records into; gauges read from these parts at scrape time

Each part owns its state and its lock, documented at the top of its module. Lock order: a lock may
be held while taking one to its right, never the reverse:
  snapshot book -> writer -> engine;  applier's checkpoint lock -> engine;
  a key's single flight -> loaded snapshots -> writer;  a key's single flight -> engine.
The standings cache's own lock is a leaf.

A request goes one way: this facade -> the parts -> domain and engine. Ingest: ``submit`` -> writer
(commit, queue, ack); the applier applies it later. A leaderboard: ``listing`` -> standings (the
inputs copied under the engine lock, computed outside it, cached until the view changes) -> the
domain's listing (rows, ranks among the listed rows, flags, deltas), in O(models) per query.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from engine._jit import when_compiling
from server.domain.audit import Audit, AuditOptions, audit
from server.domain.ballots import RankingBallot, ballot_votes
from server.domain.competitors import CompetitorInfo, CompetitorUpdate
from server.domain.errors import InvalidArgument, ResourceExhausted
from server.domain.filters import VoteFilters
from server.domain.listing import Listing
from server.domain.queries import LeaderboardQuery, ListingQuery
from server.domain.results import (
    Ack,
    BoardList,
    BoardStandings,
    DeletedBoard,
    HeadToHead,
    HeadToHeadMatrix,
    ReplayResult,
    Upserted,
)
from server.domain.snapshot_info import SnapshotInfo
from server.domain.suggestions import PairSuggestions, SuggestQuery
from server.domain.votes import VoteBatch
from server.metrics import ServiceMetrics
from server.metrics.collector import BoardGauges, ServiceGauges
from server.service.applier import Applier
from server.service.audit_votes import view_votes
from server.service.config import CHECKPOINT_DIR, DATABASE_NAME, SNAPSHOT_DIR, ServiceConfig
from server.service.head_to_head import pair_matrix, pair_record
from server.service.listings import publish
from server.service.recovery import recover
from server.service.snapshot_book import LoadedSnapshots, SnapshotBook
from server.service.standings import Standings
from server.service.standings_cache import StandingsCache
from server.service.suggest import Suggester
from server.service.versions import BoardVersions
from server.service.warmup import WarmUp, warm_up
from server.service.writer import Writer
from server.storage import datadir_lock
from server.storage.store import Store

log = logging.getLogger(__name__)

__all__ = ["RatingsService", "ServiceConfig"]

COMPILING = "compiling kernels, first start only"


@dataclass(frozen=True, eq=False)
class ListingStamp:
    view_seq: int  # the view's last applied vote
    metadata: object  # the competitors' metadata and ...
    snapshots: object  # ... the snapshot registry, each replaced whole when it changes

    def same_as(self, other: ListingStamp) -> bool:
        return self.view_seq == other.view_seq and self.metadata is other.metadata and self.snapshots is other.snapshots


class RatingsService:
    def __init__(self, data_dir: Path, config: ServiceConfig | None = None) -> None:
        self.config = config or ServiceConfig()
        self.data_dir = Path(data_dir)
        # One per service, shared by its transports (server.metrics); its gauges read this service at each scrape.
        self.metrics = ServiceMetrics()
        # Before anything reads or writes the directory: a second service on it refuses to start.
        self._dir_lock = datadir_lock.acquire(self.data_dir)
        try:
            self._open()
        except BaseException:
            self._dir_lock.release()
            raise

    def _open(self) -> None:
        """Open the store, build the parts, recover the engine state, start the applier (and the schedule)."""
        config = self.config
        # With numba's cache cold, recovery or the warm-up compiles the kernels for seconds (a minute on a
        # small machine): the log says so once, as it starts (engine._jit).
        when_compiling(lambda: log.info(COMPILING))
        checkpoints, snapshots = self.data_dir / CHECKPOINT_DIR, self.data_dir / SNAPSHOT_DIR
        self._store = Store(self.data_dir / DATABASE_NAME)
        self._stopping = threading.Event()  # set by begin_shutdown(): watches and the snapshot schedule end
        self._versions = BoardVersions(config.threads())
        self._applier = Applier(self._versions, checkpoints, config)
        self._writer = Writer(self._store, config, self._versions, self._applier)
        # Nothing else runs yet: the replica ranges are split over every core.
        recovered = recover(self._store, checkpoints, self._writer, self._versions, os.cpu_count() or 1)
        self._book = SnapshotBook(
            snapshots, self._store.snapshots(), self._writer, self._versions, config, self._stopping
        )
        self._loaded = LoadedSnapshots(snapshots, self._store.board_batches, self._writer, config.threads())
        self._standings = Standings(self._versions, self._loaded, self._writer.interner, config, self.metrics)
        interner, metadata = self._writer.interner, lambda: self._writer.metadata
        self._suggester = Suggester(
            self._versions, self._standings, interner, config.bt,
            known=lambda name: interner.id_of(name) is not None or name in metadata(),
        )  # fmt: skip
        self._auditing = threading.Lock()  # held by the one audit running (audit())
        self._applier.start(recovered.checkpoint_seq)
        self._book.start_schedule()
        self.metrics.read_state_from(self._gauges)

    # ---------------------------------------------------------------------- writes

    def submit(self, batch: VoteBatch) -> Ack:
        """Store a batch durably (all or nothing) and queue it for the engine."""
        ack = self._writer.submit(batch)
        self.metrics.observe_ack(batch.board, ack)  # here, so a batch counts once whatever the transport
        return ack

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
        logged = self._writer.replay(board, filters, batches, still_wanted)
        as_of = self._versions.wait_swapped(board, logged.board_id)
        log.info("replay of %r: %d votes received, %d applied, version %d live", board, logged.received,
                 logged.applied, logged.board_id)  # fmt: skip
        return ReplayResult(
            board, logged.received, logged.applied, logged.removed, logged.first_seq, logged.last_seq, as_of
        )

    def submit_ranking(self, ballot: RankingBallot) -> Ack:
        """Store a multi-way ranking as its pairwise votes (server.domain.ballots); a retry adds nothing."""
        return self.submit(ballot_votes(ballot, self.config.limits))

    def upsert_competitors(self, updates: list[CompetitorUpdate]) -> Upserted:
        """Set competitors' metadata durably; returns how many were created and updated."""
        return self._writer.upsert_competitors(updates)

    def competitors(self) -> dict[str, CompetitorInfo]:
        return self._writer.metadata

    def competitor_list(self) -> list[CompetitorInfo]:
        """Every competitor the server knows (named in a vote, or given metadata), by name, with its metadata."""
        return self._writer.competitor_list()

    # ----------------------------------------------------------------------- reads

    def wait_applied(self, min_seq: int, timeout: float | None) -> int:
        """Block until the engine covers ``min_seq``; returns the applied seq."""
        last = self._writer.last_seq  # an int read is atomic; the writer lock could wait behind back-pressure
        if min_seq > last:
            raise InvalidArgument("min_seq", f"{min_seq} is beyond the last accepted seq {last}")
        return self._versions.wait_applied(min_seq, timeout)

    def leaderboard(self, query: LeaderboardQuery, min_seq: int = 0, timeout: float | None = None) -> BoardStandings:
        """The view's standings over every competitor, as of (at least) ``min_seq``; computed off the
        ingest path, then cached until the view changes (server.service.standings)."""
        self.wait_applied(min_seq, timeout)
        return self._standings.live(query)

    def listing(self, request: ListingQuery, min_seq: int = 0, timeout: float | None = None) -> Listing:
        """The leaderboard as published: listed rows ranked among themselves, flags, deltas, summary."""
        board = request.query.board
        as_of = None if request.as_of is None else self._book.find(board, request.as_of)
        if as_of is None:
            self.wait_applied(min_seq, timeout)
        compared_to = None if request.compare_to is None else self._book.find(board, request.compare_to)
        thresholds = self.config.thresholds(board)
        return publish(request, self._standings, as_of, compared_to, self._writer.metadata, thresholds)

    def listing_stamp(self, board: str, category: str = "") -> ListingStamp:
        """What a listing of the view depends on besides its request: while the stamp stays the same, the same
        request gets the same listing (a cache of encoded responses keys on it; NotFound for an unknown view)."""
        return ListingStamp(self._versions.view_seq(board, category), self._writer.metadata, self._book.registry)

    def view_stamp(self, board: str, category: str = "") -> int:
        """The seq of the last vote applied to a view (changes exactly when its standings can)."""
        return self._versions.stamp(board, category).seq

    def head_to_head(
        self, board: str, model_a: str, model_b: str, min_seq: int = 0, timeout: float | None = None
    ) -> HeadToHead:
        fitted = self.leaderboard(LeaderboardQuery(board, "bt", "none"), min_seq, timeout)
        return pair_record(self._versions, self._writer.interner, fitted, model_a, model_b)

    def head_to_head_matrix(
        self, request: ListingQuery, top_k: int, min_seq: int = 0, timeout: float | None = None
    ) -> HeadToHeadMatrix:
        """Battle counts, empirical and predicted win rates among the top ``top_k`` listed models."""
        shown = self.listing(request, min_seq, timeout)
        frozen = None if shown.as_of is None else self._loaded.views(shown.as_of)
        return pair_matrix(self._versions, self._writer.interner, shown, request.query, top_k, frozen)

    def audit(
        self,
        board: str,
        category: str = "",
        options: AuditOptions | None = None,
        min_seq: int = 0,
        timeout: float | None = None,
    ) -> Audit:
        """The audits of a live view (server.domain.audit) on its votes read back from the log: O(votes of the
        board) to read, one BT fit; no lock is held while they run. ``as_of_seq`` is the board's seq read up to."""
        (options or AuditOptions()).check()  # before the log is read
        self.wait_applied(min_seq, timeout)
        # One audit at a time: each reads the board's whole log back (O(votes) of time and memory), and a
        # reader may ask again and again; a second is refused with a retry hint rather than queued.
        if not self._auditing.acquire(blocking=False):
            raise ResourceExhausted("an audit is running; audits run one at a time: retry after it", retry_after=1.0)
        try:
            version, seq = self._versions.live_version(board, category)
            votes = view_votes(self._store.board_batches(version, seq), self._writer.interner, category)
            return audit(votes, board, category, seq, options)
        finally:
            self._auditing.release()

    def suggest_pairs(self, query: SuggestQuery) -> PairSuggestions:
        """The pairs to show next on a view, with sampling weights (server.service.suggest, engine.suggest)."""
        return self._suggester.suggest(query)

    def boards(self) -> BoardList:
        """Every live board (and every board that failed to start) with its views, votes and memory."""
        infos = self._versions.board_infos(self.config.thresholds, self._book.counts(), self.config.board_titles or {})
        budget = self.config.capacity.memory_budget_bytes
        return BoardList(sorted(infos, key=lambda info: info.name), budget, self._writer.memory_used())

    def delete_board(self, board: str) -> DeletedBoard:
        """Retire ``board`` durably: its votes stay in the log unseen, its vote ids are free, its snapshots are kept
        (readable by name). FailedPrecondition while it is being replayed."""
        votes = self._writer.delete_board(board)
        self._suggester.forget(board)
        self._standings.cache.forget(board)  # not served anyway (a new board's views have later seqs): memory
        kept = len(self._book.of_board(board))
        log.info("board %r deleted: %d votes retired (still in the log), %d snapshots kept", board, votes, kept)
        return DeletedBoard(board, votes, kept)

    # ------------------------------------------------------------------- snapshots

    def create_snapshot(
        self, board: str, name: str, scheduled: bool = False, timeout: float | None = None
    ) -> SnapshotInfo:
        """Freeze ``board`` (every view) as it is once every vote acknowledged so far is applied."""
        return self._book.create(board, name, scheduled, timeout)

    def snapshots(self, board: str) -> list[SnapshotInfo]:
        return self._book.of_board(board)

    def boards_needing_snapshot(self) -> list[str]:
        """Boards with votes since their newest snapshot."""
        return self._book.boards_needing_snapshot()

    # ----------------------------------------------------------- engine, lifecycle

    def warm_up(self) -> WarmUp:
        """Compile (or load from numba's cache) every kernel the applier and the queries call, with the types they
        call them with, on a tiny board of its own (server.service.warmup); ``serve`` runs it before SERVING."""
        warmed = warm_up(self.config)
        if warmed.compiled:
            log.info("kernels compiled in %.1f s; later starts load them from numba's cache", warmed.seconds)
        else:
            log.info("kernels loaded from numba's cache in %.2f s", warmed.seconds)
        return warmed

    def checkpoint(self) -> int:
        """Write the engine state as of the applied seq; returns that seq."""
        return self._applier.checkpoint()

    def on_failure(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(reason)`` if the applier fails (at once if it already has)."""
        self._applier.on_failure(listener)

    @property
    def stopping(self) -> threading.Event:
        """Set when the service begins to close (long-lived streams end)."""
        return self._stopping

    @property
    def last_seq(self) -> int:
        return self._writer.last_seq

    @property
    def standings_cache(self) -> StandingsCache:
        return self._standings.cache

    def _gauges(self) -> ServiceGauges:
        """What the metrics read at scrape time (server.metrics.collector)."""
        applied = self._versions.applied_seq
        infos = self._versions.board_infos(self.config.thresholds, {}, {})
        return ServiceGauges(
            applied_lag_seqs=max(0, self._writer.last_seq - applied),
            applied_lag_seconds=self._applier.lag_seconds(),
            queue_depth=self._applier.queue_depth(),
            checkpoint_age_seconds=self._applier.checkpoint_age(),
            boards=[BoardGauges(info.name, info.votes, info.memory) for info in infos if not info.failure],
        )

    def begin_shutdown(self) -> None:
        """End long-lived streams (watches) and the snapshot schedule; writes still work until close()."""
        self._stopping.set()

    def close(self) -> None:
        """Refuse new writes, apply the backlog for a bounded time, checkpoint, close the store."""
        self.begin_shutdown()
        if not self._writer.close():
            return
        self._book.join()
        # The backlog gets a bounded time; what is left is in the log and the next start applies it.
        self._applier.close(self.config.close_apply_seconds)
        self._store.close()
        self._dir_lock.release()  # last: until the store is closed, this service may still write
