"""Offline replay: the server's computation on vote files, with no server.

Votes are applied in file order with seqs 1..N, exactly as a server whose
board received the same votes in the same order applies them (a category
view: as the server's view of that tag, whose votes are the tagged ones in
order), and the
leaderboard is computed by the same function the service uses, so the
numbers match the server's (bit for bit for Elo; BT to its tolerance,
since the server warm-starts its fits). Files stream through in chunks.
The result is the domain's ``PublishedLeaderboard``, what the exports take:
no protobuf on this path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from tqdm import tqdm

from engine import Board, EloConfig, Interner
from engine.config import BTConfig, StyleConfig
from server.domain.filters import FilterRun, VoteFilters
from server.domain.listing import RowFilters, present
from server.domain.listing_config import ListingConfig
from server.domain.published import PublishedLeaderboard
from server.domain.queries import DEFAULT_BT_ROUNDS, LeaderboardQuery
from server.domain.results import BoardStandings
from server.domain.style_deltas import add_style_deltas
from server.domain.votes import VoteBatch
from server.service.compute import compute_standings, copy_inputs

_SLICE = 50_000  # votes per engine call: small enough for a lively progress bar


@dataclass
class ReplaySummary:
    """How many votes each stage let through: read = skipped + sum(removed) + applied."""

    read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # bad rows dropped by --on-bad-row skip, by reason
    removed: dict[str, int] = field(default_factory=dict)  # by filter
    applied: int = 0

    def as_dict(self) -> dict:
        return {"read": self.read, "skipped": self.skipped, "removed": self.removed, "applied": self.applied}


def replay_chunks(
    chunks: Iterable[VoteBatch],
    config: EloConfig,
    query: LeaderboardQuery,
    bt_config: BTConfig | None = None,
    filters: VoteFilters | None = None,
    progress: bool = False,
    style_config: StyleConfig | None = None,
) -> tuple[PublishedLeaderboard, ReplaySummary]:
    """Apply chunks of votes (through ``filters``) to a fresh board and compute ``query``.

    ``query.category``: only votes carrying that tag count (the category view).
    Offline there is no metadata: every competitor is listed.
    """
    interner = Interner()
    board = Board(config)
    filters = filters or VoteFilters()
    if query.category:
        if filters.tags:
            raise ValueError("a category view is one tag: give the category or tag filters, not both")
        filters = replace(filters, tags=frozenset({query.category}))
    run = FilterRun(filters)
    summary = ReplaySummary()
    with tqdm(unit="vote", disable=not progress, desc="replay") as bar:
        for chunk in chunks:
            summary.read += len(chunk)
            chunk = run.apply(chunk)
            competitor = interner.intern_many(chunk.names)
            model_a, model_b = competitor[chunk.model_a], competitor[chunk.model_b]
            outcome = chunk.outcome.astype(np.int8)
            for start in range(0, len(chunk), _SLICE):
                stop = min(start + _SLICE, len(chunk))
                style = None if chunk.style is None else chunk.style[start:stop]
                board.apply(
                    model_a[start:stop], model_b[start:stop], outcome[start:stop], None, chunk.style_names, style,
                    chunk.timestamp[start:stop],
                )  # fmt: skip
                bar.update(stop - start)
            bar.update(summary.read - bar.n)
    if board.n_votes == 0:
        raise ValueError("no votes left to replay after the filters")
    board.last_seq = board.n_votes
    summary.removed = run.summary()
    summary.applied = board.n_votes
    threads = os.cpu_count() or 1
    rounds = query.rounds or DEFAULT_BT_ROUNDS
    show = progress and query.method == "bt" and query.ci == "bootstrap" and not query.style_control
    with tqdm(total=rounds, unit="round", disable=not show, desc="bootstrap") as bar:
        result, _ = compute_standings(
            query, copy_inputs(board, query, interner), interner, bt_config or BTConfig(), threads,
            progress=bar.update if show else None, style_config=style_config,
        )  # fmt: skip
    result = replace(result, standings=replace(result.standings, as_of_seq=board.last_seq))
    shown = present(result, {}, RowFilters.everything(), ListingConfig(), query.category)

    def standings_of(plain: LeaderboardQuery) -> BoardStandings:
        inputs = copy_inputs(board, plain, interner)
        return compute_standings(plain, inputs, interner, bt_config or BTConfig(), threads)[0]

    shown = add_style_deltas(shown, query, standings_of)
    return PublishedLeaderboard.from_listing(shown), summary


def replay(
    batch: VoteBatch,
    config: EloConfig,
    query: LeaderboardQuery | None = None,
    bt_config: BTConfig | None = None,
) -> PublishedLeaderboard:
    """The leaderboard ``query`` asks for (default: BT, bootstrap CIs) after applying ``batch``."""
    return replay_chunks([batch], config, query or LeaderboardQuery(batch.board), bt_config)[0]
