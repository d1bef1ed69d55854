"""Start-up: the engine state from the newest checkpoint, then the log after it, on every core.

Runs before any thread of the service starts, so it takes no lock of its own. It feeds the writer
(accepted vote ids, style features, capacity) and the board versions (the live views) from the log. A board that
cannot be rebuilt within the limits (server.service.capacity) or the memory there is, is left out
and reported failed; the others start.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from engine.views import BoardViews
from server.domain.errors import ResourceExhausted
from server.service.versions import BoardVersions
from server.service.writer import Writer
from server.storage import checkpoint
from server.storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovered:
    checkpoint_seq: int  # the checkpoint loaded (0: none)
    last_seq: int  # the log's last seq, now applied
    replayed: int  # votes applied from the log


def recover(store: Store, checkpoint_dir: Path, writer: Writer, versions: BoardVersions, cores: int) -> Recovered:
    """Load the newest checkpoint, then replay the log after it with ``cores`` bootstrap threads."""
    started = time.perf_counter()
    store_last = store.last_seq()
    restored = checkpoint.load_latest(checkpoint_dir)
    if restored is not None and restored.seq > store_last:
        log.warning("checkpoint at seq %d is ahead of the log (seq %d); ignoring it", restored.seq, store_last)
        restored = None

    def fail(board: str, version: int, reason: str) -> None:
        log.error("board %r cannot be served: %s; the other boards start (its votes stay in the log)", board, reason)
        versions.fail_board(board, reason)
        writer.forget(version)

    checkpoint_seq = 0
    from_checkpoint: set[str] = set()
    if restored is not None:
        for name, saved in checkpoint.unflatten_views(restored.boards).items():
            # A board replaced by a replay after this checkpoint is rebuilt from the log.
            if saved.version == writer.active_version(name):
                try:
                    views = BoardViews.from_state(saved.states)
                    views.threads = cores
                except MemoryError:
                    fail(name, saved.version, "out of memory loading it from the checkpoint")
                    continue
                versions.restore(name, saved.version, views)
                from_checkpoint.add(name)
        checkpoint_seq = restored.seq
    replayed = 0
    for batch in store.batches():
        board = writer.board_of(batch.board_id)
        if board is None or board in versions.failed:  # a retired version, or a board given up
            continue
        try:
            writer.restore(batch, board)
        except ResourceExhausted as exc:
            fail(board, batch.board_id, f"rebuilding it would pass a limit: {exc}")
            continue
        if board in from_checkpoint and batch.last_seq <= checkpoint_seq:
            continue
        if board in from_checkpoint and batch.first_seq <= checkpoint_seq:
            raise RuntimeError(f"checkpoint seq {checkpoint_seq} splits batch {batch.first_seq}..{batch.last_seq}")
        try:
            versions.apply(batch, board, writer.config_for(board), threads=cores)
        except MemoryError:
            fail(board, batch.board_id, "out of memory rebuilding it from the log")
            continue
        replayed += batch.last_seq - batch.first_seq + 1
    versions.started(store_last)  # and the live views get the engine's share of the cores back
    log.info(
        "recovered %d votes on %d boards (checkpoint seq %d, %d votes replayed from the log) in %.2f s",
        store_last, versions.live_count(), checkpoint_seq, replayed, time.perf_counter() - started,
    )  # fmt: skip
    return Recovered(checkpoint_seq, store_last, replayed)
