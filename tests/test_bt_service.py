"""Bradley–Terry through the service, on a real server on a loopback port."""

from __future__ import annotations

import io
import threading

import grpc
import pytest

from engine import EloConfig
from engine.bt import BTConfig
from server.client.ratings_client import RatingsClient
from server.domain.queries import LeaderboardQuery
from server.files import charts, export, render
from server.offline.replay import replay
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.service import compute as compute_module
from tests.conftest import make_batch, synthetic_batch, synthetic_votes

ELO = EloConfig(bootstrap_rounds=200)


def client_for(server) -> RatingsClient:
    return RatingsClient(f"127.0.0.1:{server.port}", timeout=30.0, retries=0)


def close(got: pb.Leaderboard, want: pb.Leaderboard, tol: float = 1e-6) -> None:
    """Equal up to the fit tolerance: the server warm-starts its fits, a replay starts cold."""
    assert [r.model for r in got.rows] == [r.model for r in want.rows]
    for g, w in zip(got.rows, want.rows, strict=True):
        for key in ("rating", "rating_lower", "rating_upper"):
            assert getattr(g, key) == pytest.approx(getattr(w, key), abs=tol), (g.model, key)
        assert (g.rank_ub, g.votes, g.component) == (w.rank_ub, w.votes, w.component)


def test_bt_is_the_default_and_equals_offline_replay(start_server):
    server = start_server()
    votes = synthetic_batch(4000, 12, seed=21)
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        board = client.leaderboard(min_seq=last, rounds=300)
        assert board.method == pb.BT and board.ci == pb.BOOTSTRAP and board.bootstrap_rounds == 300
        close(board, replay(votes, ELO, LeaderboardQuery("default", rounds=300)))
        sandwich = client.leaderboard(ci=pb.SANDWICH)
        assert sandwich.bootstrap_rounds == 0
        close(sandwich, replay(votes, ELO, LeaderboardQuery("default", ci="sandwich")))
        model = board.rows[3].model
        anchored = client.leaderboard(ci=pb.SANDWICH, anchor=(model, 1114.0))
        assert anchored.anchor.model == model and anchored.anchor.rating == 1114.0
        row = next(r for r in anchored.rows if r.model == model)
        assert row.rating == pytest.approx(1114.0) and row.rating_upper - row.rating_lower == pytest.approx(
            0.0, abs=1e-9
        )
        assert board.log_likelihood < 0 and board.as_of_seq == last


def test_fit_follows_new_votes_and_is_cached_in_between(start_server, monkeypatch):
    calls = []
    real = compute_module.bt.standings

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    server = start_server()  # its warm-up fits too: count from SERVING on
    monkeypatch.setattr(compute_module.bt, "standings", counting)
    votes = synthetic_batch(3000, 10, seed=22)
    with client_for(server) as client:
        first = client.submit(votes.slice(0, 2000)).last_seq
        before = client.leaderboard(min_seq=first, ci=pb.SANDWICH)
        # Eight concurrent queries of an unchanged board share the cached fit.
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(client.leaderboard(ci=pb.SANDWICH))) for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(calls) == 1 and all(r == before for r in results)
        second = client.submit(votes.slice(2000, 3000)).last_seq
        after = client.leaderboard(min_seq=second, ci=pb.SANDWICH)
    assert len(calls) == 2
    assert after.as_of_seq == second and after.total_votes == 3000
    assert [r.rating for r in after.rows] != [r.rating for r in before.rows]


def test_concurrent_first_queries_compute_once(start_server, monkeypatch):
    gate = threading.Event()
    calls = []
    real = compute_module.bt.standings

    def slow(*args, **kwargs):
        calls.append(1)
        gate.wait(5)
        return real(*args, **kwargs)

    server = start_server()  # its warm-up fits too: count from SERVING on
    monkeypatch.setattr(compute_module.bt, "standings", slow)
    with client_for(server) as client:
        last = client.submit(synthetic_batch(1000, 8, seed=23)).last_seq
        client.leaderboard(method=pb.ELO, min_seq=last)
        results = []
        threads = [threading.Thread(target=lambda: results.append(client.leaderboard(ci=pb.CI_NONE))) for _ in range(6)]
        for t in threads:
            t.start()
        threading.Timer(0.3, gate.set).start()
        for t in threads:
            t.join()
    assert len(calls) == 1 and len(results) == 6 and all(r == results[0] for r in results)


