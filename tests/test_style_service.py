"""Style control end to end: the wire (row and columnar forms), the store, the service against a
real server, restarts, the vote files (FastChat's conv_metadata) and the CLI."""

from __future__ import annotations

import json

import grpc
import numpy as np
import polars as pl
import pytest

from engine import EloConfig
from server.domain.queries import LeaderboardQuery
from server.domain.votes import VoteBatch
from server.files.votefile import ReadOptions, VoteFileError, read_votes
from server.offline.replay import replay
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from tests.conftest import style_votes
from tests.test_cli import run_cli
from tests.test_service import client_for

FEATURES = ["tokens", "headers", "lists", "bold"]


def style_batch(n: int, m: int, seed: int, prefix: str = "v") -> VoteBatch:
    a, b, outcome, values, _ = style_votes(n, m, seed, tie_rate=0.1)
    return VoteBatch(
        board="default",
        vote_id=[f"{prefix}{i}" for i in range(n)],
        names=[f"model-{i}" for i in range(m)],
        model_a=a.astype(np.int64),
        model_b=b.astype(np.int64),
        outcome=outcome.astype(np.int64),
        timestamp=np.full(n, np.nan),
        style_names=FEATURES,
        style=values,
    )


def test_style_controlled_leaderboard_equals_the_offline_replay(start_server):
    server = start_server()
    votes = style_batch(6000, 8, seed=1)
    with client_for(server) as client:
        for start in range(0, 6000, 1500):
            last = client.submit(votes.slice(start, start + 1500)).last_seq
        board = client.leaderboard(min_seq=last, ci=pb.SANDWICH, style_control=True)
        plain = client.leaderboard(ci=pb.CI_NONE)
    want = replay(votes, EloConfig(), LeaderboardQuery("default", "bt", "sandwich", style_control=True))
    assert board.style_control and board.style_votes == 6000
    assert [r.model for r in board.rows] == [r.model for r in want.rows]
    for got, expected in zip(board.rows, want.rows):
        assert got.rating == pytest.approx(expected.rating, abs=1e-6)
        assert got.rating_upper - got.rating == pytest.approx(expected.rating_upper - expected.rating, abs=1e-6)
        assert got.style_rank_delta == expected.style_rank_delta
    assert [c.name for c in board.style_coefficients] == FEATURES
    tokens = board.style_coefficients[0]
    assert tokens.lower < tokens.value < tokens.upper and tokens.value > 0.2  # longer answers win here
    plain_rank = {r.model: i + 1 for i, r in enumerate(plain.rows)}  # every model has style votes here
    assert [r.style_rank_delta for r in board.rows] == [plain_rank[r.model] - r.rank for r in board.rows]
    assert any(r.style_rank_delta != 0 for r in board.rows)


def test_row_form_style_maps_and_bad_style_input(start_server):
    server = start_server()

    def vote(i, a, b, tokens_a, tokens_b):
        style_a, style_b = {"tokens": tokens_a, "bold": 1.0}, {"tokens": tokens_b, "bold": 0.0}
        return pb.Vote(vote_id=f"r{i}", model_a=a, model_b=b, outcome=pb.A_WINS, style_a=style_a, style_b=style_b)

    with client_for(server) as client:
        votes = [vote(i, "x" if i % 2 else "y", "y" if i % 2 else "x", 100.0 + i, 50.0) for i in range(40)]
        ack = client.submit(pb.VoteBatch(votes=votes))
        board = client.leaderboard(min_seq=ack.last_seq, ci=pb.CI_NONE, style_control=True)
        assert [c.name for c in board.style_coefficients] == ["bold", "tokens"]  # a row batch sorts names
        bad = {
            "votes[1].style_a['tokens']": [vote(100, "x", "y", 1.0, 1.0), vote(101, "x", "y", -5.0, 1.0)],
            "votes[0].style_b['tokens']": [vote(102, "x", "y", 1.0, float("nan"))],
            "votes[1].style_a": [
                vote(103, "x", "y", 1.0, 1.0),
                pb.Vote(vote_id="r104", model_a="x", model_b="y", outcome=pb.A_WINS),
            ],  # fmt: skip
        }
        for field, batch in bad.items():
            with pytest.raises(grpc.RpcError) as caught:
                client.submit(pb.VoteBatch(votes=batch))
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert caught.value.details().startswith(field), caught.value.details()
        other = pb.VoteBatch(columns=pb.VoteColumns(
            names=["x", "y"], model_a=[0], model_b=[1], outcome=[pb.A_WINS], vote_id=["c1"],
            style_features=["length"], style_a=[1.0], style_b=[2.0]))  # fmt: skip
        with pytest.raises(grpc.RpcError) as caught:
            client.submit(other)
        assert caught.value.details().startswith("columns.style_features:")  # the board's features are fixed
        short = pb.VoteBatch(columns=pb.VoteColumns(
            names=["x", "y"], model_a=[0], model_b=[1], outcome=[pb.A_WINS], vote_id=["c2"],
            style_features=["tokens", "bold"], style_a=[1.0], style_b=[2.0, 3.0]))  # fmt: skip
        with pytest.raises(grpc.RpcError) as caught:
            client.submit(short)
        assert caught.value.details().startswith("columns.style_a:")
        assert client.leaderboard(ci=pb.CI_NONE).total_votes == 40  # nothing rejected was stored
        for kwargs, field in ((dict(method=pb.ELO), "method"), (dict(anchor=("x", 1000.0)), "anchor")):
            with pytest.raises(grpc.RpcError) as caught:
                client.leaderboard(style_control=True, **kwargs)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in caught.value.details()
        client.submit(pb.VoteBatch(board="plain", votes=[pb.Vote(vote_id="p", model_a="x", model_b="y", outcome=1)]))
        with pytest.raises(grpc.RpcError) as caught:
            client.leaderboard("plain", min_seq=ack.last_seq + 1, style_control=True)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "style features" in caught.value.details()


