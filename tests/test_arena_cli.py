"""The arena commands of the CLI against a real server: competitors, snapshots, rankings,
categories, comparisons, the matrix, watch and boards; file errors name the file and row."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.test_cli import run_cli


def tagged_votes_file(tmp_path):
    frame = pl.DataFrame(
        {
            "model_a": ["a", "b", "c", "a", "b", "c"] * 40,
            "model_b": ["b", "c", "a", "c", "a", "b"] * 40,
            "winner": ["model_a", "model_b", "tie", "model_a", "model_a", "model_b"] * 40,
            "tags": ["coding,english", "coding", "", "english", "coding", ""] * 40,
        }
    )
    path = tmp_path / "votes.csv"
    frame.write_csv(path)
    return path


def test_replay_category_equals_the_tag_filter(tmp_path, capsys):
    path = str(tagged_votes_file(tmp_path))
    _, by_category, _ = run_cli(capsys, "replay", path, "--category", "coding", "--format", "json", "--ci", "none")
    _, by_tag, _ = run_cli(capsys, "replay", path, "--tag", "coding", "--format", "json", "--ci", "none")
    category, tag = json.loads(by_category), json.loads(by_tag)
    assert category["category"] == "coding" and category["total_votes"] == 120
    assert category["rows"] == tag["rows"]
    with pytest.raises(SystemExit, match="not both"):
        run_cli(capsys, "replay", path, "--category", "coding", "--tag", "english")


def test_arena_commands_round_trip(start_server, tmp_path, capsys):
    server = start_server()
    target = ["--target", f"127.0.0.1:{server.port}"]
    votes = str(tagged_votes_file(tmp_path))
    assert run_cli(capsys, "submit", votes, *target)[0] == 0

    meta = tmp_path / "competitors.csv"
    meta.write_text('name,organization,license,open_weights,status,links\na,OrgA,MIT,yes,,"{""site"": ""https://a""}"\n'
                    "c,OrgC,,no,deprecated,\n")  # fmt: skip
    code, out, _ = run_cli(capsys, "competitors", "upsert", str(meta), *target)
    assert code == 0 and json.loads(out) == {"created": 2, "updated": 0}

    code, out, _ = run_cli(capsys, "snapshot", "create", "before", *target)
    assert code == 0 and "before: seq 240" in out

    ballots = tmp_path / "ballots.jsonl"
    ballots.write_text(json.dumps({"ballot_id": "b1", "ranking": ["c", ["a", "b"], "d"]}) + "\n")
    for accepted, duplicates in ((6, 0), (0, 6)):
        code, out, _ = run_cli(capsys, "submit-rankings", str(ballots), *target)
        assert json.loads(out) == {"ballots": 1, "accepted_votes": accepted, "duplicate_votes": duplicates}

    code, out, _ = run_cli(capsys, "leaderboard", *target, "--ci", "none", "--compare-to", "before", "--format", "json")
    board = json.loads(out)
    assert board["compared_to"]["name"] == "before" and board["summary"]["models_hidden"] == 1  # c is deprecated
    rows = {r["model"]: r for r in board["rows"]}
    assert set(rows) == {"a", "b", "d"} and rows["d"]["rank_delta"] is None
    assert rows["a"]["organization"] == "OrgA" and rows["a"]["open_weights"] is True
    assert isinstance(rows["a"]["rank_delta"], int) and isinstance(rows["a"]["rating_delta"], float)

    code, out, _ = run_cli(capsys, "leaderboard", *target, "--ci", "none", "--status", "deprecated", "--format", "csv")
    assert [line.split(",")[2] for line in out.strip().splitlines()[1:]] == ["c"]

    code, out, _ = run_cli(capsys, "leaderboard", *target, "--ci", "none", "--category", "coding", "--as-of", "before")
    assert code == 0 and "board default/coding" in out and "snapshot before" in out

    code, out, _ = run_cli(capsys, "head-to-head", *target, "--top-k", "2", "--format", "json")
    matrix = json.loads(out)
    assert len(matrix["models"]) == 2 and len(matrix["battles"]) == 4

    code, out, _ = run_cli(capsys, "watch", *target, "--count", "1", "--ci", "none", "--format", "json")
    assert code == 0 and json.loads(out.strip())["total_votes"] == 246

    code, out, _ = run_cli(capsys, "boards", *target)
    assert "default: 246 votes" in out and "default/coding: 120 votes" in out

    code, out, _ = run_cli(capsys, "snapshot", "list", *target)
    assert out.startswith("default before: seq 240")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("c.csv", "name,status\na,retired\n", "row 2: status 'retired'"),
        ("c.csv", "name,colour\na,red\n", "row 2: unknown column(s) colour"),
        ("c.jsonl", '{"name": "a"}\n{"name": "b", "open_weights": "maybe"}\n', "row 2: open_weights"),
        ("c.json", '[{"organization": "x"}]', "row 1: name is missing"),
        ("c.txt", "", "unknown file type"),
    ],
)
def test_competitor_file_errors_name_the_file_and_row(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    code, _, err = run_cli(capsys, "competitors", "upsert", str(path), "--target", "127.0.0.1:9")
    assert code == 2 and str(path) in err and message in err
