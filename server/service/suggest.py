"""SuggestPairs: the pairs to show next, from a view's BT point fit and its inverse Fisher information.

The point fit is the standings cache's (the BT fit without CIs, what a head-to-head reads); the
covariance is computed from the view's pair cells, copied under the engine lock, at that fit
(engine.suggest.covariance: O(cells + M^3), a few ms at 200 competitors). Both are kept per view
until the view moves, so a query between two applied batches costs only the plan
(engine.suggest: O(M^2) a greedy slice for CI_WIDTH, less for the others).

Lock: one of its own, a leaf, held for dictionary work only (never while fitting or copying).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine import Interner
from engine import suggest as plans
from engine.bt import BTConfig
from server.domain.errors import FailedPrecondition, NotFound
from server.domain.queries import LeaderboardQuery
from server.domain.results import BoardStandings
from server.domain.suggestions import PairSuggestions, SuggestedPair, SuggestQuery
from server.service.compute import BTInputs
from server.service.standings import Standings
from server.service.versions import BoardVersions

MAX_KEPT_VIEWS = 16  # covariances kept (M^2 floats each: 320 KB at 200 competitors)


@dataclass(frozen=True)
class ViewBasis:
    """A view's BT fit as the plans read it, in the view's slot order."""

    seq: int  # the view's last seq the fit covers
    fit: plans.Basis  # theta, its covariance and what the plans derive from them, once
    names: list[str]  # [M]
    slot_of: dict[str, int]


def plan_pairs(query: SuggestQuery, basis: plans.Basis, slot: int | None = None) -> plans.Plan:
    """The plan ``query`` asks for on a fit; ``slot``: PLACEMENT's competitor's (None: one without votes).
    The one path from a query to the engine's plans (benchmarks/bench_suggest.py calls it too)."""
    if query.objective == "ci_width":
        return plans.ci_width_plan(basis, query.n, query.horizon)
    if query.objective == "top_k":
        return plans.top_k_plan(basis, query.n, query.k, query.horizon)
    return plans.placement_plan(basis, query.n, slot)[0]


class Suggester:
    def __init__(
        self,
        versions: BoardVersions,
        standings: Standings,
        interner: Interner,
        bt_config: BTConfig,
        known: Callable[[str], bool],
    ) -> None:
        self._versions = versions
        self._standings = standings
        self._interner = interner  # the writer's: append-only, safe to read from any thread
        self._bt_config = bt_config
        self._known = known  # a competitor the server knows (votes or metadata): PLACEMENT may place it
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[str, str], ViewBasis] = OrderedDict()

    def suggest(self, query: SuggestQuery) -> PairSuggestions:
        basis = self.basis(query.board, query.category)
        slot = basis.slot_of.get(query.model)
        if query.objective == "placement" and slot is None and not self._known(query.model):
            raise NotFound(f"model: {query.model!r} is not a competitor the server knows (votes or metadata)")
        plan = plan_pairs(query, basis.fit, slot)
        names = basis.names
        pairs = [
            SuggestedPair(query.model if a < 0 else names[a], names[b], float(w))
            for a, b, w in zip(plan.slot_a.tolist(), plan.slot_b.tolist(), plan.weight, strict=True)
        ]
        return PairSuggestions(query.board, query.category, query.objective, pairs, basis.seq)

    def basis(self, board: str, category: str) -> ViewBasis:
        """The view's fit and covariance, recomputed when the view has moved since (NotFound: no such view)."""
        key = (board, category)
        seq = self._versions.stamp(board, category).seq
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept.seq >= seq:
                self._kept.move_to_end(key)
                return kept
        basis = self._compute(board, category)
        with self._lock:
            kept = self._kept.get(key)
            if kept is None or kept.seq <= basis.seq:
                self._kept[key] = basis
                self._kept.move_to_end(key)
                while len(self._kept) > MAX_KEPT_VIEWS:
                    self._kept.popitem(last=False)
        return basis

    def forget(self, board: str) -> None:
        with self._lock:
            for key in [key for key in self._kept if key[0] == board]:
                del self._kept[key]

    def _compute(self, board: str, category: str) -> ViewBasis:
        query = LeaderboardQuery(board, "bt", "none", category=category)
        fitted = self._standings.live(query)  # the cached point fit (a head-to-head's too)
        copied = self._versions.copy_inputs(query, self._interner).inputs
        assert isinstance(copied, BTInputs)
        return view_basis(fitted, copied, self._interner, self._bt_config)


def view_basis(fitted: BoardStandings, inputs: BTInputs, interner: Interner, bt_config: BTConfig) -> ViewBasis:
    """The plans' basis from a view's BT point fit (its standings) and its pair cells (copied after the fit:
    competitors newer than the fit sit at the mean until the next one)."""
    ids = inputs.competitor_ids  # slot order
    rows = fitted.standings
    by_id = dict(zip(rows.competitor_ids.tolist(), rows.rating.tolist(), strict=True))
    points = fitted.scale / math.log(fitted.base)
    theta = np.array([by_id.get(i, math.nan) for i in ids.tolist()], dtype=np.float64)
    theta = (theta - np.nanmean(theta)) / points if len(theta) else theta
    theta[np.isnan(theta)] = 0.0
    try:
        cov = plans.covariance(inputs.cells, bt_config, theta)
    except ValueError as exc:  # too many competitors for a dense covariance
        raise FailedPrecondition(str(exc)) from exc
    names = [interner.name(int(i)) for i in ids]
    return ViewBasis(rows.as_of_seq, plans.Basis.of(theta, cov), names, {name: slot for slot, name in enumerate(names)})