def test_style_rows_survive_restarts(start_server, tmp_path):
    votes = style_batch(3000, 6, seed=2)
    server = start_server(tmp_path / "data")
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        before = client.leaderboard(min_seq=last, ci=pb.SANDWICH, style_control=True)
    server.service.checkpoint()
    server.stop()
    for wipe_checkpoint in (False, True):
        if wipe_checkpoint:
            for path in (tmp_path / "data" / "checkpoints").glob("*"):
                path.unlink()
        server = start_server(tmp_path / "data")
        with client_for(server) as client:
            after = client.leaderboard(ci=pb.SANDWICH, style_control=True)
        server.stop()
        assert [(r.model, round(r.rating, 6)) for r in after.rows] == [
            (r.model, round(r.rating, 6)) for r in before.rows
        ]
        assert list(after.style_coefficients) == list(before.style_coefficients)


def test_fastchat_conv_metadata_is_read_as_the_four_features(tmp_path):
    battles = [
        {"model_a": "a", "model_b": "b", "winner": "model_a", "conv_metadata": {
            "sum_assistant_a_tokens": 120, "sum_assistant_b_tokens": 40,
            "header_count_a": {"h1": 1, "h2": 2, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
            "header_count_b": {"h1": 0, "h2": 0, "h3": 0, "h4": 0, "h5": 0, "h6": 1},
            "list_count_a": {"ordered": 3, "unordered": 1}, "list_count_b": {"ordered": 0, "unordered": 0},
            "bold_count_a": {"**": 4, "__": 1}, "bold_count_b": {"**": 0, "__": 0}}},
        {"model_a": "b", "model_b": "a", "winner": "tie", "conv_metadata": {
            "sum_assistant_a_tokens": 10, "sum_assistant_b_tokens": 20,
            "header_count_a": {"h1": 0, "h2": 0, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
            "header_count_b": {"h1": 0, "h2": 0, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
            "list_count_a": {"ordered": 0, "unordered": 2}, "list_count_b": {"ordered": 1, "unordered": 0},
            "bold_count_a": {"**": 0, "__": 0}, "bold_count_b": {"**": 2, "__": 0}}},
    ]  # fmt: skip
    path = tmp_path / "clean_battle.json"
    path.write_text(json.dumps(battles))
    votes = read_votes([path], "default", ReadOptions())
    assert votes.style_names == FEATURES
    np.testing.assert_array_equal(votes.style, [[120, 3, 4, 5, 40, 1, 0, 0], [10, 0, 2, 0, 20, 0, 1, 2]])
    flat = tmp_path / "flat.csv"
    pl.DataFrame({"model_a": ["a"], "model_b": ["b"], "winner": ["model_a"],
                  "style_a_length": [3.0], "style_b_length": [-1.0]}).write_csv(flat)  # fmt: skip
    with pytest.raises(VoteFileError, match=r"flat.csv: row 1: style feature length of side b is -1.0"):
        read_votes([flat], "default", ReadOptions())
    lonely = tmp_path / "lonely.csv"
    pl.DataFrame({"model_a": ["a"], "model_b": ["b"], "winner": ["model_a"], "style_a_length": [3.0]}).write_csv(lonely)
    with pytest.raises(VoteFileError, match="length need both style_a_ and style_b_"):
        read_votes([lonely], "default", ReadOptions())


def test_cli_style_control_offline_and_against_a_server(start_server, tmp_path, capsys):
    a, b, outcome, values, _ = style_votes(3000, 6, seed=3, tie_rate=0.1)
    columns = {"model_a": [f"m{i}" for i in a], "model_b": [f"m{i}" for i in b],
               "winner": np.array(["", "model_a", "model_b", "tie", "tie (bothbad)"])[outcome].tolist()}  # fmt: skip
    for k, name in enumerate(FEATURES):
        columns[f"style_a_{name}"], columns[f"style_b_{name}"] = values[:, k], values[:, 4 + k]
    path = tmp_path / "votes.parquet"
    pl.DataFrame(columns).write_parquet(path)
    code, out, _ = run_cli(capsys, "replay", str(path), "--style-control", "--ci", "sandwich", "--format", "json")
    offline = json.loads(out)
    assert code == 0 and offline["style_control"] and [c["name"] for c in offline["style_coefficients"]] == FEATURES
    server = start_server()
    target = ["--target", f"127.0.0.1:{server.port}"]
    assert run_cli(capsys, "submit", str(path), *target)[0] == 0
    code, out, _ = run_cli(capsys, "leaderboard", *target, "--style-control", "--ci", "sandwich", "--min-seq", "3000")
    assert code == 0 and "style-controlled (3000 votes" in out and "Δstyle" in out and "tokens +" in out
    code, out, _ = run_cli(capsys, "leaderboard", *target, "--style-control", "--ci", "sandwich", "--format", "json")
    online = json.loads(out)
    assert [r["model"] for r in online["rows"]] == [r["model"] for r in offline["rows"]]
    for got, want in zip(online["rows"], offline["rows"]):
        assert got["rating"] == pytest.approx(want["rating"], abs=1e-6)
        assert got["style_rank_delta"] == want["style_rank_delta"]
    with pytest.raises(SystemExit, match="not with --method elo"):
        run_cli(capsys, "replay", str(path), "--style-control", "--method", "elo")
