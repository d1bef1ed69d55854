"""Leaderboards as the published JSON feed, and a cache of their encoded bytes.

A published page asks for the same few views over and over while votes stream in. Encoding a listing
(rows to a protobuf message, to the feed, to JSON) costs ~3 ms of Python for 100 models, on the threads
that also decode the gRPC ingest; ``Feeds`` keeps each request's encoded answer until what it depends on
changes (``RatingsService.listing_stamp``: the view's last vote, the competitors' metadata, the snapshot
registry), and answers a repeat from the event loop without a worker thread. A request with ``min_seq``
(read your writes) always computes. The cache holds at most ``max_bytes``, least recently used dropped
first; a cached answer's ``as_of`` is when it was encoded.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

from server.files import export
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc import convert
from server.service.core import ListingStamp

from .calls import CallContext, Caller, Rpcs

DEFAULT_MAX_BYTES = 32 * 1024 * 1024


def feed(message: pb.Leaderboard) -> dict:
    """The published feed (``arena-ratings/leaderboard/v1``), what ``--format json`` prints."""
    return export.feed(message)


def encode(message: pb.Leaderboard) -> bytes:
    return json.dumps(feed(message), separators=(",", ":")).encode()


class Feeds:
    def __init__(self, rpcs: Rpcs, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._rpcs = rpcs
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[ListingStamp, bytes]] = OrderedDict()  # by the request
        self._bytes = 0

    def cached(self, request: pb.LeaderboardRequest, key: Hashable, caller: Caller) -> bytes | None:
        """The encoded answer to ``request`` if it is still what computing it would give, else None (then
        ``compute``). Admitted as GetLeaderboard, counted as one when it answers; quick enough for the event
        loop."""
        if request.min_seq:
            return None
        started = time.monotonic()
        with self._rpcs.admitted("GetLeaderboard", caller):
            stamp = self._stamp(request)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry[0].same_as(stamp):
                return None
            self._entries.move_to_end(key)
        self._rpcs.observe("GetLeaderboard", started, None, 0)
        return entry[1]

    def compute(self, request: pb.LeaderboardRequest, key: Hashable, caller: Caller) -> bytes:
        """The encoded answer, computed by GetLeaderboard, and kept for the next identical request."""

        def work(context: CallContext) -> tuple[ListingStamp, pb.Leaderboard]:
            # The stamp read before computing: if the view moves meanwhile, the next request recomputes.
            return self._stamp(request), self._rpcs.servicer.GetLeaderboard(request, context)

        stamp, message = self._rpcs.run("GetLeaderboard", caller, work)
        body = encode(message)
        self._keep(key, stamp, body)
        return body

    def _stamp(self, request: pb.LeaderboardRequest) -> ListingStamp:
        query = convert.listing_query_from_pb(request).query  # invalid requests fail here, as GetLeaderboard would
        return self._rpcs.service.listing_stamp(query.board, query.category)

    def _keep(self, key: Hashable, stamp: ListingStamp, body: bytes) -> None:
        if len(body) > self._max_bytes // 4:
            return  # a huge page would push out every other view
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._entries[key] = (stamp, body)
            self._bytes += len(body)
            while self._bytes > self._max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)
