"""Charts of a leaderboard: the ratings with their 95% CIs, and the predicted win rates of the top
models (a heatmap), as PNG.

matplotlib's object API (``Figure`` with an Agg canvas), never ``pyplot``: nothing global is touched
(no backend switch, no figure registry), so charts can be drawn inside the service, a notebook or
several threads. numpy and matplotlib are imported where a chart is made, so the text formats of
the command line start fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO

from engine.config import ARENA_BASE, ARENA_SCALE
from server.domain.published import PublishedLeaderboard, PublishedRow
from server.files import render
from server.files.render import anchor_label, ci_label, method_label, ranked

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from server.files.render import Board

DPI = 120
_LABEL_CHARS = 42  # longer model names are shortened on charts so the plot keeps its width
# The ratings chart: inches per row and the names' size in points, up to a figure _MAX_HEIGHT inches
# tall (14,400 pixels: 490 rows at full size; Agg stops at 65,536); _MARGIN holds the title and x axis.
_ROW_PITCH = 0.24
_LABEL_SIZE = 8.5
_MAX_HEIGHT = 120.0
_MARGIN = 1.6

PathOrBuffer = str | os.PathLike[str] | BinaryIO


def chart_png(board: Board, path_or_buffer: PathOrBuffer, top: int | None = None) -> None:
    """Write a PNG dot plot of the ``top`` best ratings (every listed row when None) with 95% CI error bars.

    Models run down the y axis best first, so long names stay horizontal and legible; the figure
    grows with the number of models (about 1200 x 1700 pixels for 50, 8800 pixels tall for 300) up
    to ``_MAX_HEIGHT`` inches, beyond which the rows are packed closer and their names set smaller:
    every row is drawn. Models in different components of the comparison graph get different
    colours, since their ratings are not comparable.
    """
    _save(ratings_figure(board, top), path_or_buffer)


def ratings_figure(board: Board, top: int | None = None) -> Figure:
    """The figure chart_png saves: one y tick (labelled with the model's name) per row drawn."""
    board = render.published(board)
    rows = ranked(board)[: _check_top(top)]
    pitch = min(_ROW_PITCH, (_MAX_HEIGHT - _MARGIN) / max(1, len(rows)))
    fig = _new_figure(10.0, max(3.5, _MARGIN + pitch * len(rows)))
    ax = fig.add_subplot()
    if rows:
        # A name takes at most ~80% of its row's pitch (72 points an inch), so labels never overlap.
        _plot_ratings(ax, board, rows, label_size=min(_LABEL_SIZE, 0.8 * 72 * pitch))
    else:
        _say_empty(ax)
    ax.set_title(_chart_title(board, len(rows)), loc="left", fontsize=11, parse_math=False)
    return fig


def _plot_ratings(ax: Axes, board: PublishedLeaderboard, rows: list[PublishedRow], label_size: float) -> None:
    import numpy as np

    y = np.arange(len(rows))
    rating = np.array([r.rating for r in rows])
    # Clipped at 0: matplotlib rejects negative error bars, and a bound on the wrong side of the
    # rating (possible for a bootstrap percentile) draws as no bar on that side. No interval: no bars.
    lower = np.array([r.rating if r.rating_lower is None else r.rating_lower for r in rows])
    upper = np.array([r.rating if r.rating_upper is None else r.rating_upper for r in rows])
    below = np.clip(rating - lower, 0.0, None)
    above = np.clip(upper - rating, 0.0, None)
    components = np.array([r.component for r in rows])
    several = len(set(components.tolist())) > 1
    for index, component in enumerate(sorted(set(components.tolist()))):
        mine = components == component
        ax.errorbar(
            rating[mine],
            y[mine],
            xerr=[below[mine], above[mine]],
            fmt="o",
            markersize=min(4.5, label_size * 0.55),
            color=f"C{index}",
            ecolor=f"C{index}",
            elinewidth=1.4 if label_size >= _LABEL_SIZE else 0.8,
            capsize=min(3.0, label_size * 0.35),
            label=f"component {component}" if several else None,
        )
    if several:
        ax.legend(title="not comparable across", loc="lower right", fontsize=8, title_fontsize=8)
    ax.set_yticks(y, [_short(render.model_label(r)) for r in rows], fontsize=label_size, parse_math=False)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # best at the top
    ax.set_xlabel(f"{method_label(board)} rating" + (", 95% CI" if board.has_interval else " (no interval computed)"))
    ax.grid(axis="x", alpha=0.35)
    ax.grid(axis="y", alpha=0.15, linestyle=":")  # a faint guide from each name to its point
    ax.set_axisbelow(True)
    if len(rows) > 40:  # a tall chart: the rating scale at the top too, not only a screenful below
        ax.tick_params(axis="x", top=True, labeltop=True)
    if board.anchor is not None:
        ax.axvline(board.anchor.rating, color="0.5", linewidth=0.8, linestyle="--", zorder=0)


def _chart_title(board: PublishedLeaderboard, shown: int) -> str:
    subset = f"top {shown} of {len(board.rows)} models" if shown < len(board.rows) else f"{shown} models"
    first = f"{board.board} · {method_label(board)} · 95% CI: {ci_label(board)} · {board.total_votes:,} votes"
    second = f"{subset} · {render.as_of_text(board)}"
    if board.anchor is not None:
        second += f" · anchored: {anchor_label(board.anchor)}"
    return f"{first}\n{second}"


def heatmap_png(
    board: Board,
    path_or_buffer: PathOrBuffer,
    top: int = 20,
    scale: float | None = None,
    base: float | None = None,
) -> None:
    """Write a PNG heatmap of predicted win rates among the ``top`` best models, in rank order.

    Cell (row, column) holds P(row beats column) = 1 / (1 + base ** ((r_col - r_row) / scale))
    (engine.scale.win_probability), which holds for both the Bradley–Terry and the Elo ratings, on
    the board's own scale and base (``board.scale``, ``board.base``) unless ``scale``/``base`` are given.
    The diagonal is blank, as are pairs in different components (their ratings are not comparable).
    """
    board = render.published(board)
    own_scale, own_base = render.rating_scale(board)
    scale, base = scale or own_scale, base or own_base
    rows = ranked(board)[: _check_top(top)]
    side = max(5.0, 3.5 + 0.45 * len(rows))  # cells keep their size, so "0.50" at 8 pt always fits
    fig = _new_figure(side + 1.0, side)
    ax = fig.add_subplot()
    if rows:
        _plot_win_matrix(fig, ax, rows, _win_matrix(rows, scale, base))
    else:
        _say_empty(ax)
    title = f"Predicted win rate, {board.board} · {method_label(board)} · top {len(rows)} models"
    formula = f"P(row beats column) = 1 / (1 + {base:g}^((R_col - R_row) / {scale:g}))"
    ax.set_title(f"{title}\n{formula}", loc="left", fontsize=11, parse_math=False)
    _save(fig, path_or_buffer)


def _win_matrix(rows: Sequence[PublishedRow], scale: float = ARENA_SCALE, base: float = ARENA_BASE) -> np.ndarray:
    """P(row i beats column j) from the ratings; NaN on the diagonal and across components."""
    import numpy as np

    from engine.scale import win_probability  # numpy: loaded with the chart, not by a text command

    if scale <= 0 or base <= 1:
        raise ValueError(f"need scale > 0 and base > 1, got scale={scale}, base={base}")
    rating = np.array([r.rating for r in rows], dtype=np.float64)
    component = np.array([r.component for r in rows])
    p = win_probability(rating[:, None], rating[None, :], scale, base)
    p[component[:, None] != component[None, :]] = np.nan
    np.fill_diagonal(p, np.nan)
    return p


def _plot_win_matrix(fig: Figure, ax: Axes, rows: list[PublishedRow], p: np.ndarray) -> None:
    # Red: the row model is predicted to lose, blue: to win; NaN cells (diagonal, across components) stay white.
    import numpy as np
    from matplotlib import colormaps

    cmap = colormaps["RdBu"].with_extremes(bad="white")  # the registry is only read, never changed
    image = ax.imshow(p, cmap=cmap, vmin=0.0, vmax=1.0)
    labels = [_short(render.model_label(r)) for r in rows]
    ticks = np.arange(len(rows))
    ax.set_xticks(ticks, labels, rotation=45, ha="right", rotation_mode="anchor", fontsize=8.5, parse_math=False)
    ax.set_yticks(ticks, labels, fontsize=8.5, parse_math=False)
    ax.set_xlabel("column: opponent")
    ax.set_ylabel("row: model")
    for (i, j), value in np.ndenumerate(p):
        if np.isfinite(value):
            # White on the saturated ends of the colour map, black in its pale middle.
            colour = "white" if abs(value - 0.5) > 0.3 else "black"
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color=colour)
    fig.colorbar(image, ax=ax, shrink=0.7, label="P(row beats column)")


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself to the figure: Agg without selecting a global backend
    return fig


def _save(fig: Figure, path_or_buffer: PathOrBuffer) -> None:
    fig.savefig(path_or_buffer, format="png", dpi=DPI, facecolor="white")


def _say_empty(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no ratings yet", ha="center", va="center", fontsize=14, color="0.4", transform=ax.transAxes)
    ax.set_axis_off()


def _check_top(top: int | None) -> int | None:
    if top is not None and top < 1:
        raise ValueError(f"top must be at least 1 (or None for every model), got {top}")
    return top


def _short(name: str) -> str:
    return name if len(name) <= _LABEL_CHARS else name[: _LABEL_CHARS - 1] + "…"


# --- HTML --------------------------------------------------------------------------------------
