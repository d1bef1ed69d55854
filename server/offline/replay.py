"""Offline replay: the server's computation on vote files, with no server.

Votes are applied in file order with seqs 1..N, exactly as a server whose
board received the same votes in the same order applies them (a category
view: as the server's view of that tag, whose votes are the tagged ones in
order), and the
leaderboard is computed by the same function the service uses, so the
numbers match the server's (bit for bit for Elo; BT to its tolerance,
since the server warm-starts its fits). Files stream through in chunks.

Unlike the server, which keeps every structure because it answers every query, a replay builds
only what its one query reads (``board_for``): a BT query keeps pair cells and no Elo replicas, an
Elo query keeps replicas only for its CI and no cells, and style rows are kept only for style
control.
The result is the domain's ``PublishedLeaderboard``, what the exports take:
no protobuf on this path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from engine import Board, EloConfig, Interner
from engine.board import Keeps
from engine.clusters import batch_clusters
from engine.config import BTConfig, StyleConfig
from engine.fit import RoundRunner
from server.domain.filters import FilterRun, VoteFilters, needed_fields
from server.domain.listing import RowFilters, present
from server.domain.listing_config import ListingConfig
from server.domain.published import PublishedLeaderboard
from server.domain.queries import DEFAULT_BT_ROUNDS, LeaderboardQuery, check_query
from server.domain.results import BoardStandings
from server.domain.style_deltas import add_style_deltas
from server.domain.votes import VoteBatch
from server.service.compute import compute_standings, copy_inputs

# the vote-file column each cluster kind reads
CLUSTER_FIELDS = {"voter": "judge", "prompt": "prompt_id"}
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


def offline_query(
    board: str,
    method: str = "bt",
    ci: str = "bootstrap",
    rounds: int = 0,
    anchor: tuple[str, float] | None = None,
    category: str = "",
    style_control: bool = False,
    ties: str = "half",
    cluster: str = "none",
) -> LeaderboardQuery:
    """A replay's query, under the rules the service applies to a request (raises QueryRuleError)."""
    check_query(method, ci, rounds, anchor is not None, style_control, ties, cluster)
    return LeaderboardQuery(
        board, method=method, ci=ci, rounds=rounds, anchor_model=anchor[0] if anchor else None,
        anchor_rating=anchor[1] if anchor else 1000.0, category=category, style_control=style_control, ties=ties,
        cluster=cluster,
    )  # fmt: skip


def read_fields(query: LeaderboardQuery, filters: VoteFilters, tags: bool = False) -> frozenset[str]:
    """The optional vote-file columns a replay of ``query`` through ``filters`` reads (with ``tags``, the
    tags too: every category view is computed)."""
    fields = needed_fields(filters, bool(query.category) or tags, query.style_control)
    return fields | {CLUSTER_FIELDS[query.cluster]} if query.cluster != "none" else fields


def board_for(query: LeaderboardQuery, config: EloConfig, pairs: bool = False, replicas: range | None = None) -> Board:
    """A fresh board that keeps what ``query`` reads and nothing else; with ``pairs``, also the pair
    cells (a head-to-head reads them). ``replicas``: the Elo replicas it computes itself, when not all of
    them (a distributed replay computes them in shards and installs them, server.distributed)."""
    elo = query.method == "elo"
    rounds = config.bootstrap_rounds if elo and query.ci == "bootstrap" else 0
    keeps = Keeps(
        cells=pairs or not elo, style=query.style_control, clusters=() if query.cluster == "none" else (query.cluster,)
    )
    return Board(replace(config, bootstrap_rounds=rounds), keeps=keeps, replicas=replicas if rounds else None)


def elo_replicas(query: LeaderboardQuery, config: EloConfig) -> int:
    """How many Elo bootstrap replicas a replay of ``query`` computes (0: none)."""
    return config.bootstrap_rounds if query.method == "elo" and query.ci == "bootstrap" else 0


@dataclass(frozen=True)
class AppliedVotes:
    """Votes as a board was given them, after the filters: competitor ids (the replay's interner's),
    outcome codes and weights (None: all 1), in order."""

    competitor_a: NDArray[np.int32]
    competitor_b: NDArray[np.int32]
    outcome: NDArray[np.int8]
    weight: NDArray[np.float64] | None


@dataclass
class ReplayedBoard:
    """A replay's board before any query is computed on it, and the names of its competitors."""

    board: Board
    interner: Interner
    summary: ReplaySummary


