"""What the engine will hold, known before a batch is committed, and the limits on it.

Every competitor, category view and board a client names makes the server
allocate arrays (engine.memory: with 1000 bootstrap replicas, ~8 KB per
competitor per view). So the writer refuses, before the commit, a batch
that would take a board past its competitors or category views, the server
past its boards, or all boards together past the memory budget: refused
whole with RESOURCE_EXHAUSTED naming the limit, its value and the vote that
crosses it, and nothing of it stored. Allocation then cannot fail for want
of memory the budget promised, and the applier never dies of it.

The book keeps, per board version, each view's competitor ids (a set), its
votes and style rows: counts the writer already has at hand, so the check
costs a set lookup per distinct competitor of a batch, not per vote. From
them ``engine.memory.view_memory`` gives what each view will hold: exact
for the Elo arrays, an upper bound for pair cells (at most one new cell per
vote, at most one per pair) and style rows.

Thread safety: none of its own; the writer calls it under its lock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.memory import ViewMemory, view_memory
from server.domain.errors import ResourceExhausted


def physical_memory() -> int:
    """Bytes of RAM on this machine (0 when the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


DEFAULT_BUDGET_FRACTION = 0.5  # of physical memory: the rest is queries, snapshots, caches and the OS
FALLBACK_BUDGET = 4 << 30


def default_memory_budget() -> int:
    return int(physical_memory() * DEFAULT_BUDGET_FRACTION) or FALLBACK_BUDGET


@dataclass(frozen=True)
class CapacityLimits:
    """Server-wide limits on what clients can make the engine hold (serve flags in parentheses)."""

    max_competitors_per_board: int = 200_000  # in any one view of a board (--max-competitors)
    max_views_per_board: int = 1_000  # category views of one board (--max-categories)
    max_boards: int = 1_000  # board names, live or being replayed (--max-boards)
    max_snapshots_per_board: int = 1_000  # (--max-snapshots)
    memory_budget_bytes: int = field(default_factory=default_memory_budget)  # (--memory-budget)


# This book's own entry per competitor of a view (an int in a set): counted with the view, so a board
# with few or no bootstrap replicas cannot make the book itself outgrow the budget.
BOOK_BYTES_PER_ID = 64


@dataclass
class _View:
    ids: set[int] = field(default_factory=set)
    max_id: int = -1
    votes: int = 0
    style_rows: int = 0
    cluster_votes: tuple[int, ...] = (0, 0)  # votes with a voter id, with a prompt id (engine.clusters)
    memory: ViewMemory = ViewMemory()


@dataclass
class _Board:
    name: str
    bootstrap_rounds: int
    features: int = 0
    views: dict[str, _View] = field(default_factory=dict)  # "" is the board itself

    @property
    def memory(self) -> ViewMemory:
        total = ViewMemory()
        for view in self.views.values():
            total = total + view.memory
        return total


@dataclass(frozen=True)
class Growth:
    """A batch's effect on one board version, checked and ready to commit."""

    board_id: int
    name: str
    bootstrap_rounds: int
    features: int
    views: dict[str, _View]  # the views it changes, as they will be
    added_bytes: int


class CapacityBook:
    def __init__(self, limits: CapacityLimits) -> None:
        self.limits = limits
        self._boards: dict[int, _Board] = {}  # by version id
        self.used = 0  # bytes, all versions

    def plan(
        self,
        board_id: int,
        name: str,
        bootstrap_rounds: int,
        competitor_a: NDArray[np.integer],
        competitor_b: NDArray[np.integer],
        tags: list[list[str]] | None,
        features: int,
        has_id: tuple[NDArray[np.bool_] | None, ...] = (),
    ) -> Growth:
        """What applying these votes to version ``board_id`` of ``name`` will hold; ResourceExhausted
        (nothing changed) if that passes a limit. ``features``: style features per vote (0: none);
        ``has_id``: per cluster kind (voter, prompt), which votes carry such an id (None: none do)."""
        board = self._boards.get(board_id)
        if board is None:
            names = {b.name for b in self._boards.values()}
            if name not in names and len(names) >= self.limits.max_boards:
                raise ResourceExhausted(
                    f"board {name!r}: the server has {len(names)} boards, the limit is {self.limits.max_boards} "
                    "(serve --max-boards)"
                )
            board = _Board(name, bootstrap_rounds)
        features = features or board.features
        members = _view_members(len(competitor_a), tags)
        categories = sum(1 for key in board.views if key)
        new_tags = [key for key in members if key and key not in board.views]
        if categories + len(new_tags) > self.limits.max_views_per_board:
            tag = new_tags[self.limits.max_views_per_board - categories]
            vote = int(members[tag][0])
            position = (tags or [])[vote].index(tag)
            raise ResourceExhausted(
                f"votes[{vote}].tags[{position}]: board {name!r} would have more than "
                f"{self.limits.max_views_per_board} category views, the limit (serve --max-categories)"
            )
        grown: dict[str, _View] = {}
        added = 0
        for key, index in members.items():
            old = board.views.get(key) or _View()
            ids = np.unique(np.concatenate([competitor_a[index], competitor_b[index]]))
            fresh = [i for i in ids.tolist() if i not in old.ids]
            competitors = len(old.ids) + len(fresh)
            if competitors > self.limits.max_competitors_per_board:
                vote = _crossing_vote(competitor_a, competitor_b, index, old.ids, self.limits.max_competitors_per_board)
                where = f"view {name}/{key}" if key else f"board {name!r}"
                raise ResourceExhausted(
                    f"votes[{vote}]: {where} would have more than {self.limits.max_competitors_per_board} "
                    "competitors, the limit (serve --max-competitors)"
                )
            votes = old.votes + len(index)
            cluster_votes = tuple(
                before + _count(has_id[i] if i < len(has_id) else None, index)
                for i, before in enumerate(old.cluster_votes)
            )  # fmt: skip
            view = _View(
                ids=old.ids | set(fresh) if fresh else old.ids,
                max_id=max(old.max_id, int(ids[-1])),
                votes=votes,
                style_rows=old.style_rows + (len(index) if features else 0),
                cluster_votes=cluster_votes,
            )
            view.memory = view_memory(
                competitors, view.max_id, min(votes, competitors * (competitors - 1) // 2),
                view.style_rows, features, bootstrap_rounds, cluster_votes,
            ) + ViewMemory(replicas=competitors * BOOK_BYTES_PER_ID)  # fmt: skip
            added += view.memory.total - old.memory.total
            if self.used + added > self.limits.memory_budget_bytes:
                first = int(index[0])
                raise ResourceExhausted(
                    f"votes[{first}]: board {name!r} would take the engine's memory to "
                    f"{_mib(self.used + added)}, past the budget of {_mib(self.limits.memory_budget_bytes)} "
                    "(serve --memory-budget)"
                )
            grown[key] = view
        return Growth(board_id, name, bootstrap_rounds, features, grown, added)

    def commit(self, growth: Growth) -> None:
        board = self._boards.setdefault(growth.board_id, _Board(growth.name, growth.bootstrap_rounds))
        board.features = growth.features
        board.views.update(growth.views)
        self.used += growth.added_bytes

    def votes(self, board_id: int) -> int:
        """Votes committed to a version (0 for one it does not hold)."""
        board = self._boards.get(board_id)
        view = None if board is None else board.views.get("")
        return 0 if view is None else view.votes

    def drop(self, board_id: int) -> None:
        """Forget a version (retired by a replay or a deletion, discarded, or failed to rebuild)."""
        board = self._boards.pop(board_id, None)
        if board is not None:
            self.used -= board.memory.total


def _view_members(n: int, tags: list[list[str]] | None) -> dict[str, NDArray[np.int64]]:
    """Vote indices per view ("" = every vote), views in order of first appearance."""
    members: dict[str, list[int]] = {"": []}
    for i, vote_tags in enumerate(tags or ()):
        for tag in vote_tags:
            index = members.setdefault(tag, [])
            if not index or index[-1] != i:  # a tag listed twice counts once
                index.append(i)
    out = {key: np.asarray(index, dtype=np.int64) for key, index in members.items() if key}
    return {"": np.arange(n, dtype=np.int64), **out}


def _count(mask: NDArray[np.bool_] | None, index: NDArray[np.int64]) -> int:
    return 0 if mask is None else int(mask[index].sum())


def _crossing_vote(a, b, index, known: set[int], limit: int) -> int:
    """The first vote (of ``index``) whose competitors take the view past ``limit``."""
    seen = set(known)
    for i in index.tolist():
        seen.add(int(a[i]))
        seen.add(int(b[i]))
        if len(seen) > limit:
            return i
    return int(index[-1])


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"
