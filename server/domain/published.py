"""A leaderboard as published: plain values, what the exports and the text formats read.

The service's ``Listing`` holds engine arrays; the wire's ``Leaderboard`` message is protobuf.
``PublishedLeaderboard`` is neither: the offline replay builds it from its listing
(``from_listing``), a client from the message it received (``server.rpc.wire.leaderboard_from_pb``),
and ``server.files.render`` and ``server.files.export`` take it. Both roads give equal values for
equal standings, so a feed is the same bytes whichever way it came (tests/test_wire.py).

Names and meanings are the wire's (protos/arena_ratings/v1/ratings.proto); enums are plain names:
``method`` "bt" or "elo", ``ci`` "bootstrap", "sandwich" or "none", ``status`` "active",
"deprecated" or "unavailable". Imports nothing beyond the standard library.

No interval, no bounds: when ``ci`` is "none" (BT asked for none, or Elo on a board kept without
bootstrap replicas) nothing was computed to be uncertain about, so a row's ``rating_lower``,
``rating_upper`` and ``rank_ub`` are None, as is the summary's ``tied_with_leader`` (counted from
rank (UB)), rather than bounds equal to the rating that would read as "no uncertainty". The wire keeps
its numbers (proto3 doubles; ``ci`` says CI_NONE); both roads here give None.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from server.domain.listing import Listing
    from server.domain.snapshot_info import SnapshotInfo


class Anchor(NamedTuple):
    model: str
    rating: float


@dataclass(frozen=True)
class PublishedRow:
    """One model's row; the field order is the JSON feed's and the CSV's column order."""

    rank: int  # 1 + position by rating among the rows listed
    rank_ub: int | None  # 1 + listed models whose lower bound exceeds this upper bound; None: no interval
    model: str
    rating: float
    rating_lower: float | None  # the 95% interval; None when none was computed (ci "none")
    rating_upper: float | None
    votes: int
    wins: int
    losses: int
    ties: int  # both kinds
    ties_both_bad: int
    component: int  # connected group of the comparison graph, 0 = the largest
    preliminary: bool = False
    # Bradley–Terry: a prior set this rating, not the plain maximum-likelihood estimate (its component
    # has none: a model that never lost or never won, or a group that did not play both ways; or the
    # board fits with an explicit --bt-prior). Style control's ridge on all parameters sets it too.
    regularized: bool = False
    rank_delta: int | None = None  # previous rank - rank; None unless compared (or new since)
    rating_delta: float | None = None
    display_name: str = ""  # competitor metadata; empty when not set
    organization: str = ""
    license: str = ""
    open_weights: bool | None = None  # None: not known
    status: str = "active"
    style_rank_delta: int | None = None  # with style control: rank without it - rank with it


ROW_FIELDS = tuple(f.name for f in fields(PublishedRow))


@dataclass(frozen=True)
class PublishedSummary:
    models_listed: int = 0
    models_hidden: int = 0
    preliminary: int = 0
    total_votes: int = 0
    gaps: tuple[tuple[int, float], ...] = ()  # (rank k, rating of rank 1 - rating of rank k)
    tied_with_leader: int | None = 0  # None without an interval (ci "none")


@dataclass(frozen=True)
class SnapshotMark:
    """The snapshot a leaderboard is compared with, or read at."""

    name: str
    seq: int
    created: float  # Unix seconds
    votes: int


