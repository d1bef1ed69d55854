"""The arena-ratings command line: the JSON contract, errors, submit + leaderboard = replay."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from server.cli.main import main
from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def votes_file(tmp_path) -> Path:
    frame = pl.DataFrame(
        {
            "model_a": ["a", "b", "c", "a", "b", "c"] * 50,
            "model_b": ["b", "c", "a", "c", "a", "b"] * 50,
            "winner": ["model_a", "model_b", "tie", "tie (bothbad)", "model_a", "model_a"] * 50,
        }
    )
    path = tmp_path / "votes.csv"
    frame.write_csv(path)
    return path


@pytest.mark.parametrize("method", ["bt", "elo"])
def test_replay_json_contract(tmp_path, capsys, method):
    args = ["--method", method, "--format", "json", "--bootstrap", "100", "--rounds", "100"]
    code, out, _ = run_cli(capsys, "replay", str(votes_file(tmp_path)), *args)
    assert code == 0
    board = json.loads(out)
    assert {"board", "method", "ci", "as_of_seq", "total_votes", "rows"} <= set(board)
    assert (board["board"], board["method"], board["as_of_seq"], board["total_votes"]) == ("default", method, 300, 300)
    assert board["bootstrap_rounds"] == 100
    for row in board["rows"]:
        assert {"rank", "rank_ub", "model", "rating", "rating_lower", "rating_upper", "votes"} <= set(row)
        assert row["rating_lower"] <= row["rating"] <= row["rating_upper"]
    assert [r["rank"] for r in board["rows"]] == [1, 2, 3]
    assert sum(r["votes"] for r in board["rows"]) == 600


def test_replay_csv_and_table(tmp_path, capsys):
    path = str(votes_file(tmp_path))
    _, out, _ = run_cli(capsys, "replay", path, "--format", "csv", "--ci", "none")
    lines = out.strip().splitlines()
    assert lines[0].startswith("rank,rank_ub,model,rating") and len(lines) == 4
    _, out, _ = run_cli(capsys, "replay", path, "--method", "elo", "--bootstrap", "0")
    assert "rank (UB)" not in out and "300 votes" in out  # no replicas, no interval: no CI, no rank (UB)


def test_bad_file_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    pl.DataFrame({"model_a": ["a"], "model_b": ["b"], "winner": ["A"]}).write_csv(path)
    code, out, err = run_cli(capsys, "replay", str(path))
    assert code == 2 and out == ""
    assert f"{path}: row 1: winner 'A' is not one of" in err


def test_replay_of_shared_data_ranks_the_strong_teams_high(capsys):
    path = shared_file("football_international.parquet")
    code, out, _ = run_cli(capsys, "replay", str(path), "--format", "json", "--bootstrap", "0", "--rounds", "50")
    top = [row["model"] for row in json.loads(out)["rows"][:15]]
    assert code == 0 and "Brazil" in top and "Spain" in top


def test_submit_and_leaderboard_equal_replay(tmp_path, capsys, start_server):
    server = start_server()  # bootstrap_rounds=200
    path = str(votes_file(tmp_path))
    target = f"127.0.0.1:{server.port}"
    code, out, _ = run_cli(capsys, "submit", path, "--target", target, "--batch-size", "64")
    assert code == 0 and json.loads(out) == {"accepted": 300, "duplicates": 0, "last_seq": 300}
    code, out, _ = run_cli(capsys, "submit", path, "--target", target)
    assert json.loads(out) == {"accepted": 0, "duplicates": 300, "last_seq": 0}
    elo = ["--method", "elo", "--format", "json"]
    _, served, _ = run_cli(capsys, "leaderboard", "--target", target, "--min-seq", "300", *elo)
    _, offline, _ = run_cli(capsys, "replay", path, "--bootstrap", "200", *elo)
    served_feed, offline_feed = json.loads(served), json.loads(offline)
    assert served_feed.pop("as_of") and offline_feed.pop("as_of")  # wall-clock times of the two runs
    # The server stamps votes sent without a time on receipt; the file has none.
    assert served_feed.pop("as_of_time") and offline_feed.pop("as_of_time") is None
    assert served_feed == offline_feed
    # BT: the server warm-starts its fits, so equal to the fit's tolerance, not bit for bit.
    bt = ["--method", "bt", "--ci", "sandwich", "--anchor", "a=1100", "--format", "json"]
    _, served, _ = run_cli(capsys, "leaderboard", "--target", target, *bt)
    _, offline, _ = run_cli(capsys, "replay", path, *bt)
    served, offline = json.loads(served), json.loads(offline)
    assert served["anchor"] == offline["anchor"] == {"model": "a", "rating": 1100.0}
    for got, want in zip(served["rows"], offline["rows"], strict=True):
        assert got["model"] == want["model"]
        for key in ("rating", "rating_lower", "rating_upper"):
            assert got[key] == pytest.approx(want[key], abs=1e-6)


def test_console_script_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "replay", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "--bootstrap" in result.stdout


def test_head_to_head_and_bad_anchor(tmp_path, capsys, start_server):
    server = start_server()
    path = str(votes_file(tmp_path))
    target = f"127.0.0.1:{server.port}"
    run_cli(capsys, "submit", path, "--target", target)
    code, out, _ = run_cli(capsys, "head-to-head", "a", "b", "--target", target)
    result = json.loads(out)
    # a vs b: rows 1 and 5 of every six (a beats b; b "model_a"-wins over a), 50 times each.
    assert code == 0 and (result["wins_a"], result["wins_b"], result["votes"]) == (50, 50, 100)
    assert 0 < result["predicted_win_probability"] < 1
    code, _, err = run_cli(capsys, "leaderboard", "--target", target, "--anchor", "nobody=1000")
    assert code == 1 and "NOT_FOUND" in err and "anchor.model" in err
    with pytest.raises(SystemExit, match="MODEL=RATING"):
        main(["replay", path, "--anchor", "a"])


def test_replay_filters_and_summary(tmp_path, capsys):
    frame = pl.DataFrame(
        {
            "model_a": ["a", "b", "c", "a", "b", "a"],
            "model_b": ["b", "c", "a", "a", "a", "c"],
            "winner": ["model_a", "tie", "model_b", "model_a", "draw", "model_b"],
            "anony": [True, True, False, True, True, True],
        }
    )
    path = tmp_path / "votes.parquet"
    frame.write_parquet(path)
    code, out, err = run_cli(
        capsys,
        "replay",
        str(path),
        "--on-bad-row",
        "skip",
        "--anony-only",
        "--drop-ties",
        "--ci",
        "none",
        "--format",
        "csv",
    )
    assert code == 0
    summary = json.loads(err.split("replay summary: ", 1)[1].splitlines()[0])
    # 6 read: row 4 self-battle and row 5 'draw' skipped; row 3 not anonymous; row 2 a tie.
    assert summary["read"] == 6 and summary["skipped"] == {
        "model_b equals model_a": 1,
        "winner is not a known label": 1,
    }
    assert summary["removed"]["anony"] == 1 and summary["removed"]["drop_ties"] == 1 and summary["applied"] == 2
    assert [line.split(",")[2] for line in out.strip().splitlines()[1:]] == ["c", "a", "b"]  # a-b and a-c remain


def test_outputs_in_every_format(tmp_path, capsys):
    path = str(votes_file(tmp_path))
    for name in ("board.png", "board.html", "board.parquet", "board.json", "board.csv"):
        code, _, _ = run_cli(capsys, "replay", path, "--ci", "sandwich", "--output", str(tmp_path / name))
        assert code == 0 and (tmp_path / name).stat().st_size > 100
    assert json.loads((tmp_path / "board.json").read_text())["schema"] == "arena-ratings/leaderboard/v1"
    code, out, _ = run_cli(capsys, "replay", path, "--ci", "none", "--format", "html")
    assert code == 0 and out.startswith("<!DOCTYPE html>") and "data:image/png;base64," in out
    with pytest.raises(SystemExit, match="binary"):
        main(["replay", path, "--format", "png"])
    code, out, _ = run_cli(capsys, "export", "--file", path, "--outdir", str(tmp_path / "set"), "--ci", "none")
    assert code == 0 and len(out.split()) == 6 and all(Path(p).exists() for p in out.split())


def test_remote_replay_from_the_command_line(tmp_path, capsys, start_server):
    server = start_server()
    target = f"127.0.0.1:{server.port}"
    path = str(votes_file(tmp_path))
    run_cli(capsys, "submit", path, "--target", target)
    code, out, _ = run_cli(capsys, "replay", path, "--target", target, "--drop-ties")
    result = json.loads(out)
    assert code == 0 and (result["read"], result["removed"]["drop_ties"], result["applied"]) == (300, 100, 200)
    _, board, _ = run_cli(capsys, "leaderboard", "--target", target, "--ci", "none", "--format", "json")
    assert json.loads(board)["total_votes"] == 200
    html = ["--format", "html", "--title", "A&B"]
    _, page, _ = run_cli(capsys, "leaderboard", "--target", target, "--ci", "none", *html)
    assert "<h1>A&amp;B</h1>" in page and "200 votes" in page


def test_html_title_through_the_command_line(tmp_path, capsys):
    path = str(votes_file(tmp_path))
    outdir = tmp_path / "set"
    code, out, _ = run_cli(
        capsys, "export", "--file", path, "--outdir", str(outdir), "--formats", "html,json", "--ci", "none",
        "--title", "Weekly <arena> & co",
    )  # fmt: skip
    assert code == 0 and out.split() == [str(outdir / "leaderboard.html"), str(outdir / "leaderboard.json")]
    page = (outdir / "leaderboard.html").read_text()
    assert "<title>Weekly &lt;arena&gt; &amp; co</title>" in page and "<h1>Weekly &lt;arena&gt; &amp; co</h1>" in page
    assert "Weekly <arena>" not in page and "Last updated" in page and "300 votes" in page
    _, out, _ = run_cli(capsys, "export", "--file", path, "--outdir", str(outdir), "--formats", "html", "--ci", "none")
    assert "<title>default leaderboard</title>" in (outdir / "leaderboard.html").read_text()
    # The same page from replay, on standard output and to a file.
    code, out, _ = run_cli(capsys, "replay", path, "--ci", "none", "--format", "html", "--title", "Mine")
    assert code == 0 and "<h1>Mine</h1>" in out
    run_cli(capsys, "replay", path, "--ci", "none", "--output", str(tmp_path / "lb.html"), "--title", "Mine too")
    assert "<h1>Mine too</h1>" in (tmp_path / "lb.html").read_text()
    # A title where no page is written stops the command before it computes anything.
    with pytest.raises(SystemExit, match="--title"):
        main(["replay", path, "--format", "csv", "--title", "x"])
    with pytest.raises(SystemExit, match="--title"):
        main(["export", "--file", path, "--formats", "json,csv", "--title", "x"])
