"""The online-Elo bootstrap in shards: one task per range of replicas, each applying every vote.

Replica r of the bootstrap depends on the votes in order and on its own Poisson weights, drawn from
hash(seed, vote ordinal, r) (engine.counter_rng), and on nothing else. So a board that keeps only
replicas [lo, hi) (``Board(replicas=range(lo, hi))``), given the same votes in the same order, computes
exactly the columns the whole board computes for them: the same operations on the same numbers. Joined
in replica order, the shards are the single-machine replay's replicas bit for bit.

The votes go to the object store once, as numpy columns (competitor ids, outcome codes, weights);
each node's tasks read them from its store without a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from engine import Board, EloConfig
from engine.board import Keeps
from engine.threads import split
from server.distributed import progress
from server.distributed.cluster import Cluster, ray_module
from server.offline.replay import AppliedVotes

ray = ray_module()

SLICE = 250_000  # votes per kernel call in a shard: a progress report each (~1 s at 125 replicas)
MAX_RETRIES = 3  # Ray runs a task again when its worker dies (a killed process, a lost node)
# Only the replicas: no pair cells, no style rows, no cluster rows.
_REPLICAS_ONLY = Keeps(cells=False, style=False, clusters=())


@dataclass(frozen=True)
class ShardResult:
    competitor_ids: NDArray[np.int32]  # the shard's slot order: the driver checks it is its own
    replicas: NDArray[np.float64]  # [M, hi - lo]


def apply_shard(votes: AppliedVotes, config: EloConfig, replicas: range, report=None) -> ShardResult:
    """Replicas ``replicas`` of the bootstrap over ``votes``, on this thread."""
    board = Board(config, threads=1, keeps=_REPLICAS_ONLY, replicas=replicas)
    n = votes.outcome.shape[0]
    for start in range(0, n, SLICE):
        stop = min(start + SLICE, n)
        # Copies of the slice: the object store's arrays are read-only, and numba compiles a kernel
        # anew for read-only arrays.
        weight = None if votes.weight is None else np.array(votes.weight[start:stop])
        board.apply(
            np.array(votes.competitor_a[start:stop]), np.array(votes.competitor_b[start:stop]),
            np.array(votes.outcome[start:stop]), weight=weight,
        )  # fmt: skip
        if report is not None:
            report(stop)
    return ShardResult(board.competitor_ids.copy(), board.replicas.copy())


ShardFunction = Callable[[AppliedVotes, EloConfig, range, progress.Reporter], ShardResult]


@ray.remote(num_cpus=1, max_retries=MAX_RETRIES)
def _shard_task(
    shard: ShardFunction, votes: AppliedVotes, config: EloConfig, replicas: range, reporter: progress.Reporter
) -> ShardResult:
    return shard(votes, config, replicas, reporter)


def elo_replicas(
    cluster: Cluster,
    votes: AppliedVotes,
    config: EloConfig,
    competitor_ids: NDArray[np.int32],
    shown: bool = False,
    shard: ShardFunction = apply_shard,
) -> NDArray[np.float64]:
    """Every bootstrap replica of ``config`` over ``votes``, float64[M, B] in slot order (``competitor_ids``:
    the driver board's, which applied the same votes), computed in ``cluster.tasks()`` shards, each a task
    running ``shard``."""
    ranges = [range(lo, hi) for lo, hi in split(config.bootstrap_rounds, cluster.tasks())]
    shipped = ray.put(votes)
    tally = progress.new_tally(shown)
    n = int(votes.outcome.shape[0])
    refs = [_shard_task.remote(shard, shipped, config, r, progress.Reporter(tally, i)) for i, r in enumerate(ranges)]
    with tqdm(total=n * len(ranges), unit="vote", unit_scale=True, disable=not shown, desc="elo replicas") as bar:
        shards: list[ShardResult] = progress.gather(refs, bar, tally)
    for result in shards:
        if not np.array_equal(result.competitor_ids, competitor_ids):
            raise RuntimeError("an Elo shard saw its competitors in another order than the replay")
    return np.concatenate([result.replicas for result in shards], axis=1)
