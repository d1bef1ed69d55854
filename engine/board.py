"""One board's online Elo state: point ratings, bootstrap replicas, counts."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from engine.arrays import grown
from engine.cells import CellTable, PairCells, ranked_components, union_kernel
from engine.clusters import CLUSTER_KINDS, ClusterCells, ClusterTable
from engine.elo import (
    EloConfig,
    elo_bootstrap_kernel,
    elo_kernel,
    log_base_over_scale,
)
from engine.interning import assign_slots_kernel
from engine.memory import ViewMemory, slot_capacity
from engine.outcomes import SCORE_A, is_valid_outcome
from engine.standings import Standings
from engine.style_rows import StyleRows
from engine.text_arrays import decode_strings, encode_strings
from engine.threads import run_split

# What a board's saved arrays mean. A file saved under another version is not loaded: its
# state is rebuilt from the vote log. 2: each replica's Poisson weight is mixed (mix64) from
# the vote key; version 1 used the key plus r * GOLDEN unmixed, which correlated the replicas.
# 3: boards keep cluster rows (engine.clusters) of votes with voter and prompt ids; a version-2 state
# has none for votes that carried them, so it is rebuilt from the log.
ENGINE_STATE_VERSION = 3

# newest_time before any vote with a timestamp: the board knows no time.
NO_TIME = float("-inf")

# Below this many replica-updates per call, handing work to threads costs
# more than it saves (a pool round trip is ~50 us, a replica-update ~1-3 ns).
_PARALLEL_MIN_UPDATES = 200_000


@dataclass(frozen=True)
class Keeps:
    """What a board keeps beyond its point Elo ratings and counts (its Elo replicas: the config's
    ``bootstrap_rounds``). The server keeps everything, since it answers every query; an offline
    replay keeps only what its one query reads (server.offline.replay)."""

    cells: bool = True  # the Bradley–Terry pair cells (without them, a union-find gives the components)
    style: bool = True  # the votes' style rows, for style-controlled fits
    # The cluster kinds (engine.clusters.CLUSTER_KINDS) whose rows it keeps, for clustered bootstrap CIs;
    # rows exist only once a vote carries an id of that kind (needs ``cells``).
    clusters: tuple[str, ...] = CLUSTER_KINDS


class Board:
    """One board's incremental state: online Elo with B Poisson-bootstrap
    replicas, and the pair cells that Bradley–Terry fits read.

    Competitors are given as ids (any non-negative int32, e.g. from an
    Interner); the board keeps its own dense slots in order of first
    appearance, so its arrays hold only competitors that played on it.

    State: ratings float64[M], replicas float64[M, B] (replica-contiguous,
    so one vote updates two contiguous rows), counts int64[M, 4] of
    (wins, losses, ties, both-bad ties), and ``cells`` (engine.cells).

    Not thread-safe: one writer applies votes; readers take ``snapshot()``
    under the writer's lock.
    """

    def __init__(
        self,
        config: EloConfig | None = None,
        *,
        threads: int | None = None,
        keeps: Keeps = Keeps(),
        replicas: range | None = None,
    ) -> None:
        self.config = config or EloConfig()
        self.keeps = keeps
        # The bootstrap replicas this board keeps: all of the config's, or (a shard of a distributed replay,
        # server.distributed) a slice of them, drawn as the whole board draws them (install_replicas joins them).
        self.replica_range = range(self.config.bootstrap_rounds) if replicas is None else replicas
        if self.replica_range.step != 1 or not 0 <= self.replica_range.start <= self.replica_range.stop <= (
            self.config.bootstrap_rounds
        ):
            raise ValueError(f"replicas {self.replica_range} is not a slice of {self.config.bootstrap_rounds} replicas")
        self.threads = threads if threads is not None else (os.cpu_count() or 1)
        self.n_votes = 0  # votes applied; the next vote's bootstrap ordinal
        self.last_seq = 0  # the log seq of the last applied vote
        self.newest_time = NO_TIME  # the newest timestamp (Unix seconds) among the applied votes
        self._slot_of = np.full(0, -1, dtype=np.int32)  # competitor id -> slot
        self._competitor = np.zeros(0, dtype=np.int32)  # slot -> competitor id
        self._n = 0
        self._ratings = np.zeros(0, dtype=np.float64)
        self._replicas = np.zeros((0, len(self.replica_range)), dtype=np.float64)
        self._counts = np.zeros((0, 4), dtype=np.int64)
        self._delta = np.empty(len(self.replica_range), dtype=np.float64)  # kernel scratch
        self.cells = PairCells()
        self.style = StyleRows()  # the votes that carry style features, for style-controlled fits
        self.clusters: dict[str, ClusterCells] = {}  # by kind, once a vote carries an id of that kind
        # Without cells, the comparison graph's components come from a union-find over slots.
        self._parent = np.zeros(0, dtype=np.int64)

    @property
    def n_competitors(self) -> int:
        return self._n

    @property
    def competitor_ids(self) -> NDArray[np.int32]:
        return self._competitor[: self._n]

    @property
    def ratings(self) -> NDArray[np.float64]:
        """float64[M], a view: copy before handing it to another thread."""
        return self._ratings[: self._n]

    @property
    def replicas(self) -> NDArray[np.float64]:
        """float64[M, B], a view (of replicas ``replica_range``)."""
        return self._replicas[: self._n]

    def install_replicas(self, replicas: NDArray[np.float64]) -> None:
        """Take ``replicas: float64[M, B]``, every replica of this board's votes computed elsewhere (the
        shards of a distributed replay, joined in replica order), in place of the ones it keeps."""
        expected = (self._n, self.config.bootstrap_rounds)
        if replicas.shape != expected:
            raise ValueError(f"replicas have shape {replicas.shape}; this board needs {expected}")
        self._replicas = np.full((self._ratings.shape[0], expected[1]), self.config.initial)  # the slots' capacity
        self._replicas[: self._n] = replicas
        self._delta = np.empty(expected[1], dtype=np.float64)
        self.replica_range = range(expected[1])

    @property
    def counts(self) -> NDArray[np.int64]:
        """int64[M, 4] of (wins, losses, ties, both-bad ties), a view."""
        return self._counts[: self._n]

    def apply(
        self,
        competitor_a: NDArray[np.int32],
        competitor_b: NDArray[np.int32],
        outcome: NDArray[np.int8],
        last_seq: int | None = None,
        style_names: list[str] | None = None,
        style: NDArray[np.float64] | None = None,
        timestamp: NDArray[np.float64] | None = None,
        weight: NDArray[np.float64] | None = None,
        clusters: Mapping[str, NDArray[np.uint64]] | None = None,
    ) -> None:
        """Apply votes in order. ``last_seq``: the log seq of the last one; ``style``: float64[n, 2F]
        of the votes' style features (``style_names``), kept for style-controlled fits; ``timestamp``:
        float64[n] Unix seconds (NaN: not known), of which the board keeps the newest (``newest_time``).

        ``weight``: float64[n], finite and >= 0 (None: every vote weighs 1). A vote of weight 0 is
        skipped as if it were not there (no Elo step, no bootstrap ordinal, no cell, no count); a vote
        of weight w moves Elo by K * w * (s - e) and counts w times in the Bradley–Terry cells and the
        style fit. A batch whose kept weights are all 1 runs the unweighted path, bit for bit.

        ``clusters``: per kind ("voter", "prompt"), uint64[n] cluster keys (engine.clusters.cluster_keys;
        0: no id), kept as cluster rows for clustered bootstrap CIs when ``keeps.clusters`` names the kind."""
        competitor_a = np.ascontiguousarray(competitor_a, dtype=np.int32)
        competitor_b = np.ascontiguousarray(competitor_b, dtype=np.int32)
        outcome = np.ascontiguousarray(outcome, dtype=np.int8)
        n = competitor_a.shape[0]
        if competitor_b.shape != (n,) or outcome.shape != (n,):
            raise ValueError("competitor_a, competitor_b and outcome must be 1-D and of one length")
        if weight is not None:
            weight = np.ascontiguousarray(weight, dtype=np.float64)
            if weight.shape != (n,):
                raise ValueError("weight must be 1-D and as long as the votes")
            if not (np.isfinite(weight) & (weight >= 0)).all():
                raise ValueError("weights must be finite and >= 0")
            if (weight == 0).any():
                keep = np.flatnonzero(weight > 0)
                competitor_a, competitor_b, outcome = competitor_a[keep], competitor_b[keep], outcome[keep]
                style = None if style is None else np.asarray(style)[keep]
                timestamp = None if timestamp is None else np.asarray(timestamp)[keep]
                weight = weight[keep]
                if clusters:
                    clusters = {kind: np.asarray(keys)[keep] for kind, keys in clusters.items()}
                n = keep.shape[0]
            if (weight == 1.0).all():
                weight = None
        if last_seq is not None and n == 0:
            self.last_seq = int(last_seq)
        if n == 0:
            return
        if (competitor_a < 0).any() or (competitor_b < 0).any():
            raise ValueError("competitor ids must be non-negative")
        if (competitor_a == competitor_b).any():
            raise ValueError("a competitor cannot play itself")
        if not is_valid_outcome(outcome).all():
            raise ValueError("outcome codes must be 1..4 (engine.Outcome)")
        slot_a, slot_b = self._slots(competitor_a, competitor_b)
        cfg = self.config
        step = np.ones(n) if weight is None else weight
        elo_kernel(self._ratings, self._counts, slot_a, slot_b, outcome, step, SCORE_A, cfg.k, log_base_over_scale(cfg))
        if self.keeps.cells:
            self._start_clusters(clusters)
            self.cells.add(slot_a, slot_b, outcome, weight)
            self._add_clusters(slot_a, slot_b, outcome, weight, clusters)
        else:
            union_kernel(self._parent, slot_a, slot_b)
        if style_names and self.keeps.style:
            self.style.append(slot_a, slot_b, outcome, style_names, np.asarray(style, dtype=np.float64), weight)
        if len(self.replica_range):
            ordinals = np.arange(self.n_votes, self.n_votes + n, dtype=np.uint64)
            self._apply_bootstrap(slot_a, slot_b, outcome, step, ordinals)
        self.n_votes += n
        if last_seq is not None:
            self.last_seq = int(last_seq)
        if timestamp is not None:  # fmax skips NaN (not known); one pass over n floats
            self.newest_time = float(np.fmax(self.newest_time, np.fmax.reduce(timestamp, initial=NO_TIME)))

    def _start_clusters(self, clusters) -> None:
        """Cluster rows for each kept kind whose first ids arrive in this batch, made before the batch is
        counted: every vote before it had no id of that kind, so the cells' counts are its loose counts."""
        for kind in self.keeps.clusters:
            keys = None if clusters is None else clusters.get(kind)
            if kind not in self.clusters and keys is not None and np.asarray(keys).any():
                self.clusters[kind] = ClusterCells(kind, self.cells)

    def _add_clusters(self, slot_a, slot_b, outcome, weight, clusters) -> None:
        for kind, rows in self.clusters.items():
            keys = None if clusters is None else clusters.get(kind)
            rows.add(self.cells, slot_a, slot_b, outcome, weight, np.zeros(slot_a.shape[0], np.uint64) if keys is None
                     else keys)  # fmt: skip

    def cluster_table(self, kind: str) -> ClusterTable | None:
        """A copy of ``kind``'s cluster rows over the cells' indices, None when no vote carried such an id."""
        rows = self.clusters.get(kind)
        return None if rows is None else rows.table(self.cells.n_cells)

    def _apply_bootstrap(self, slot_a, slot_b, outcome, weight, ordinals) -> None:
        cfg = self.config
        head: tuple = (self._replicas, slot_a, slot_b, outcome, weight, ordinals, SCORE_A, np.uint64(cfg.seed), cfg.k)
        head += (log_base_over_scale(cfg), self.replica_range.start)
        kept = len(self.replica_range)
        parts = self.threads if slot_a.shape[0] * kept >= _PARALLEL_MIN_UPDATES else 1
        # Each range writes its own slice of the shared scratch row, so threads never share memory.
        run_split(elo_bootstrap_kernel, (0, kept), parts, head, (self._delta,))

    def _slots(self, competitor_a: NDArray[np.int32], competitor_b: NDArray[np.int32]):
        top = int(max(competitor_a.max(), competitor_b.max()))
        if top >= self._slot_of.shape[0]:
            self._slot_of = grown(self._slot_of, slot_capacity(top + 1), -1)
        n = competitor_a.shape[0]
        slot_a = np.empty(n, dtype=np.int32)
        slot_b = np.empty(n, dtype=np.int32)
        new_ids = np.empty(min(2 * n, self._slot_of.shape[0]), dtype=np.int32)
        n_slots = assign_slots_kernel(self._slot_of, self._n, competitor_a, competitor_b, slot_a, slot_b, new_ids)
        if n_slots > self._n:
            self._add_slots(new_ids[: n_slots - self._n])
        return slot_a, slot_b

    def _add_slots(self, ids: NDArray[np.int32]) -> None:
        """Grow the arrays for competitors whose slots (self._n, ...) are already in slot_of."""
        n_new = self._n + ids.shape[0]
        if n_new > self._ratings.shape[0]:
            capacity = slot_capacity(n_new)
            self._competitor = grown(self._competitor, capacity, 0)
            self._ratings = grown(self._ratings, capacity, self.config.initial)
            self._replicas = grown(self._replicas, capacity, self.config.initial)
            self._counts = grown(self._counts, capacity, 0)
            if not self.keeps.cells:
                self._parent = grown(self._parent, capacity, 0)
        if not self.keeps.cells:
            self._parent[self._n : n_new] = np.arange(self._n, n_new)
        self._competitor[self._n : n_new] = ids
        self._n = n_new

    def snapshot(self) -> Board:
        """A deep copy sharing nothing with this board (for readers of its Elo state), without its cluster
        rows: they can be as large as the votes, and only a clustered BT query reads them (cluster_table)."""
        clusters, self.clusters = self.clusters, {}
        try:
            return copy.deepcopy(self)
        finally:
            self.clusters = clusters

    def slot_of(self, competitor_id: int) -> int | None:
        """The competitor's row in this board's arrays, or None if it has not played here."""
        if 0 <= competitor_id < self._slot_of.shape[0] and self._slot_of[competitor_id] >= 0:
            return int(self._slot_of[competitor_id])
        return None

    def cell_table(self) -> CellTable:
        """A copy of the pair cells (O(cells)), for fits off the writer's thread."""
        if not self.keeps.cells:
            raise ValueError("this board keeps no pair cells (Keeps.cells is off)")
        return self.cells.table(self._n)

    def components(self) -> NDArray[np.int32]:
        """int32[M]: each competitor's component of the comparison graph, 0 = the largest."""
        if self.keeps.cells:
            return self.cell_table().components()
        return ranked_components(self._parent[: self._n].copy())

    def memory(self) -> ViewMemory:
        """The bytes this board's arrays hold (engine.memory describes the layout)."""
        elo = (self._slot_of, self._competitor, self._ratings, self._replicas, self._counts, self._delta)
        cells = self.cells.nbytes + sum(rows.nbytes for rows in self.clusters.values())
        return ViewMemory(replicas=sum(a.nbytes for a in elo), cells=cells, style=self.style.nbytes)

    def elo_standings(self, with_ci: bool = True) -> Standings:
        """The online Elo leaderboard; its CI from the replicas (none when ``with_ci`` is off or the
        board keeps no replicas)."""
        return Standings.from_elo(
            competitor_ids=self.competitor_ids,
            ratings=self.ratings,
            replicas=self.replicas if with_ci else self.replicas[:, :0],
            counts=self.counts,
            total_votes=self.n_votes,
            as_of_seq=self.last_seq,
            component=self.components(),
        )

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that fully describe the board (copies), for checkpoints."""
        if not self.keeps.cells or not self.keeps.style or len(self.replica_range) != self.config.bootstrap_rounds:
            raise ValueError("only a board that keeps everything is saved (the server's)")
        config = asdict(self.config)
        return {
            "config_keys": encode_strings(list(config)),
            "config_values": np.array([float(v) for v in config.values()], dtype=np.float64),
            "config_seed": np.array([self.config.seed], dtype=np.uint64),
            "counters": np.array([self.n_votes, self.last_seq], dtype=np.int64),
            "newest_time": np.array([self.newest_time], dtype=np.float64),
            "competitor": self.competitor_ids.copy(),
            "ratings": self.ratings.copy(),
            "replicas": self.replicas.copy(),
            "counts": self.counts.copy(),
            **self.cells.state(),
            **self.style.state(),
            **{k: v for rows in self.clusters.values() for k, v in rows.state(self.cells.n_cells).items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> Board:
        values = dict(zip(decode_strings(state["config_keys"]), state["config_values"].tolist()))
        values["bootstrap_rounds"] = int(values["bootstrap_rounds"])
        values["seed"] = int(state["config_seed"][0])  # float64 cannot hold every uint64
        board = cls(EloConfig(**values))
        ids = np.asarray(state["competitor"], dtype=np.int32)
        if ids.size:
            board._slot_of = np.full(slot_capacity(int(ids.max()) + 1), -1, dtype=np.int32)
            board._slot_of[ids] = np.arange(ids.shape[0], dtype=np.int32)
            board._add_slots(ids)
            board._ratings[: board._n] = state["ratings"]
            board._replicas[: board._n] = state["replicas"]
            board._counts[: board._n] = state["counts"]
        board.cells = PairCells.from_state(state)
        board.style = StyleRows.from_state(state)
        for kind in CLUSTER_KINDS:
            rows = ClusterCells.from_state(kind, board.cells, state)
            if rows is not None:
                board.clusters[kind] = rows
        board.n_votes, board.last_seq = (int(x) for x in state["counters"])
        # A state saved before boards kept the time has none: it is known again from the next vote.
        board.newest_time = float(state["newest_time"][0]) if "newest_time" in state else NO_TIME
        return board
