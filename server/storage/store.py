"""The embedded durable store: SQLite (WAL journal, synchronous=FULL).

The vote log is one row per accepted batch, its columns packed as
little-endian arrays. One INSERT per batch keeps the commit of a 1000-vote
batch near 0.1 ms here, against ~10 ms for 1000 indexed rows (measured
while designing this); the price is that vote_id uniqueness is enforced by
an in-memory set rebuilt from the log at start-up, not by an SQL index.

Tables:
  boards(id, name, config, state)   config: the board's EloConfig as JSON;
                                    state: active | pending (a replay being
                                    built) | retired (replaced by a replay,
                                    or deleted: its votes stay in the log).
                                    One active version per name.
  competitors(id, name)             interned names; ids are stable forever
  vote_batches(first_seq, last_seq, board_id, model_a, model_b, outcome,
               timestamp, vote_id, voter_id, tags, style_names, style,
               weight, prompt_id)
  competitor_meta(name, meta)       UpsertCompetitors' metadata as JSON, by name
                                    (a name may have metadata before any vote)
  snapshots(id, board, name, board_id, seq, created, votes, scheduled)
                                    the board's arrays live in a checksummed
                                    file named by id (server.storage.snapshots)
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from server.domain.snapshot_info import SnapshotInfo  # the row of ``snapshots``; re-exported

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS boards (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'pending', 'retired'))
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_version ON boards (name) WHERE state = 'active';
CREATE TABLE IF NOT EXISTS competitors (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS vote_batches (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    board_id INTEGER NOT NULL REFERENCES boards(id),
    model_a BLOB NOT NULL,     -- int32[n] competitor ids
    model_b BLOB NOT NULL,     -- int32[n]
    outcome BLOB NOT NULL,     -- int8[n]
    timestamp BLOB NOT NULL,   -- float64[n] Unix seconds
    vote_id TEXT NOT NULL,     -- JSON list of n strings
    voter_id TEXT,             -- JSON list of n strings, or NULL when none given
    tags TEXT,                 -- JSON list of n lists, or NULL when none given
    style_names TEXT,          -- JSON list of F feature names, or NULL when none given
    style BLOB,                -- float64[n, 2F]: side A's F values, then side B's
    weight BLOB,               -- float64[n] vote weights, or NULL when every vote weighs 1
    prompt_id TEXT             -- JSON list of n strings, or NULL when none given
);
CREATE TABLE IF NOT EXISTS competitor_meta (
    name TEXT PRIMARY KEY,
    meta TEXT NOT NULL         -- JSON object: display_name, organization, license, open_weights, status, links
);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY,
    board TEXT NOT NULL,
    name TEXT NOT NULL,
    board_id INTEGER NOT NULL REFERENCES boards(id),
    seq INTEGER NOT NULL,
    created REAL NOT NULL,
    votes INTEGER NOT NULL,
    scheduled INTEGER NOT NULL,
    UNIQUE (board, name)
);
"""
# Named, not "*": a migrated database has its added columns in the order they were added.
_COLUMNS = (
    "first_seq, last_seq, board_id, model_a, model_b, outcome, timestamp, vote_id, voter_id, tags, style_names, "
    "style, weight, prompt_id"
)


@dataclass(frozen=True)
class LoggedBatch:
    """One batch as stored: votes first_seq..last_seq on one board."""

    first_seq: int
    last_seq: int
    board_id: int
    model_a: NDArray[np.int32]
    model_b: NDArray[np.int32]
    outcome: NDArray[np.int8]
    timestamp: NDArray[np.float64]
    vote_id: list[str]
    voter_id: list[str] | None
    tags: list[list[str]] | None
    style_names: list[str] | None = None
    style: NDArray[np.float64] | None = None  # [n, 2F]
    weight: NDArray[np.float64] | None = None  # [n]; None: every vote weighs 1
    prompt_id: list[str] | None = None


class BoardVersion(NamedTuple):
    """A row of ``boards``: one version of a board."""

    id: int
    name: str
    config: dict  # the board's EloConfig as a dict
    state: str  # active | pending | retired


@dataclass(frozen=True)
class NewBoard:
    """A board's first version, stored with the batch that introduces it."""

    id: int
    name: str
    config: dict  # the board's EloConfig as a dict


class NewCompetitor(NamedTuple):
    """A name stored with the batch that first uses it."""

    id: int
    name: str


