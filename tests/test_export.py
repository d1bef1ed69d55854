"""Leaderboard exports: the JSON feed, PNG charts, the HTML page, Parquet and the file writers."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import struct
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import matplotlib.image
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from server.domain.published import PublishedLeaderboard, SnapshotMark
from server.files import charts, export, render
from server.proto.arena_ratings.v1 import ratings_pb2 as pb

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MODELS = [
    "gpt-4o-2024-05-13",
    "claude-3-5-sonnet-20240620",
    "gemini-1.5-pro-api-0514",
    "gpt-4-turbo-2024-04-09",
    "claude-3-opus-20240229",
    "llama-3.1-405b-instruct",
    "yi-large-preview",
    "gemini-1.5-flash-api-0514",
    "deepseek-v2-api-0628",
    "qwen2-72b-instruct",
    "mistral-large-2407",
    "command-r-plus",
    "llama-3-70b-instruct",
    "reka-core-20240501",
    "glm-4-0520",
    "claude-3-haiku-20240307",
    "gemma-2-27b-it",
    "mixtral-8x22b-instruct-v0.1",
    "phi-3-medium-4k-instruct",
    "dbrx-instruct-preview",
    "R&D <beta> model",  # must be HTML-escaped
    "tier $^$ preview",  # read as mathtext, this name would make matplotlib raise
    "a-very-long-model-name-that-goes-on-and-on-2024-07-18-instruct-preview",
    "openchat-3.5-0106",
    "starling-lm-7b-beta",
    "vicuna-33b",
    "zephyr-7b-beta",
    "gpt-3.5-turbo-0125",
    "olmo-7b-instruct",
    "chatglm3-6b",
]


def make_board(
    n: int = 30,
    seed: int = 7,
    anchor: tuple[str, float] | None = None,
    two_components: bool = False,
    method: int = pb.BT,
) -> pb.Leaderboard:
    """A plausible leaderboard: ratings spread like the arena's, asymmetric CIs that widen for
    models with fewer votes, consistent W/L/T counts and rank_ub computed as the service does."""
    rng = np.random.default_rng(seed)
    names = MODELS[:n] if n <= len(MODELS) else [*MODELS, *(f"model-{i}" for i in range(len(MODELS), n))]
    rating = np.sort(rng.normal(1100.0, 90.0, n))[::-1]
    votes = rng.integers(300, 20_000, n)
    half = 1800.0 / np.sqrt(votes)
    lower = rating - half * rng.uniform(0.8, 1.2, n)
    upper = rating + half * rng.uniform(0.8, 1.2, n)
    component = np.zeros(n, dtype=int)
    if two_components:
        component[-4:] = 1  # a small group of models nobody compared with the rest
    board = pb.Leaderboard(
        board="text",
        method=method,
        as_of_seq=int(votes.sum() // 2) + 17,
        total_votes=int(votes.sum() // 2),
        bootstrap_rounds=1000 if method == pb.BT else 100,
        ci=pb.BOOTSTRAP,
        log_likelihood=-12345.678 if method == pb.BT else 0.0,
    )
    if anchor:
        board.anchor.model, board.anchor.rating = anchor
    for i in range(n):
        ties = int(votes[i] * rng.uniform(0.1, 0.25))
        wins = int((votes[i] - ties) * rng.uniform(0.3, 0.7))
        board.rows.append(
            pb.LeaderboardRow(
                rank=i + 1,
                rank_ub=1 + int((lower > upper[i]).sum()),
                model=names[i],
                rating=float(rating[i]),
                rating_lower=float(lower[i]),
                rating_upper=float(upper[i]),
                votes=int(votes[i]),
                wins=wins,
                losses=int(votes[i]) - ties - wins,
                ties=ties,
                ties_both_bad=ties // 3,
                component=int(component[i]),
            )
        )
    return board


BOARDS = {
    "plain": make_board(),
    "anchored": make_board(anchor=("gpt-4-turbo-2024-04-09", 1200.0)),
    "two-components": make_board(two_components=True),
    "elo": make_board(method=pb.ELO),
    "fifty-five": make_board(n=55, seed=3),
}


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which a valid PNG has right after its signature."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def assert_real_png(data: bytes, min_side: int = 400) -> tuple[int, int]:
    width, height = png_size(data)
    assert width >= min_side and height >= min_side, (width, height)
    assert len(data) > 10_000, len(data)
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (height, width)
    rgba = np.ascontiguousarray((pixels * 255).round().astype(np.uint8))
    if rgba.shape[-1] == 3:
        rgba = np.concatenate([rgba, np.full(rgba.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    colours = np.unique(rgba.view(np.uint32))  # one 32-bit number per pixel: fast to count
    assert len(colours) > 10, "the image is (nearly) one colour"
    background = (rgba == rgba[0, 0]).all(axis=-1).mean()
    assert background < 0.97, f"{background:.1%} of the image is its corner colour: little was drawn"
    return width, height


# --- the feed ----------------------------------------------------------------------------------


def test_feed_is_render_as_dict_plus_schema_and_as_of():
    board = BOARDS["anchored"]
    moment = datetime(2025, 6, 1, 14, 30, 5, tzinfo=timezone(timedelta(hours=2)))
    out = export.feed(board, moment)
    assert list(out)[0] == "schema"
    assert out["schema"] == export.FEED_SCHEMA == "arena-ratings/leaderboard/v1"
    assert out["as_of"] == "2025-06-01T12:30:05Z"  # converted to UTC
    expected = render.as_dict(board)
    assert {k: v for k, v in out.items() if k not in ("schema", "as_of")} == expected
    assert out["rows"] == expected["rows"] and len(out["rows"]) == 30
    assert out["anchor"] == {"model": "gpt-4-turbo-2024-04-09", "rating": 1200.0}
    assert json.loads(json.dumps(out)) == out  # plain JSON types only


def test_feed_as_of_defaults_to_now_in_utc():
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = export.feed(BOARDS["plain"])["as_of"]
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    assert before <= datetime.fromisoformat(stamp) <= after
    # A naive datetime is taken as UTC, not as local time.
    assert export.feed(BOARDS["plain"], datetime(2025, 1, 2, 3, 4, 5))["as_of"] == "2025-01-02T03:04:05Z"


# --- charts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_chart_png_is_a_real_image(tmp_path, name):
    path = tmp_path / f"{name}.png"
    assert export.chart_png(BOARDS[name], path) is None
    width, height = assert_real_png(path.read_bytes())
    assert width >= 1000
    if name == "fifty-five":
        assert height >= 1500  # every model (55, by default) gets room for a legible name


def test_chart_png_top_limits_the_models_and_writes_to_a_buffer():
    full, top10 = io.BytesIO(), io.BytesIO()
    export.chart_png(BOARDS["plain"], full, top=None)
    export.chart_png(BOARDS["plain"], top10, top=10)
    _, full_height = assert_real_png(full.getvalue())
    _, top10_height = assert_real_png(top10.getvalue())
    assert top10_height < full_height
    with pytest.raises(ValueError, match="top"):
        export.chart_png(BOARDS["plain"], io.BytesIO(), top=0)


@pytest.mark.parametrize("name", ["plain", "two-components", "elo"])
def test_heatmap_png_is_a_real_image(tmp_path, name):
    path = tmp_path / "heatmap.png"
    export.heatmap_png(BOARDS[name], path)
    width, height = assert_real_png(path.read_bytes(), min_side=800)
    assert width > height  # the colour bar sits beside the square matrix


def test_heatmap_probabilities_follow_the_rating_gap():
    rows = render.ranked(BOARDS["two-components"])[:20]
    p = charts._win_matrix(rows)
    rating = np.array([r.rating for r in rows])
    assert np.isnan(np.diag(p)).all()
    i, j = 0, 5
    assert p[i, j] == pytest.approx(1 / (1 + 10 ** ((rating[j] - rating[i]) / 400)))
    assert p[i, j] + p[j, i] == pytest.approx(1.0)
    assert p[i, j] > 0.5  # ranked higher, predicted to win
    # Elo's natural-log convention on the same ratings: base e, scale 400 / ln 10 gives the same numbers.
    assert charts._win_matrix(rows, scale=400 / np.log(10), base=np.e) == pytest.approx(p, nan_ok=True)
    # Across components the ratings are not comparable, so those cells stay blank.
    two = render.ranked(BOARDS["two-components"])
    q = charts._win_matrix(two)
    assert np.isnan(q[0, -1]) and np.isnan(q[-1, 0]) and np.isfinite(q[-1, -2])


def test_charts_touch_no_global_matplotlib_state():
    code = (
        "import io, sys\n"
        "import matplotlib\n"
        "backend = matplotlib.rcParams._get('backend')\n"
        "from server.files import export\n"
        "from tests.test_export import make_board\n"
        "export.chart_png(make_board(), io.BytesIO())\n"
        "export.heatmap_png(make_board(), io.BytesIO())\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "assert matplotlib.rcParams._get('backend') == backend, 'the backend was changed'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_empty_board_still_exports(tmp_path):
    empty = pb.Leaderboard(board="new", method=pb.BT, ci=pb.BOOTSTRAP)
    paths = export.export_set(empty, tmp_path, formats=export.FORMATS)
    assert all(p.stat().st_size > 0 for p in paths)
    assert pl.read_parquet(tmp_path / "leaderboard.parquet").height == 0
    page = (tmp_path / "leaderboard.html").read_text()
    assert "<tbody>\n\n</tbody>" in page and "data:image/png;base64," in page
    assert json.loads((tmp_path / "leaderboard.json").read_text())["rows"] == []


# --- HTML --------------------------------------------------------------------------------------


def test_html_page_is_self_contained_and_escaped():
    board = BOARDS["anchored"]
    page = export.html_page(board, datetime(2025, 6, 1, tzinfo=UTC))
    assert page.startswith("<!DOCTYPE html>")
    for row in board.rows:
        assert f">{row.model.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}<" in page
    assert "R&amp;D &lt;beta&gt; model" in page and "R&D <beta>" not in page
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(src|href)=["'](?!data:)""", page), "only data: URIs may be referenced"
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 1
    assert_real_png(base64.b64decode(images[0], validate=True))
    summary = re.search(r'<p class="summary">(.*?)</p>', page).group(1)
    for part in ("board text", "Bradley–Terry", "bootstrap (1000 rounds)", "30 models"):
        assert part in summary
    assert "anchored: gpt-4-turbo-2024-04-09 = 1200" in summary
    updated = re.search(r'<p class="updated">(.*?)</p>', page).group(1)  # no vote time: the seq is all there is
    assert "not known" in updated and f"{board.total_votes:,} votes" in updated
    assert f"vote-log seq {board.as_of_seq}" in updated
    assert "2025-06-01T00:00:00Z" in page
    first = board.rows[0]
    ci = f"+{first.rating_upper - first.rating:.1f}/-{first.rating - first.rating_lower:.1f}"
    assert f"<td>{first.rating:.1f}</td><td>{ci}</td><td>{first.votes}</td>" in page