@dataclass(frozen=True)
class StyleCoefficient:
    name: str
    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class PublishedLeaderboard:
    board: str
    method: str  # "bt" or "elo"
    ci: str  # "bootstrap", "sandwich" or "none"
    as_of_seq: int
    total_votes: int
    rows: tuple[PublishedRow, ...] = ()  # best first
    bootstrap_rounds: int = 0
    anchor: Anchor | None = None
    log_likelihood: float | None = None  # BT's; None for Elo
    category: str = ""
    summary: PublishedSummary = PublishedSummary()
    compared_to: SnapshotMark | None = None
    compared_view_empty: bool = False  # compared_to had no votes in this view: no deltas
    as_of: SnapshotMark | None = None
    style_control: bool = False
    style_votes: int = 0
    style_coefficients: tuple[StyleCoefficient, ...] = ()
    total_rows: int = 0  # listed rows before paging
    scale: float = 0.0  # the board's rating scale and base (0: not sent by an older server: 400 and 10)
    base: float = 0.0
    as_of_time: float | None = None  # Unix seconds of the newest vote covered; None: not known
    tie_model: str = ""  # BT's: "half", "davidson" or "rao-kupper"; "" for Elo (or from an older server)
    tie_parameter: float | None = None  # Davidson's nu or Rao–Kupper's theta; None for "half" and Elo
    tie_parameter_lower: float | None = None  # its 95% interval; None without one
    tie_parameter_upper: float | None = None
    aic: float | None = None  # BT's 2 k - 2 log_likelihood; None for Elo
    cluster: str = "none"  # the bootstrap's clusters: "none" (votes), "voter" or "prompt"

    @property
    def has_interval(self) -> bool:
        """Whether the rows carry a 95% interval and rank (UB): not when ``ci`` is "none"."""
        return has_interval(self.ci)

    @classmethod
    def from_listing(cls, shown: Listing) -> PublishedLeaderboard:
        """The listing's rows, flags, deltas and summary as plain values."""
        from server.domain.listing import row_tallies  # listing imports engine arrays: not at module load

        result = shown.result
        s = result.standings
        compared = bool(shown.rank_delta)
        interval = has_interval(result.ci)
        rows = tuple(
            PublishedRow(
                rank=int(s.rank[i]),
                rank_ub=int(s.rank_ub[i]) if interval else None,
                model=result.models[i],
                rating=float(s.rating[i]),
                rating_lower=float(s.rating_lower[i]) if interval else None,
                rating_upper=float(s.rating_upper[i]) if interval else None,
                **row_tallies(s, i),
                preliminary=bool(shown.preliminary[i]),
                regularized=bool(s.regularized[i]),
                rank_delta=_maybe(int, shown.rank_delta[i]) if compared else None,
                rating_delta=_maybe(float, shown.rating_delta[i]) if compared else None,
                display_name=info.display_name or "",
                organization=info.organization or "",
                license=info.license or "",
                open_weights=info.open_weights,
                status=info.status,
                style_rank_delta=int(shown.style_rank_delta[i]) if shown.style_rank_delta else None,
            )
            for i, info in enumerate(shown.competitors)
        )
        summary = shown.summary
        return cls(
            board=result.board,
            method=result.method,
            ci=result.ci,
            as_of_seq=int(s.as_of_seq),
            total_votes=int(s.total_votes),
            rows=rows,
            bootstrap_rounds=int(s.bootstrap_rounds),
            anchor=Anchor(result.anchor[0], float(result.anchor[1])) if result.anchor is not None else None,
            log_likelihood=float(result.log_likelihood or 0.0) if result.method == "bt" else None,
            category=shown.category,
            summary=PublishedSummary(
                models_listed=int(summary.models_listed),
                models_hidden=int(summary.models_hidden),
                preliminary=int(summary.preliminary),
                total_votes=int(summary.total_votes),
                gaps=tuple((int(k), float(gap)) for k, gap in summary.gaps),
                tied_with_leader=int(summary.tied_with_leader) if interval else None,
            ),
            compared_to=_mark(shown.compared_to),
            compared_view_empty=shown.compared_view_empty,
            as_of=_mark(shown.as_of),
            style_control=bool(result.style_control),
            style_votes=int(result.style_votes) if result.style_control else 0,
            style_coefficients=tuple(
                StyleCoefficient(c.name, float(c.value), float(c.lower), float(c.upper))
                for c in result.style_coefficients
            )
            if result.style_control
            else (),
            total_rows=int(summary.models_listed),
            scale=float(result.scale),
            base=float(result.base),
            as_of_time=_maybe(float, result.as_of_time),
            cluster=result.cluster,
            **tie_fields(result.method, result.ci, result.tie_model, result.tie_parameter, result.tie_parameter_lower,
                         result.tie_parameter_upper, result.aic),
        )  # fmt: skip


def tie_fields(
    method: str, ci: str, tie_model: str, value: float, lower: float, upper: float, aic: float
) -> dict[str, Any]:
    """The published tie model, tie parameter (with its interval when there is one) and AIC: BT's only."""
    if method != "bt":
        return {"tie_model": "", "tie_parameter": None, "tie_parameter_lower": None, "tie_parameter_upper": None,
                "aic": None}  # fmt: skip
    fitted = tie_model not in ("", "half")
    interval = fitted and has_interval(ci)
    return {
        "tie_model": tie_model or "half",
        "tie_parameter": float(value) if fitted else None,
        "tie_parameter_lower": float(lower) if interval else None,
        "tie_parameter_upper": float(upper) if interval else None,
        "aic": float(aic),
    }


def has_interval(ci: str) -> bool:
    """Whether standings computed with ``ci`` have a 95% interval (and so a rank (UB))."""
    return ci != "none"


def _maybe(kind, value):
    return None if value is None else kind(value)


def _mark(info: SnapshotInfo | None) -> SnapshotMark | None:
    if info is None:
        return None
    return SnapshotMark(name=info.name, seq=int(info.seq), created=float(info.created), votes=int(info.votes))
