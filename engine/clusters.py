"""Per-cluster pair cells, for bootstrap CIs that resample whole voters or prompts.

A vote-level bootstrap treats votes as independent. When one voter casts many votes with a taste of
their own (or one prompt favours some models), votes within that cluster are correlated and the
vote-level intervals are too narrow. The cluster bootstrap gives every cluster one Poisson(1) weight
per round and scales all its votes by it.

The statistic is, per (cluster, pair cell), the cluster's counts in that cell: a row of
(cluster key, cell, counts float64[4]). A round's cell counts are the sum over rows of
weight(cluster) x row counts, plus a Poisson draw of the cell's ``loose`` counts (votes without a
cluster id, each its own cluster: the count-space draw of the vote-level bootstrap). So a round costs
O(rows + cells), never O(votes), and memory is one row per distinct (cluster, pair) that met, ~64 bytes
(a million voters who each compared 5 pairs: 5 M rows, ~320 MB; a thousand prompts over 4,000 pairs
at most 4 M rows). A cluster's weight in round r is a pure function of (seed, r, cluster key): rounds
are reproducible and independent of the thread that runs them, of batching and of vote order.

Cluster keys are 64-bit hashes of the id strings (``cluster_keys``); 0 means "no id". Two distinct ids
collide with probability ~n^2 / 2^65 (3e-8 for a million ids), which would merge two clusters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine._jit import kernel
from engine.arrays import grown
from engine.cells import PairCells, _slot_of_key
from engine.counter_rng import mix64
from engine.outcomes import Outcome

CLUSTER_KINDS = ("voter", "prompt")
_EMPTY = np.int64(-1)
_MIN_ROWS = 64


def cluster_keys(ids: Sequence[str]) -> NDArray[np.uint64]:
    """uint64[n]: each id's cluster key (blake2b, 8 bytes), 0 for "" (no id). Hashes each distinct id once."""
    seen: dict[str, int] = {"": 0}
    out = np.empty(len(ids), dtype=np.uint64)
    for i, value in enumerate(ids):
        key = seen.get(value)
        if key is None:
            key = int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little") or 1
            seen[value] = key
        out[i] = key
    return out


def batch_clusters(
    voter_id: Sequence[str] | None, prompt_id: Sequence[str] | None
) -> dict[str, NDArray[np.uint64]] | None:
    """Votes' cluster keys by kind, for the kinds they carry ids of (None: neither)."""
    clusters = {kind: cluster_keys(ids) for kind, ids in (("voter", voter_id), ("prompt", prompt_id)) if ids}
    return clusters or None


@kernel
def _row_slot(table: np.ndarray, row_cluster: np.ndarray, row_cell: np.ndarray, cluster: np.uint64, cell: int) -> int:
    mask = table.shape[0] - 1
    h = np.int64(mix64(cluster ^ mix64(np.uint64(cell))) & np.uint64(mask))
    while table[h] != _EMPTY and not (row_cluster[table[h]] == cluster and row_cell[table[h]] == cell):
        h = (h + 1) & mask
    return int(h)


@kernel
def add_rows_kernel(
    pair_keys, pair_cell_of_key, table, row_cluster, row_cell, row_counts, n_rows, loose, slot_a, slot_b, outcome,
    weight, cluster, start,
) -> tuple[int, int]:  # fmt: skip
    """Count votes [start, N) into (cluster, cell) rows, or into ``loose[cell]`` when cluster[i] is 0. The
    votes' pair cells must exist (PairCells.add first). ``weight``: float64[N], or empty for all 1. Stops
    before adding a row when the row arrays are full or the table would pass half full; returns
    (n_rows, next vote)."""
    max_rows = min(row_cell.shape[0], table.shape[0] // 2)
    for i in range(start, slot_a.shape[0]):
        a = slot_a[i]
        b = slot_b[i]
        flipped = a > b
        lo, hi = (b, a) if flipped else (a, b)
        cell = pair_cell_of_key[_slot_of_key(pair_keys, (np.int64(lo) << 32) | np.int64(hi))]
        o = outcome[i]
        if o == Outcome.A_WINS:
            col = 1 if flipped else 0
        elif o == Outcome.B_WINS:
            col = 0 if flipped else 1
        else:
            col = o - 1
        w = weight[i] if weight.shape[0] else 1.0
        if cluster[i] == 0:
            loose[cell, col] += w
            continue
        h = _row_slot(table, row_cluster, row_cell, cluster[i], cell)
        if table[h] == _EMPTY:
            if n_rows >= max_rows:
                return n_rows, i
            table[h] = n_rows
            row_cluster[n_rows] = cluster[i]
            row_cell[n_rows] = cell
            n_rows += 1
        row_counts[table[h], col] += w
    return n_rows, slot_a.shape[0]


@kernel
def _rehash_rows(table, row_cluster, row_cell, n_rows) -> None:
    for r in range(n_rows):
        table[_row_slot(table, row_cluster, row_cell, row_cluster[r], row_cell[r])] = r


@dataclass(frozen=True)
class ClusterTable:
    """An immutable copy of one kind's cluster rows, over a CellTable's cells (same cell indices).

    row_cluster: uint64[R] cluster keys; row_cell: int64[R]; row_counts: float64[R, 4] in the cell's
    orientation (wins of lo, wins of hi, ties, both-bad ties); loose: float64[C, 4], the counts of
    votes without a cluster id. Rows are grouped by cluster (stably, so the order is a function of
    the log): cluster k (key ``cluster_key[k]``) owns rows ``cluster_start[k]:cluster_start[k + 1]``,
    so a round hashes each cluster once and skips the rows of clusters that drew 0.
    """

    kind: str
    row_cluster: NDArray[np.uint64]
    row_cell: NDArray[np.int64]
    row_counts: NDArray[np.float64]
    loose: NDArray[np.float64]
    cluster_key: NDArray[np.uint64]
    cluster_start: NDArray[np.int64]

    @classmethod
    def grouped(cls, kind, row_cluster, row_cell, row_counts, loose) -> ClusterTable:
        order = np.argsort(row_cluster, kind="stable")
        row_cluster, row_cell, row_counts = row_cluster[order], row_cell[order], row_counts[order]
        first = np.flatnonzero(np.r_[True, row_cluster[1:] != row_cluster[:-1]]) if row_cluster.size else order[:0]
        start = np.append(first, row_cluster.shape[0]).astype(np.int64)
        return cls(kind, row_cluster, row_cell, row_counts, loose, row_cluster[first], start)

    @property
    def n_rows(self) -> int:
        return int(self.row_cell.shape[0])

    @property
    def n_clusters(self) -> int:
        return int(self.cluster_key.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.row_cluster, self.row_cell, self.row_counts, self.loose))


