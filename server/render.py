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
)


def as_dict(board: pb.Leaderboard) -> dict:
    """The JSON shape: board, method, as_of_seq, total_votes, bootstrap_rounds, rows."""
    return {
        "board": board.board,
        "method": pb.Method.Name(board.method).lower(),
        "as_of_seq": board.as_of_seq,
        "total_votes": board.total_votes,
        "bootstrap_rounds": board.bootstrap_rounds,
        "rows": [{name: getattr(row, name) for name in ROW_FIELDS} for row in board.rows],
    }


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

    title = (
        f"board {board.board} · {pb.Method.Name(board.method).lower()} · {board.total_votes} votes · "
        f"as of seq {board.as_of_seq} · {board.bootstrap_rounds} bootstrap rounds"
    )
    return "\n".join([title, fmt_row(header), *(fmt_row(line) for line in lines)])
