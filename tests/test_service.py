"""The service against a real server on a loopback port."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from engine import EloConfig
from server.client.ratings_client import RatingsClient
from server.domain.queries import LeaderboardQuery
from server.offline.replay import replay
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc import convert
from tests.conftest import make_batch, synthetic_batch


def client_for(server) -> RatingsClient:
    return RatingsClient(f"127.0.0.1:{server.port}", timeout=20.0, retries=0)


def elo_board(client: RatingsClient, board: str = "default", min_seq: int = 0) -> pb.Leaderboard:
    return client.leaderboard(board, method=pb.ELO, min_seq=min_seq)


def offline_elo(votes, bootstrap_rounds: int = 200) -> pb.Leaderboard:
    return replay(votes, EloConfig(bootstrap_rounds=bootstrap_rounds), LeaderboardQuery(votes.board, "elo"))


def same_numbers(got: pb.Leaderboard, want: pb.Leaderboard) -> None:
    assert [r.model for r in got.rows] == [r.model for r in want.rows]
    for g, w in zip(got.rows, want.rows):
        # Bit-identical, not merely close: the log order is the canonical order.
        assert (g.rating, g.rating_lower, g.rating_upper, g.rank_ub) == (
            w.rating,
            w.rating_lower,
            w.rating_upper,
            w.rank_ub,
        )
        assert (g.votes, g.wins, g.losses, g.ties, g.ties_both_bad) == (
            w.votes,
            w.wins,
            w.losses,
            w.ties,
            w.ties_both_bad,
        )
    assert got.total_votes == want.total_votes


def test_submit_then_query_matches_offline_replay(start_server):
    server = start_server()
    votes = synthetic_batch(3000, 12, seed=1)
    with client_for(server) as client:
        last = 0
        for start in range(0, 3000, 700):
            ack = client.submit(votes.slice(start, min(start + 700, 3000)))
            assert ack.accepted == min(700, 3000 - start) and ack.duplicates == 0
            assert ack.first_seq == last + 1
            last = ack.last_seq
        board = elo_board(client, min_seq=last)
    assert board.as_of_seq == 3000 and board.total_votes == 3000 and board.bootstrap_rounds == 200
    same_numbers(board, offline_elo(votes))


def test_elo_and_bt_without_ci_match_offline_replays_that_keep_only_what_they_read(start_server):
    """CI_NONE on ELO: the server's point ratings, no interval; offline, the replay keeps no replicas
    (and no cells) for it, and its numbers are the server's all the same."""
    server = start_server()
    votes = synthetic_batch(2000, 9, seed=4)
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        for method in (pb.ELO, pb.BT):
            got = client.leaderboard("default", method=method, ci=pb.CI_NONE, min_seq=last)
            name = "elo" if method == pb.ELO else "bt"
            want = replay(votes, EloConfig(bootstrap_rounds=200), LeaderboardQuery(votes.board, name, ci="none"))
            assert got.ci == pb.CI_NONE and want.ci == "none"
            assert [(r.model, r.rating, r.votes) for r in got.rows] == [(r.model, r.rating, r.votes) for r in want.rows]
            assert all(r.rating_lower == r.rating == r.rating_upper and r.rank_ub == r.rank for r in got.rows)


def test_duplicate_vote_ids_are_not_applied_twice(start_server):
    server = start_server()
    with client_for(server) as client:
        first = client.submit(make_batch(["a", "b"], ["b", "c"], [1, 2], vote_ids=["x1", "x2"]))
        assert (first.accepted, first.duplicates, first.first_seq, first.last_seq) == (2, 0, 1, 2)
        again = client.submit(make_batch(["a", "b"], ["b", "c"], [1, 2], vote_ids=["x1", "x2"]))
        assert (again.accepted, again.duplicates, again.first_seq, again.last_seq) == (0, 2, 0, 0)
        mixed = client.submit(make_batch(["a", "a", "c"], ["c", "c", "b"], [3, 3, 1], vote_ids=["x2", "x3", "x3"]))
        assert (mixed.accepted, mixed.duplicates) == (1, 2)
        assert list(mixed.duplicate_index) == [0, 2] and (mixed.first_seq, mixed.last_seq) == (3, 3)
        board = elo_board(client, min_seq=3)
    assert board.total_votes == 3 and sum(r.votes for r in board.rows) == 6