def test_html_page_shows_components_only_when_there_are_several():
    single = export.html_page(BOARDS["plain"])
    split = export.html_page(BOARDS["two-components"])
    assert '<th scope="col">C</th>' not in single and "disconnected" not in single
    assert '<th scope="col">C</th>' in split and "2 disconnected groups" in split
    last = BOARDS["two-components"].rows[-1]
    assert re.search(rf"{re.escape(last.model)}</td>(<td>[^<]*</td>){{6}}<td>1</td></tr>", split)
    assert split.count("<tr>") == 31  # header + 30 models


ORGANIZATIONS = ["OpenAI", "Anthropic", "Google", "", "R&D Labs"]
UPDATED = datetime(2026, 11, 30, 16, 40, 12, tzinfo=UTC)


def described_board(n: int = 58) -> PublishedLeaderboard:
    """``make_board(n)`` as a user's board looks: competitors' metadata on some rows (not all), the last
    six preliminary, a category, the newest vote's time, and deltas against a snapshot (the last model new since)."""
    board = render.published(make_board(n=n, seed=11))
    rows = tuple(
        replace(
            row,
            display_name=f"Display <{i}>" if i % 5 == 0 else "",
            organization=ORGANIZATIONS[i % len(ORGANIZATIONS)],
            license={0: "Apache-2.0", 1: "Proprietary", 2: ""}[i % 3],
            open_weights=None if i % 7 == 0 else i % 3 == 0,
            preliminary=i >= n - 6,
            rank_delta=None if i == n - 1 else i % 5 - 2,
            rating_delta=None if i == n - 1 else round(0.7 * i - 10.0, 1),
        )
        for i, row in enumerate(board.rows)
    )
    snapshot = SnapshotMark(name="2026-q3", seq=1234, created=1_790_000_000.0, votes=9000)
    return replace(board, rows=rows, category="coding", compared_to=snapshot, as_of_time=UPDATED.timestamp())


