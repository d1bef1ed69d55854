"""Pages of a leaderboard: GetLeaderboard's ``limit`` and ``offset`` over the listed rows.

A board with hundreds of thousands of competitors does not fit one gRPC message (300 k rows were
23.5 MB against the 16 MiB limit), so a leaderboard is sent a page at a time. Paging comes last:
the rows are filtered and ranked over every listed row first (server.domain.listing), so ranks, rank (UB),
deltas and the summary are those of the whole listing and a page's ranks continue the previous
page's. ``Leaderboard.total_rows`` is the number of listed rows; a client pages on from
``offset + len(rows)`` until it has them all (``RatingsClient.full_leaderboard``, the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from engine import Standings
from server.domain.errors import InvalidArgument, ResourceExhausted
from server.domain.listing import Listing
from server.proto.arena_ratings.v1 import ratings_pb2 as pb

# A request without a limit gets every row of a board with up to this many listed rows, else this many.
DEFAULT_PAGE_ROWS = 10_000
# The largest limit a request may ask for. A row is ~85 bytes on the wire with a short name and no
# metadata, ~300 with a 40-character name, a display name, organization, license, one link and deltas
# (LeaderboardRow.ByteSize()); 40,000 such rows are ~12 MB, within the 16 MiB message limit with room to
# spare. Rows bigger still (long names, many links) are caught by fit_message's byte check.
MAX_PAGE_ROWS = 40_000


@dataclass(frozen=True)
class Page:
    """Which listed rows to send: ``offset`` rows skipped, then ``limit`` (0: the default page)."""

    limit: int = 0
    offset: int = 0

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise InvalidArgument("limit", f"{self.limit} is negative (0: the default page)")
        if self.limit > MAX_PAGE_ROWS:
            raise InvalidArgument("limit", f"{self.limit} rows, at most {MAX_PAGE_ROWS} a page (page on with offset)")
        if self.offset < 0:
            raise InvalidArgument("offset", f"{self.offset} is negative")

    def rows(self, total: int) -> slice:
        """The positions of this page among ``total`` listed rows (empty past the end)."""
        limit = self.limit or min(total, DEFAULT_PAGE_ROWS)
        start = min(self.offset, total)
        return slice(start, min(total, start + limit))


def page_of(shown: Listing, page: Page) -> Listing:
    """The listing's rows in ``page``, every row-aligned field cut alike; the summary stays the whole listing's."""
    total = len(shown.result.models)
    rows = page.rows(total)
    if rows == slice(0, total):
        return shown
    result = shown.result
    return replace(
        shown,
        result=replace(result, standings=_slice(result.standings, rows), models=result.models[rows]),
        competitors=shown.competitors[rows],
        preliminary=shown.preliminary[rows],
        # Empty unless compared (or style-controlled): an empty list slices to an empty list.
        rank_delta=shown.rank_delta[rows],
        rating_delta=shown.rating_delta[rows],
        style_rank_delta=shown.style_rank_delta[rows],
    )


def _slice(standings: Standings, rows: slice) -> Standings:
    # Not Standings.select, which re-ranks the rows kept: a page keeps the ranks of the whole listing.
    arrays = {f.name: getattr(standings, f.name) for f in fields(standings)}
    sliced: dict[str, Any] = {name: a[rows] for name, a in arrays.items() if isinstance(a, np.ndarray)}
    return replace(standings, **sliced)


def fit_message(board: pb.Leaderboard, page: Page, max_bytes: int) -> pb.Leaderboard:
    """``board`` cut to fit one message of ``max_bytes`` (the server's send limit).

    A default page loses rows from its end (``total_rows`` and ``offset + len(rows)`` still tell the
    client where to go on); a page whose explicit ``limit`` does not fit is refused, naming ``limit``.
    """
    size = board.ByteSize()
    if size <= max_bytes:
        return board
    # Each row costs its encoding plus the field's tag (1 byte) and length prefix (a varint).
    sizes = np.array([_with_prefix(row.ByteSize()) for row in board.rows], dtype=np.int64)
    header = size - int(sizes.sum())
    fitting = int(np.searchsorted(np.cumsum(sizes), max_bytes - header, side="right"))
    if page.limit:
        raise InvalidArgument(
            "limit",
            f"{len(board.rows)} rows are {size} bytes, over the {max_bytes}-byte message limit; "
            f"at most {fitting} of these rows fit one page",
        )
    if fitting == 0:
        raise ResourceExhausted(f"one leaderboard row is over the server's {max_bytes}-byte message limit")
    del board.rows[fitting:]
    return board


def _with_prefix(row_bytes: int) -> int:
    return 1 + max(1, (row_bytes.bit_length() + 6) // 7) + row_bytes
