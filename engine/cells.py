"""The Bradley–Terry sufficient statistic: a sparse table of pair cells.

A cell is an unordered pair of competitor slots (lo < hi) with the counts
(wins of lo, wins of hi, ties, both-bad ties). The table is an edge list
plus an open-addressing hash from pair to cell, so memory grows with the
number of distinct pairs that met, never with M x M: the WTA tennis data
(24 k players, 593 k matches) has ~0.5 M cells where a dense table would
have 5.7e8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine._jit import kernel
from engine.arrays import grown as grown_array
from engine.counter_rng import mix64
from engine.outcomes import Outcome

_EMPTY = np.int64(-1)
_MIN_TABLE = 64
_NO_WEIGHT = np.zeros(0, dtype=np.float64)
_NO_WEIGHTED = np.zeros((0, 4), dtype=np.float64)


@kernel
def _slot_of_key(keys: np.ndarray, key: np.int64) -> np.int64:
    mask = keys.shape[0] - 1
    h = np.int64(mix64(np.uint64(key)) & np.uint64(mask))
    while keys[h] != key and keys[h] != _EMPTY:
        h = (h + 1) & mask
    return h


@kernel
def count_cells_kernel(
    keys: np.ndarray,
    cell_of_key: np.ndarray,
    cell_lo: np.ndarray,
    cell_hi: np.ndarray,
    counts: np.ndarray,
    n_cells: int,
    slot_a: np.ndarray,
    slot_b: np.ndarray,
    outcome: np.ndarray,
    start: int,
    weight: np.ndarray,
    weighted: np.ndarray,
) -> tuple[int, int]:
    """Count votes [start, N) into cells; returns (n_cells, next vote).

    With ``weight: float64[N]`` not empty, each vote also adds its weight to ``weighted: float64[C, 4]``
    (the weighted counts the fits read); with it empty, ``weighted`` is not touched.

    Stops early, before adding a cell, when the cell arrays are full or the
    hash table would pass half full; the wrapper grows them and resumes.
    counts: int64[C, 4] of (wins of lo, wins of hi, ties, both-bad ties).
    """
    max_cells = min(cell_lo.shape[0], keys.shape[0] // 2)
    for i in range(start, slot_a.shape[0]):
        a = slot_a[i]
        b = slot_b[i]
        flipped = a > b
        lo, hi = (b, a) if flipped else (a, b)
        key = (np.int64(lo) << 32) | np.int64(hi)
        h = _slot_of_key(keys, key)
        if keys[h] == _EMPTY:
            if n_cells >= max_cells:
                return n_cells, i
            keys[h] = key
            cell_of_key[h] = n_cells
            cell_lo[n_cells] = lo
            cell_hi[n_cells] = hi
            n_cells += 1
        c = cell_of_key[h]
        o = outcome[i]
        if o == Outcome.A_WINS:
            col = 1 if flipped else 0
        elif o == Outcome.B_WINS:
            col = 0 if flipped else 1
        else:  # TIE -> column 2, TIE_BOTH_BAD -> column 3
            col = o - 1
        counts[c, col] += 1
        if weight.shape[0]:
            weighted[c, col] += weight[i]
    return n_cells, slot_a.shape[0]


@kernel
def rehash_kernel(keys: np.ndarray, cell_of_key: np.ndarray, cell_lo: np.ndarray, cell_hi: np.ndarray, n_cells: int):
    for c in range(n_cells):
        key = (np.int64(cell_lo[c]) << 32) | np.int64(cell_hi[c])
        h = _slot_of_key(keys, key)
        keys[h] = key
        cell_of_key[h] = c


@kernel
def union_kernel(parent: np.ndarray, slot_a: np.ndarray, slot_b: np.ndarray) -> None:
    """Link each pair (slot_a[v], slot_b[v]) in the union-find ``parent``; the lower root becomes the
    root, so each component's root is its lowest slot. Over a table's cells, or a board's votes when it
    keeps no cells."""
    for v in range(slot_a.shape[0]):
        x = slot_a[v]
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        y = slot_b[v]
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        if x < y:
            parent[y] = x
        elif y < x:
            parent[x] = y


@kernel
def roots_kernel(parent: np.ndarray) -> None:
    """Afterwards parent[i] is i's root."""
    for i in range(parent.shape[0]):
        x = i
        while parent[x] != x:
            x = parent[x]
        parent[i] = x