def html_table(page: str) -> tuple[list[str], list[dict[str, str]]]:
    """The page's table as (headers, one {header: cell text} per body row)."""
    cell = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>")
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", page).group(1)
    headers = [html.unescape(h) for h in cell.findall(head)]
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    rows = [dict(zip(headers, map(html.unescape, cell.findall(tr)), strict=True)) for tr in body.strip().splitlines()]
    return headers, rows


def test_html_page_shows_metadata_preliminary_and_deltas():
    board = described_board()
    headers, rows = html_table(export.html_page(board))
    assert headers == [
        "rank", "rank (UB)", "model", "organization", "license", "open weights", "rating", "95% CI", "votes",
        "W", "L", "T", "note", "Δrank", "Δrating",
    ]  # fmt: skip
    assert len(rows) == 58
    for i, (row, cells) in enumerate(zip(board.rows, rows)):
        assert cells["rank"] == str(row.rank) and cells["rank (UB)"] == str(row.rank_ub)
        assert cells["model"] == (f"Display <{i}>" if i % 5 == 0 else row.model)
        assert cells["organization"] == ORGANIZATIONS[i % len(ORGANIZATIONS)]
        assert cells["license"] == row.license
        assert cells["open weights"] == {True: "yes", False: "no", None: ""}[row.open_weights]
        assert cells["rating"] == f"{row.rating:.1f}" and cells["votes"] == str(row.votes)
        assert cells["note"] == ("preliminary" if i >= 52 else "")
        if i == 57:
            assert (cells["Δrank"], cells["Δrating"]) == ("new", "")
        else:
            assert cells["Δrank"] == (f"{row.rank_delta:+d}" if row.rank_delta else "0")
            assert cells["Δrating"] == f"{row.rating_delta:+.1f}"
    page = export.html_page(board)
    assert "R&amp;D Labs" in page and "Display &lt;0&gt;" in page  # escaped
    assert f'title="{board.rows[0].model}"' in page  # the model's own name behind its display name
    assert '<th scope="col"' in page and "<caption>58 models, best first; Δ against snapshot 2026-q3" in page
    assert '<div class="table-wrap"' in page and "overflow-x: auto" in page  # scrolls sideways on a phone