def test_head_to_head(start_server):
    server = start_server()
    a = ["x", "x", "y", "x", "z", "y"]
    b = ["y", "y", "x", "y", "x", "z"]
    outcome = [1, 3, 1, 4, 2, 1]
    with client_for(server) as client:
        last = client.submit(make_batch(a, b, outcome)).last_seq
        h2h = client.head_to_head("x", "y", min_seq=last)
        assert (h2h.wins_a, h2h.wins_b, h2h.ties, h2h.ties_both_bad, h2h.votes) == (1, 1, 2, 1, 4)
        assert h2h.empirical_win_rate == pytest.approx((1 + 0.5 * 2) / 4)
        flipped = client.head_to_head("y", "x")
        assert (flipped.wins_a, flipped.wins_b) == (1, 1)
        assert h2h.predicted_win_probability + flipped.predicted_win_probability == pytest.approx(1.0)
        board = {r.model: r.rating for r in client.leaderboard(ci=pb.CI_NONE).rows}
        expected = 1 / (1 + 10 ** ((board["y"] - board["x"]) / 400))
        assert h2h.predicted_win_probability == pytest.approx(expected, abs=1e-9)
        assert client.head_to_head("y", "z").votes == 1
        bad = [
            ("x", "nobody", grpc.StatusCode.NOT_FOUND),
            ("x", "x", grpc.StatusCode.INVALID_ARGUMENT),
            ("", "x", grpc.StatusCode.INVALID_ARGUMENT),
        ]
        for bad_a, bad_b, code in bad:
            with pytest.raises(grpc.RpcError) as err:
                client.head_to_head(bad_a, bad_b)
            assert err.value.code() == code


BAD_QUERIES = {
    "unknown method": (dict(method=7), grpc.StatusCode.INVALID_ARGUMENT, "method"),
    "unknown ci": (dict(ci=9), grpc.StatusCode.INVALID_ARGUMENT, "ci"),
    "elo with sandwich": (dict(method=pb.ELO, ci=pb.SANDWICH), grpc.StatusCode.INVALID_ARGUMENT, "ci"),
    "elo with rounds": (dict(method=pb.ELO, rounds=10), grpc.StatusCode.INVALID_ARGUMENT, "rounds"),
    "elo with anchor": (dict(method=pb.ELO, anchor=("a", 1.0)), grpc.StatusCode.INVALID_ARGUMENT, "anchor"),
    "too many rounds": (dict(rounds=10**6), grpc.StatusCode.INVALID_ARGUMENT, "rounds"),
    "anchor unknown": (dict(anchor=("nobody", 1000.0)), grpc.StatusCode.NOT_FOUND, "anchor.model"),
    "anchor without model": (dict(anchor=("", 1000.0)), grpc.StatusCode.INVALID_ARGUMENT, "anchor.model"),
    "anchor not finite": (dict(anchor=("model-001", float("inf"))), grpc.StatusCode.INVALID_ARGUMENT, "anchor.rating"),
}


def test_bad_queries_are_refused(start_server):
    server = start_server()
    with client_for(server) as client:
        last = client.submit(synthetic_batch(300, 5, seed=24)).last_seq
        client.leaderboard(min_seq=last, ci=pb.CI_NONE)
        for case, (kwargs, code, field) in BAD_QUERIES.items():
            with pytest.raises(grpc.RpcError) as err:
                client.leaderboard(**kwargs)
            assert err.value.code() == code, case
            assert field in err.value.details(), case


def test_bt_survives_a_restart(start_server, tmp_path):
    votes = synthetic_batch(2500, 9, seed=25)
    data = tmp_path / "data"
    first = start_server(data, checkpoint_every_votes=1000)
    with client_for(first) as client:
        last = client.submit(votes.slice(0, 1200)).last_seq
        last = client.submit(votes.slice(1200, 2500)).last_seq
        before = client.leaderboard(min_seq=last, ci=pb.SANDWICH)
    first.stop(grace=1.0)
    second = start_server(data)
    with client_for(second) as client:
        close(client.leaderboard(ci=pb.SANDWICH), before, tol=1e-8)