def apply_chunks(
    chunks: Iterable[VoteBatch],
    board: Board,
    query: LeaderboardQuery,
    filters: VoteFilters | None = None,
    progress: bool = False,
    tap: Callable[[AppliedVotes], object] | None = None,
) -> ReplayedBoard:
    """Apply chunks of votes (through ``filters``, and the category of ``query``) to ``board``.

    ``query.category``: only votes carrying that tag count (the category view). ``tap``, if given, sees
    each chunk's votes as the board is given them (a distributed replay ships them to its Elo shards).
    """
    interner = Interner()
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
            if tap is not None:
                tap(AppliedVotes(model_a, model_b, outcome, chunk.weight))
            for start in range(0, len(chunk), _SLICE):
                stop = min(start + _SLICE, len(chunk))
                style = None if chunk.style is None else chunk.style[start:stop]
                weight = None if chunk.weight is None else chunk.weight[start:stop]
                clusters = None
                if board.keeps.clusters:
                    clusters = batch_clusters(chunk.voter_id[start:stop], chunk.prompt_id[start:stop])
                board.apply(
                    model_a[start:stop], model_b[start:stop], outcome[start:stop], None, chunk.style_names, style,
                    chunk.timestamp[start:stop], weight, clusters,
                )  # fmt: skip
                bar.update(stop - start)
            bar.update(summary.read - bar.n)
    if board.n_votes == 0:
        raise ValueError("no votes left to replay after the filters")
    board.last_seq = board.n_votes
    summary.removed = run.summary()
    summary.applied = board.n_votes
    return ReplayedBoard(board, interner, summary)


def standings_of(
    replayed: ReplayedBoard,
    query: LeaderboardQuery,
    bt_config: BTConfig | None = None,
    style_config: StyleConfig | None = None,
    progress: bool = False,
    runner: RoundRunner | None = None,
) -> BoardStandings:
    """``query``'s standings on a replayed board, computed as the service computes them (bootstrap rounds
    on ``runner`` when given: a distributed replay's)."""
    board, interner = replayed.board, replayed.interner
    rounds = query.rounds or DEFAULT_BT_ROUNDS
    show = progress and query.method == "bt" and query.ci == "bootstrap" and not query.style_control
    with tqdm(total=rounds, unit="round", disable=not show, desc="bootstrap") as bar:
        result, _ = compute_standings(
            query, copy_inputs(board, query, interner), interner, bt_config or BTConfig(), os.cpu_count() or 1,
            progress=bar.update if show else None, style_config=style_config, runner=runner,
        )  # fmt: skip
    return replace(result, standings=replace(result.standings, as_of_seq=board.last_seq))


def leaderboard_of(
    replayed: ReplayedBoard,
    query: LeaderboardQuery,
    bt_config: BTConfig | None = None,
    style_config: StyleConfig | None = None,
    progress: bool = False,
    runner: RoundRunner | None = None,
) -> PublishedLeaderboard:
    """``query``'s leaderboard on a replayed board, as published (offline there is no metadata: every
    competitor is listed)."""
    result = standings_of(replayed, query, bt_config, style_config, progress, runner)
    shown = present(result, {}, RowFilters.everything(), ListingConfig(), query.category)
    shown = add_style_deltas(shown, query, lambda plain: standings_of(replayed, plain, bt_config, runner=runner))
    return PublishedLeaderboard.from_listing(shown)


def replay_chunks(
    chunks: Iterable[VoteBatch],
    config: EloConfig,
    query: LeaderboardQuery,
    bt_config: BTConfig | None = None,
    filters: VoteFilters | None = None,
    progress: bool = False,
    style_config: StyleConfig | None = None,
) -> tuple[PublishedLeaderboard, ReplaySummary]:
    """Apply chunks of votes (through ``filters``) to a fresh board that keeps what ``query`` reads,
    and compute ``query``."""
    replayed = apply_chunks(chunks, board_for(query, config), query, filters, progress)
    return leaderboard_of(replayed, query, bt_config, style_config, progress), replayed.summary


def replay(
    batch: VoteBatch,
    config: EloConfig,
    query: LeaderboardQuery | None = None,
    bt_config: BTConfig | None = None,
) -> PublishedLeaderboard:
    """The leaderboard ``query`` asks for (default: BT, bootstrap CIs) after applying ``batch``."""
    return replay_chunks([batch], config, query or LeaderboardQuery(batch.board), bt_config)[0]