class ClusterCells:
    """The incrementally kept cluster rows of one board for one kind (single writer).

    Created when the first vote with an id of this kind arrives: the votes before it had none, so its
    ``loose`` counts start as the pair cells' (weighted) counts.
    """

    def __init__(self, kind: str, cells: PairCells, capacity: int = _MIN_ROWS) -> None:
        capacity = max(_MIN_ROWS, 1 << int(np.ceil(np.log2(max(capacity, 1)))))
        self.kind = kind
        self._table = np.full(2 * capacity, _EMPTY, dtype=np.int64)
        self._cluster = np.zeros(capacity, dtype=np.uint64)
        self._cell = np.zeros(capacity, dtype=np.int64)
        self._counts = np.zeros((capacity, 4), dtype=np.float64)
        self._n = 0
        table = cells.table(0)
        self._loose = np.asarray(table.fit_counts, dtype=np.float64).copy()

    @property
    def n_rows(self) -> int:
        return self._n

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self._table, self._cluster, self._cell, self._counts, self._loose))

    def add(self, cells: PairCells, slot_a, slot_b, outcome, weight: NDArray[np.float64] | None, keys) -> None:
        """Count votes already counted into ``cells``; ``keys``: uint64[N] cluster keys (0: none)."""
        if self._loose.shape[0] < cells.n_cells:
            self._loose = grown(self._loose, max(cells.n_cells, 2 * self._loose.shape[0]))
        w = np.zeros(0) if weight is None else weight
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        start = 0
        while start < slot_a.shape[0]:
            self._n, start = add_rows_kernel(
                cells._keys, cells._cell_of_key, self._table, self._cluster, self._cell, self._counts, self._n,
                self._loose, slot_a, slot_b, outcome, w, keys, start,
            )  # fmt: skip
            if start < slot_a.shape[0]:
                self._grow(2 * self._cell.shape[0])

    def _grow(self, capacity: int) -> None:
        self._cluster = grown(self._cluster, capacity)
        self._cell = grown(self._cell, capacity)
        self._counts = grown(self._counts, capacity)
        self._table = np.full(2 * capacity, _EMPTY, dtype=np.int64)
        _rehash_rows(self._table, self._cluster, self._cell, self._n)

    def table(self, n_cells: int) -> ClusterTable:
        loose = np.zeros((n_cells, 4))
        k = min(n_cells, self._loose.shape[0])
        loose[:k] = self._loose[:k]
        n = self._n
        return ClusterTable.grouped(self.kind, self._cluster[:n], self._cell[:n], self._counts[:n], loose)

    def state(self, n_cells: int) -> dict[str, np.ndarray]:
        """The rows in insertion order (so a restored table adds new votes exactly as this one would)."""
        n, k = self._n, min(n_cells, self._loose.shape[0])
        loose = np.zeros((n_cells, 4))
        loose[:k] = self._loose[:k]
        prefix = f"cluster_{self.kind}_"
        return {
            prefix + "key": self._cluster[:n].copy(),
            prefix + "cell": self._cell[:n].copy(),
            prefix + "counts": self._counts[:n].copy(),
            prefix + "loose": loose,
        }

    @classmethod
    def from_state(cls, kind: str, cells: PairCells, state: dict[str, np.ndarray]) -> ClusterCells | None:
        prefix = f"cluster_{kind}_"
        if prefix + "key" not in state:
            return None
        n = int(state[prefix + "key"].shape[0])
        rows = cls(kind, PairCells(), max(n, 1))
        rows._cluster[:n] = state[prefix + "key"]
        rows._cell[:n] = state[prefix + "cell"]
        rows._counts[:n] = state[prefix + "counts"]
        rows._loose = np.asarray(state[prefix + "loose"], dtype=np.float64).copy()
        rows._n = n
        _rehash_rows(rows._table, rows._cluster, rows._cell, n)
        return rows
