"""Standings for queries: a live view's or a snapshot's, computed once per change of the view.

The read path goes one way: copy the view's inputs (server.service.versions, under the engine lock),
compute outside every lock (server.service.compute: the engine's fits), keep the result in the
standings cache (server.service.standings_cache). A live view's entry is stamped with the view's last
seq and recomputed when a query finds the view moved past it; a snapshot's never changes.

Single flight: a query that finds the same computation running waits for it and takes its result
if it covers every vote the view had when the query arrived; only then does it start another. On a
board that changes every millisecond, queries therefore share fits instead of queueing one fit each.

No lock of its own: the cache's locks (a key's single-flight lock is held while the inputs are
copied under the engine lock) and the engine lock.
"""

from __future__ import annotations

import time
from dataclasses import replace

from engine import Interner
from server.domain.errors import NotFound
from server.domain.queries import LeaderboardQuery
from server.domain.results import BoardStandings
from server.domain.snapshot_info import SnapshotInfo
from server.metrics import ServiceMetrics
from server.service.compute import compute_standings, copy_inputs
from server.service.config import ServiceConfig
from server.service.snapshot_book import LoadedSnapshots
from server.service.standings_cache import StandingsCache
from server.service.versions import BoardVersions


class Standings:
    def __init__(
        self,
        versions: BoardVersions,
        loaded: LoadedSnapshots,
        interner: Interner,
        config: ServiceConfig,
        metrics: ServiceMetrics,
    ) -> None:
        self.cache = StandingsCache(config.standings_cache_bytes)
        self._versions = versions
        self._loaded = loaded
        self._interner = interner  # the writer's: append-only, safe to read from any thread
        self._config = config
        self._metrics = metrics

    def live(self, query: LeaderboardQuery) -> BoardStandings:
        """The live view's standings over every competitor, as of at least the seq applied now."""
        key = (query.board, *query.cache_key())
        arrival = self._versions.stamp(query.board, query.category)  # NotFound before anything else
        applied = arrival.applied  # the result covers every vote of the view up to here
        with self.cache.single_flight(key):
            cached = self.cache.get(key)
            # A hit: the entry covers the view as the query found it (a waiter of the single flight finds it so too).
            self._metrics.observe_cache(hit=cached is not None and cached.stamp >= arrival.seq)
            if cached is None or cached.stamp < arrival.seq:
                copied = self._versions.copy_inputs(query, self._interner)
                applied = max(applied, copied.applied)
                warm = (query.board, query.category, query.style_control, query.ties)
                started = time.perf_counter()
                result, params = compute_standings(
                    query, copied.inputs, self._interner, self._config.bt, self._config.threads(),
                    self.cache.warm_start(warm, copied.version), style_config=self._config.style,
                )  # fmt: skip
                self._observe_fit(query, time.perf_counter() - started)
                if params is not None:
                    self.cache.keep_warm_start(warm, copied.version, params)
                cached = self.cache.put(key, copied.seq, result)
        result = cached.standings
        return replace(result, standings=replace(result.standings, as_of_seq=max(applied, cached.stamp)))

    def snapshot_has_view(self, snapshot: SnapshotInfo, category: str) -> bool:
        """Whether the snapshot holds ``category``'s view (it had votes tagged so by then)."""
        return self._loaded.views(snapshot).view(category) is not None

    def of_snapshot(self, snapshot: SnapshotInfo, query: LeaderboardQuery) -> BoardStandings:
        """``query`` computed on the snapshot's frozen views (cached: a snapshot never changes)."""
        key = ("snapshot", snapshot.id, *query.cache_key())
        with self.cache.single_flight(key):
            cached = self.cache.get(key)
            self._metrics.observe_cache(hit=cached is not None)
            if cached is None:
                board = self._loaded.views(snapshot).view(query.category)
                if board is None:
                    raise NotFound(
                        f"snapshot {snapshot.name!r} of {snapshot.board!r} has no votes tagged {query.category!r}"
                    )
                inputs = copy_inputs(board, query, self._interner)
                started = time.perf_counter()
                result, _ = compute_standings(
                    query, inputs, self._interner, self._config.bt, self._config.threads(),
                    style_config=self._config.style,
                )  # fmt: skip
                self._observe_fit(query, time.perf_counter() - started)
                cached = self.cache.put(key, snapshot.seq, result)
        result = cached.standings
        return replace(result, standings=replace(result.standings, as_of_seq=snapshot.seq))

    def _observe_fit(self, query: LeaderboardQuery, seconds: float) -> None:
        """The computation's time, by what it ran: Elo's online ratings read out, a BT fit, a style-controlled one."""
        method = "bt_style" if query.style_control else query.method
        self._metrics.observe_fit(method, query.ci, seconds)
