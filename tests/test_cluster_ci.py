"""Clustered bootstrap CIs (issue 15, part 2): cluster rows, reproducible rounds, the query rules, the
service, the command line, and coverage on boards with a known truth (the full run:
benchmarks/bench_cluster_ci.py)."""

from __future__ import annotations

import json

import grpc
import httpx
import numpy as np
import polars as pl
import pytest

from benchmarks.bench_cluster_ci import coverage
from engine import EloConfig
from engine import bt as bt_engine
from engine.board import Board
from engine.clusters import cluster_keys
from engine.config import BTConfig
from engine.memory import view_memory
from server.cli.main import main
from server.client.ratings_client import RatingsClient
from server.domain.queries import LeaderboardQuery, QueryRuleError, check_query
from server.http.options import HttpOptions
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc import wire
from server.service.core import RatingsService, ServiceConfig
from tests.conftest import synthetic_batch, synthetic_votes


def _board(n=3000, seed=1, voters=30, id_every=1, weights=False, start_ids=0) -> tuple[Board, list[str]]:
    a, b, o, _ = synthetic_votes(n, 8, seed)
    a, b, o = a.astype(np.int32), b.astype(np.int32), o.astype(np.int8)
    voter = [f"u{i % voters}" if i % id_every == 0 and i >= start_ids else "" for i in range(n)]
    weight = np.where(np.arange(n) % 4 == 0, 2.5, 1.0) if weights else None
    board = Board(EloConfig(bootstrap_rounds=0))
    keys = cluster_keys(voter)
    for s in range(0, n, 700):
        sl = slice(s, s + 700)
        board.apply(a[sl], b[sl], o[sl], weight=None if weight is None else weight[sl], clusters={"voter": keys[sl]})
    return board, voter


@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize(("id_every", "start_ids"), [(1, 0), (3, 0), (1, 1000)])
def test_cluster_rows_and_loose_counts_add_up_to_the_cells(weights, id_every, start_ids):
    board, voter = _board(weights=weights, id_every=id_every, start_ids=start_ids)
    table, rows = board.cell_table(), board.cluster_table("voter")
    assert rows is not None and rows.loose.shape == (table.n_cells, 4)
    total = rows.loose.copy()
    np.add.at(total, rows.row_cell, rows.row_counts)
    np.testing.assert_allclose(total, table.fit_counts, rtol=0, atol=1e-9)
    assert rows.n_clusters == len({v for v in voter if v})
    restored = Board.from_state(board.state()).cluster_table("voter")
    assert restored is not None
    for name in ("row_cluster", "row_cell", "row_counts", "loose"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(rows, name), err_msg=name)
    assert board.cluster_table("prompt") is None  # no vote carried a prompt id


def test_clustered_rounds_are_reproducible_and_thread_independent():
    board, _ = _board()
    table, rows = board.cell_table(), board.cluster_table("voter")
    full = bt_engine.fit(table, BTConfig())
    one = bt_engine.bootstrap(table, BTConfig(), full, 64, seed=7, threads=1, clusters=rows)
    four = bt_engine.bootstrap(table, BTConfig(), full, 64, seed=7, threads=4, clusters=rows)
    np.testing.assert_array_equal(one, four)
    plain = bt_engine.bootstrap(table, BTConfig(), full, 64, seed=7)
    assert not np.array_equal(one, plain)
    # the same votes in another order and other batches: the same cluster rows up to order, the same rounds
    a, b, o, _ = synthetic_votes(3000, 8, 1)
    keys = cluster_keys([f"u{i % 30}" for i in range(3000)])
    whole = Board(EloConfig(bootstrap_rounds=0))
    whole.apply(a.astype(np.int32), b.astype(np.int32), o.astype(np.int8), clusters={"voter": keys})
    again = bt_engine.bootstrap(whole.cell_table(), BTConfig(), full, 64, seed=7, clusters=whole.cluster_table("voter"))
    np.testing.assert_allclose(again, one, rtol=0, atol=1e-9)


def test_cluster_rules():
    check_query("bt", "bootstrap", cluster="voter")
    for method, ci, style in (("elo", "bootstrap", False), ("bt", "sandwich", False), ("bt", "bootstrap", True)):
        with pytest.raises(QueryRuleError) as raised:
            check_query(method, ci, style_control=style, cluster="prompt")
        assert raised.value.field == "cluster"
    with pytest.raises(QueryRuleError, match="cluster"):
        check_query("bt", "bootstrap", cluster="session")


