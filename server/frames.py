"""The notebook API: leaderboards from a DataFrame of votes, as ``arena-ratings replay`` makes them.

    import polars as pl
    from server.frames import leaderboard, head_to_head

    votes = pl.read_parquet("battles.parquet")  # model_a, model_b, winner, and any other file columns
    board = leaderboard(votes, method="bt", ci="bootstrap", rounds=1000)

A DataFrame here is a vote file's rows: the same columns (``--col``-style renames in ``columns``),
the same checks (a bad row is a ValueError naming it), the same filters, and the same replay
(server.offline.replay), so a notebook and the command line give the same numbers. Only the columns
the query reads are used. polars, pandas and Arrow tables are taken; results are polars DataFrames.
This module imports the engine and polars, not the service (no gRPC).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from engine import EloConfig
from engine.config import BTConfig, StyleConfig
from server.domain.errors import InvalidArgument
from server.domain.filters import VoteFilters
from server.domain.limits import DEFAULT_BOARD
from server.domain.pairs import pair_matrix_of
from server.files.export import rows_frame
from server.files.votefile import ReadOptions, iter_frame_votes
from server.offline import replay

__all__ = ["head_to_head", "leaderboard"]


@dataclass(frozen=True)
class _Replay:
    """A replay's inputs from the keyword arguments: the query and how votes are read and fitted."""

    query: replay.LeaderboardQuery
    elo: EloConfig
    bt: BTConfig
    style: StyleConfig
    filters: VoteFilters
    read: ReadOptions


def _replay_of(
    method: str,
    ci: str,
    rounds: int,
    category: str | None,
    style_control: bool,
    anchor: tuple[str, float] | None,
    seed: int,
    bootstrap: int,
    filters: VoteFilters | None,
    columns: dict[str, str] | None,
    on_bad_row: str,
    elo_config: EloConfig | None,
    bt_config: BTConfig | None,
    style_config: StyleConfig | None,
    ties: str = "half",
    cluster: str = "none",
) -> _Replay:
    try:
        query = replay.offline_query(
            DEFAULT_BOARD, method, ci, rounds if method == "bt" else 0, anchor, category or "", style_control, ties,
            cluster,
        )
    except InvalidArgument as exc:
        raise ValueError(str(exc)) from None
    filters = filters or VoteFilters()
    elo = replace(elo_config or EloConfig(), seed=seed, bootstrap_rounds=bootstrap)
    read = ReadOptions(columns=dict(columns or {}), on_bad_row=on_bad_row, vote_ids=filters.dedupe,
                       fields=replay.read_fields(query, filters))  # fmt: skip
    return _Replay(query, elo, bt_config or BTConfig(), style_config or StyleConfig(), filters, read)


def _polars(votes: Any) -> pl.DataFrame:
    """polars, pandas or Arrow votes as a polars DataFrame (pandas and pyarrow are never imported here)."""
    if isinstance(votes, pl.DataFrame):
        return votes
    if isinstance(votes, pl.LazyFrame):
        return votes.collect()
    module = type(votes).__module__.split(".")[0]
    if module == "pandas":
        return pl.from_pandas(votes)
    if module == "pyarrow":
        frame = pl.from_arrow(votes)
        if isinstance(frame, pl.DataFrame):
            return frame
    raise TypeError(f"votes must be a polars or pandas DataFrame or an Arrow table, not {type(votes).__name__}")


def _replayed(votes: Any, spec: _Replay, pairs: bool = False) -> replay.ReplayedBoard:
    board = replay.board_for(spec.query, spec.elo, pairs)
    try:
        return replay.apply_chunks(iter_frame_votes(_polars(votes), DEFAULT_BOARD, spec.read), board, spec.query,
                                   spec.filters)  # fmt: skip
    except InvalidArgument as exc:  # e.g. a filter that needs a column the votes do not have
        raise ValueError(str(exc)) from None


