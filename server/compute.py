"""Standings from a board: copy what a query reads (cheap, under the engine lock), then compute
(outside it). The service and the offline replay share these, so their numbers agree."""

from __future__ import annotations

import numpy as np

from engine import Board, EloConfig, Interner, Standings, bt
from engine.bt import BTConfig, BTQuery
from engine.scale import RatingScale
from server.errors import NotFound
from server.queries import DEFAULT_BT_ROUNDS, LeaderboardQuery
from server.results import BoardStandings


def copy_inputs(board: Board, query: LeaderboardQuery, interner: Interner) -> tuple:
    """What computing ``query`` reads, copied (under the engine lock in the service): O(cells) for BT."""
    if query.method == "elo":
        return (board.snapshot(),)
    anchor_slot = None
    if query.anchor_model is not None:
        anchor_id = interner.id_of(query.anchor_model)
        anchor_slot = None if anchor_id is None else board.slot_of(anchor_id)
        if anchor_slot is None:
            raise NotFound(f"anchor.model: {query.anchor_model!r} has no votes on board {query.board!r}")
    return (
        board.cell_table(),
        board.counts.copy(),
        board.competitor_ids.copy(),
        board.config,
        anchor_slot,
        board.n_votes,
    )


def compute_standings(
    query: LeaderboardQuery,
    inputs: tuple,
    interner: Interner,
    bt_config: BTConfig,
    threads: int,
    theta0: np.ndarray | None = None,
    progress=None,
) -> tuple[BoardStandings, np.ndarray | None]:
    """The standings for ``query`` from copy_inputs(); also the BT fit's theta (the next warm start).

    ``progress(n)`` reports BT bootstrap rounds as they finish.
    """
    if query.method == "elo":
        standings = inputs[0].elo_standings()
        return BoardStandings(query.board, standings, _names(interner, standings), "elo", "bootstrap"), None
    table, counts, ids, elo_config, anchor_slot, n_votes = inputs
    bt_query = BTQuery(
        ci=query.ci,
        rounds=query.rounds or DEFAULT_BT_ROUNDS,
        seed=elo_config.seed,
        anchor_slot=anchor_slot,
        anchor_rating=query.anchor_rating,
    )
    standings, fit = bt.standings(
        table,
        counts,
        ids,
        bt_config,
        bt_query,
        scale=RatingScale(elo_config.scale, elo_config.base, elo_config.initial),
        threads=threads,
        total_votes=n_votes,
        theta0=theta0,
        progress=progress,
    )
    anchor = None if anchor_slot is None else (query.anchor_model, query.anchor_rating)
    result = BoardStandings(
        query.board, standings, _names(interner, standings), "bt", query.ci, anchor, fit.log_likelihood
    )
    return result, fit.theta


def win_probability(rating_a, rating_b, config: EloConfig):
    """P(a beats b) on the rating scale: ratings are theta * scale / ln(base) + c, so this is the BT model's."""
    return 1.0 / (1.0 + config.base ** ((rating_b - rating_a) / config.scale))


def _names(interner: Interner, standings: Standings) -> list[str]:
    return [interner.name(int(i)) for i in standings.competitor_ids]
