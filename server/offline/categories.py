"""Every category view of a vote history at once (``export --categories``): one leaderboard per tag.

A category view is the board's votes that carry its tag, in order (``apply_chunks`` with
``query.category``), so the views are independent of each other: here they are computed one after
the other from votes read once; on a Ray cluster, one task each (server.distributed.categories),
by this module's ``view``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from engine import EloConfig
from engine.config import BTConfig, StyleConfig
from server.domain.filters import VoteFilters
from server.domain.names import BOARD_NAME
from server.domain.published import PublishedLeaderboard
from server.domain.queries import LeaderboardQuery
from server.domain.votes import VoteBatch
from server.offline.replay import replay_chunks

ALL = "all"  # --categories all: every tag the votes carry


@dataclass(frozen=True)
class ViewSettings:
    """What each category view is computed with: the replay's settings but for the category."""

    config: EloConfig
    query: LeaderboardQuery
    bt_config: BTConfig | None = None
    filters: VoteFilters | None = None
    style_config: StyleConfig | None = None


def tags_of(chunks: Sequence[VoteBatch]) -> list[str]:
    """The tags the votes carry, sorted."""
    return sorted({tag for chunk in chunks for tag in chunk.tags})


def categories_asked(asked: str, chunks: Sequence[VoteBatch]) -> list[str]:
    """The tags ``--categories`` names ("all", or comma-separated), each usable in a file name; a tag no
    vote carries is an error, as is one that cannot name a file."""
    carried = tags_of(chunks)
    tags = carried if asked == ALL else [t.strip() for t in asked.split(",") if t.strip()]
    if not tags:
        raise ValueError("--categories: the votes carry no tags" if asked == ALL else "--categories: no tag given")
    missing = sorted(set(tags) - set(carried))
    if missing:
        raise ValueError(f"--categories: no vote carries {', '.join(map(repr, missing))}")
    unnamed = [t for t in tags if not BOARD_NAME.fullmatch(t)]
    if unnamed:
        raise ValueError(
            f"--categories: {', '.join(map(repr, unnamed))} cannot name a file (letters, digits, '_', '.', '-')"
        )
    return list(dict.fromkeys(tags))


def view(chunks: Sequence[VoteBatch], tag: str, settings: ViewSettings) -> PublishedLeaderboard:
    """The leaderboard of category ``tag``."""
    query = replace(settings.query, category=tag)
    board, _ = replay_chunks(
        chunks, settings.config, query, settings.bt_config, settings.filters, style_config=settings.style_config
    )
    return board


def views(chunks: Sequence[VoteBatch], tags: Sequence[str], settings: ViewSettings) -> dict[str, PublishedLeaderboard]:
    """Each tag's leaderboard, one after the other."""
    return {tag: view(chunks, tag, settings) for tag in tags}