def test_html_page_leaves_out_columns_no_row_has():
    headers, _ = html_table(export.html_page(BOARDS["plain"]))
    assert headers == ["rank", "rank (UB)", "model", "rating", "95% CI", "votes", "W", "L", "T"]
    one = render.published(BOARDS["plain"])
    one = replace(one, rows=(replace(one.rows[3], organization="Mistral", open_weights=False), *one.rows[:3]))
    headers, rows = html_table(export.html_page(one))
    assert "organization" in headers and "open weights" in headers and "license" not in headers
    assert [r["organization"] for r in rows] == ["", "", "", "Mistral"]  # ranked: the row sorts back to fourth
    no_ci = replace(one, ci="none")
    headers, _ = html_table(export.html_page(no_ci))
    assert "95% CI" not in headers and "rank (UB)" not in headers


def test_html_page_title_is_settable_and_escaped():
    board = described_board()
    page = export.html_page(board)
    assert "<title>text leaderboard · coding</title>" in page and "<h1>text leaderboard · coding</h1>" in page
    assert "Leaderboard: text" not in page
    page = export.html_page(board, title="Q4 <arena> & friends")
    assert "<title>Q4 &lt;arena&gt; &amp; friends</title>" in page and "<h1>Q4 &lt;arena&gt; &amp; friends</h1>" in page
    assert "<arena>" not in page
    assert export.default_title(BOARDS["plain"]) == "text leaderboard"


