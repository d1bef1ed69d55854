"""Head-to-head records: pair counts read from a view's cells, win probabilities from the fitted ratings.

The ratings come from the standings (server.service.standings); the counts are read under the
engine lock (server.service.versions) for a live view, or straight from a snapshot's frozen views.
No state, no lock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import Board, EloConfig, Interner
from engine.scale import win_probability
from engine.views import BoardViews
from server.domain.errors import InvalidArgument, NotFound
from server.domain.listing import Listing
from server.domain.pairs import pair_matrix_of
from server.domain.queries import LeaderboardQuery
from server.domain.results import BoardStandings, HeadToHead, HeadToHeadMatrix
from server.service.versions import BoardVersions


@dataclass(frozen=True)
class PairCounts:
    """What a record reads from a view: the pairs' cells and the board's scale."""

    counts: np.ndarray  # int64[..., 4]: wins of the first, wins of the second, ties, both-bad ties
    config: EloConfig


def pair_record(
    versions: BoardVersions, interner: Interner, fitted: BoardStandings, model_a: str, model_b: str
) -> HeadToHead:
    """Two models' record on ``fitted.board`` and the fitted probability that ``model_a`` wins."""
    board = fitted.board
    rating = dict(zip(fitted.models, fitted.standings.rating.tolist()))

    def read(view: Board) -> PairCounts:
        slots = []
        for field, name in (("model_a", model_a), ("model_b", model_b)):
            competitor = interner.id_of(name)
            slot = None if competitor is None else view.slot_of(competitor)
            if slot is None or name not in rating:
                raise NotFound(f"{field}: {name!r} has no votes on board {board!r}")
            slots.append(slot)
        if slots[0] == slots[1]:
            raise InvalidArgument("model_b", "equals model_a")
        return PairCounts(view.cells.pair(*slots), view.config)

    pair = versions.read(board, "", read)
    predicted = win_probability(rating[model_a], rating[model_b], pair.config.scale, pair.config.base)
    wins_a, wins_b, ties, both_bad = (int(c) for c in pair.counts)
    counts = (wins_a, wins_b, ties, both_bad)
    return HeadToHead(board, model_a, model_b, counts, predicted, fitted.standings.as_of_seq)


def pair_matrix(
    versions: BoardVersions,
    interner: Interner,
    shown: Listing,
    query: LeaderboardQuery,
    top_k: int,
    snapshot: BoardViews | None,
) -> HeadToHeadMatrix:
    """Battle counts, empirical and predicted win rates among the top ``top_k`` rows of ``shown``
    (read from ``snapshot``'s views when the listing is of a snapshot)."""
    models = shown.result.models[:top_k]
    rating = shown.result.standings.rating[:top_k]
    k = len(models)

    def read(view: Board) -> PairCounts:
        counts = np.zeros((k, k, 4), dtype=np.int64)
        slots = [_listed_slot(view, interner, name) for name in models]
        for i in range(k):
            for j in range(i + 1, k):
                counts[i, j] = view.cells.pair(slots[i], slots[j])
        return PairCounts(counts, view.config)

    frozen = None if snapshot is None else snapshot.view(query.category)
    pairs = read(frozen) if frozen is not None else versions.read(query.board, query.category, read)
    return pair_matrix_of(
        query.board, query.category, list(models), rating, pairs.counts, pairs.config.scale, pairs.config.base,
        shown.result.standings.as_of_seq,
    )  # fmt: skip


def _listed_slot(view: Board, interner: Interner, name: str) -> int:
    """The slot of a model that a listing of this board shows: it has votes here, and a board never
    gives a slot back."""
    competitor = interner.id_of(name)
    slot = None if competitor is None else view.slot_of(competitor)
    if slot is None:
        raise RuntimeError(f"{name!r} is listed but has no slot on the board")
    return slot
