"""Leaderboards as text: an aligned table, CSV or JSON (the CLI's contract)."""

from __future__ import annotations

import csv
import io
import json

from engine.scale import ARENA_BASE, ARENA_SCALE
from server.proto.arena_ratings.v1 import ratings_pb2 as pb

ROW_FIELDS = (
    "rank",
    "rank_ub",
    "model",
    "rating",
    "rating_lower",
    "rating_upper",
    "votes",
    "wins",
    "losses",
    "ties",
    "ties_both_bad",
    "component",
    "preliminary",
    "rank_delta",  # null unless compared with a snapshot (and for models new since it)
    "rating_delta",
    "display_name",  # competitor metadata; empty when none was set
    "organization",
    "license",
    "open_weights",  # null when not known
    "status",
    "style_rank_delta",  # with style control: rank without it - rank with it; null otherwise
)
_ROW_MESSAGE_FIELDS = ROW_FIELDS[: ROW_FIELDS.index("rank_delta")]  # read straight off LeaderboardRow
_COMPETITOR_FIELDS = ("display_name", "organization", "license")
STATUS_NAMES = {pb.ACTIVE: "active", pb.DEPRECATED: "deprecated", pb.UNAVAILABLE: "unavailable"}


def row_dict(row: pb.LeaderboardRow) -> dict:
    """One row as flat JSON-able values, keyed by ROW_FIELDS."""
    c = row.competitor
    values = {name: getattr(row, name) for name in _ROW_MESSAGE_FIELDS}
    values["rank_delta"] = row.rank_delta if row.HasField("rank_delta") else None
    values["rating_delta"] = row.rating_delta if row.HasField("rating_delta") else None
    values.update({name: getattr(c, name) for name in _COMPETITOR_FIELDS})
    values["open_weights"] = c.open_weights if c.HasField("open_weights") else None
    values["status"] = STATUS_NAMES.get(c.status, "active")
    values["style_rank_delta"] = row.style_rank_delta if row.HasField("style_rank_delta") else None
    return values


def summary_dict(board: pb.Leaderboard) -> dict:
    s = board.summary
    return {
        "models_listed": s.models_listed,
        "models_hidden": s.models_hidden,
        "preliminary": s.preliminary,
        "total_votes": s.total_votes,
        "gaps": {str(g.rank): g.gap for g in s.gaps},
        "tied_with_leader": s.tied_with_leader,
    }


def _snapshot_dict(board: pb.Leaderboard, field: str) -> dict | None:
    if not board.HasField(field):
        return None
    snapshot = getattr(board, field)
    return {"name": snapshot.name, "seq": snapshot.seq, "created": snapshot.created, "votes": snapshot.votes}


def as_dict(board: pb.Leaderboard) -> dict:
    """The JSON shape: board, category, method, ci, as_of_seq, total_votes, bootstrap_rounds, anchor,
    log_likelihood, summary, compared_to, as_of_snapshot, style_*, scale, base, rows."""
    return {
        "board": board.board,
        "category": board.category,
        "method": pb.Method.Name(board.method).lower(),
        "ci": ci_name(board.ci),
        "as_of_seq": board.as_of_seq,
        "total_votes": board.total_votes,
        "bootstrap_rounds": board.bootstrap_rounds,
        "anchor": {"model": board.anchor.model, "rating": board.anchor.rating} if board.HasField("anchor") else None,
        "log_likelihood": board.log_likelihood if board.method == pb.BT else None,
        "summary": summary_dict(board),
        "compared_to": _snapshot_dict(board, "compared_to"),
        "as_of_snapshot": _snapshot_dict(board, "as_of"),
        "style_control": board.style_control,
        "style_votes": board.style_votes,
        "style_coefficients": [
            {"name": c.name, "value": c.value, "lower": c.lower, "upper": c.upper} for c in board.style_coefficients
        ],
        "scale": rating_scale(board)[0],
        "base": rating_scale(board)[1],
        "rows": [row_dict(row) for row in board.rows],
    }


def rating_scale(board: pb.Leaderboard) -> tuple[float, float]:
    """(scale, base) of the board's ratings; the arena's 400 and 10 from a server that did not send them."""
    return board.scale or ARENA_SCALE, board.base or ARENA_BASE


def ci_name(ci: int) -> str:
    return {pb.BOOTSTRAP: "bootstrap", pb.SANDWICH: "sandwich", pb.CI_NONE: "none"}.get(ci, "bootstrap")


def render(board: pb.Leaderboard, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(as_dict(board), indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ROW_FIELDS)
        for row in board.rows:
            writer.writerow(["" if v is None else v for v in row_dict(row).values()])
        return out.getvalue().rstrip("\n")
    if fmt == "table":
        return _table(board)
    raise ValueError(f"unknown format {fmt!r} (table, json, csv)")


def _table(board: pb.Leaderboard) -> str:
    header = ["rank", "rank (UB)", "model", "rating", "95% CI", "votes", "W", "L", "T"]
    lines = [
        [
            str(r.rank),
            str(r.rank_ub),
            r.model,
            f"{r.rating:.1f}",
            f"+{r.rating_upper - r.rating:.1f}/-{r.rating - r.rating_lower:.1f}",
            str(r.votes),
            str(r.wins),
            str(r.losses),
            str(r.ties),
        ]
        for r in board.rows
    ]
    if board.HasField("compared_to"):
        header += ["Δrank", "Δrating"]
        for line, row in zip(lines, board.rows):
            line += _deltas(row)
    if board.style_control:
        header.append("Δstyle")
        for line, row in zip(lines, board.rows):
            line.append(f"{row.style_rank_delta:+d}" if row.style_rank_delta else "0")
    if any(row.competitor.organization for row in board.rows):
        header.append("organization")
        for line, row in zip(lines, board.rows):
            line.append(row.competitor.organization)
    if any(row.preliminary for row in board.rows):
        header.append("")
        for line, row in zip(lines, board.rows):
            line.append("preliminary" if row.preliminary else "")
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    left = {2, *range(9, len(header))}  # names and notes read better left-aligned

    def fmt_row(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    ci = ci_name(board.ci) + (f" ({board.bootstrap_rounds} rounds)" if board.bootstrap_rounds else "")
    view = board.board + (f"/{board.category}" if board.category else "")
    title = (
        f"board {view} · {pb.Method.Name(board.method).lower()} · {board.total_votes} votes · "
        f"as of seq {board.as_of_seq} · 95% CI: {ci}"
    )
    if board.HasField("as_of"):
        title += f" · snapshot {board.as_of.name}"
    if board.style_control:
        title += f" · style-controlled ({board.style_votes} votes with style features)"
    if board.HasField("compared_to"):
        title += f" · Δ since snapshot {board.compared_to.name} (seq {board.compared_to.seq})"
    if board.HasField("anchor"):
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


def _deltas(row: pb.LeaderboardRow) -> list[str]:
    if not row.HasField("rank_delta"):
        return ["new", ""]
    return [f"{row.rank_delta:+d}" if row.rank_delta else "0", f"{row.rating_delta:+.1f}"]


def _summary_line(board: pb.Leaderboard) -> str:
    s = board.summary
    parts = [f"{s.models_listed} models listed"]
    if s.models_hidden:
        parts.append(f"{s.models_hidden} hidden")
    if s.preliminary:
        parts.append(f"{s.preliminary} preliminary")
    parts.append(f"{s.tied_with_leader} tied with the leader (rank UB 1)")
    parts += [f"gap #1 to #{g.rank}: {g.gap:.1f}" for g in s.gaps]
    return " · ".join(parts)