def test_clustered_cis_through_the_service_and_after_a_restart(tmp_path, start_server):
    votes = synthetic_batch(3000, 8, seed=4)
    votes.voter_id = [f"user{i % 25}" for i in range(3000)]
    votes.prompt_id = [f"q{i % 60}" if i % 2 else "" for i in range(3000)]
    server = start_server(data_dir=tmp_path / "data")
    with RatingsClient(f"127.0.0.1:{server.port}", timeout=60.0, retries=0) as client:
        last = client.submit(votes).last_seq
        plain = client.leaderboard(min_seq=last, rounds=200)
        by_voter = client.leaderboard(min_seq=last, rounds=200, cluster="voter")
        by_prompt = client.leaderboard(min_seq=last, rounds=200, cluster=pb.CLUSTER_PROMPT)
        assert (plain.cluster, by_voter.cluster, by_prompt.cluster) == (pb.CLUSTER_NONE, pb.CLUSTER_VOTER,
                                                                         pb.CLUSTER_PROMPT)  # fmt: skip
        # the same point fit (up to the warm start's tolerance)
        assert [r.rating for r in by_voter.rows] == pytest.approx([r.rating for r in plain.rows], abs=1e-6)
        assert [r.rating_lower for r in by_voter.rows] != [r.rating_lower for r in plain.rows]
        with pytest.raises(grpc.RpcError) as raised:
            client.leaderboard(method="elo", cluster="voter")
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "cluster" in raised.value.details()
        assert wire.leaderboard_from_pb(by_voter).cluster == "voter"
    server.stop(grace=1.0)
    restarted = RatingsService(tmp_path / "data", ServiceConfig(default_elo=EloConfig(bootstrap_rounds=200)))
    try:
        again = restarted.leaderboard(LeaderboardQuery("default", rounds=200, cluster="voter"), min_seq=last)
        got = [float(x) for x in again.standings.rating_lower]
        want = {r.model: r.rating_lower for r in by_voter.rows}
        assert got == pytest.approx([want[m] for m in again.models], abs=1e-6)
    finally:
        restarted.close()


def test_a_board_without_such_ids_is_not_found_and_http_takes_cluster(start_server):
    server = start_server(http=HttpOptions(port=0))
    votes = synthetic_batch(500, 5, seed=2)
    votes.prompt_id = [f"q{i % 9}" for i in range(500)]
    with RatingsClient(f"127.0.0.1:{server.port}", timeout=60.0, retries=0) as client:
        last = client.submit(votes).last_seq
        with pytest.raises(grpc.RpcError) as raised:
            client.leaderboard(min_seq=last, cluster="voter")
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND and "voter" in raised.value.details()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", timeout=30) as http:
        feed = http.get("/v1/boards/default/leaderboard", params={"cluster": "prompt", "rounds": 50}).json()
        assert feed["cluster"] == "prompt" and feed["bootstrap_rounds"] == 50
        refused = http.get("/v1/boards/default/leaderboard", params={"cluster": "prompt", "method": "elo"})
        assert refused.status_code == 400 and "cluster" in refused.text


def test_replay_by_prompt_from_question_ids(tmp_path, capsys):
    a, b, o, _ = synthetic_votes(2000, 6, 3)
    labels = {1: "model_a", 2: "model_b", 3: "tie", 4: "tie (bothbad)"}
    path = tmp_path / "votes.csv"
    pl.DataFrame(
        {
            "model_a": [f"m{i}" for i in a],
            "model_b": [f"m{i}" for i in b],
            "winner": [labels[int(x)] for x in o],
            "question_id": [i % 40 for i in range(2000)],
        }
    ).write_csv(path)
    assert main(["replay", str(path), "--format", "json", "--rounds", "100", "--cluster", "prompt"]) == 0
    board = json.loads(capsys.readouterr().out)
    assert board["cluster"] == "prompt" and board["ci"] == "bootstrap"
    assert main(["replay", str(path), "--format", "json", "--rounds", "100"]) == 0
    assert json.loads(capsys.readouterr().out)["cluster"] == "none"
    with pytest.raises(SystemExit, match="--cluster applies to --method bt"):
        main(["replay", str(path), "--method", "elo", "--cluster", "prompt"])


def test_voter_clusters_cover_the_truth_where_votes_under_cover():
    """A small version of benchmarks/bench_cluster_ci.py (200 boards there): voters with their own tastes."""
    result = coverage(boards=40, voters=40, per_voter=100, rounds=200, seed=1, threads=2)
    assert 0.85 <= result["coverage_voter_clusters"] <= 0.99, result
    assert result["coverage_votes"] < result["coverage_voter_clusters"] - 0.05, result
    assert result["mean_width_voter_clusters"] > result["mean_width_votes"], result


@pytest.mark.parametrize(("m", "n", "voters"), [(3, 10, 2), (40, 5_000, 300), (300, 20_000, 20_000)])
def test_cluster_rows_fit_the_capacity_estimate(m, n, voters):
    """engine.memory.view_memory with one row per vote carrying an id bounds what the rows hold."""
    a, b, outcome, _ = synthetic_votes(n, m, seed=5)
    weight = np.where(np.arange(n) % 3 == 0, 0.5, 1.0)
    voter = cluster_keys([f"u{i % voters}" if i % 4 else "" for i in range(n)])
    prompt = cluster_keys([f"q{i % 17}" for i in range(n)])
    board = Board(EloConfig(bootstrap_rounds=2), threads=1)
    for chunk in np.array_split(np.arange(n), 5):
        board.apply(a[chunk].astype(np.int32), b[chunk].astype(np.int32), outcome[chunk].astype(np.int8),
                    weight=weight[chunk], clusters={"voter": voter[chunk], "prompt": prompt[chunk]})  # fmt: skip
    cells = min(n, m * (m - 1) // 2)
    with_ids = (int((voter != 0).sum()), n)
    estimate = view_memory(board.n_competitors, int(max(a.max(), b.max())), cells, 0, 0, 2, with_ids)
    assert board.memory().cells <= estimate.cells
    assert estimate.cells > view_memory(board.n_competitors, int(max(a.max(), b.max())), cells, 0, 0, 2).cells
