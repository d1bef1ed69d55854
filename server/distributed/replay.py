"""A replay on a Ray cluster: ``server.offline.replay``'s, with its parallel parts as tasks.

The driver (this process) reads the votes in order, through the filters, into a board that keeps
what the query reads, exactly as the single-machine replay does: that pass gives the point ratings,
the counts, the pair cells and the style rows, and it is O(votes) with a small constant. What costs
more than one pass runs on the cluster: the Elo replicas (``elo_shards``), the bootstrap rounds of
every fit (``rounds``), and with several files the reading (``reading``). The leaderboard is then
computed by the same function as on one machine, so the output is the same.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from engine import EloConfig
from engine.config import BTConfig, StyleConfig
from server.distributed import elo_shards
from server.distributed.cluster import Cluster
from server.distributed.rounds import RayRounds
from server.domain.filters import VoteFilters
from server.domain.published import PublishedLeaderboard
from server.domain.queries import LeaderboardQuery
from server.domain.votes import VoteBatch
from server.offline.replay import (
    AppliedVotes,
    ReplaySummary,
    apply_chunks,
    board_for,
    elo_replicas,
    leaderboard_of,
)


def joined(parts: list[AppliedVotes]) -> AppliedVotes:
    """The votes of ``parts``, in order, as one set of columns."""
    weighted = any(p.weight is not None for p in parts)
    return AppliedVotes(
        np.concatenate([p.competitor_a for p in parts]).astype(np.int32, copy=False),
        np.concatenate([p.competitor_b for p in parts]).astype(np.int32, copy=False),
        np.concatenate([p.outcome for p in parts]),
        np.concatenate([np.ones(len(p.outcome)) if p.weight is None else p.weight for p in parts])
        if weighted
        else None,
    )


def replay_on(
    cluster: Cluster,
    chunks: Iterable[VoteBatch],
    config: EloConfig,
    query: LeaderboardQuery,
    bt_config: BTConfig | None = None,
    filters: VoteFilters | None = None,
    progress: bool = False,
    style_config: StyleConfig | None = None,
) -> tuple[PublishedLeaderboard, ReplaySummary]:
    """``server.offline.replay.replay_chunks`` on ``cluster``: the same leaderboard and summary."""
    sharded = elo_replicas(query, config) > 0
    applied: list[AppliedVotes] = []
    # The driver's board computes no replica itself when the shards compute them.
    board = board_for(query, config, replicas=range(0) if sharded else None)
    replayed = apply_chunks(chunks, board, query, filters, progress, tap=applied.append if sharded else None)
    if sharded:
        votes = joined(applied)
        applied.clear()
        replicas = elo_shards.elo_replicas(cluster, votes, board.config, board.competitor_ids, progress)
        board.install_replicas(replicas)
    leaderboard = leaderboard_of(replayed, query, bt_config, style_config, progress, RayRounds(cluster))
    return leaderboard, replayed.summary
