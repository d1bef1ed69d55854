"""Standings from a board: copy what a query reads (cheap, under the engine lock), then compute
(outside it). The service and the offline replay share these, so their numbers agree.

What is copied is one named type per kind of query: ``EloInputs``, ``BTInputs``, ``StyleInputs``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TypedDict

import numpy as np
from numpy.typing import NDArray

from engine import Board, EloConfig, Interner, Standings, bt, style, ties
from engine.bt import BTConfig, BTQuery
from engine.cells import CellTable
from engine.clusters import ClusterTable
from engine.fit import ConvergenceError, RoundRunner
from engine.scale import RatingScale
from engine.style import StyleConfig
from server.domain.errors import FailedPrecondition, NotFound
from server.domain.queries import DEFAULT_BT_ROUNDS, LeaderboardQuery
from server.domain.results import BoardStandings


@dataclass(frozen=True)
class EloInputs:
    """What an Elo query reads: a copy of the view's board."""

    board: Board


@dataclass(frozen=True)
class BTInputs:
    """What a Bradley–Terry query reads: the pair cells and the per-competitor counts, copied."""

    cells: CellTable
    counts: NDArray[np.int64]  # [M, 4]
    competitor_ids: NDArray[np.int32]  # by slot
    config: EloConfig  # the board's scale, base, initial rating and seed
    anchor_slot: int | None  # the anchor model's slot, when the query anchors one
    n_votes: int
    newest_time: float  # the view's newest vote timestamp (engine.board.NO_TIME: none)
    clusters: ClusterTable | None = None  # the query's cluster rows (engine.clusters), for a clustered bootstrap


@dataclass(frozen=True)
class StyleInputs:
    """What a style-controlled query reads: the votes' style rows (append-only, so views, not copies)."""

    slot_a: NDArray[np.int32]
    slot_b: NDArray[np.int32]
    outcome: NDArray[np.int8]
    values: NDArray[np.float64]  # [n, 2F]
    names: list[str]  # the F style features
    competitor_ids: NDArray[np.int32]
    config: EloConfig
    newest_time: float
    weight: NDArray[np.float64] | None = None  # [n] the votes' weights; None: all 1


Inputs = EloInputs | BTInputs | StyleInputs


def newest_time(inputs: Inputs) -> float | None:
    """The time (Unix seconds) of the newest vote the inputs cover; None when no vote carried one."""
    seconds = inputs.board.newest_time if isinstance(inputs, EloInputs) else inputs.newest_time
    return seconds if math.isfinite(seconds) else None


def copy_inputs(board: Board, query: LeaderboardQuery, interner: Interner) -> Inputs:
    """What computing ``query`` reads, copied (under the engine lock in the service): O(cells) for BT."""
    if query.method == "elo":
        return EloInputs(board.snapshot())
    if query.style_control:
        if not len(board.style):
            raise NotFound(f"board {query.board!r} has no votes with style features; style control needs them")
        # Views, not copies: style rows are append-only (engine.style_rows).
        slot_a, slot_b, outcome, values = board.style.rows()
        return StyleInputs(
            slot_a, slot_b, outcome, values, list(board.style.names), board.competitor_ids.copy(), board.config,
            board.newest_time, board.style.weights(),
        )  # fmt: skip
    anchor_slot = None
    if query.anchor_model is not None:
        anchor_id = interner.id_of(query.anchor_model)
        anchor_slot = None if anchor_id is None else board.slot_of(anchor_id)
        if anchor_slot is None:
            raise NotFound(f"anchor.model: {query.anchor_model!r} has no votes on board {query.board!r}")
    clusters = None
    if query.cluster != "none":
        clusters = board.cluster_table(query.cluster)
        if clusters is None:
            view = f" (category {query.category!r})" if query.category else ""
            raise NotFound(
                f"board {query.board!r}{view} has no votes with a {query.cluster} id; cluster {query.cluster!r} "
                f"needs them ({'voter_id' if query.cluster == 'voter' else 'prompt_id'})"
            )
    return BTInputs(
        board.cell_table(), board.counts.copy(), board.competitor_ids.copy(), board.config, anchor_slot, board.n_votes,
        board.newest_time, clusters,
    )  # fmt: skip


def compute_standings(
    query: LeaderboardQuery,
    inputs: Inputs,
    interner: Interner,
    bt_config: BTConfig,
    threads: int,
    theta0: np.ndarray | None = None,
    progress=None,
    style_config: StyleConfig | None = None,
    runner: RoundRunner | None = None,
) -> tuple[BoardStandings, np.ndarray | None]:
    """The standings for ``query`` from copy_inputs(); also the fit's parameters (the next warm start).

    ``progress(n)`` reports BT bootstrap rounds as they finish; ``runner`` fits them elsewhere (an offline
    replay on Ray, server.distributed). The result is as of the newest vote the inputs cover (``as_of_time``).
    """
    result, params = _compute(query, inputs, interner, bt_config, threads, theta0, progress, style_config, runner)
    return replace(result, as_of_time=newest_time(inputs)), params


