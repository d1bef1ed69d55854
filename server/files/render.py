"""Leaderboards as text: an aligned table, CSV or JSON (the CLI's contract).

Takes the domain's ``PublishedLeaderboard``; a ``pb.Leaderboard`` as received is read into one first
(``published``), so callers holding either get the same text.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from engine.config import ARENA_BASE, ARENA_SCALE
from server.domain.published import ROW_FIELDS, Anchor, PublishedLeaderboard, PublishedRow

if TYPE_CHECKING:
    from server.proto.arena_ratings.v1 import ratings_pb2 as pb

    Board = PublishedLeaderboard | pb.Leaderboard

__all__ = [
    "ROW_FIELDS",
    "as_dict",
    "ci_text",
    "delta_cells",
    "model_label",
    "published",
    "render",
    "row_dict",
    "summary_dict",
    "table_cells",
    "table_columns",
]


def published(board: Board) -> PublishedLeaderboard:
    """``board`` as the domain's published form: a received ``pb.Leaderboard`` is read through the
    client's ``server.rpc.wire.leaderboard_from_pb``."""
    if isinstance(board, PublishedLeaderboard):
        return board
    from server.rpc.wire import leaderboard_from_pb

    return leaderboard_from_pb(board)


def row_dict(row: PublishedRow) -> dict:
    """One row as flat JSON-able values, keyed by ROW_FIELDS."""
    return {name: getattr(row, name) for name in ROW_FIELDS}


# After each row's fields, CSV and Parquet repeat what the whole board was computed with, so files of
# several boards or queries can be stacked and still say which is which.
BOARD_COLUMNS = ("board", "method", "ci", "tie_model", "cluster", "as_of_seq")


def board_columns(board: Board) -> dict:
    """The board-level values of BOARD_COLUMNS (``tie_model`` empty for Elo, "half" for BT unless fitted)."""
    board = published(board)
    return {
        "board": board.board,
        "method": board.method,
        "ci": board.ci,
        "tie_model": (board.tie_model or "half") if board.method == "bt" else "",
        "cluster": board.cluster,
        "as_of_seq": board.as_of_seq,
    }


def summary_dict(board: Board) -> dict:
    s = published(board).summary
    return {
        "models_listed": s.models_listed,
        "models_hidden": s.models_hidden,
        "preliminary": s.preliminary,
        "total_votes": s.total_votes,
        "gaps": {str(rank): gap for rank, gap in s.gaps},
        "tied_with_leader": s.tied_with_leader,
    }


def _snapshot_dict(mark) -> dict | None:
    if mark is None:
        return None
    return {"name": mark.name, "seq": mark.seq, "created": mark.created, "votes": mark.votes}


def as_dict(board: Board) -> dict:
    """The JSON shape: board, category, method, ci, as_of_seq, as_of_time, total_votes, bootstrap_rounds, anchor,
    log_likelihood, summary, compared_to, as_of_snapshot, style_*, scale, base, tie_model, tie_parameter(_lower,
    _upper), aic, total_rows, rows."""
    board = published(board)
    return {
        "board": board.board,
        "category": board.category,
        "method": board.method,
        "ci": board.ci,
        "cluster": board.cluster,
        "as_of_seq": board.as_of_seq,
        "as_of_time": board.as_of_time,
        "total_votes": board.total_votes,
        "bootstrap_rounds": board.bootstrap_rounds,
        "anchor": {"model": board.anchor.model, "rating": board.anchor.rating} if board.anchor is not None else None,
        "log_likelihood": board.log_likelihood,
        "summary": summary_dict(board),
        "compared_to": _snapshot_dict(board.compared_to),
        "compared_view_empty": board.compared_view_empty,
        "as_of_snapshot": _snapshot_dict(board.as_of),
        "style_control": board.style_control,
        "style_votes": board.style_votes,
        "style_coefficients": [
            {"name": c.name, "value": c.value, "lower": c.lower, "upper": c.upper} for c in board.style_coefficients
        ],
        "scale": rating_scale(board)[0],
        "base": rating_scale(board)[1],
        "tie_model": board.tie_model or None,
        "tie_parameter": board.tie_parameter,
        "tie_parameter_lower": board.tie_parameter_lower,
        "tie_parameter_upper": board.tie_parameter_upper,
        "aic": board.aic,
        "total_rows": board.total_rows,
        "rows": [row_dict(row) for row in board.rows],
    }


