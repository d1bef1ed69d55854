"""Workers made ready while the driver reads: imports and kernels loaded before the first real task.

A new Ray worker spends about a second importing the project and numba, then loads each kernel from
numba's cache on its first call (about 0.5 s more on this machine; seconds when a node compiles it
the first time). ``warm`` gives each CPU a task that replays a tiny board through the same query, so
the kernels the real tasks call meet the same argument types, while the driver makes its pass over
the votes: that cost is then hidden instead of added.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from engine import EloConfig
from engine.config import BTConfig, StyleConfig
from server.distributed.cluster import Cluster, ray_module
from server.distributed.elo_shards import apply_shard
from server.domain.queries import LeaderboardQuery
from server.domain.votes import VoteBatch
from server.offline.replay import AppliedVotes, replay_chunks

ray = ray_module()
log = logging.getLogger(__name__)

_MODELS = 8
_TAG = "tagged"


def tiny_batch(query: LeaderboardQuery) -> VoteBatch:
    """Every ordered pair of a few competitors, twice, with whatever columns ``query`` reads (its
    category's tag, style features, voter and prompt ids): each competitor wins and loses."""
    pairs = [(i, j) for i in range(_MODELS) for j in range(_MODELS) if i != j] * 2
    n = len(pairs)
    outcome = np.where(np.arange(n) % 3 == 0, 1, np.where(np.arange(n) % 3 == 1, 2, 3))
    rng = np.random.default_rng(0)
    return VoteBatch(
        board=query.board, vote_id=[], names=[f"m{i}" for i in range(_MODELS)],
        model_a=np.array([a for a, _ in pairs], dtype=np.int64),
        model_b=np.array([b for _, b in pairs], dtype=np.int64),
        outcome=outcome.astype(np.int64), timestamp=np.full(n, np.nan),
        voter_id=[f"v{i % 5}" for i in range(n)], prompt_id=[f"p{i % 7}" for i in range(n)],
        tag_count=np.ones(n, dtype=np.int64), tags=[query.category or _TAG] * n,
        style_names=["tokens"] if query.style_control else [],
        style=rng.gamma(4.0, 100.0, (n, 2)) if query.style_control else None,
    )  # fmt: skip


@ray.remote(num_cpus=1, max_retries=0)
def _warm_task(
    config: EloConfig, query: LeaderboardQuery, bt_config: BTConfig | None, style: StyleConfig | None
) -> None:
    try:
        _replay_tiny(config, query, bt_config, style)
    except Exception as exc:  # noqa: BLE001 - a warm-up that fails costs the real task its load, nothing else
        log.debug("warm-up: %s", exc)


def _replay_tiny(config: EloConfig, query: LeaderboardQuery, bt_config: BTConfig | None,
                 style: StyleConfig | None) -> None:  # fmt: skip
    batch = tiny_batch(query)
    if query.method == "elo":
        ids = batch.model_a.astype(np.int32), batch.model_b.astype(np.int32)
        apply_shard(AppliedVotes(*ids, batch.outcome.astype(np.int8), None), replace(config, bootstrap_rounds=2),
                    range(2))  # fmt: skip
    else:
        replay_chunks([batch], config, replace(query, rounds=2), bt_config, style_config=style)


def warm(cluster: Cluster, config: EloConfig, query: LeaderboardQuery, bt_config: BTConfig | None,
         style: StyleConfig | None) -> None:  # fmt: skip
    """A warm-up task for each of ``cluster``'s CPUs, not waited for: real tasks queue behind them."""
    for _ in range(cluster.tasks()):
        _warm_task.remote(config, query, bt_config, style)
