"""WatchLeaderboard: the current leaderboard, then an update whenever its ranks change.

A watcher wakes once per interval, reads the view's last applied seq (one
int, under the engine lock for a moment) and, only when it moved, asks for
the leaderboard. Watchers of one view share the service's cached standings,
so fifty of them cost one fit per change, not fifty, and the applier is
never woken for them: ingest does not slow down as watchers are added
(benchmarks/bench_watch.py measures it).

An update is sent when the order, rank or rank (UB) of the watched rows
(the top k, or every row) changes, or a row enters or leaves them. Rating
moves that change no rank are not sent: with votes arriving every
millisecond they would be a firehose. Changes inside one interval are
coalesced into the one message sent after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from server.errors import InvalidArgument, Unavailable
from server.listing import Listing
from server.queries import ListingQuery
from server.service import RatingsService

DEFAULT_INTERVAL = 1.0  # seconds
MIN_INTERVAL = 0.05


def watch(
    service: RatingsService,
    request: ListingQuery,
    top_k: int = 0,
    interval: float = 0.0,
    is_active: Callable[[], bool] = lambda: True,
) -> Iterator[Listing]:
    """Yield the listing now, then each time the watched ranks change, until the caller goes away.

    Ends with Unavailable when the service shuts down (watch again after it restarts).
    """
    if request.as_of is not None:
        raise InvalidArgument("leaderboard.as_of", "a watch follows the live board; ask GetLeaderboard for a snapshot")
    interval = interval or DEFAULT_INTERVAL
    if not MIN_INTERVAL <= interval <= 3600:
        raise InvalidArgument("min_interval_seconds", f"{interval} is outside [{MIN_INTERVAL}, 3600] seconds")
    board, category = request.query.board, request.query.category
    last_stamp = last_ranks = None
    stopping = service.stopping
    while is_active() and not stopping.is_set():
        stamp = service.view_stamp(board, category)
        if stamp != last_stamp:
            shown = service.listing(request)
            ranks = watched_ranks(shown, top_k)
            if ranks != last_ranks:
                yield shown
                last_ranks = ranks
            last_stamp = stamp
        stopping.wait(interval)
    if stopping.is_set():
        raise Unavailable("the server is shutting down; watch again once it is back")


def watched_ranks(shown: Listing, top_k: int) -> tuple:
    """What a change is judged by: (model, rank, rank UB) of the watched rows, in order."""
    s = shown.result.standings
    n = len(s) if top_k <= 0 else min(top_k, len(s))
    return tuple(zip(shown.result.models[:n], s.rank[:n].tolist(), s.rank_ub[:n].tolist()))
