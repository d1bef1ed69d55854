"""The notebook API (server.frames): the replay command's numbers from a DataFrame, for every kind of
query, from polars, pandas and Arrow input; bad input as a ValueError naming the row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from server.cli.main import main
from server.files.render import BOARD_COLUMNS
from server.frames import head_to_head, leaderboard
from tests.conftest import style_votes

ROOT = Path(__file__).resolve().parent.parent
LABELS = np.array(["", "model_a", "model_b", "tie", "tie (bothbad)"])


@pytest.fixture(scope="module")
def votes() -> pl.DataFrame:
    """3,000 votes over 12 models with every column a replay can read: time, judge, tags, anony,
    language and two style features."""
    a, b, outcome, values, _ = style_votes(3000, 12, seed=5, n_features=2, tie_rate=0.1)
    rng = np.random.default_rng(6)
    tags = [["coding"] if r < 0.4 else ["coding", "math"] if r < 0.6 else [] for r in rng.random(3000)]
    return pl.DataFrame({
        "model_a": [f"m{i:02d}" for i in a],
        "model_b": [f"m{i:02d}" for i in b],
        "winner": LABELS[outcome].tolist(),
        "tstamp": 1.7e9 + np.arange(3000.0) * 60,
        "judge": [f"voter{i}" for i in rng.integers(0, 40, 3000)],
        "tags": tags,
        "anony": rng.random(3000) < 0.8,
        "language": rng.choice(["English", "German"], 3000).tolist(),
        "style_a_tokens": values[:, 0],
        "style_a_bold": values[:, 1],
        "style_b_tokens": values[:, 2],
        "style_b_bold": values[:, 3],
    })  # fmt: skip


def cli_rows(capsys, path: Path, *args: str) -> list[dict]:
    assert main(["replay", str(path), "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)["rows"]


QUERIES = [
    ({}, []),
    ({"ci": "none"}, ["--ci", "none"]),
    ({"ci": "sandwich"}, ["--ci", "sandwich"]),
    ({"rounds": 50, "seed": 3}, ["--rounds", "50", "--seed", "3"]),
    ({"anchor": ("m03", 1200.0), "rounds": 40}, ["--anchor", "m03=1200", "--rounds", "40"]),
    ({"category": "math", "rounds": 40}, ["--category", "math", "--rounds", "40"]),
    ({"style_control": True, "rounds": 20}, ["--style-control", "--rounds", "20"]),
    ({"method": "elo"}, ["--method", "elo"]),
    ({"method": "elo", "bootstrap": 50, "seed": 9}, ["--method", "elo", "--bootstrap", "50", "--seed", "9"]),
    ({"method": "elo", "ci": "none"}, ["--method", "elo", "--ci", "none"]),
]


@pytest.mark.parametrize(("kwargs", "flags"), QUERIES, ids=[" ".join(f) or "default" for _, f in QUERIES])
def test_leaderboard_equals_the_replay_command(votes, tmp_path, capsys, kwargs, flags):
    path = tmp_path / "votes.parquet"
    votes.write_parquet(path)
    expected = cli_rows(capsys, path, *flags)
    got = leaderboard(votes, **kwargs)
    assert got.columns[:7] == ["rank", "rank_ub", "model", "rating", "rating_lower", "rating_upper", "votes"]
    assert got.select(pl.exclude(*BOARD_COLUMNS)).to_dicts() == expected
    assert got["method"].unique().to_list() == [kwargs.get("method", "bt")]


def test_filters_columns_and_bad_rows_as_the_command_takes_them(votes, tmp_path, capsys):
    from server.domain.filters import VoteFilters

    renamed = votes.rename({"judge": "voter"})
    path = tmp_path / "renamed.parquet"
    renamed.write_parquet(path)
    flags = ["--anony-only", "--language", "German", "--daily-cap", "3", "--col", "judge=voter", "--ci", "none"]
    expected = cli_rows(capsys, path, *flags)
    filters = VoteFilters(anony_only=True, languages=frozenset({"German"}), daily_cap=3)
    got = leaderboard(renamed, ci="none", filters=filters, columns={"judge": "voter"})
    assert got.select(pl.exclude(*BOARD_COLUMNS)).to_dicts() == expected
    assert sum(got["votes"]) < 2 * 3000 * 0.8 * 0.5  # the filters removed votes

    bad = votes.with_columns(
        pl.when(pl.int_range(pl.len()) == 6).then(pl.lit("draw")).otherwise("winner").alias("winner")
    )
    with pytest.raises(ValueError, match=r"DataFrame: row 7: winner 'draw' is not one of"):
        leaderboard(bad)
    with pytest.raises(ValueError, match="--daily-cap needs a 'judge' column"):
        leaderboard(votes.drop("judge"), filters=VoteFilters(daily_cap=3))
    with pytest.raises(ValueError, match="missing column"):
        leaderboard(votes.drop("winner"))
    with pytest.raises(ValueError, match="SANDWICH is BT.s"):
        leaderboard(votes, method="elo", ci="sandwich")
    with pytest.raises(TypeError, match="polars or pandas DataFrame"):
        leaderboard(votes.to_dicts())


def test_pandas_and_arrow_input_give_the_same_leaderboard(votes):
    pytest.importorskip("pandas", reason="pandas is a benchmark reference here (install_references.sh)")
    plain = votes.select("model_a", "model_b", "winner", "tstamp")
    expected = leaderboard(plain, rounds=30)
    assert leaderboard(plain.to_pandas(), rounds=30).equals(expected)
    assert leaderboard(plain.to_arrow(), rounds=30).equals(expected)
    assert leaderboard(plain.lazy(), rounds=30).equals(expected)


def test_head_to_head_counts_the_votes_and_predicts_from_the_point_fit(votes):
    pairs = head_to_head(votes, top_k=5)
    board = leaderboard(votes, ci="none")
    top = board["model"].to_list()[:5]
    assert pairs.height == 5 * 4
    assert pairs["model_a"].unique(maintain_order=True).to_list() == top
    rating = dict(zip(board["model"], board["rating"]))
    rows = votes.select("model_a", "model_b", "winner").rows()
    for pair in pairs.iter_rows(named=True):
        a, b = pair["model_a"], pair["model_b"]
        met = [(x, w) for x, y, w in rows if {x, y} == {a, b}]
        wins_a = sum(1 for x, w in met if (w == "model_a") == (x == a) and w in ("model_a", "model_b"))
        ties = sum(1 for _, w in met if w.startswith("tie"))
        assert (pair["battles"], pair["wins_a"], pair["ties"]) == (len(met), wins_a, ties)
        assert pair["wins_b"] == len(met) - wins_a - ties
        assert pair["empirical_win_rate"] == pytest.approx((wins_a + 0.5 * ties) / len(met))
        expected = 1.0 / (1.0 + 10.0 ** ((rating[b] - rating[a]) / 400.0))
        assert pair["predicted_win_probability"] == pytest.approx(expected, abs=1e-12)


def test_the_module_loads_no_service_code():
    """A notebook importing server.frames gets the engine, polars and the one computation the service
    and the replay share (server.service.compute), not gRPC or the running service."""
    code = "import sys, server.frames; print(sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google')"
    code += " or m.startswith(('server.rpc', 'server.service.', 'server.client'))))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['server.service.compute']"


def test_the_readme_notebook_example_runs():
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is absent (the shared data folder sits beside the project checkout)")
    blocks = (ROOT / "README.md").read_text().split("```python\n")[1:]
    example = next(block.split("```")[0] for block in blocks if "from server.frames import" in block)
    done = subprocess.run([sys.executable, "-c", example], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "shape: (5, 7)" in done.stdout and "shape: (4, 8)" in done.stdout  # the two tables printed
