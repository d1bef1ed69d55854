"""A board and its category views.

A vote on board ``text`` tagged ``coding`` updates the board ``text`` and
its category view ``text/coding``. Each view is a full ``Board`` (online Elo
with its replicas, pair cells for Bradley–Terry) fed the tagged votes in
log order, so a view is exactly the board a replay of the tagged votes
alone would build: same ratings, same bootstrap draws (a view numbers its
own votes 0, 1, ... for the counter-based RNG, as that replay does).

The price is work per tag: each view updates its own replicas, so a vote
with two tags costs three votes' bootstrap work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from engine.board import Board
from engine.elo import EloConfig
from engine.memory import ViewMemory

# Board names cannot contain "/" (server.domain.names.BOARD_NAME), so "board/category" is unambiguous.
SEPARATOR = "/"


class BoardViews:
    """``overall`` takes every vote; ``categories[tag]`` the votes carrying ``tag``."""

    def __init__(self, config: EloConfig | None = None, *, threads: int | None = None) -> None:
        self.overall = Board(config, threads=threads)
        self.categories: dict[str, Board] = {}

    @property
    def config(self) -> EloConfig:
        return self.overall.config

    def apply(
        self,
        competitor_a: NDArray[np.int32],
        competitor_b: NDArray[np.int32],
        outcome: NDArray[np.int8],
        tags: list[list[str]] | None = None,
        last_seq: int | None = None,
        style_names: list[str] | None = None,
        style: NDArray[np.float64] | None = None,
        timestamp: NDArray[np.float64] | None = None,
        weight: NDArray[np.float64] | None = None,
        clusters: Mapping[str, NDArray[np.uint64]] | None = None,
    ) -> None:
        """Apply votes in order; ``tags[i]``: vote i's categories (a tag listed twice counts once);
        ``style``: float64[n, 2F] of style features, or None; ``timestamp``: float64[n] Unix seconds;
        ``weight``: float64[n] vote weights, or None for all 1; ``clusters``: cluster keys by kind (Board.apply)."""
        self.overall.apply(
            competitor_a, competitor_b, outcome, last_seq, style_names, style, timestamp, weight, clusters
        )  # fmt: skip
        if not tags:
            return
        members: dict[str, list[int]] = defaultdict(list)
        for i, vote_tags in enumerate(tags):
            for tag in dict.fromkeys(vote_tags):
                members[tag].append(i)
        for tag, index in members.items():
            view = self.categories.get(tag)
            if view is None:
                view = self.categories[tag] = Board(self.config, threads=self.overall.threads)
            idx = np.asarray(index, dtype=np.int64)
            view_style = None if style is None else style[idx]
            view_time = None if timestamp is None else timestamp[idx]
            view_weight = None if weight is None else weight[idx]
            view_clusters = None if not clusters else {kind: keys[idx] for kind, keys in clusters.items()}
            view.apply(
                competitor_a[idx], competitor_b[idx], outcome[idx], last_seq, style_names, view_style, view_time,
                view_weight, view_clusters,
            )  # fmt: skip

    def memory(self) -> ViewMemory:
        """Bytes held by the board and all its category views."""
        total = self.overall.memory()
        for board in self.categories.values():
            total = total + board.memory()
        return total

    def view(self, category: str | None) -> Board | None:
        """The board for ``category`` (None or "": every vote), or None if no vote carried that tag."""
        return self.overall if not category else self.categories.get(category)

    @property
    def threads(self) -> int:
        return self.overall.threads

    @threads.setter
    def threads(self, value: int) -> None:
        for board in (self.overall, *self.categories.values()):
            board.threads = value

    def state(self) -> dict[str, dict[str, np.ndarray]]:
        """Every view's Board.state(), keyed "" for the board and the tag for a category view."""
        return {"": self.overall.state(), **{tag: board.state() for tag, board in self.categories.items()}}

    @classmethod
    def from_state(cls, states: dict[str, dict[str, np.ndarray]]) -> BoardViews:
        views = cls.__new__(cls)
        views.overall = Board.from_state(states[""])
        views.categories = {tag: Board.from_state(state) for tag, state in states.items() if tag}
        return views
