"""WatchLeaderboard: the current leaderboard, then an update whenever its ranks change.

Fan-out. Watchers of the same leaderboard request share one ``Publisher``:
a thread that polls the view's last applied seq (one int) and, when it
moved, recomputes the listing once and hands it to every subscriber. Fifty
watchers cost one recomputation per change, not fifty, and the applier
never waits for any of them.

Budget. Recomputing a big view can be expensive (a 1000-round BT bootstrap
of 100 models takes ~0.5 s of a core). A publisher waits at least
``1 / FIT_SHARE`` times its last recomputation before the next, so
watch-driven fits use at most ~5% of a core per watched request, and ingest
keeps its CPU on a small machine. Updates of expensive views therefore
arrive at most every ~10 s; GetLeaderboard still computes on demand.

An update is sent when the order, rank or rank (UB) of the watched rows
(the top k, or every row) changes, or a row enters or leaves them. Rating
moves that change no rank are not sent. A watcher sends at most one message
per its interval; changes within it are coalesced into the latest state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine.fit import ConvergenceError
from server.domain.errors import InvalidArgument, RatingsError, Unavailable
from server.domain.listing import Listing
from server.domain.queries import ListingQuery
from server.service.core import RatingsService

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 1.0  # seconds
MIN_INTERVAL = 0.05
MAX_INTERVAL = 3600.0
POLL_SECONDS = 0.05  # how often a publisher reads its view's seq
FIT_SHARE = 0.05  # at most this share of a core on recomputations for one watched request
MAX_PAUSE_SECONDS = 30.0  # ... but a watched view is never staler than this after a change


class Publisher:
    """Keeps the latest listing of one request, recomputed when its view changes."""

    def __init__(self, service: RatingsService, request: ListingQuery) -> None:
        self._service = service
        self._request = request
        self._changed = threading.Condition()
        self.version = 0  # bumps with every new listing
        self.latest: Listing | None = None
        self.error: Exception | None = None  # set when the view can no longer be computed, or on shutdown
        self.subscribers = 1  # the first; guarded by the hub's lock
        self._thread = threading.Thread(target=self._run, name="watch-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        board, category = self._request.query.board, self._request.query.category
        stopping = self._service.stopping
        last_stamp = None
        while not stopping.is_set() and self.subscribers > 0:
            pause = POLL_SECONDS
            try:
                stamp = self._service.view_stamp(board, category)
                if stamp != last_stamp:
                    started = time.monotonic()
                    shown = self._service.listing(self._request)
                    pause = min(MAX_PAUSE_SECONDS, max(pause, (time.monotonic() - started) / FIT_SHARE))
                    last_stamp = stamp
                    self._publish(shown, None)
            except (RatingsError, ConvergenceError) as exc:  # e.g. the view vanished in a replay: tell, stop
                self._publish(None, exc)
                return
            except Exception as exc:  # noqa: BLE001 - a bug; watchers get INTERNAL, the log the traceback
                log.exception("watch publisher for %s failed", self._request)
                self._publish(None, exc)
                return
            stopping.wait(pause)
        if stopping.is_set():
            self._publish(None, Unavailable("the server is shutting down; watch again once it is back"))

    def _publish(self, shown: Listing | None, error: Exception | None) -> None:
        with self._changed:
            if shown is not None:
                self.latest = shown
                self.version += 1
            self.error = error
            self._changed.notify_all()

    def wait_newer(self, version: int, timeout: float) -> tuple[int, Listing | None]:
        """(version, listing) once there is a listing newer than ``version``, or (version, None) on timeout."""
        with self._changed:
            self._changed.wait_for(lambda: self.version > version or self.error is not None, timeout)
            if self.error is not None:
                raise self.error
            if self.version > version:
                return self.version, self.latest
            return version, None


class WatchHub:
    """The publishers of a service, one per distinct watched request, alive while someone watches."""

    def __init__(self, service: RatingsService) -> None:
        self._service = service
        self._lock = threading.Lock()
        self._publishers: dict[ListingQuery, Publisher] = {}

    @contextmanager
    def subscribe(self, request: ListingQuery):
        with self._lock:
            publisher = self._publishers.get(request)
            if publisher is None or publisher.error is not None:
                publisher = self._publishers[request] = Publisher(self._service, request)
            else:
                publisher.subscribers += 1
        try:
            yield publisher
        finally:
            with self._lock:
                publisher.subscribers -= 1
                if publisher.subscribers == 0 and self._publishers.get(request) is publisher:
                    del self._publishers[request]  # its thread sees no subscribers and ends

    def __len__(self) -> int:
        with self._lock:
            return len(self._publishers)

    def watchers(self) -> int:
        """Subscribers of every publisher: the watch calls open now."""
        with self._lock:
            return sum(publisher.subscribers for publisher in self._publishers.values())


def watch(
    hub: WatchHub,
    service: RatingsService,
    request: ListingQuery,
    top_k: int = 0,
    interval: float = 0.0,
    is_active: Callable[[], bool] = lambda: True,
) -> Iterator[Listing]:
    """Yield the listing now, then each time the watched ranks change, until the caller goes away
    (``is_active()`` false: noticed within POLL_SECONDS, so a cancelled watch frees its thread).

    Ends with Unavailable when the service shuts down (watch again after it restarts).
    """
    if request.as_of is not None:
        raise InvalidArgument("leaderboard.as_of", "a watch follows the live board; ask GetLeaderboard for a snapshot")
    interval = interval or DEFAULT_INTERVAL
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise InvalidArgument("min_interval_seconds", f"{interval} is outside [{MIN_INTERVAL}, {MAX_INTERVAL}] seconds")
    service.view_stamp(request.query.board, request.query.category)  # NOT_FOUND now, not from a thread later
    stopping = service.stopping
    with hub.subscribe(request) as publisher:
        version, last_ranks = 0, None
        while is_active() and not stopping.is_set():
            version, shown = publisher.wait_newer(version, timeout=min(interval, POLL_SECONDS))
            if shown is None:
                continue
            ranks = watched_ranks(shown, top_k)
            if ranks != last_ranks:
                yield shown
                last_ranks = ranks
                # At most one message per interval (the next one is the latest state), but a caller
                # that goes away, or a shutdown, is noticed within POLL_SECONDS.
                resume = time.monotonic() + interval
                while is_active() and not stopping.wait(min(POLL_SECONDS, max(0.0, resume - time.monotonic()))):
                    if time.monotonic() >= resume:
                        break
    if stopping.is_set():
        raise Unavailable("the server is shutting down; watch again once it is back")


def watched_ranks(shown: Listing, top_k: int) -> tuple:
    """What a change is judged by: (model, rank, rank UB) of the watched rows, in order."""
    s = shown.result.standings
    n = len(s) if top_k <= 0 else min(top_k, len(s))
    return tuple(zip(shown.result.models[:n], s.rank[:n].tolist(), s.rank_ub[:n].tolist()))