def _compute(
    query: LeaderboardQuery,
    inputs: Inputs,
    interner: Interner,
    bt_config: BTConfig,
    threads: int,
    theta0: np.ndarray | None,
    progress,
    style_config: StyleConfig | None,
    runner: RoundRunner | None,
) -> tuple[BoardStandings, np.ndarray | None]:
    if isinstance(inputs, EloInputs):
        standings = inputs.board.elo_standings(with_ci=query.ci == "bootstrap")
        names = _names(interner, standings)
        ci = "bootstrap" if standings.bootstrap_rounds else "none"  # a board kept without replicas has no interval
        return BoardStandings(query.board, standings, names, "elo", ci, **_scale_of(inputs.board.config)), None
    if isinstance(inputs, StyleInputs):
        return _style_standings(query, inputs, interner, style_config or StyleConfig(), threads, theta0, runner)
    elo_config = inputs.config
    bt_query = BTQuery(
        ci=query.ci,
        rounds=query.rounds or DEFAULT_BT_ROUNDS,
        seed=elo_config.seed,
        anchor_slot=inputs.anchor_slot,
        anchor_rating=query.anchor_rating,
    )
    scale = RatingScale(elo_config.scale, elo_config.base, elo_config.initial)
    if query.ties != "half":
        return _tie_model_standings(
            query, inputs, interner, bt_config, bt_query, scale, threads, theta0, progress, runner
        )  # fmt: skip
    try:
        standings, fit = bt.standings(
            inputs.cells,
            inputs.counts,
            inputs.competitor_ids,
            bt_config,
            bt_query,
            scale=scale,
            threads=threads,
            total_votes=inputs.n_votes,
            theta0=theta0,
            progress=progress,
            clusters=inputs.clusters,
            runner=runner,
        )
    except ConvergenceError as exc:
        raise _on_board(exc, query, "--bt-prior sets the prior; method ELO needs no fit") from exc
    k = ties.free_parameters(fit.prior_weight, inputs.cells.components(), tie_free=False)
    result = BoardStandings(
        query.board, standings, _names(interner, standings), "bt", query.ci, _anchor(query, inputs),
        fit.log_likelihood, **_scale_of(elo_config), tie_model="half", aic=2.0 * k - 2.0 * fit.log_likelihood,
        cluster=query.cluster if query.ci == "bootstrap" else "none",
    )  # fmt: skip
    return result, fit.theta


def _anchor(query: LeaderboardQuery, inputs: BTInputs) -> tuple[str, float] | None:
    if inputs.anchor_slot is not None and query.anchor_model is not None:  # the slot is the anchor model's
        return (query.anchor_model, query.anchor_rating)
    return None


def _tie_model_standings(
    query: LeaderboardQuery,
    inputs: BTInputs,
    interner: Interner,
    bt_config: BTConfig,
    bt_query: BTQuery,
    scale: RatingScale,
    threads: int,
    params0: np.ndarray | None,
    progress,
    runner: RoundRunner | None,
) -> tuple[BoardStandings, np.ndarray]:
    """BT with a fitted tie model (engine.ties): the ratings, the tie parameter with its CI, and the AIC."""
    try:
        standings, fit, tie = ties.standings(
            inputs.cells, inputs.counts, inputs.competitor_ids, bt_config, bt_query, query.ties, scale=scale,
            threads=threads, total_votes=inputs.n_votes, params0=params0, progress=progress, runner=runner,
        )  # fmt: skip
    except ValueError as exc:  # too many competitors for the sandwich's dense inverse
        raise FailedPrecondition(str(exc)) from exc
    except ConvergenceError as exc:
        raise _on_board(exc, query, "--bt-prior sets the prior; ties HALF needs no tie parameter") from exc
    result = BoardStandings(
        query.board, standings, _names(interner, standings), "bt", query.ci, _anchor(query, inputs),
        fit.log_likelihood, **_scale_of(inputs.config), tie_model=query.ties, tie_parameter=tie.value,
        tie_parameter_lower=tie.lower, tie_parameter_upper=tie.upper, aic=fit.aic,
    )  # fmt: skip
    return result, fit.params


def _style_standings(
    query: LeaderboardQuery,
    inputs: StyleInputs,
    interner: Interner,
    config: StyleConfig,
    threads: int,
    params0: np.ndarray | None,
    runner: RoundRunner | None,
) -> tuple[BoardStandings, np.ndarray]:
    elo_config = inputs.config
    bt_query = BTQuery(ci=query.ci, rounds=query.rounds or DEFAULT_BT_ROUNDS, seed=elo_config.seed)
    scale = RatingScale(elo_config.scale, elo_config.base, elo_config.initial)
    try:
        standings, fit, coefficients = style.standings(
            inputs.slot_a, inputs.slot_b, inputs.outcome, inputs.values, inputs.names, inputs.competitor_ids,
            config, bt_query, scale, threads, params0, inputs.weight, runner,
        )  # fmt: skip
    except ValueError as exc:  # too many competitors for the dense Hessian
        raise FailedPrecondition(str(exc)) from exc
    except ConvergenceError as exc:
        raise _on_board(exc, query, "--style-penalty and --style-strength set the penalty") from exc
    result = BoardStandings(
        query.board, standings, _names(interner, standings), "bt", query.ci, None, fit.log_likelihood,
        style_control=True, style_coefficients=tuple(coefficients), style_votes=len(inputs.slot_a), tie_model="half",
        **_scale_of(elo_config),
    )  # fmt: skip
    return result, fit.params


def _on_board(exc: ConvergenceError, query: LeaderboardQuery, settings: str) -> ConvergenceError:
    """The engine's error with the board it happened on and the server settings that change the fit
    (the interceptor maps it to FAILED_PRECONDITION: retrying the same query fails the same way)."""
    view = f" (category {query.category!r})" if query.category else ""
    return ConvergenceError(f"board {query.board!r}{view}: {exc} ({settings})")


class _Scale(TypedDict):
    scale: float
    base: float


def _scale_of(config: EloConfig) -> _Scale:
    """The board's rating scale, which the results carry (win probabilities on the board's own scale)."""
    return {"scale": config.scale, "base": config.base}


def _names(interner: Interner, standings: Standings) -> list[str]:
    return [interner.name(int(i)) for i in standings.competitor_ids]
