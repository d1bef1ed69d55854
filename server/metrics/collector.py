"""Gauges read from the service's state when Prometheus scrapes, not kept up to date as it changes.

Queue depth, lag, open streams and board sizes change on every batch or call; reading them at scrape
time (every 15 s or so) costs nothing on the ingest path, where keeping gauges current would cost a
labelled update per batch. The sources are callables the service and its transports register.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from engine.memory import ViewMemory

log = logging.getLogger(__name__)

PREFIX = "arena_ratings"


@dataclass(frozen=True)
class BoardGauges:
    """One live board, all its category views together."""

    name: str
    votes: int
    memory: ViewMemory  # bytes held now (engine.memory): replicas, cells, style rows


@dataclass(frozen=True)
class ServiceGauges:
    """The service's state at one moment (RatingsService reads it for each scrape)."""

    applied_lag_seqs: int  # accepted but not yet applied by the engine
    applied_lag_seconds: float  # how long the oldest unapplied batch has waited since its commit (0: none waits)
    queue_depth: int  # batches committed and queued for the applier
    checkpoint_age_seconds: float | None  # since the newest checkpoint was written; None: there is none
    boards: list[BoardGauges] = field(default_factory=list)


@dataclass
class GaugeSources:
    """Where the scrape-time gauges come from. Streams and watchers are the transports' (summed over them)."""

    service: Callable[[], ServiceGauges] | None = None
    streams: list[Callable[[], int]] = field(default_factory=list)
    watchers: list[Callable[[], int]] = field(default_factory=list)


class StateCollector(Collector):
    def __init__(self, sources: GaugeSources) -> None:
        self._sources = sources

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registering calls describe(); answering nothing keeps it from calling collect() on a half-built service.
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield _gauge("open_streams", "Streaming calls open now (StreamVotes, ReplayVotes, WatchLeaderboard).",
                     sum(count() for count in self._sources.streams))  # fmt: skip
        yield _gauge("watchers", "WatchLeaderboard subscribers now.", sum(count() for count in self._sources.watchers))
        if self._sources.service is None:
            return
        state = self._sources.service()
        yield _gauge("applier_lag_seqs", "Seqs accepted but not yet applied by the engine.", state.applied_lag_seqs)
        yield _gauge("applier_lag_seconds", "How long the oldest unapplied batch has waited since its commit.",
                     state.applied_lag_seconds)  # fmt: skip
        yield _gauge("apply_queue_depth", "Batches committed and queued for the applier.", state.queue_depth)
        if state.checkpoint_age_seconds is not None:
            yield _gauge("checkpoint_age_seconds", "Seconds since the newest engine checkpoint was written.",
                         state.checkpoint_age_seconds)  # fmt: skip
        votes = GaugeMetricFamily(f"{PREFIX}_board_votes", "Votes a live board holds.", labels=["board"])
        memory = GaugeMetricFamily(
            f"{PREFIX}_board_memory_bytes", "Bytes a live board's views hold, by kind.", labels=["board", "kind"]
        )
        for board in state.boards:
            votes.add_metric([board.name], board.votes)
            memory.add_metric([board.name, "replicas"], board.memory.replicas)
            memory.add_metric([board.name, "cells"], board.memory.cells)
            memory.add_metric([board.name, "style"], board.memory.style)
        yield votes
        yield memory


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)