def ranked_components(parent: NDArray[np.int64]) -> NDArray[np.int32]:
    """int32[M] from a union-find (modified in place): each slot's component, 0 = the largest (ties in
    size broken by the lowest member slot, which is each root)."""
    roots_kernel(parent)
    roots, inverse, sizes = np.unique(parent, return_inverse=True, return_counts=True)
    order = np.lexsort((roots, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return rank[inverse].astype(np.int32)


@dataclass(frozen=True)
class CellTable:
    """An immutable copy of a board's cells over slots 0..n_competitors-1.

    cell_lo, cell_hi: int32[C] with lo < hi; counts: int64[C, 4] of
    (wins of lo, wins of hi, ties, both-bad ties), in votes; ``weighted``: float64[C, 4], the same
    summed over the votes' weights, or None when every vote weighed 1 (then the counts are the weights).
    """

    n_competitors: int
    cell_lo: NDArray[np.int32]
    cell_hi: NDArray[np.int32]
    counts: NDArray[np.int64]
    weighted: NDArray[np.float64] | None = None

    @property
    def fit_counts(self) -> NDArray[np.int64] | NDArray[np.float64]:
        """What the fits read: the weighted counts, or the vote counts when no vote carried a weight
        other than 1 (so an unweighted board runs exactly the integer path it always ran)."""
        return self.counts if self.weighted is None else self.weighted

    @property
    def n_cells(self) -> int:
        return int(self.cell_lo.shape[0])

    @property
    def n_votes(self) -> int:
        return int(self.counts.sum())

    def components(self) -> NDArray[np.int32]:
        """int32[M]: connected component of each competitor, 0 = the largest
        (ties in size broken by the lowest member slot)."""
        parent = np.arange(self.n_competitors, dtype=np.int64)
        union_kernel(parent, self.cell_lo, self.cell_hi)
        return ranked_components(parent)

    @classmethod
    def from_votes(cls, n_competitors: int, slot_a, slot_b, outcome, weight=None) -> CellTable:
        """Cells built from scratch (the bulk path, and the tests' recount)."""
        cells = PairCells()
        w = None if weight is None else np.asarray(weight, np.float64)
        cells.add(np.asarray(slot_a, np.int32), np.asarray(slot_b, np.int32), np.asarray(outcome, np.int8), w)
        return cells.table(n_competitors)


class PairCells:
    """The incrementally kept cell table of one board (single writer)."""

    def __init__(self, capacity: int = _MIN_TABLE // 2) -> None:
        capacity = max(_MIN_TABLE // 2, 1 << int(np.ceil(np.log2(max(capacity, 1)))))
        # The hash table stays at most half full, so probes stay short.
        self._keys = np.full(2 * capacity, _EMPTY, dtype=np.int64)
        self._cell_of_key = np.zeros(2 * capacity, dtype=np.int32)
        self._lo = np.zeros(capacity, dtype=np.int32)
        self._hi = np.zeros(capacity, dtype=np.int32)
        self._counts = np.zeros((capacity, 4), dtype=np.int64)
        # Weighted counts, allocated when the first vote with a weight other than 1 arrives.
        self._weighted: NDArray[np.float64] | None = None
        self._n = 0

    @property
    def n_cells(self) -> int:
        return self._n

    @property
    def nbytes(self) -> int:
        weighted = 0 if self._weighted is None else self._weighted.nbytes
        return weighted + sum(a.nbytes for a in (self._keys, self._cell_of_key, self._lo, self._hi, self._counts))

    @property
    def is_weighted(self) -> bool:
        return self._weighted is not None

    def add(
        self,
        slot_a: NDArray[np.int32],
        slot_b: NDArray[np.int32],
        outcome: NDArray[np.int8],
        weight: NDArray[np.float64] | None = None,
    ) -> None:
        """Count votes (slots already validated by the caller); ``weight``: float64[N], None for all 1."""
        if weight is not None and self._weighted is None:
            self._weighted = self._counts.astype(np.float64)
        if self._weighted is not None and weight is None:
            weight = np.ones(slot_a.shape[0])
        start = 0
        while start < slot_a.shape[0]:
            w = _NO_WEIGHT if weight is None else weight
            weighted = _NO_WEIGHTED if self._weighted is None else self._weighted
            table = (self._keys, self._cell_of_key, self._lo, self._hi, self._counts, self._n)
            self._n, start = count_cells_kernel(*table, slot_a, slot_b, outcome, start, w, weighted)
            if start < slot_a.shape[0]:
                self._resize(2 * self._lo.shape[0])

    def _resize(self, capacity: int) -> None:
        grown = PairCells(capacity)
        grown._lo[: self._n] = self._lo[: self._n]
        grown._hi[: self._n] = self._hi[: self._n]
        grown._counts[: self._n] = self._counts[: self._n]
        if self._weighted is not None:
            self._weighted = grown_array(self._weighted, capacity)
        rehash_kernel(grown._keys, grown._cell_of_key, grown._lo, grown._hi, self._n)
        self._keys, self._cell_of_key = grown._keys, grown._cell_of_key
        self._lo, self._hi, self._counts = grown._lo, grown._hi, grown._counts

    def pair(self, slot_a: int, slot_b: int) -> NDArray[np.int64]:
        """(wins of a, wins of b, ties, both-bad ties) between two slots; zeros if they never met."""
        lo, hi = min(slot_a, slot_b), max(slot_a, slot_b)
        h = _slot_of_key(self._keys, np.int64((lo << 32) | hi))
        if self._keys[h] == _EMPTY:
            return np.zeros(4, dtype=np.int64)
        counts = self._counts[self._cell_of_key[h]].copy()
        return counts if slot_a < slot_b else counts[[1, 0, 2, 3]]

    def table(self, n_competitors: int) -> CellTable:
        return CellTable(
            n_competitors=n_competitors,
            cell_lo=self._lo[: self._n].copy(),
            cell_hi=self._hi[: self._n].copy(),
            counts=self._counts[: self._n].copy(),
            weighted=None if self._weighted is None else self._weighted[: self._n].copy(),
        )

    def state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {
            "cell_lo": self._lo[: self._n].copy(),
            "cell_hi": self._hi[: self._n].copy(),
            "cell_counts": self._counts[: self._n].copy(),
        }
        if self._weighted is not None:
            state["cell_weighted"] = self._weighted[: self._n].copy()
        return state

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> PairCells:
        n = int(state["cell_lo"].shape[0])
        cells = cls(n)
        cells._lo[:n] = state["cell_lo"]
        cells._hi[:n] = state["cell_hi"]
        cells._counts[:n] = state["cell_counts"]
        if "cell_weighted" in state:
            cells._weighted = np.zeros((cells._counts.shape[0], 4))
            cells._weighted[:n] = state["cell_weighted"]
        cells._n = n
        rehash_kernel(cells._keys, cells._cell_of_key, cells._lo, cells._hi, n)
        return cells
