"""Offline replay: the server's computation on a vote file, with no server.

Votes are applied in file order with seqs 1..N, exactly as a server whose
board received the same votes in the same order applies them, and the
leaderboard is computed by the same function the service uses, so the
numbers match the server's (bit for bit for Elo; BT to its tolerance,
since the server warm-starts its fits).
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from tqdm import tqdm

from engine import Board, EloConfig, Interner
from engine.bt import BTConfig
from server import convert
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.service import LeaderboardQuery, compute_standings, copy_inputs
from server.votes import VoteBatch

_CHUNK = 50_000  # votes per engine call: small enough for a lively progress bar


def replay(
    batch: VoteBatch,
    config: EloConfig,
    query: LeaderboardQuery | None = None,
    bt_config: BTConfig | None = None,
    progress: bool = False,
) -> pb.Leaderboard:
    """The leaderboard ``query`` asks for (default: BT, bootstrap CIs) after applying ``batch``."""
    query = query or LeaderboardQuery(batch.board)
    interner = Interner(batch.names)
    competitor_ids = np.array([interner.id_of(name) for name in batch.names], dtype=np.int32)
    model_a = competitor_ids[batch.model_a]
    model_b = competitor_ids[batch.model_b]
    outcome = batch.outcome.astype(np.int8)
    board = Board(config)
    with tqdm(total=len(batch), unit="vote", disable=not progress, desc="replay") as bar:
        for start in range(0, len(batch), _CHUNK):
            stop = min(start + _CHUNK, len(batch))
            board.apply(model_a[start:stop], model_b[start:stop], outcome[start:stop], last_seq=stop)
            bar.update(stop - start)
    inputs = copy_inputs(board, query, interner)
    result, _ = compute_standings(query, inputs, interner, bt_config or BTConfig(), os.cpu_count() or 1)
    return convert.leaderboard_to_pb(replace(result, standings=replace(result.standings, as_of_seq=board.last_seq)))
