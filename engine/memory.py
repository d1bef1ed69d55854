"""What a board's arrays hold in memory, and how they grow.

One growth rule for the per-competitor arrays, so the service can tell,
before it commits a batch, what applying it will allocate (server.service.capacity)
and the engine allocates exactly that. Small arrays double (cheap copies,
few of them); past ``_DOUBLING_SLOTS`` slots they grow by an eighth, so one
step never asks for as much again as the board already holds (with 1000
bootstrap replicas, doubling 524,288 slots would ask for 4 GiB at once).

Sizes, per view (a board or one of its category views), with B replicas:
  per competitor slot: 8 B (replicas) + 8 (rating) + 32 (counts) + 4 (id);
  per competitor id up to the largest one seen: 4 (id -> slot);
  per pair cell: 64 (hash table at most half full, pair, four counts);
  per style row: 9 + 16 F (two slots, an outcome, 2F float64 features);
  per cluster row (engine.clusters, one per distinct (cluster, pair) of a kind): 64 (key, cell, four
  float64 counts, hash table at most half full), rows doubling; plus 32 per pair cell for the kind's
  loose counts.
"""

from __future__ import annotations

from dataclasses import dataclass

_FIRST_SLOTS = 4
_DOUBLING_SLOTS = 8_192
_STEP_ALIGN = 1_024

SLOT_BYTES = 8 + 32 + 4  # rating, counts, competitor id (plus 8 per replica)
SLOT_OF_BYTES = 4
CELL_BYTES = 64
MIN_CELLS = 32
MIN_STYLE_ROWS = 1_024
CLUSTER_ROW_BYTES = 8 + 8 + 32 + 2 * 8
MIN_CLUSTER_ROWS = 64
LOOSE_BYTES = 32


def slot_capacity(n: int) -> int:
    """Capacity of the per-competitor arrays holding ``n`` slots (a pure function of n)."""
    capacity = _FIRST_SLOTS
    while capacity < n and capacity < _DOUBLING_SLOTS:
        capacity *= 2
    while capacity < n:
        step = -(-(capacity // 8) // _STEP_ALIGN) * _STEP_ALIGN
        capacity += step
    return capacity


def cell_capacity(n_cells: int) -> int:
    """Capacity of the pair-cell table holding ``n_cells`` (it doubles; engine.cells)."""
    capacity = MIN_CELLS
    while capacity < n_cells:
        capacity *= 2
    return capacity


def style_bytes_per_row(features: int) -> int:
    return 4 + 4 + 1 + 16 * features


@dataclass(frozen=True)
class ViewMemory:
    """Bytes one view holds: Elo state (replicas and per-competitor rows), pair cells, style rows."""

    replicas: int = 0
    cells: int = 0
    style: int = 0

    @property
    def total(self) -> int:
        return self.replicas + self.cells + self.style

    def __add__(self, other: ViewMemory) -> ViewMemory:
        return ViewMemory(self.replicas + other.replicas, self.cells + other.cells, self.style + other.style)


def cluster_capacity(rows: int) -> int:
    """Capacity of a kind's cluster rows holding ``rows`` (they double from MIN_CLUSTER_ROWS)."""
    capacity = MIN_CLUSTER_ROWS
    while capacity < rows:
        capacity *= 2
    return capacity


def view_memory(
    competitors: int,
    max_id: int,
    cells: int,
    style_rows: int,
    features: int,
    bootstrap_rounds: int,
    cluster_rows: tuple[int, ...] = (),
) -> ViewMemory:
    """An upper bound of what a view with these counts holds (exact for the Elo arrays).

    ``cells`` may be an upper bound of the distinct pairs (the caller need not know them);
    style rows grow by doubling, so they hold at most twice their rows. ``cluster_rows``: per cluster
    kind, an upper bound of its rows (the votes that carried such an id); 0: the kind keeps nothing.
    """
    slots = slot_capacity(competitors) if competitors else _FIRST_SLOTS
    elo = slots * (SLOT_BYTES + 8 * bootstrap_rounds) + 8 * bootstrap_rounds  # + the kernel's scratch row
    slot_of = slot_capacity(max_id + 1) * SLOT_OF_BYTES if competitors else 0
    style = max(MIN_STYLE_ROWS, 2 * style_rows) * style_bytes_per_row(features) if style_rows else 0
    clusters = sum(
        cluster_capacity(rows) * CLUSTER_ROW_BYTES + 2 * cell_capacity(cells) * LOOSE_BYTES
        for rows in cluster_rows
        if rows
    )
    return ViewMemory(replicas=elo + slot_of, cells=cell_capacity(cells) * CELL_BYTES + clusters, style=style)
