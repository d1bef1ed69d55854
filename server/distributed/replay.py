"""A replay on a Ray cluster: ``server.offline.replay``'s, with its parallel parts as tasks.

The driver (this process) reads the votes in order, through the filters, into a board that keeps
what the query reads, exactly as the single-machine replay does: that pass gives the point ratings,
the counts, the pair cells and the style rows, and it is O(votes) with a small constant. It runs on a
thread while Ray starts (a local instance takes 2-4 s) and the workers warm up (``workers``). What
costs more than one pass runs on the cluster: the Elo replicas (``elo_shards``), the bootstrap rounds
of every fit (``rounds``), and with several files the reading (``reading``). The leaderboard is then
computed by the same function as on one machine, so the output is the same.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

import numpy as np

from engine import EloConfig
from engine.config import BTConfig, StyleConfig
from server.distributed import elo_shards, workers
from server.distributed.cluster import Cluster
from server.distributed.rounds import RayRounds
from server.domain.filters import VoteFilters
from server.domain.published import PublishedLeaderboard
from server.domain.queries import LeaderboardQuery
from server.domain.votes import VoteBatch
from server.offline.replay import (
    AppliedVotes,
    ReplayedBoard,
    ReplaySummary,
    apply_chunks,
    board_for,
    elo_replicas,
    leaderboard_of,
)

log = logging.getLogger(__name__)

# The votes: read here (on the driver's thread, while Ray starts), or read by the joined cluster's workers.
Votes = Iterable[VoteBatch] | Callable[[Cluster], Iterable[VoteBatch]]


class _Stopped(Exception):
    """The driver's pass was told to stop: joining the cluster failed."""


def joined(parts: list[AppliedVotes]) -> AppliedVotes:
    """The votes of ``parts``, in order, as one set of columns."""
    weight = None
    if any(p.weight is not None for p in parts):
        weight = np.concatenate([np.ones(len(p.outcome)) if p.weight is None else p.weight for p in parts])
    return AppliedVotes(
        np.concatenate([p.competitor_a for p in parts]).astype(np.int32, copy=False),
        np.concatenate([p.competitor_b for p in parts]).astype(np.int32, copy=False),
        np.concatenate([p.outcome for p in parts]),
        weight,
    )


def _until(stop: threading.Event, chunks: Iterable[VoteBatch]) -> Iterator[VoteBatch]:
    for chunk in chunks:
        if stop.is_set():
            raise _Stopped
        yield chunk


def replay_on(
    join: AbstractContextManager[Cluster],
    votes: Votes,
    config: EloConfig,
    query: LeaderboardQuery,
    bt_config: BTConfig | None = None,
    filters: VoteFilters | None = None,
    progress: bool = False,
    style_config: StyleConfig | None = None,
) -> tuple[PublishedLeaderboard, ReplaySummary]:
    """``server.offline.replay.replay_chunks`` on the cluster ``join`` joins (``cluster.connect``): the same
    leaderboard and summary."""
    sharded = elo_replicas(query, config) > 0
    applied: list[AppliedVotes] = []
    # The driver's board computes no replica itself when the shards compute them.
    board = board_for(query, config, replicas=range(0) if sharded else None)

    def driver_pass(chunks: Iterable[VoteBatch]) -> ReplayedBoard:
        return apply_chunks(chunks, board, query, filters, progress, tap=applied.append if sharded else None)

    stop = threading.Event()
    with ThreadPoolExecutor(1, thread_name_prefix="replay-pass") as pool:
        passing = None if callable(votes) else pool.submit(driver_pass, _until(stop, votes))
        started = time.perf_counter()
        try:
            with join as cluster:
                log.info(
                    "joined Ray (%s, %d CPUs) in %.2f s", cluster.address, cluster.cpus, time.perf_counter() - started
                )
                workers.warm(cluster, config, query, bt_config, style_config)
                if passing is not None:
                    replayed = passing.result()
                else:
                    assert callable(votes)
                    replayed = driver_pass(votes(cluster))
                log.info("the driver's pass over %d votes done at %.2f s", board.n_votes, time.perf_counter() - started)
                if sharded:
                    shipped = joined(applied)
                    applied.clear()
                    replicas = elo_shards.elo_replicas(cluster, shipped, board.config, board.competitor_ids, progress)
                    board.install_replicas(replicas)
                    log.info("Elo replicas done at %.2f s", time.perf_counter() - started)
                leaderboard = leaderboard_of(replayed, query, bt_config, style_config, progress, RayRounds(cluster))
                log.info("leaderboard done at %.2f s", time.perf_counter() - started)
        finally:
            stop.set()  # a pass still running (joining failed) stops at its next chunk
    return leaderboard, replayed.summary