def leaderboard(
    votes: Any,
    method: str = "bt",
    ci: str = "bootstrap",
    rounds: int = 1000,
    category: str | None = None,
    style_control: bool = False,
    anchor: tuple[str, float] | None = None,
    seed: int = 0,
    bootstrap: int = 1000,
    *,
    filters: VoteFilters | None = None,
    columns: dict[str, str] | None = None,
    on_bad_row: str = "error",
    elo_config: EloConfig | None = None,
    bt_config: BTConfig | None = None,
    style_config: StyleConfig | None = None,
    ties: str = "half",
    cluster: str = "none",
) -> pl.DataFrame:
    """The leaderboard of ``votes``, best first: one row per competitor with the JSON feed's row
    columns (``rank``, ``rank_ub``, ``model``, ``rating``, ``rating_lower``, ``rating_upper``,
    ``votes``, ``wins``, ...) and the board-level ``render.BOARD_COLUMNS`` (``board``, ``method``, ``ci``,
    ``tie_model``, ``cluster``, ``as_of_seq``), as the CSV and Parquet exports have them.

    ``method``: "bt" (Bradley–Terry; ``ci`` "bootstrap" with ``rounds``, "sandwich" or "none") or
    "elo" (online Elo; ``ci`` "bootstrap" from ``bootstrap`` replicas, or "none"). ``category``: the
    view of the votes carrying that tag; ``style_control``: BT with the style features as covariates;
    ``anchor``: (model, rating) fixes one model's BT rating; ``ties``: BT's tie model ("half", "davidson",
    "rao-kupper"; the replay command's ``--bt-ties``). ``seed`` seeds every bootstrap. ``cluster``:
    "voter" or "prompt" resamples whole voters (``judge``) or prompts (``prompt_id``) in BT's bootstrap.
    ``filters``, ``columns`` and ``on_bad_row`` are the replay command's ``--anony-only`` and friends,
    ``--col`` and ``--on-bad-row``; the configs its Elo, BT and style options.
    """
    spec = _replay_of(method, ci, rounds, category, style_control, anchor, seed, bootstrap, filters, columns,
                      on_bad_row, elo_config, bt_config, style_config, ties, cluster)  # fmt: skip
    published = replay.leaderboard_of(_replayed(votes, spec), spec.query, spec.bt, spec.style)
    return rows_frame(published)


def head_to_head(
    votes: Any,
    method: str = "bt",
    top_k: int | None = None,
    category: str | None = None,
    style_control: bool = False,
    seed: int = 0,
    *,
    filters: VoteFilters | None = None,
    columns: dict[str, str] | None = None,
    on_bad_row: str = "error",
    elo_config: EloConfig | None = None,
    bt_config: BTConfig | None = None,
    style_config: StyleConfig | None = None,
) -> pl.DataFrame:
    """Every ordered pair among the ``top_k`` best competitors (all by default) of the ``method``
    point fit: ``model_a``, ``model_b``, ``battles``, ``wins_a``, ``wins_b``, ``ties`` (both kinds),
    ``empirical_win_rate`` (a tie counts half; null where they never met) and
    ``predicted_win_probability`` (P(model_a beats model_b) from the ratings). The numbers of the
    service's GetHeadToHeadMatrix for the same votes."""
    spec = _replay_of(method, "none", 0, category, style_control, None, seed, 0, filters, columns, on_bad_row,
                      elo_config, bt_config, style_config)  # fmt: skip
    replayed = _replayed(votes, spec, pairs=True)
    fitted = replay.standings_of(replayed, spec.query, spec.bt, spec.style)
    k = len(fitted.models) if top_k is None else max(0, min(top_k, len(fitted.models)))
    board = replayed.board
    slots = []
    for competitor in fitted.standings.competitor_ids[:k].tolist():
        slot = board.slot_of(competitor)
        if slot is None:
            raise RuntimeError(f"competitor {competitor} is listed but has no slot on the board")
        slots.append(slot)
    counts = np.zeros((k, k, 4), dtype=np.int64)
    upper = np.triu_indices(k, 1)
    for i, j in zip(*upper):
        counts[i, j] = board.cells.pair(slots[i], slots[j])
    matrix = pair_matrix_of(DEFAULT_BOARD, spec.query.category, fitted.models[:k], fitted.standings.rating[:k],
                            counts, fitted.scale, fitted.base, board.last_seq)  # fmt: skip
    wins = np.zeros((k, k), dtype=np.int64)  # wins of the row model over the column model
    wins[upper] = counts[upper][:, 0]
    wins[upper[1], upper[0]] = counts[upper][:, 1]
    ties = matrix.battles - wins - wins.T
    a, b = np.nonzero(~np.eye(k, dtype=bool))
    return pl.DataFrame({
        "model_a": [matrix.models[i] for i in a],
        "model_b": [matrix.models[j] for j in b],
        "battles": matrix.battles[a, b],
        "wins_a": wins[a, b],
        "wins_b": wins[b, a],
        "ties": ties[a, b],
        "empirical_win_rate": matrix.empirical_win_rate[a, b],
        "predicted_win_probability": matrix.predicted_win_probability[a, b],
    }).with_columns(pl.col("empirical_win_rate").fill_nan(None))  # fmt: skip
