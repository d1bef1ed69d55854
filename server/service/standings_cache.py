"""The standings cache: computed leaderboards, kept until their view changes, bounded in bytes, with single flight.

A query's standings cost a fit (a 1000-round BT bootstrap of a big board takes seconds), so the service keeps
them per key (the view and every query option that changes the numbers) and concurrent queries for one key
share one computation. Keys are chosen by clients: every distinct anchor rating, category, rounds or snapshot
is a key of its own. So both things kept per key are bounded:

- entries, by an LRU budget in bytes: each entry's size is estimated from its arrays and model names, and the
  least recently used entries go once the total exceeds the budget. An entry larger than the whole budget is
  returned to its caller but not kept.
- the per-key single-flight locks, by reference counting: a key's lock exists only while someone holds it or
  waits for it, so the lock map holds at most one lock per query in progress.

Beside the entries it keeps each (board, category, style control)'s last fitted parameters, the next fit's
warm start: one array per key (not counted in the budget), tagged with the board version it was fitted on,
since a replayed version numbers its competitors differently.

The cache's own lock guards the entries, the flights and the warm starts; it is held for dictionary work
only, never during a computation, and nothing else is locked under it (a leaf). Lock order: a key's
single-flight lock is held while the computation takes the engine lock (server.service.versions) to copy
its inputs, never the reverse.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

import numpy as np

from server.domain.results import BoardStandings

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# Python objects around an entry's arrays: the BoardStandings and Standings objects, 11 array headers,
# the key tuple and the dict slot. Measured with tracemalloc at about 2 KB; rounded up.
_ENTRY_OVERHEAD_BYTES = 2048


def standings_bytes(result: BoardStandings) -> int:
    """Estimated memory of one cached result: its arrays, its model names (as str objects, with the list's
    pointers), its style coefficients, and a fixed overhead for the objects around them."""
    s = result.standings
    arrays = sum(value.nbytes for f in fields(s) if isinstance(value := getattr(s, f.name), np.ndarray))
    names = sum(sys.getsizeof(name) + 8 for name in result.models)
    coefficients = 200 * len(result.style_coefficients)
    return _ENTRY_OVERHEAD_BYTES + arrays + names + coefficients


@dataclass(frozen=True)
class CachedStandings:
    stamp: int  # the view's last seq these standings cover
    standings: BoardStandings
    nbytes: int  # standings_bytes(standings)


@dataclass(frozen=True)
class CacheStats:
    entries: int
    nbytes: int  # the sum of the kept entries' estimates
    max_bytes: int
    keys_in_flight: int  # keys whose single-flight lock someone holds or waits for
    evictions: int  # entries dropped for room since the start


@dataclass(frozen=True)
class _WarmStart:
    version: int  # the board version the parameters were fitted on
    params: np.ndarray


@dataclass
class _Flight:
    lock: threading.Lock
    users: int = 0  # holders and waiters; guarded by the cache's lock


class StandingsCache:
    """LRU-by-bytes map from a query key to its latest standings, plus single flight per key.

    Use::

        with cache.single_flight(key):
            cached = cache.get(key)
            if cached is None or cached.stamp < view_stamp:
                cached = cache.put(key, view_stamp, compute())
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError(f"the standings cache needs a budget of at least 1 byte, got {max_bytes}")
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, CachedStandings] = OrderedDict()  # least recently used first
        self._nbytes = 0
        self._evictions = 0
        self._flights: dict[Hashable, _Flight] = {}
        self._warm: dict[Hashable, _WarmStart] = {}

    @contextmanager
    def single_flight(self, key: Hashable) -> Iterator[None]:
        """Hold ``key``'s lock for the block: callers with the same key run one at a time, so the first
        computes and the others find its result; other keys are not held up."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = _Flight(threading.Lock())
            flight.users += 1
        try:
            with flight.lock:
                yield
        finally:
            with self._lock:
                flight.users -= 1
                if flight.users == 0:
                    del self._flights[key]  # nobody holds or waits: the next caller makes a new one

    def get(self, key: Hashable) -> CachedStandings | None:
        """The key's entry (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, stamp: int, standings: BoardStandings) -> CachedStandings:
        """Keep ``standings`` as the key's entry (replacing any), evicting the least recently used entries
        past the budget; returns the entry, which is not kept when it alone exceeds the budget."""
        entry = CachedStandings(stamp, standings, standings_bytes(standings))
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._nbytes -= old.nbytes
            if entry.nbytes > self.max_bytes:
                log.warning(
                    "standings of %s (~%d bytes) exceed the whole standings cache (%d bytes); not cached: "
                    "raise --standings-cache-mb", key, entry.nbytes, self.max_bytes,
                )  # fmt: skip
                return entry
            self._entries[key] = entry
            self._nbytes += entry.nbytes
            while self._nbytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._nbytes -= evicted.nbytes
                self._evictions += 1
        return entry

    def warm_start(self, key: Hashable, version: int) -> np.ndarray | None:
        """The parameters last kept for ``key`` if they were fitted on board version ``version``."""
        with self._lock:
            kept = self._warm.get(key)
            return kept.params if kept is not None and kept.version == version else None

    def keep_warm_start(self, key: Hashable, version: int, params: np.ndarray) -> None:
        with self._lock:
            self._warm[key] = _WarmStart(version, params)

    def forget(self, board: str) -> None:
        """Drop a deleted board's live entries and warm starts (keys that begin with its name)."""
        with self._lock:
            for key in [k for k in self._entries if isinstance(k, tuple) and k[:1] == (board,)]:
                self._nbytes -= self._entries.pop(key).nbytes
            for key in [k for k in self._warm if isinstance(k, tuple) and k[:1] == (board,)]:
                del self._warm[key]

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(len(self._entries), self._nbytes, self.max_bytes, len(self._flights), self._evictions)
