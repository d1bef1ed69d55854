"""The applier: one thread that runs the engine kernels on committed batches, in seq order.

The writer (server.service.writer) queues each batch once it is committed, and a replay's swap or
discard once it is decided; acks do not wait for the kernels. The applier applies them to the board
versions (server.service.versions) and writes a checkpoint every ``checkpoint_every_votes`` votes or
``checkpoint_every_seconds`` (and at close). If applying fails (a bug, or memory the capacity budget
did not foresee) it stops applying, tells the board versions (writes are refused from then on, reads
go on) and its failure listeners (health goes NOT_SERVING); what it did not apply is in the log and
the next start applies it. At close it gets ``close_apply_seconds`` for the backlog, then stops.

State: the queue (thread-safe by itself; bounded, so ingest waits when the applier is far behind),
the times items were queued (a deque: appended by ``put``, popped by the applier thread; the lag the
metrics report), the failure listeners (added at start-up), the close deadline (set once by close()), and the
checkpoint cadence, guarded by ``_lock``: the seq of the last checkpoint written and of the last
attempt, and when. ``_lock`` also makes checkpoints one at a time (the applier's and ``checkpoint()``
calls from other threads). Lock order: ``_lock``, then the engine lock (to copy the boards' arrays).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine import EloConfig
from server.service.config import ServiceConfig
from server.service.versions import BoardVersions
from server.storage import checkpoint
from server.storage.store import LoggedBatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Committed:
    """Apply ``batch`` (committed) to board ``board``; a board's first batch creates its views with ``config``."""

    batch: LoggedBatch
    board: str
    config: EloConfig


@dataclass(frozen=True)
class Swap:
    """The replayed version ``board_id`` replaces the live ``name``."""

    name: str
    board_id: int


@dataclass(frozen=True)
class Discard:
    """Drop the abandoned version ``board_id`` of ``name``."""

    name: str
    board_id: int


Item = Committed | Swap | Discard


class Applier:
    def __init__(self, versions: BoardVersions, checkpoint_dir: Path, config: ServiceConfig) -> None:
        self._versions = versions
        self._checkpoint_dir = checkpoint_dir
        self._config = config
        self._queue: queue.Queue[Item | None] = queue.Queue(maxsize=config.apply_queue_batches)
        self._thread = threading.Thread(target=self._run, name="applier", daemon=True)
        self._listeners: list[Callable[[str], None]] = []
        self._close_deadline: float | None = None
        self._lock = threading.Lock()
        self.checkpoint_seq = 0  # the newest checkpoint written
        self._attempt_seq = 0  # where the last (maybe failed) attempt was: retries wait their turn
        self._checkpoint_time = time.monotonic()
        self._checkpoint_written: float | None = None  # Unix time of the newest checkpoint (None: none yet)
        # When each queued item was put, oldest first (append under the writer lock, popleft by this thread):
        # the applier's lag in seconds, for the metrics.
        self._queued_at: deque[float] = deque()

    def start(self, checkpoint_seq: int) -> None:
        """Start applying; the newest checkpoint (recovered at start-up) covers ``checkpoint_seq``."""
        self.checkpoint_seq = checkpoint_seq
        if checkpoint_seq:
            self._checkpoint_written = checkpoint.written_at(self._checkpoint_dir, checkpoint_seq)
        self._thread.start()

    def put(self, item: Item) -> None:
        """Queue ``item`` (the writer, under its lock, so in seq order); blocks while the queue is full."""
        self._queued_at.append(time.monotonic())
        self._queue.put(item)

    def queue_depth(self) -> int:
        return self._queue.qsize()

    def lag_seconds(self) -> float:
        """How long the oldest item not yet applied has waited since it was queued (0: nothing waits)."""
        try:
            return max(0.0, time.monotonic() - self._queued_at[0])
        except IndexError:  # empty, or emptied by the applier since we looked
            return 0.0

    def checkpoint_age(self) -> float | None:
        """Seconds since the newest checkpoint was written; None when there is none."""
        written = self._checkpoint_written
        return None if written is None else max(0.0, time.time() - written)

    def on_failure(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(reason)`` if the applier fails (at once if it already has)."""
        self._listeners.append(listener)
        if self._versions.failure is not None:
            listener(self._versions.failure)

    def close(self, apply_seconds: float) -> None:
        """Apply the backlog for at most ``apply_seconds``, stop, and checkpoint what was applied."""
        self._close_deadline = time.monotonic() + apply_seconds
        self._queue.put(None)
        self._thread.join()
        if self._versions.failure is None and self._versions.applied_seq > self.checkpoint_seq:
            try:
                self.checkpoint()
            except OSError as exc:
                log.warning("final checkpoint failed (%s); the next start replays the log instead", exc)

    def checkpoint(self) -> int:
        """Write the engine state as of the applied seq; returns that seq."""
        with self._lock:
            return self._write_checkpoint()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._handle(item)
            finally:
                self._queued_at.popleft()  # put() appended before it queued the item: never empty here

    def _handle(self, item: Item) -> None:
        versions = self._versions
        if versions.failure is not None or self._past_close_deadline():
            return  # committed, so in the log: the next start applies it; keep draining so writers never block
        try:
            if isinstance(item, Committed):
                versions.apply(item.batch, item.board, item.config)
            else:
                versions.finish_replay(item.name, item.board_id, swap=isinstance(item, Swap))
            self._maybe_checkpoint()
        except Exception as exc:  # a bug or memory the budget did not foresee: input was validated
            self._fail(item, exc)

    def _fail(self, item: Item, exc: Exception) -> None:
        """The applier cannot go on: refuse writes from now on, tell the listeners (health), keep serving reads."""
        if isinstance(item, Committed):
            what = f"seqs {item.batch.first_seq}..{item.batch.last_seq}"
        else:
            what = repr(item)
        log.critical("the applier failed on %s; refusing writes until a restart rebuilds from the log", what,
                     exc_info=exc)  # fmt: skip
        reason = f"the engine failed applying {what} ({type(exc).__name__}: {exc}); writes are refused until a restart"
        self._versions.fail(reason)
        for listener in self._listeners:
            listener(reason)

    def _past_close_deadline(self) -> bool:
        """Closing, and the backlog has had its time: the rest waits in the log for the next start."""
        return self._close_deadline is not None and time.monotonic() > self._close_deadline

    def _maybe_checkpoint(self) -> None:
        applied = self._versions.applied_seq
        with self._lock:
            since = max(self.checkpoint_seq, self._attempt_seq)
            due_votes = applied - since >= self._config.checkpoint_every_votes
            due_time = time.monotonic() - self._checkpoint_time >= self._config.checkpoint_every_seconds
            if (due_votes or due_time) and applied > self.checkpoint_seq:
                self._attempt_seq = applied
                try:
                    self._write_checkpoint()
                except OSError as exc:  # disk full, read-only: the log has every vote; try again later
                    log.warning("checkpoint failed (%s); the log still holds every vote, retrying later", exc)
                    self._checkpoint_time = time.monotonic()

    def _write_checkpoint(self) -> int:
        """Under ``_lock``."""
        state = self._versions.state()
        path = checkpoint.save(self._checkpoint_dir, state.seq, state.boards)
        self.checkpoint_seq = state.seq
        self._checkpoint_time = time.monotonic()
        self._checkpoint_written = time.time()
        log.info("checkpoint at seq %d: %s", state.seq, path.name)
        return state.seq
