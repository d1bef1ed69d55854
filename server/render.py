"""Leaderboards as text: an aligned table, CSV or JSON (the CLI's contract)."""

from __future__ import annotations

import csv
import io
import json

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
)


def as_dict(board: pb.Leaderboard) -> dict:
    """The JSON shape: board, method, ci, as_of_seq, total_votes, bootstrap_rounds, anchor,
    log_likelihood, rows."""
    return {
        "board": board.board,
        "method": pb.Method.Name(board.method).lower(),
        "ci": ci_name(board.ci),
        "as_of_seq": board.as_of_seq,
        "total_votes": board.total_votes,
        "bootstrap_rounds": board.bootstrap_rounds,
        "anchor": {"model": board.anchor.model, "rating": board.anchor.rating} if board.HasField("anchor") else None,
        "log_likelihood": board.log_likelihood if board.method == pb.BT else None,
        "rows": [{name: getattr(row, name) for name in ROW_FIELDS} for row in board.rows],
    }


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
            writer.writerow([getattr(row, name) for name in ROW_FIELDS])
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
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    left = {2}  # the model name reads better left-aligned

    def fmt_row(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    ci = ci_name(board.ci) + (f" ({board.bootstrap_rounds} rounds)" if board.bootstrap_rounds else "")
    title = (
        f"board {board.board} · {pb.Method.Name(board.method).lower()} · {board.total_votes} votes · "
        f"as of seq {board.as_of_seq} · 95% CI: {ci}"
    )
    if board.HasField("anchor"):
        title += f" · anchored: {board.anchor.model} = {board.anchor.rating:g}"
    components = {row.component for row in board.rows}
    if len(components) > 1:
        title += f" · {len(components)} disconnected groups: compare ratings only within one (column C)"
        header.append("C")
        for line, row in zip(lines, board.rows):
            line.append(str(row.component))
        widths.append(max(1, *(len(line[-1]) for line in lines)))
    return "\n".join([title, fmt_row(header), *(fmt_row(line) for line in lines)])
