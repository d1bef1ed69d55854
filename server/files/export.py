"""Leaderboards as files to publish: a versioned JSON feed, CSV, a text table, a self-contained HTML
page, PNG charts (ratings with their 95% CIs; predicted win rates) and Parquet.

Builds on :mod:`server.files.render` (the CLI's text formats), which stays the single definition of
the JSON shape and of the CSV and table layouts. Every function takes the domain's
``PublishedLeaderboard`` (a received ``pb.Leaderboard`` is read into one first).

The charts use matplotlib's object API (``Figure`` with an Agg canvas), never ``pyplot``: nothing
global is touched (no backend switch, no figure registry), so importing this module is harmless
inside the service or a notebook, and charts can be drawn from several threads. numpy, matplotlib
and polars are imported where a chart or a Parquet file is made, so the text formats start fast.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from server.domain.published import PublishedLeaderboard, PublishedRow
from server.files import render
from server.files.charts import chart_png, heatmap_png

if TYPE_CHECKING:  # imported where a chart or a Parquet file is made: together ~0.5 s of a CLI start
    import polars as pl

    from server.files.render import Board

log = logging.getLogger(__name__)

FEED_SCHEMA = "arena-ratings/leaderboard/v1"

FORMATS = ("json", "csv", "table", "html", "png", "heatmap", "parquet")

# The format a file extension implies; the heatmap is a PNG too, so it is only ever chosen explicitly.
_FORMAT_OF_SUFFIX = {
    ".json": "json",
    ".csv": "csv",
    ".txt": "table",
    ".html": "html",
    ".htm": "html",
    ".png": "png",
    ".parquet": "parquet",
}

# The file name export_set gives each format, after the stem.
_SET_SUFFIX = {
    "json": ".json",
    "csv": ".csv",
    "table": ".txt",
    "html": ".html",
    "png": ".png",
    "heatmap": "-heatmap.png",
    "parquet": ".parquet",
}


def _row_schema() -> dict:
    """Parquet column types, one per row field (render.ROW_FIELDS), as the proto declares them."""
    import polars as pl

    return {
        "rank": pl.UInt32,
        "rank_ub": pl.UInt32,
        "model": pl.String,
        "rating": pl.Float64,
        "rating_lower": pl.Float64,
        "rating_upper": pl.Float64,
        "votes": pl.UInt64,
        "wins": pl.UInt64,
        "losses": pl.UInt64,
        "ties": pl.UInt64,
        "ties_both_bad": pl.UInt64,
        "component": pl.UInt32,
        "preliminary": pl.Boolean,
        "regularized": pl.Boolean,
        "rank_delta": pl.Int32,
        "rating_delta": pl.Float64,
        "display_name": pl.String,
        "organization": pl.String,
        "license": pl.String,
        "open_weights": pl.Boolean,
        "status": pl.String,
        "style_rank_delta": pl.Int32,
    }


# --- the JSON feed -----------------------------------------------------------------------------


def feed(board: Board, as_of: datetime | None = None) -> dict:
    """The published JSON feed: :func:`server.files.render.as_dict` plus a schema tag and a timestamp.

    Keys, in order:

    - ``schema``: ``FEED_SCHEMA`` ("arena-ratings/leaderboard/v1"). Consumers should check it; a
      change that removes or redefines a key bumps the version, new keys may be added within v1.
    - ``as_of``: when the feed was produced, ISO-8601 UTC with second precision
      (``"2025-06-01T12:00:00Z"``); ``as_of`` if given (a naive datetime is taken as UTC), else now.
    - ``board``: the board's name.
    - ``method``: ``"bt"`` (Bradley–Terry) or ``"elo"`` (online Elo).
    - ``ci``: how the 95% intervals were computed: ``"bootstrap"``, ``"sandwich"`` or ``"none"`` (no
      interval: BT asked for none, or Elo on a board kept without bootstrap replicas).
    - ``cluster`` (added within v1): what the bootstrap resampled: ``"none"`` (single votes),
      ``"voter"`` or ``"prompt"`` (whole clusters of votes, BT only).
    - ``as_of_seq``: the vote-log sequence number the standings cover.
    - ``as_of_time`` (added within v1): Unix seconds of the newest vote the standings cover (its
      timestamp, or the time the server received it when it had none: the newest, not the last
      applied, so a late vote with an old time does not take it back); ``null`` when no vote had a
      time (an offline replay of a file without ``tstamp``).
    - ``total_votes``: votes applied to the board.
    - ``bootstrap_rounds``: bootstrap replicas behind the intervals; 0 unless ``ci`` is bootstrap.
    - ``anchor``: ``{"model", "rating"}`` when one model's rating is pinned, else ``null`` (ratings
      are then centred on the board's mean).
    - ``log_likelihood``: the Bradley–Terry fit's log-likelihood of the votes; ``null`` for Elo.
    - ``rows``: one object per model, best first, with
      ``rank`` (1 + position by rating), ``rank_ub`` (1 + models whose lower bound exceeds this
      model's upper bound), ``model``, ``rating``, ``rating_lower`` and ``rating_upper`` (the 95%
      interval; with ``ci`` "none" no interval was computed and these three are ``null``, as is
      ``summary.tied_with_leader``), ``votes``, ``wins``, ``losses``, ``ties`` (both kinds),
      ``ties_both_bad`` (of which "both bad") and ``component`` (connected group of the comparison
      graph, 0 = the largest; ratings in different components are not comparable), ``preliminary``
      (fewer votes than the board's threshold), ``regularized`` (added within v1: a prior set the
      rating, since the model's component has no plain maximum-likelihood estimate, e.g. it never
      lost; or the board's --bt-prior or style ridge applies to every row), ``rank_delta``
      (previous rank - rank) and ``rating_delta`` against ``compared_to`` (``null`` without a
      comparison or for a model new since), and the
      competitor's ``display_name``, ``organization``, ``license`` (empty when not set),
      ``open_weights`` (``null`` when not known) and ``status``.

    Added within v1: ``category`` (the view; empty for the whole board), ``summary``
    (``models_listed``, ``models_hidden``, ``preliminary``, ``total_votes``, ``gaps`` as
    ``{"10": gap}``, ``tied_with_leader``), ``compared_to`` and ``as_of_snapshot``
    (``{"name", "seq", "created", "votes"}`` or ``null``), ``scale`` and ``base`` (the board's rating
    scale: P(a beats b) = 1 / (1 + base ** ((rating_b - rating_a) / scale)); 400 and 10 by default),
    ``compared_view_empty`` (``true`` when ``compared_to`` had no votes in this view, so no row has
    deltas), ``tie_model`` (BT's: ``"half"``, ``"davidson"`` or ``"rao-kupper"``; ``null`` for Elo),
    ``tie_parameter`` (Davidson's nu or Rao–Kupper's theta; ``null`` for half and Elo) with
    ``tie_parameter_lower`` and ``tie_parameter_upper`` (its 95% interval; ``null`` without one),
    ``aic`` (BT's 2 k - 2 log_likelihood; ``null`` for Elo), ``total_rows`` (the listed rows before
    paging: ``rows`` holds the page asked for, all of them unless a ``limit`` was given).
    """
    return {"schema": FEED_SCHEMA, "as_of": _iso_utc(as_of), **render.as_dict(board)}


def _iso_utc(moment: datetime | None) -> str:
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a feed timestamp without a zone is meant as UTC
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the HTML page -----------------------------------------------------------------------------


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.5rem; margin-bottom: 0.25rem; overflow-wrap: anywhere; }
p.updated { margin: 0 0 0.25rem; }
p.updated .seq, p.summary { color: #555; }
p.summary { margin-top: 0; }
p.note { color: #8a4b00; }
.table-wrap { overflow-x: auto; margin: 1rem 0 2rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
caption { text-align: left; color: #555; padding-bottom: 0.4rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e3e3e3; white-space: nowrap; }
th { text-align: right; background: #f5f5f5; }
td { text-align: right; font-variant-numeric: tabular-nums; }
th.text, td.text { text-align: left; }
td.model { white-space: normal; min-width: 10rem; }
tbody tr:hover { background: #f0f6ff; }
img { max-width: 100%; height: auto; }
footer { color: #777; font-size: 0.8rem; margin-top: 2rem; }
@media (max-width: 40rem) {
  body { margin: 1rem auto; }
  table { font-size: 0.8rem; }
  th, td { padding: 0.2rem 0.4rem; }
}
"""


def default_title(board: Board) -> str:
    """The HTML page's title when none is given: ``text leaderboard``; ``text leaderboard · coding`` for a
    category."""
    board = render.published(board)
    return f"{board.board} leaderboard" + (f" · {board.category}" if board.category else "")


def html_page(board: Board, as_of: datetime | None = None, title: str | None = None) -> str:
    """One self-contained HTML page: the title (``default_title`` unless given), when the standings
    were last updated (the newest vote's UTC time; the seq as a detail), a summary line, the table
    (see ``_html_columns``) and the CI chart of every listed row.

    Nothing is fetched when it is opened: the style is inline and the chart is embedded as a
    base64 ``data:`` URI, so the file can be mailed, archived or opened from disk. ``as_of`` is when
    the page was generated (the footer; now by default).
    """
    board = render.published(board)
    heading = html.escape(title if title is not None else default_title(board))
    chart = io.BytesIO()
    chart_png(board, chart, top=None)
    chart_uri = "data:image/png;base64," + base64.b64encode(chart.getvalue()).decode("ascii")
    components = {row.component for row in board.rows}
    notes = []
    if len(components) > 1:
        notes.append(f"{len(components)} disconnected groups of models: compare ratings only within one (column C).")
    if board.compared_to is not None and board.compared_view_empty:
        notes.append(f"Compared with snapshot {board.compared_to.name}: this view had no votes then, so no Δ.")
    note = "".join(f'<p class="note">{html.escape(text)}</p>\n' for text in notes)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{heading}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{heading}</h1>
{_updated(board)}
<p class="summary">{html.escape(_summary(board))}</p>
{note}{_html_table(board, several_components=len(components) > 1)}
<img src="{chart_uri}" alt="Ratings of all {len(board.rows)} models with their 95% confidence intervals, best first">
<footer>Generated {_iso_utc(as_of)} · feed schema {FEED_SCHEMA}</footer>
</body>
</html>
"""


def _updated(board: PublishedLeaderboard) -> str:
    """The "Last updated" line: the newest vote's UTC time (render.as_of_moment), the votes, the seq as a detail."""
    moment = render.as_of_moment(board)
    when = f"Last updated {moment}" if moment is not None else "Last updated: not known (the votes carried no time)"
    detail = f"vote-log seq {board.as_of_seq}"
    if board.as_of is not None:
        detail = f"snapshot {board.as_of.name}, " + detail
    return (
        f'<p class="updated">{html.escape(when)} · {board.total_votes:,} votes '
        f'<span class="seq">({html.escape(detail)})</span></p>'
    )


def _summary(board: PublishedLeaderboard) -> str:
    view = board.board + (f"/{board.category}" if board.category else "")
    text = f"board {view} · {render.method_label(board)} · 95% CI: {render.ci_label(board)} · {len(board.rows)} models"
    if board.anchor is not None:
        text += f" · anchored: {render.anchor_label(board.anchor)}"
    if board.tie_model not in ("", "half"):
        text += f" · {render.tie_text(board)}"
    if board.compared_to is not None:
        text += f" · Δ since snapshot {board.compared_to.name} (seq {board.compared_to.seq})"
    return text


class _Column(NamedTuple):
    header: str
    cell: Callable[[PublishedRow], str]  # the cell's text, not yet escaped
    text: bool = False  # left-aligned (names and words) rather than right-aligned (numbers)


def _open_weights(row: PublishedRow) -> str:
    return {True: "yes", False: "no", None: ""}[row.open_weights]


def _html_columns(board: PublishedLeaderboard, several_components: bool) -> list[_Column]:
    """The page's columns: rank, rank (UB), model (the display name when set), organization, license,
    open weights, rating, 95% CI, votes, W, L, T, note (preliminary), Δrank and Δrating against
    ``compared_to``, C (component). Without an interval, no rank (UB) and no CI (which would read
    +0.0/-0.0); organization, license, open weights and note only when some row has one; the Δ
    columns only when the board was compared (and the view had votes then); C only with several."""
    rows = board.rows
    interval = board.has_interval
    columns = [
        _Column("rank", lambda r: str(r.rank)),
        *([_Column("rank (UB)", lambda r: str(r.rank_ub))] if interval else []),
        _Column("model", render.model_label, text=True),
        *([_Column("organization", lambda r: r.organization, text=True)] if any(r.organization for r in rows) else []),
        *([_Column("license", lambda r: r.license, text=True)] if any(r.license for r in rows) else []),
        *([_Column("open weights", _open_weights, text=True)] if any(r.open_weights is not None for r in rows) else []),
        _Column("rating", lambda r: f"{r.rating:.1f}"),
        *([_Column("95% CI", render.ci_text)] if interval else []),
        _Column("votes", lambda r: str(r.votes)),
        _Column("W", lambda r: str(r.wins)),
        _Column("L", lambda r: str(r.losses)),
        _Column("T", lambda r: str(r.ties)),
    ]
    if any(r.preliminary for r in rows):
        columns.append(_Column("note", lambda r: "preliminary" if r.preliminary else "", text=True))
    if board.compared_to is not None and not board.compared_view_empty:
        columns.append(_Column("Δrank", lambda r: render.delta_cells(r)[0]))
        columns.append(_Column("Δrating", lambda r: render.delta_cells(r)[1]))
    if several_components:
        columns.append(_Column("C", lambda r: str(r.component)))
    return columns


def _html_table(board: PublishedLeaderboard, several_components: bool) -> str:
    columns = _html_columns(board, several_components)
    left = ' class="text"'
    head = "".join(f'<th scope="col"{left if c.text else ""}>{html.escape(c.header)}</th>' for c in columns)
    body = "\n".join(_html_row(row, columns) for row in render.ranked(board))
    caption = f"{len(board.rows)} models, best first"
    if board.compared_to is not None and not board.compared_view_empty:
        caption += f"; Δ against snapshot {board.compared_to.name} (new: not rated then)"
    return (
        f'<div class="table-wrap" role="region" aria-label="leaderboard table" tabindex="0">\n'
        f"<table>\n<caption>{html.escape(caption)}</caption>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n</div>"
    )


def _html_row(row: PublishedRow, columns: list[_Column]) -> str:
    cells = []
    for column in columns:
        value = html.escape(column.cell(row))
        if column.header == "model":
            # The model's own name stays at hand (a tooltip) when a display name is shown in its place.
            named = f' title="{html.escape(row.model)}"' if row.display_name and row.display_name != row.model else ""
            cells.append(f'<td class="text model"{named}>{value}</td>')
        elif column.text:
            cells.append(f'<td class="text">{value}</td>')
        else:
            cells.append(f"<td>{value}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


# --- Parquet -----------------------------------------------------------------------------------


def rows_frame(board: PublishedLeaderboard) -> pl.DataFrame:
    """The rows as a polars DataFrame: one column per row field, then the board-level constants
    ``render.BOARD_COLUMNS`` (as the CSV has them)."""
    import polars as pl

    rows = pl.DataFrame(render.as_dict(board)["rows"], schema=_row_schema())  # explicit types: an empty board too
    return rows.with_columns(
        pl.lit(value, dtype=pl.UInt64 if name == "as_of_seq" else pl.String).alias(name)
        for name, value in render.board_columns(board).items()
    )


# --- files -------------------------------------------------------------------------------------


def write(board: Board, path: Path, fmt: str | None = None, *, title: str | None = None) -> Path:
    """Write one export to ``path`` and return it.

    ``fmt`` is one of ``FORMATS``; when None it follows the extension (.json, .csv, .txt for the
    table, .html/.htm, .png for the chart, .parquet). The heatmap is only written when asked for
    (``fmt="heatmap"``). ``title`` is the HTML page's (``default_title`` when None); the other
    formats have none. The file is replaced atomically, so a reader polling a published feed
    never sees it half written.
    """
    path = Path(path)
    fmt = fmt or _format_of(path)
    if fmt not in FORMATS:
        raise ValueError(f"cannot write {path}: unknown format {fmt!r} (accepted: {', '.join(FORMATS)})")
    board = render.published(board)
    _replace_atomically(path, _encode(board, fmt, title))
    log.debug("wrote %s leaderboard %s to %s", fmt, board.board, path)
    return path


def text(board: Board, fmt: str, *, title: str | None = None) -> str:
    """A text format (table, csv, json: the feed, html) as a string, for standard output; ``title`` as for write."""
    if fmt not in ("table", "csv", "json", "html"):
        raise ValueError(f"{fmt!r} is not a text format (table, csv, json, html)")
    return _encode(board, fmt, title).decode().rstrip("\n")


def export_set(
    board: Board,
    directory: Path,
    stem: str = "leaderboard",
    formats: Iterable[str] = ("json", "csv", "html", "png", "heatmap", "parquet"),
    *,
    title: str | None = None,
) -> list[Path]:
    """Write several exports into ``directory`` (created if needed) as ``{stem}.json``,
    ``{stem}.csv``, ``{stem}.txt`` (table), ``{stem}.html``, ``{stem}.png``,
    ``{stem}-heatmap.png`` and ``{stem}.parquet``; returns the paths in the order of ``formats``.
    ``title`` is the HTML page's, as for write."""
    formats = list(formats)
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown:  # checked before writing anything, so a typo does not leave a partial set behind
        raise ValueError(f"unknown formats {unknown} (accepted: {', '.join(FORMATS)})")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    board = render.published(board)
    return [write(board, directory / f"{stem}{_SET_SUFFIX[fmt]}", fmt, title=title) for fmt in formats]


def format_of(path: Path | str) -> str | None:
    """The format a file's extension implies (``SUFFIXES``), or None when it implies none."""
    return _FORMAT_OF_SUFFIX.get(Path(path).suffix.lower())


SUFFIXES = tuple(sorted(_FORMAT_OF_SUFFIX))  # the extensions format_of knows


def _format_of(path: Path) -> str:
    fmt = format_of(path)
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of {path} from its extension (accepted: {', '.join(SUFFIXES)}); "
            f"or pass fmt, one of {', '.join(FORMATS)}"
        )
    return fmt


def _encode(board: Board, fmt: str, title: str | None = None) -> bytes:
    """The file's bytes for one format; ``title``: the HTML page's."""
    board = render.published(board)
    if fmt == "json":
        return (json.dumps(feed(board), indent=2) + "\n").encode()
    if fmt in ("csv", "table"):
        return (render.render(board, fmt) + "\n").encode()
    if fmt == "html":
        return html_page(board, title=title).encode()
    buffer = io.BytesIO()
    if fmt == "png":
        chart_png(board, buffer, top=None)
    elif fmt == "heatmap":
        heatmap_png(board, buffer)
    else:  # parquet
        rows_frame(board).write_parquet(buffer)
    return buffer.getvalue()


def _replace_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