def test_html_page_says_when_it_was_last_updated():
    board = described_board()
    updated = re.search(r'<p class="updated">(.*?)</p>', export.html_page(board)).group(1)
    assert updated.startswith(f"Last updated 2026-11-30 16:40:12 UTC · {board.total_votes:,} votes ")
    assert f'<span class="seq">(vote-log seq {board.as_of_seq})</span>' in updated  # the seq: a detail after it


def test_html_page_charts_every_listed_row():
    board = described_board()
    assert len(charts.ratings_figure(board).axes[0].get_yticklabels()) == 58
    labels = [t.get_text() for t in charts.ratings_figure(board).axes[0].get_yticklabels()]
    assert labels[0] == "Display <0>" and labels[1] == board.rows[1].model  # the names the table shows
    page = export.html_page(board)
    embedded = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1))
    every, top50 = io.BytesIO(), io.BytesIO()
    export.chart_png(board, every)
    export.chart_png(board, top50, top=50)
    assert png_size(embedded) == png_size(every.getvalue()) != png_size(top50.getvalue())
    assert "all 58 models" in page


@pytest.mark.parametrize("n", [300, 1500])
def test_ratings_chart_draws_every_row_legibly(n):
    fig = charts.ratings_figure(make_board(n=n, seed=5))
    labels = fig.axes[0].get_yticklabels()
    assert len(labels) == n
    width, height = fig.get_size_inches() * charts.DPI
    assert height <= charts._MAX_HEIGHT * charts.DPI < 2**16  # Agg's limit, and a file a browser opens
    size = labels[0].get_fontsize()
    if n == 300:
        assert size == charts._LABEL_SIZE and height >= 300 * 0.2 * charts.DPI  # full size: ~29 pixels a row
    else:
        assert 4.0 <= size < charts._LABEL_SIZE  # packed closer, set smaller, still there
        assert height / n >= size * charts.DPI / 72  # each name fits its row


# --- files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("out.json", lambda p: json.loads(p.read_text())["schema"] == export.FEED_SCHEMA),
        ("out.csv", lambda p: p.read_text().startswith("rank,rank_ub,model,")),
        ("out.txt", lambda p: p.read_text().startswith("board text · bt ·")),
        ("out.html", lambda p: p.read_text().startswith("<!DOCTYPE html>")),
        ("OUT.HTM", lambda p: p.read_text().startswith("<!DOCTYPE html>")),
        ("out.png", lambda p: p.read_bytes().startswith(PNG_SIGNATURE)),
        ("out.parquet", lambda p: pl.read_parquet(p).height == 30),
    ],
)
def test_write_picks_the_format_from_the_extension(tmp_path, name, check):
    path = export.write(BOARDS["plain"], tmp_path / name)
    assert path == tmp_path / name
    assert check(path)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_write_honours_an_explicit_format(tmp_path):
    board = BOARDS["plain"]
    as_csv = export.write(board, tmp_path / "board.data", fmt="csv")
    assert as_csv.read_text() == render.render(board, "csv") + "\n"
    as_table = export.write(board, tmp_path / "board.json", fmt="table")
    assert as_table.read_text() == render.render(board, "table") + "\n"
    chart, heatmap = tmp_path / "chart.png", tmp_path / "heat.png"
    export.write(board, chart)
    export.write(board, heatmap, fmt="heatmap")
    assert png_size(heatmap.read_bytes()) != png_size(chart.read_bytes())