def _row_vote(**fields) -> pb.Vote:
    return pb.Vote(**{"vote_id": "r1", "model_a": "a", "model_b": "b", "outcome": pb.A_WINS, **fields})


INVALID = {
    "self-battle": (pb.VoteBatch(votes=[_row_vote(), _row_vote(vote_id="r2", model_b="a")]), "votes[1].model_b"),
    "empty name": (pb.VoteBatch(votes=[_row_vote(model_a="")]), "votes[0].model_a"),
    "blank name": (pb.VoteBatch(votes=[_row_vote(), _row_vote(vote_id="r2", model_b="  ")]), "votes[1].model_b"),
    "long name": (pb.VoteBatch(votes=[_row_vote(model_b="m" * 300)]), "votes[0].model_b"),
    "unspecified outcome": (pb.VoteBatch(votes=[_row_vote(outcome=pb.OUTCOME_UNSPECIFIED)]), "votes[0].outcome"),
    "unknown outcome": (pb.VoteBatch(votes=[_row_vote(), _row_vote(vote_id="r2", outcome=9)]), "votes[1].outcome"),
    "infinite timestamp": (pb.VoteBatch(votes=[_row_vote(timestamp=float("inf"))]), "votes[0].timestamp"),
    "nan timestamp": (pb.VoteBatch(votes=[_row_vote(timestamp=float("nan"))]), None),
    "empty vote id": (pb.VoteBatch(votes=[_row_vote(vote_id="")]), "votes[0].vote_id"),
    "empty batch": (pb.VoteBatch(), "votes: the batch is empty"),
    "oversize batch": (pb.VoteBatch(votes=[_row_vote(vote_id=f"r{i}") for i in range(10_001)]), "votes: 10001 votes"),
    "bad board": (pb.VoteBatch(board="no spaces", votes=[_row_vote()]), "board"),
    "both forms": (pb.VoteBatch(votes=[_row_vote()], columns=pb.VoteColumns(vote_id=["c"])), "not both"),
    "ragged columns": (
        pb.VoteBatch(
            columns=pb.VoteColumns(names=["a", "b"], model_a=[0, 0], model_b=[1], outcome=[1, 1], vote_id=["c1", "c2"])
        ),
        "columns.model_b",
    ),
    "name index out of range": (
        pb.VoteBatch(
            columns=pb.VoteColumns(
                names=["a", "b"], model_a=[0, 2], model_b=[1, 0], outcome=[1, 1], vote_id=["c1", "c2"]
            )
        ),
        "votes[1].model_a",
    ),
    "too many tags": (pb.VoteBatch(votes=[_row_vote(tags=[f"t{i}" for i in range(33)])]), "votes[0].tags"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_batches_are_refused_and_change_nothing(start_server, case):
    server = start_server()
    with client_for(server) as client:
        seed = client.submit(synthetic_batch(50, 5, seed=2))
        before = elo_board(client, min_seq=seed.last_seq)
        request, field = INVALID[case]
        # A valid vote in the same batch must not slip through either.
        with pytest.raises(grpc.RpcError) as err:
            client.stub.SubmitVotes(request, timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        if field is None:  # NaN: "not a number" is still not finite
            assert "timestamp" in err.value.details()
        else:
            assert field in err.value.details()
        after = elo_board(client)
        ok = client.submit(make_batch(["q"], ["r"], [1], vote_ids=["after"]))
    assert ok.first_seq == seed.last_seq + 1  # no seq was consumed by the refused batch
    assert after.as_of_seq == before.as_of_seq
    same_numbers(after, before)


def test_row_and_column_forms_give_identical_boards(start_server, tmp_path):
    votes = synthetic_batch(500, 8, seed=3)
    names = np.array(votes.names)
    rows = pb.VoteBatch(
        votes=[
            pb.Vote(vote_id=v, model_a=names[a], model_b=names[b], outcome=int(o))
            for v, a, b, o in zip(votes.vote_id, votes.model_a, votes.model_b, votes.outcome)
        ]
    )
    one = start_server(tmp_path / "one")
    two = start_server(tmp_path / "two")
    with client_for(one) as c1, client_for(two) as c2:
        a1 = c1.stub.SubmitVotes(rows)
        a2 = c2.stub.SubmitVotes(convert.batch_to_pb(votes))
        same_numbers(elo_board(c1, min_seq=a1.last_seq), elo_board(c2, min_seq=a2.last_seq))


def test_stream_votes_acks_each_batch_in_order(start_server):
    server = start_server()
    votes = synthetic_batch(5000, 10, seed=4)
    batches = [convert.batch_to_pb(votes.slice(s, s + 1000), batch_id=100 + s // 1000) for s in range(0, 5000, 1000)]
    batches.append(batches[1])  # a re-sent batch: all duplicates
    with client_for(server) as client:
        acks = list(client.stub.StreamVotes(iter(batches)))
        assert [a.batch_id for a in acks] == [100, 101, 102, 103, 104, 101]
        assert [a.accepted for a in acks] == [1000] * 5 + [0]
        assert acks[-1].duplicates == 1000
        assert [a.last_seq for a in acks[:5]] == [1000, 2000, 3000, 4000, 5000]
        board = elo_board(client, min_seq=5000)
    same_numbers(board, offline_elo(votes))


def test_stream_error_names_the_vote(start_server):
    server = start_server()
    bad = pb.VoteBatch(batch_id=7, votes=[_row_vote(outcome=0)])
    with client_for(server) as client:
        with pytest.raises(grpc.RpcError) as err:
            list(client.stub.StreamVotes(iter([bad])))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "votes[0].outcome" in err.value.details()


def test_unknown_board_and_future_seq(start_server):
    server = start_server()
    with client_for(server) as client:
        with pytest.raises(grpc.RpcError) as err:
            client.leaderboard("nothing-here")
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as err:
            client.leaderboard(min_seq=99)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "min_seq" in err.value.details()


def test_boards_are_independent_and_match_their_own_replay(start_server):
    server = start_server()
    text = synthetic_batch(800, 6, seed=5, prefix="t", board="text")
    code = synthetic_batch(800, 6, seed=6, prefix="c", board="code")
    with client_for(server) as client:
        # Interleave the boards: each board's numbers depend only on its own votes.
        for start in range(0, 800, 200):
            client.submit(text.slice(start, start + 200))
            last = client.submit(code.slice(start, start + 200)).last_seq
        same_numbers(elo_board(client, "text", min_seq=last), offline_elo(text))
        same_numbers(elo_board(client, "code", min_seq=last), offline_elo(code))


def test_vote_ids_are_unique_per_board(start_server):
    """The proto, the README and the service agree: a vote_id is unique within its board."""
    proto = (Path(__file__).resolve().parent.parent / "protos/arena_ratings/v1/ratings.proto").read_text()
    [declared] = [line for line in proto.splitlines() if "string vote_id = 1;" in line]
    assert "unique per board" in declared
    server = start_server()
    with client_for(server) as client:
        for board in ("text", "code"):  # the same ids on two boards: both accepted
            assert client.submit(synthetic_batch(100, 4, seed=12, board=board)).accepted == 100
        again = client.submit(synthetic_batch(100, 4, seed=13, board="text"))  # the same ids again on one board
        assert (again.accepted, again.duplicates) == (0, 100)


def test_health_and_reflection(start_server):
    server = start_server()
    with client_for(server) as client:
        health = health_pb2_grpc.HealthStub(client.channel)
        for service in ("", "arena_ratings.v1.Ratings"):
            status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(client.channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        response = next(reflection.ServerReflectionInfo(iter([request])))
        names = {s.name for s in response.list_services_response.service}
    assert "arena_ratings.v1.Ratings" in names and "grpc.health.v1.Health" in names


def test_restart_recovers_from_checkpoint_and_log_tail(start_server, tmp_path):
    votes = synthetic_batch(4000, 10, seed=7)
    data = tmp_path / "data"
    first = start_server(data, checkpoint_every_votes=1500)
    with client_for(first) as client:
        for start in range(0, 4000, 500):
            last = client.submit(votes.slice(start, start + 500)).last_seq
        elo_board(client, min_seq=last)
    checkpoints = sorted((data / "checkpoints").glob("*.npz"))
    assert checkpoints, "a checkpoint was due after 1500 votes"
    # Simulate a crash: no shutdown checkpoint, so the log tail must be replayed.
    first.server.stop(0).wait()
    first.service._store.close()
    first.service._dir_lock.release()  # as the OS does when a process dies
    second = start_server(data)
    with client_for(second) as client:
        board = elo_board(client)
        assert board.as_of_seq == 4000
        same_numbers(board, offline_elo(votes))
        again = client.submit(votes.slice(0, 1000))
        assert again.duplicates == 1000


@pytest.mark.parametrize("damage", ["flipped byte", "truncated"])
def test_corrupt_checkpoint_is_ignored_and_state_rebuilt(start_server, tmp_path, caplog, damage):
    votes = synthetic_batch(1000, 6, seed=8)
    data = tmp_path / "data"
    first = start_server(data)
    with client_for(first) as client:
        client.submit(votes)
    first.stop(grace=1.0)
    (checkpoint,) = sorted((data / "checkpoints").glob("*.npz"))
    blob = bytearray(checkpoint.read_bytes())
    if damage == "truncated":
        del blob[len(blob) // 2 :]
    else:
        blob[len(blob) // 2] ^= 0xFF
    checkpoint.write_bytes(bytes(blob))
    second = start_server(data)
    assert "checksum mismatch" in caplog.text and "rebuilding from the log" in caplog.text
    with client_for(second) as client:
        same_numbers(elo_board(client), offline_elo(votes))


def test_min_seq_wait_without_a_deadline(start_server):
    """A call with no deadline reports an enormous time remaining; waiting for a seq the applier
    has not reached yet must not overflow (it once failed with INTERNAL)."""
    import time

    server = start_server()
    service = server.service
    real_apply = service._versions.apply

    def slow_apply(*args, **kwargs):  # holds the applier back, so the query surely waits
        time.sleep(0.3)
        real_apply(*args, **kwargs)

    service._versions.apply = slow_apply
    with client_for(server) as client:
        ack = client.submit(synthetic_batch(500, 5, seed=31))
        assert service._versions.applied_seq < ack.last_seq
        assert service.wait_applied(ack.last_seq, timeout=1e18) == ack.last_seq  # "no deadline" as gRPC reports it
        second = client.submit(synthetic_batch(500, 5, seed=32, prefix="w"))
        request = pb.LeaderboardRequest(min_seq=second.last_seq, ci=pb.CI_NONE)
        assert client.stub.GetLeaderboard(request).total_votes == 1000  # no timeout given


def test_names_no_vote_uses_are_not_stored(start_server):
    """A columnar batch may list names its votes do not use; they are neither validated nor kept."""
    server = start_server()
    columns = pb.VoteColumns(names=["a", "b", "", " ", "x" * 5000], model_a=[0], model_b=[1],
                             outcome=[pb.A_WINS], vote_id=["v1"])  # fmt: skip
    with client_for(server) as client:
        assert client.submit(pb.VoteBatch(columns=columns)).accepted == 1
    assert server.service._store.competitor_names() == ["a", "b"]