def test_win_probabilities_are_on_the_boards_own_scale(start_server, monkeypatch):
    """Head-to-head, the matrix, the heatmap and the feed all use the board's scale (here 200, not 400)."""

    own = EloConfig(scale=200.0, bootstrap_rounds=200)
    server = start_server(default_elo=own)
    votes = synthetic_batch(3000, 8, seed=31)
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        board = client.leaderboard(min_seq=last, ci=pb.CI_NONE)
        assert (board.scale, board.base) == (200.0, 10.0)
        top, second = board.rows[0].model, board.rows[1].model
        h2h = client.head_to_head(top, second)
        matrix = client.head_to_head_matrix(top_k=2, ci=pb.CI_NONE)
    gap = board.rows[1].rating - board.rows[0].rating
    assert h2h.predicted_win_probability == pytest.approx(1 / (1 + 10 ** (gap / 200)), abs=1e-12)
    assert matrix.models[:2] == [top, second]
    assert matrix.predicted_win_probability[1] == pytest.approx(h2h.predicted_win_probability, abs=1e-12)
    drawn = []
    monkeypatch.setattr(charts, "_plot_win_matrix", lambda fig, ax, rows, p: drawn.append(p))
    export.heatmap_png(board, io.BytesIO(), top=2)
    assert drawn[0][0, 1] == pytest.approx(h2h.predicted_win_probability, abs=1e-12)
    assert (export.feed(board)["scale"], export.feed(board)["base"]) == (200.0, 10.0)
    # A Leaderboard without them (an older server) reads as the arena's 400 and 10.
    assert render.rating_scale(pb.Leaderboard()) == (400.0, 10.0)
    offline = replay(votes, own, LeaderboardQuery("default", ci="none"))
    assert (offline.scale, offline.base) == (200.0, 10.0)


def test_a_fit_that_does_not_converge_is_failed_precondition_not_internal(start_server):
    """engine.fit.ConvergenceError reaches clients as FAILED_PRECONDITION naming the board and what to change."""
    server = start_server(bt=BTConfig(step="newman", max_iter=1))
    votes = synthetic_batch(1000, 10, seed=3)
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        board = client.leaderboard(method=pb.ELO, min_seq=last)  # Elo needs no fit
        a, b = board.rows[0].model, board.rows[1].model
        calls = {
            "leaderboard": lambda: client.leaderboard(ci=pb.SANDWICH),
            "head-to-head": lambda: client.head_to_head(a, b),
            "matrix": lambda: client.head_to_head_matrix(top_k=3),
            "watch": lambda: next(iter(client.watch(timeout=30.0))),
        }
        for name, call in calls.items():
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION, name
            details = err.value.details()
            assert "board 'default'" in details and "did not converge" in details and "--bt-prior" in details, name


def test_rows_without_an_mle_are_flagged_on_the_wire_in_the_feed_and_offline(start_server):
    """A pair apart from the rest where one side never lost: the prior, and the flag, on those two rows
    only; the main component keeps its plain MLE. The flag reaches gRPC, the JSON feed, the CSV, the
    table and the offline replay."""
    a, b, outcome, _ = synthetic_votes(3000, 8, seed=41)
    votes = make_batch([f"model-{i}" for i in a] + ["x", "x"], [f"model-{i}" for i in b] + ["y", "y"],
                       [*outcome.tolist(), 1, 1])  # fmt: skip
    with client_for(start_server()) as client:
        last = client.submit(votes).last_seq
        board = client.leaderboard(min_seq=last, ci=pb.SANDWICH)
    assert {r.model for r in board.rows if r.regularized} == {"x", "y"} and len(board.rows) == 10
    assert {row["model"] for row in export.feed(board)["rows"] if row["regularized"]} == {"x", "y"}
    header, *lines = render.render(board, "csv").splitlines()
    column = header.split(",").index("regularized")
    assert sorted(line.split(",")[column] for line in lines) == ["False"] * 8 + ["True"] * 2
    assert sum("prior" in line.split() for line in render.render(board, "table").splitlines()) == 2
    offline = replay(votes, ELO, LeaderboardQuery("default", ci="sandwich"))
    assert {r.model for r in offline.rows if r.regularized} == {"x", "y"}
    close(board, offline)
