"""Offline replay: the server's computation on a vote file, with no server.

Votes are applied in file order with seqs 1..N, exactly as a server whose
board received the same votes in the same order applies them, so the
numbers are identical (tests/test_service.py checks).
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from engine import EloBoard, EloConfig, Interner
from server import convert
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.service import BoardStandings
from server.votes import VoteBatch

_CHUNK = 50_000  # votes per engine call: small enough for a lively progress bar


def replay(batch: VoteBatch, config: EloConfig, progress: bool = False) -> pb.Leaderboard:
    interner = Interner(batch.names)
    competitor_ids = np.array([interner.id_of(name) for name in batch.names], dtype=np.int32)
    model_a = competitor_ids[batch.model_a]
    model_b = competitor_ids[batch.model_b]
    outcome = batch.outcome.astype(np.int8)
    board = EloBoard(config)
    with tqdm(total=len(batch), unit="vote", disable=not progress, desc="replay") as bar:
        for start in range(0, len(batch), _CHUNK):
            stop = min(start + _CHUNK, len(batch))
            board.apply(model_a[start:stop], model_b[start:stop], outcome[start:stop], last_seq=stop)
            bar.update(stop - start)
    standings = board.standings()
    models = [interner.name(int(i)) for i in standings.competitor_ids]
    return convert.leaderboard_to_pb(BoardStandings(batch.board, standings, models), pb.ELO)