def test_write_json_is_the_feed(tmp_path):
    path = export.write(BOARDS["two-components"], tmp_path / "feed.json")
    data = json.loads(path.read_text())
    assert list(data)[:2] == ["schema", "as_of"]
    assert data["rows"] == render.as_dict(BOARDS["two-components"])["rows"]


def test_write_rejects_unknown_formats(tmp_path):
    with pytest.raises(ValueError) as caught:
        export.write(BOARDS["plain"], tmp_path / "board.xlsx")
    message = str(caught.value)
    assert str(tmp_path / "board.xlsx") in message
    for suffix in (".json", ".csv", ".txt", ".html", ".png", ".parquet"):
        assert suffix in message
    with pytest.raises(ValueError, match="board"):
        export.write(BOARDS["plain"], tmp_path / "board")  # no extension at all
    with pytest.raises(ValueError, match="'svg'"):
        export.write(BOARDS["plain"], tmp_path / "board.png", fmt="svg")
    assert list(tmp_path.iterdir()) == []


def test_parquet_round_trips_the_rows(tmp_path):
    board = BOARDS["two-components"]
    back = pl.read_parquet(export.write(board, tmp_path / "board.parquet"))
    assert back.columns == [*render.ROW_FIELDS, *render.BOARD_COLUMNS]
    assert back.select(render.ROW_FIELDS).to_dicts() == render.as_dict(board)["rows"]
    table = pl.read_csv(io.StringIO(render.render(board, "csv")))  # the same columns, CSV and Parquet
    text = ("display_name", "organization", "license", "tie_model")
    table = table.with_columns(pl.col(*text).cast(pl.String).fill_null(""))  # "" reads as null
    assert_frame_equal(back, table, check_dtypes=False)
    assert back["rank"].dtype == pl.UInt32 and back["votes"].dtype == pl.UInt64
    constants = back.select(render.BOARD_COLUMNS).unique().to_dicts()
    assert constants == [{"board": "text", "method": "bt", "ci": "bootstrap", "tie_model": "half",
                          "cluster": "none", "as_of_seq": board.as_of_seq}]  # fmt: skip


def test_export_set_writes_every_file(tmp_path):
    directory = tmp_path / "site" / "boards"  # created, parents included
    paths = export.export_set(BOARDS["fifty-five"], directory, stem="text")
    names = ["text.json", "text.csv", "text.html", "text.png", "text-heatmap.png", "text.parquet"]
    assert paths == [directory / name for name in names]
    assert sorted(p.name for p in directory.iterdir()) == sorted(names)
    assert json.loads((directory / "text.json").read_text())["rows"][0]["rank"] == 1
    assert_real_png((directory / "text.png").read_bytes())
    assert_real_png((directory / "text-heatmap.png").read_bytes())
    assert pl.read_parquet(directory / "text.parquet").height == 55
    assert export.export_set(BOARDS["plain"], directory, formats=["table"]) == [directory / "leaderboard.txt"]
    with pytest.raises(ValueError, match="xlsx"):
        export.export_set(BOARDS["plain"], tmp_path / "other", formats=["json", "xlsx"])
    assert not (tmp_path / "other").exists()
