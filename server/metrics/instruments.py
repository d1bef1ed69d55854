"""The service's Prometheus instruments, in a registry of its own.

Each RatingsService owns one ``ServiceMetrics`` (``service.metrics``), so every transport records into
the same object, and several services in one process (the tests run many) never share counters: the
instruments live in a ``CollectorRegistry`` of their own, never prometheus_client's global default.

Names follow Prometheus conventions: ``arena_ratings_`` prefix, counters end in ``_total``, durations
are ``_seconds`` histograms, sizes ``_bytes``. Label values are bounded: boards (at most --max-boards),
RPC names, status codes, methods and CI kinds; never a model or a caller.

Cost: the ingest path records one labelled counter update per batch and per call, nothing per vote.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from server.domain.results import Ack
from server.metrics.collector import PREFIX, GaugeSources, ServiceGauges, StateCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST  # of exposition(): the Prometheus text format
TRANSPORTS = ("grpc", "http")
OK = "OK"

# Calls range from a 1 ms ack to streams open for minutes; watches longer still (they land in +Inf).
CALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# A small Elo listing takes ~1 ms; a 1000-round BT bootstrap of a big board, seconds to a minute.
FIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
BATCH_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._accepted = Counter(f"{PREFIX}_votes_accepted", "Votes stored (new vote ids).", ["board"], registry=r)
        self._duplicates = Counter(
            f"{PREFIX}_votes_duplicate", "Votes acknowledged as duplicates of stored vote ids.", ["board"], registry=r
        )
        self._refused_votes = Counter(
            f"{PREFIX}_votes_refused", "Votes in calls refused, by the refusal's status (lower case).", ["reason"],
            registry=r,
        )  # fmt: skip
        self._batches = Counter(f"{PREFIX}_batches", "Vote batches acknowledged.", ["board"], registry=r)
        self._batch_votes = Histogram(
            f"{PREFIX}_batch_votes", "Votes per acknowledged batch (duplicates included).", buckets=BATCH_BUCKETS,
            registry=r,
        )  # fmt: skip
        self._duration = Histogram(
            f"{PREFIX}_request_duration_seconds", "Call duration until the answer (a stream: until it ends).",
            ["rpc", "transport"], buckets=CALL_BUCKETS, registry=r,
        )  # fmt: skip
        self._refused_calls = Counter(
            f"{PREFIX}_calls_refused", "Calls that ended with a status other than OK.", ["rpc", "code", "transport"],
            registry=r,
        )  # fmt: skip
        self._fit = Histogram(
            f"{PREFIX}_fit_duration_seconds",
            "Standings computations: the fit and its confidence intervals (bootstrap rounds included).",
            ["method", "ci"], buckets=FIT_BUCKETS, registry=r,
        )  # fmt: skip
        self._cache_hits = Counter(
            f"{PREFIX}_standings_cache_hits", "Leaderboard queries answered from the standings cache.", registry=r
        )
        self._cache_misses = Counter(
            f"{PREFIX}_standings_cache_misses", "Leaderboard queries that computed their standings.", registry=r
        )
        self._sources = GaugeSources()
        r.register(StateCollector(self._sources))

    # ------------------------------------------------------------------ recording

    def observe_call(self, rpc: str, transport: str, seconds: float, code: str | None, votes: int = 0) -> None:
        """One call ended (any transport): its duration; when refused (``code`` a status name other than OK,
        e.g. "INVALID_ARGUMENT"), the refusal, and the ``votes`` it carried as refused by that reason."""
        self._duration.labels(rpc, transport).observe(seconds)
        if code is None or code.upper() == OK:
            return
        self._refused_calls.labels(rpc, code.upper(), transport).inc()
        if votes > 0:
            self._refused_votes.labels(code.lower()).inc(votes)

    def observe_ack(self, board: str, ack: Ack) -> None:
        """A batch acknowledged by the service (once, whatever the transport)."""
        if ack.accepted:
            self._accepted.labels(board).inc(ack.accepted)
        if ack.duplicates:
            self._duplicates.labels(board).inc(ack.duplicates)
        self._batches.labels(board).inc()
        self._batch_votes.observe(ack.accepted + ack.duplicates)

    def observe_fit(self, method: str, ci: str, seconds: float) -> None:
        self._fit.labels(method, ci).observe(seconds)

    def observe_cache(self, hit: bool) -> None:
        (self._cache_hits if hit else self._cache_misses).inc()

    # ------------------------------------------------------------ scrape-time gauges

    def read_state_from(self, source: Callable[[], ServiceGauges]) -> None:
        """The service's own gauges (lag, queue, checkpoint, boards), read at each scrape."""
        self._sources.service = source

    def count_streams(self, source: Callable[[], int]) -> None:
        """A transport's open streams, read at each scrape (summed over the transports)."""
        self._sources.streams.append(source)

    def count_watchers(self, source: Callable[[], int]) -> None:
        """A transport's leaderboard watchers, read at each scrape (summed over the transports)."""
        self._sources.watchers.append(source)

    # --------------------------------------------------------------------- exposure

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (serve it with ``CONTENT_TYPE``)."""
        return generate_latest(self.registry)