def as_of_text(board: PublishedLeaderboard) -> str:
    """What the standings are as of, for people: the newest vote's time (UTC) and the seq,
    ``as of 2026-11-30 16:40:12 UTC (seq 21939)``; only the seq when no vote carried a time."""
    moment = as_of_moment(board)
    if moment is None:
        return f"as of seq {board.as_of_seq}"
    return f"as of {moment} (seq {board.as_of_seq})"


def as_of_moment(board: PublishedLeaderboard) -> str | None:
    """The newest covered vote's time as ``2026-11-30 16:40:12 UTC``; None when no vote carried a time."""
    if board.as_of_time is None:
        return None
    return f"{datetime.fromtimestamp(board.as_of_time, UTC):%Y-%m-%d %H:%M:%S} UTC"


def model_label(row: PublishedRow) -> str:
    """The name people read: the competitor's display name when set, else the model's name."""
    return row.display_name or row.model


def rating_scale(board: Board) -> tuple[float, float]:
    """(scale, base) of the board's ratings; the arena's 400 and 10 from a server that did not send them."""
    board = published(board)
    return board.scale or ARENA_SCALE, board.base or ARENA_BASE


def render(board: Board, fmt: str) -> str:
    board = published(board)
    if fmt == "json":
        return json.dumps(as_dict(board), indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow((*ROW_FIELDS, *BOARD_COLUMNS))
        constants = list(board_columns(board).values())
        for row in board.rows:
            writer.writerow(["" if v is None else v for v in row_dict(row).values()] + constants)
        return out.getvalue().rstrip("\n")
    if fmt == "table":
        return _table(board)
    raise ValueError(f"unknown format {fmt!r} (table, json, csv)")


def ci_text(row: PublishedRow) -> str:
    """The row's 95% interval as ``+upper/-lower`` around the rating (rows of a board with an interval)."""
    assert row.rating_upper is not None and row.rating_lower is not None
    return f"+{row.rating_upper - row.rating:.1f}/-{row.rating - row.rating_lower:.1f}"


def table_columns(board: PublishedLeaderboard) -> list[str]:
    """The leading columns of the text table: without an interval (``ci`` "none"),
    neither "rank (UB)" nor "95% CI", which would otherwise read +0.0/-0.0, as if nothing were uncertain."""
    if board.has_interval:
        return ["rank", "rank (UB)", "model", "rating", "95% CI", "votes", "W", "L", "T"]
    return ["rank", "model", "rating", "votes", "W", "L", "T"]


def table_cells(board: PublishedLeaderboard, row: PublishedRow) -> list[str]:
    """One row's cells under table_columns(board)."""
    if not board.has_interval:
        return [str(row.rank), row.model, f"{row.rating:.1f}", str(row.votes), str(row.wins), str(row.losses),
                str(row.ties)]  # fmt: skip
    return [str(row.rank), str(row.rank_ub), row.model, f"{row.rating:.1f}", ci_text(row), str(row.votes),
            str(row.wins), str(row.losses), str(row.ties)]  # fmt: skip


def _table(board: PublishedLeaderboard) -> str:
    header = table_columns(board)
    lines = [table_cells(board, r) for r in board.rows]
    if board.compared_to is not None:
        header += ["Δrank", "Δrating"]
        for line, row in zip(lines, board.rows):
            line += delta_cells(row)
    if board.style_control:
        header.append("Δstyle")
        for line, row in zip(lines, board.rows):
            line.append(f"{row.style_rank_delta:+d}" if row.style_rank_delta else "0")
    if any(row.organization for row in board.rows):
        header.append("organization")
        for line, row in zip(lines, board.rows):
            line.append(row.organization)
    if any(row.preliminary for row in board.rows):
        header.append("")
        for line, row in zip(lines, board.rows):
            line.append("preliminary" if row.preliminary else "")
    if any(row.regularized for row in board.rows):
        header.append("")
        for line, row in zip(lines, board.rows):
            line.append("prior" if row.regularized else "")  # the rating is not the plain MLE
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    first_note = len(table_columns(board))
    left = {header.index("model"), *range(first_note, len(header))}  # names and notes read better left-aligned

    def fmt_row(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    ci = ci_label(board)
    view = board.board + (f"/{board.category}" if board.category else "")
    title = f"board {view} · {board.method} · {board.total_votes} votes · {as_of_text(board)} · 95% CI: {ci}"
    if board.as_of is not None:
        title += f" · snapshot {board.as_of.name}"
    if board.style_control:
        title += f" · style-controlled ({board.style_votes} votes with style features)"
    if board.compared_to is not None:
        title += f" · Δ since snapshot {board.compared_to.name} (seq {board.compared_to.seq})"
        if board.compared_view_empty:
            title += ": the view had no votes then"
    if board.anchor is not None:
        title += f" · anchored: {board.anchor.model} = {board.anchor.rating:g}"
    components = {row.component for row in board.rows}
    if len(components) > 1:
        title += f" · {len(components)} disconnected groups: compare ratings only within one (column C)"
        header.append("C")
        for line, row in zip(lines, board.rows):
            line.append(str(row.component))
        widths.append(max(1, *(len(line[-1]) for line in lines)))
    footer = [_summary_line(board)]
    if board.style_control:
        footer.append(
            "style coefficients (logit per SD, 95% CI): "
            + ", ".join(f"{c.name} {c.value:+.3f} [{c.lower:+.3f}, {c.upper:+.3f}]" for c in board.style_coefficients)
        )
    return "\n".join([title, fmt_row(header), *(fmt_row(line) for line in lines), *footer])


def delta_cells(row: PublishedRow) -> list[str]:
    """Δrank and Δrating against ``compared_to``: ``+2``/``0``/``-1`` and ``+12.3``; ``new`` and "" for a model
    new since."""
    if row.rank_delta is None:
        return ["new", ""]
    return [f"{row.rank_delta:+d}" if row.rank_delta else "0", f"{row.rating_delta:+.1f}"]


def _summary_line(board: PublishedLeaderboard) -> str:
    s = board.summary
    parts = [f"{s.models_listed} models listed"]
    if s.models_hidden:
        parts.append(f"{s.models_hidden} hidden")
    if s.preliminary:
        parts.append(f"{s.preliminary} preliminary")
    if s.tied_with_leader is not None:  # None: no interval, so no rank (UB) to be tied by
        parts.append(f"{s.tied_with_leader} tied with the leader (rank UB 1)")
    parts += [f"gap #1 to #{rank}: {gap:.1f}" for rank, gap in s.gaps]
    if board.tie_model not in ("", "half"):
        parts.append(tie_text(board))
    return " · ".join(parts)


def tie_text(board: PublishedLeaderboard) -> str:
    """``ties: davidson nu = 0.412 [0.398, 0.427] · AIC 12345.6`` (a fitted tie model's summary)."""
    name = {"davidson": "Davidson nu", "rao-kupper": "Rao–Kupper theta"}.get(board.tie_model, board.tie_model)
    text = f"ties: {name} = {board.tie_parameter:.4g}"
    if board.tie_parameter_lower is not None and board.tie_parameter_upper is not None:
        text += f" [{board.tie_parameter_lower:.4g}, {board.tie_parameter_upper:.4g}]"
    if board.aic is not None:
        text += f" · AIC {board.aic:.1f}"
    return text


def method_label(board: PublishedLeaderboard) -> str:
    return {"bt": "Bradley–Terry", "elo": "Elo"}.get(board.method, board.method.upper())


def ci_label(board: PublishedLeaderboard) -> str:
    """How the intervals were computed: ``bootstrap (1000 rounds), clustered by voter``."""
    rounds = f" ({board.bootstrap_rounds} rounds)" if board.bootstrap_rounds else ""
    clustered = f", clustered by {board.cluster}" if board.cluster != "none" else ""
    return board.ci + rounds + clustered


def anchor_label(anchor: Anchor) -> str:
    return f"{anchor.model} = {anchor.rating:g}"


def ranked(board: Board) -> list[PublishedRow]:
    # The service already sends rows best first; sorting again keeps hand-built boards honest.
    return sorted(published(board).rows, key=lambda r: (r.rank, -r.rating, r.model))