class Store:
    """Single-writer access to the SQLite database. Not thread-safe: the
    service calls it under its writer lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a batch
        # is exactly one transaction.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Databases written before style features, or before vote weights and prompt ids, had no columns
        for them; the added columns are NULL in old rows (no style; every vote weighs 1; no prompt)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(vote_batches)")}
        if "style" not in columns:
            self._db.execute("ALTER TABLE vote_batches ADD COLUMN style_names TEXT")
            self._db.execute("ALTER TABLE vote_batches ADD COLUMN style BLOB")
        if "weight" not in columns:
            self._db.execute("ALTER TABLE vote_batches ADD COLUMN weight BLOB")
            self._db.execute("ALTER TABLE vote_batches ADD COLUMN prompt_id TEXT")

    def close(self) -> None:
        self._db.close()

    def boards(self) -> list[BoardVersion]:
        """Every board version, oldest first."""
        rows = self._db.execute("SELECT id, name, config, state FROM boards ORDER BY id").fetchall()
        return [BoardVersion(i, name, json.loads(config), state) for i, name, config, state in rows]

    def create_pending_board(self, board_id: int, name: str, config: dict) -> None:
        """A new version of a board, built by a replay and invisible until activate()."""
        self._transaction(
            lambda db: db.execute(
                "INSERT INTO boards (id, name, config, state) VALUES (?, ?, ?, 'pending')",
                (board_id, name, json.dumps(config)),
            )
        )

    def activate(self, board_id: int) -> None:
        """Make a pending version the active one of its name, retiring the old, in one transaction."""

        def swap(db: sqlite3.Connection) -> None:
            (name,) = db.execute("SELECT name FROM boards WHERE id = ? AND state = 'pending'", (board_id,)).fetchone()
            db.execute("UPDATE boards SET state = 'retired' WHERE name = ? AND state = 'active'", (name,))
            db.execute("UPDATE boards SET state = 'active' WHERE id = ?", (board_id,))

        self._transaction(swap)

    def retire(self, board_id: int) -> None:
        """Retire an active version (DeleteBoard): its votes stay in the log, its name has no active version."""
        self._transaction(
            lambda db: db.execute("UPDATE boards SET state = 'retired' WHERE id = ? AND state = 'active'", (board_id,))
        )

    def discard(self, board_id: int) -> None:
        """Delete a pending version and its votes."""

        def delete(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM vote_batches WHERE board_id = ?", (board_id,))
            db.execute("DELETE FROM boards WHERE id = ? AND state = 'pending'", (board_id,))

        self._transaction(delete)

    def max_board_id(self) -> int:
        return self._db.execute("SELECT COALESCE(MAX(id), 0) FROM boards").fetchone()[0]

    def competitor_names(self) -> list[str]:
        """All competitor names, list index = id."""
        rows = self._db.execute("SELECT id, name FROM competitors ORDER BY id").fetchall()
        if any(i != pos for pos, (i, _) in enumerate(rows)):
            raise RuntimeError(f"{self.path}: competitor ids are not dense; the database is damaged")
        return [name for _, name in rows]

    def competitor_metadata(self) -> dict[str, dict]:
        return {name: json.loads(meta) for name, meta in self._db.execute("SELECT name, meta FROM competitor_meta")}

    def upsert_competitor_metadata(self, metadata: dict[str, dict]) -> None:
        """Set the metadata of these names (whole objects), in one transaction."""
        rows = [(name, json.dumps(meta, sort_keys=True)) for name, meta in metadata.items()]
        self._transaction(
            lambda db: db.executemany(
                "INSERT INTO competitor_meta (name, meta) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET meta = excluded.meta",
                rows,
            )
        )

    def snapshots(self) -> list[SnapshotInfo]:
        """Every snapshot, oldest first."""
        rows = self._db.execute(
            "SELECT id, board, name, board_id, seq, created, votes, scheduled FROM snapshots ORDER BY id"
        ).fetchall()
        return [
            SnapshotInfo(i, board, name, board_id, seq, created, votes, bool(scheduled))
            for i, board, name, board_id, seq, created, votes, scheduled in rows
        ]

    def add_snapshot(self, info: SnapshotInfo) -> None:
        row = (info.id, info.board, info.name, info.board_id, info.seq, info.created, info.votes, info.scheduled)
        self._transaction(
            lambda db: db.execute(
                "INSERT INTO snapshots (id, board, name, board_id, seq, created, votes, scheduled) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        )

    def last_seq(self) -> int:
        return self._db.execute("SELECT COALESCE(MAX(last_seq), 0) FROM vote_batches").fetchone()[0]

    def append(
        self,
        batch: LoggedBatch,
        new_board: NewBoard | None,
        new_competitors: list[NewCompetitor],
    ) -> None:
        """Durably store a batch (and the board and names it introduces) in one transaction.

        Returns only after the commit is on disk; raises and stores nothing otherwise.
        """

        def write(db: sqlite3.Connection) -> None:
            if new_board is not None:
                db.execute(
                    "INSERT INTO boards (id, name, config) VALUES (?, ?, ?)",
                    (new_board.id, new_board.name, json.dumps(new_board.config)),
                )
            if new_competitors:
                db.executemany("INSERT INTO competitors (id, name) VALUES (?, ?)", new_competitors)
            db.execute(
                f"INSERT INTO vote_batches ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    batch.first_seq,
                    batch.last_seq,
                    batch.board_id,
                    batch.model_a.astype("<i4").tobytes(),
                    batch.model_b.astype("<i4").tobytes(),
                    batch.outcome.astype("<i1").tobytes(),
                    batch.timestamp.astype("<f8").tobytes(),
                    json.dumps(batch.vote_id),
                    None if batch.voter_id is None else json.dumps(batch.voter_id),
                    None if batch.tags is None else json.dumps(batch.tags),
                    None if not batch.style_names else json.dumps(batch.style_names),
                    _style_bytes(batch),
                    None if batch.weight is None else batch.weight.astype("<f8").tobytes(),
                    None if batch.prompt_id is None else json.dumps(batch.prompt_id),
                ),
            )

        self._transaction(write)

    def _transaction(self, work) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            work(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # a failed COMMIT may already have rolled back
                db.execute("ROLLBACK")
            raise

    def batches(self, after_seq: int = 0) -> Iterator[LoggedBatch]:
        """Stored batches whose votes come after ``after_seq``, in seq order."""
        cursor = self._db.execute(
            f"SELECT {_COLUMNS} FROM vote_batches WHERE last_seq > ? ORDER BY first_seq", (after_seq,)
        )
        return _logged(cursor)

    def board_batches(self, board_id: int, up_to_seq: int) -> Iterator[LoggedBatch]:
        """One board version's batches up to ``up_to_seq``, in seq order, read on a connection of
        their own (WAL readers never block the writer), so any thread may call this."""
        db = sqlite3.connect(self.path, check_same_thread=False)
        try:
            cursor = db.execute(
                f"SELECT {_COLUMNS} FROM vote_batches WHERE board_id = ? AND last_seq <= ? ORDER BY first_seq",
                (board_id, up_to_seq),
            )
            yield from _logged(cursor)
        finally:
            db.close()


def _style_bytes(batch: LoggedBatch) -> bytes | None:
    """The style rows as stored: none without style features; a batch that names them carries them."""
    if not batch.style_names:
        return None
    if batch.style is None:
        raise ValueError(f"the batch names style features {batch.style_names} but carries no values")
    return batch.style.astype("<f8").tobytes()


def _logged(cursor: sqlite3.Cursor) -> Iterator[LoggedBatch]:
    for first, last, board_id, a, b, outcome, ts, vote_id, voter_id, tags, style_names, style, weight, prompt in cursor:
        names = None if style_names is None else json.loads(style_names)
        yield LoggedBatch(
            first_seq=first,
            last_seq=last,
            board_id=board_id,
            model_a=np.frombuffer(a, dtype="<i4").astype(np.int32),
            model_b=np.frombuffer(b, dtype="<i4").astype(np.int32),
            outcome=np.frombuffer(outcome, dtype="<i1").astype(np.int8),
            timestamp=np.frombuffer(ts, dtype="<f8").astype(np.float64),
            vote_id=json.loads(vote_id),
            voter_id=None if voter_id is None else json.loads(voter_id),
            tags=None if tags is None else json.loads(tags),
            style_names=names,
            style=None
            if names is None
            else np.frombuffer(style, dtype="<f8").astype(np.float64).reshape(-1, 2 * len(names)),
            weight=None if weight is None else np.frombuffer(weight, dtype="<f8").astype(np.float64),
            prompt_id=None if prompt is None else json.loads(prompt),
        )
