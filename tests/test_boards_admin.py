"""Boards as an operator manages them (issue 17): which writes may create a board, and deleting one."""

from __future__ import annotations

import json
import threading
import time

import grpc
import pytest

from engine import EloConfig
from server.client.ratings_client import RatingsClient
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from tests.conftest import make_batch
from tests.test_cli import run_cli, votes_file


def _votes(board: str, ids: list[str]) -> pb.VoteBatch:
    return pb.VoteBatch(
        board=board, votes=[pb.Vote(vote_id=i, model_a="a", model_b="b", outcome=pb.A_WINS) for i in ids]
    )


def _ballot(board: str, ballot_id: str) -> pb.RankingBallot:
    ranking = [pb.RankedCompetitor(model=m, place=i + 1) for i, m in enumerate("abc")]
    return pb.RankingBallot(board=board, ballot_id=ballot_id, ranking=ranking)


def _code(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


# ------------------------------------------------------------------ which writes create a board


def test_the_ack_says_when_a_batch_created_its_board(start_server):
    server = start_server()
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        first = client.submit(_votes("nope", ["v1"]))
        again = client.submit(_votes("nope", ["v2"]))
        assert (first.accepted, first.board_created) == (1, True)
        assert (again.accepted, again.board_created) == (1, False)
        acks = list(client.stream([_votes("streamed", ["s1"]), _votes("streamed", ["s2"])]))
        assert [a.board_created for a in acks] == [True, False]
        assert client.submit_ranking(_ballot("ranked", "b1")).board_created is True
        assert client.submit_ranking(_ballot("ranked", "b2")).board_created is False
        duplicate = client.submit(_votes("nope", ["v1"]))
        assert (duplicate.duplicates, duplicate.board_created) == (1, False)


def test_create_boards_configured_refuses_unknown_boards_for_writes(start_server, tmp_path):
    data = tmp_path / "data"
    server = start_server(data_dir=data)
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        client.submit(_votes("existing", ["e1"]))  # made while boards were created freely
    server.stop(grace=1.0)
    server = start_server(data_dir=data, create_boards="configured", board_elo={"chess": EloConfig(k=32)})
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        for call in (
            lambda: client.submit(_votes("nope", ["n1"])),
            lambda: list(client.stream([_votes("nope", ["n2"])])),
            lambda: client.submit_ranking(_ballot("nope", "b1")),
            lambda: client.replay("nope", [make_batch(["a"], ["b"], [1], board="nope")]),
        ):
            error = _code(call)
            assert error.code() == grpc.StatusCode.NOT_FOUND, error
            assert "'nope'" in error.details() and "--create-boards" in error.details()
            assert "--board-config" in error.details()
        assert client.submit(_votes("chess", ["c1"])).board_created is True  # a configured board
        assert client.submit(_votes("existing", ["e2"])).accepted == 1  # a board that exists
        assert client.replay("existing", [make_batch(["a"], ["b"], [1], board="existing")]).applied == 1
        assert sorted(b.name for b in client.boards()) == ["chess", "existing"]


def test_submit_warns_when_it_created_the_board(start_server, tmp_path, capsys):
    server = start_server()
    target = ["--target", f"127.0.0.1:{server.port}"]
    path = str(votes_file(tmp_path))
    code, _, err = run_cli(capsys, "submit", path, "--board", "txet", *target)
    assert code == 0
    assert "warning" in err and "board 'txet'" in err and "created" in err
    code, _, err = run_cli(capsys, "submit", path, "--board", "txet", *target)  # it exists now
    assert code == 0 and "warning" not in err


def test_serve_create_boards_flag(monkeypatch, tmp_path):
    from server.cli.main import main
    from server.rpc import app

    started = []

    def fake_start(data_dir, host, port, config, access=None, http=None):
        started.append(config)
        raise SystemExit(0)

    monkeypatch.setattr(app, "start", fake_start)
    board_config = tmp_path / "boards.json"
    board_config.write_text('{"chess": {"k": 32}}')
    for argv, expected in ((["--board-config", str(board_config), "--create-boards", "configured"], "configured"),
                           ([], "auto")):  # fmt: skip
        with pytest.raises(SystemExit):
            main(["serve", "--data-dir", str(tmp_path), *argv])
        assert started[-1].create_boards == expected
    assert started[0].may_create("chess") and not started[0].may_create("nope")
    assert started[1].may_create("nope")


# ------------------------------------------------------------------ deleting a board


def _junk(ids: range, outcome: int = 1) -> object:
    names = [f"m{i % 4}" for i in ids]
    return make_batch(names, [f"m{(i + 1) % 4}" for i in ids], [outcome] * len(ids), [f"j{i}" for i in ids], "junk")


def test_delete_board_retires_it_durably_and_frees_its_vote_ids(start_server, tmp_path):
    data = tmp_path / "data"
    server = start_server(data_dir=data)
    target = f"127.0.0.1:{server.port}"
    with RatingsClient(target) as client:
        client.submit(_votes("keep", ["k1"]))
        last = 0
        for start in range(0, 40, 10):
            last = client.submit(_junk(range(start, start + 10))).last_seq
        before = client.leaderboard("junk", ci=pb.CI_NONE, min_seq=last)  # cached now
        assert before.total_votes == 40
        client.create_snapshot("junk", "week-1")
        server.service.checkpoint()  # a checkpoint that still holds the board
        used = client.stub.ListBoards(pb.ListBoardsRequest()).memory_used_bytes
        for start in range(40, 100, 10):  # still queued for the applier, maybe, when the delete comes
            client.submit(_junk(range(start, start + 10)))
        deleted = client.delete_board("junk")
        assert (deleted.board, deleted.votes, deleted.snapshots) == ("junk", 100, 1)
        assert [b.name for b in client.boards()] == ["keep"]
        assert client.stub.ListBoards(pb.ListBoardsRequest()).memory_used_bytes < used
        for call in (
            lambda: client.leaderboard("junk", ci=pb.CI_NONE),
            lambda: client.head_to_head("m0", "m1", "junk"),
            lambda: client.delete_board("junk"),
            lambda: client.create_snapshot("junk", "week-2"),
        ):
            assert _code(call).code() == grpc.StatusCode.NOT_FOUND
        # Its snapshots stay readable by name.
        assert [s.name for s in client.snapshots("junk")] == ["week-1"]
        assert client.leaderboard("junk", ci=pb.CI_NONE, as_of="week-1").total_votes == 40
        # The same votes make a new board of that name at once, and the cache serves the new one.
        again = client.submit(_junk(range(0, 10), outcome=2))
        assert (again.accepted, again.duplicates, again.board_created) == (10, 0, True)
        board = client.leaderboard("junk", ci=pb.CI_NONE, min_seq=again.last_seq)
        assert board.total_votes == 10
        assert [r.model for r in board.rows] != [r.model for r in before.rows]
        server.service.checkpoint()  # the newest checkpoint holds this second board, deleted next
        client.delete_board("junk")
    server.stop(grace=1.0)
    server = start_server(data_dir=data)  # the deletion is durable: a restart does not bring the board back
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        assert [b.name for b in client.boards()] == ["keep"]
        assert _code(lambda: client.leaderboard("junk", ci=pb.CI_NONE)).code() == grpc.StatusCode.NOT_FOUND
        ack = client.submit(_junk(range(0, 100)))
        assert (ack.accepted, ack.duplicates, ack.board_created) == (100, 0, True)
        assert client.leaderboard("junk", ci=pb.CI_NONE, min_seq=ack.last_seq).total_votes == 100
        assert client.leaderboard("keep", ci=pb.CI_NONE).total_votes == 1


def _replaying(client: RatingsClient, board: str) -> bool:
    """Whether a replay of ``board`` is under way: live ingest into it is UNAVAILABLE then (a duplicate
    vote id, so that nothing is stored otherwise)."""
    try:
        client.stub.SubmitVotes(_votes(board, ["d1"]), timeout=5)
    except grpc.RpcError as exc:
        return exc.code() == grpc.StatusCode.UNAVAILABLE
    return False


def test_delete_board_refusals(start_server):
    server = start_server()
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        client.submit(_votes("default", ["d1"]))
        error = _code(lambda: client.stub.DeleteBoard(pb.DeleteBoardRequest()))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "board" in error.details()
        assert _code(lambda: client.delete_board("nope")).code() == grpc.StatusCode.NOT_FOUND
        # A board being replayed cannot be deleted (nor can the board a replay is creating).
        release = threading.Event()
        results = []

        def chunks(board):
            yield make_batch(["a"], ["b"], [1], ["r1"], board)
            release.wait(30)
            yield make_batch(["b"], ["a"], [1], ["r2"], board)

        replays = [
            threading.Thread(target=lambda b=b: results.append(client.replay(b, chunks(b)))) for b in ("default", "new")
        ]
        for thread in replays:
            thread.start()
        try:
            deadline = time.monotonic() + 10
            while not _replaying(client, "default") and time.monotonic() < deadline:
                time.sleep(0.01)
            while time.monotonic() < deadline:  # NOT_FOUND until the replay of the new board has begun
                error = _code(lambda: client.delete_board("new"))
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    break
                time.sleep(0.01)
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
            assert "'new'" in error.details() and "replay" in error.details()
            error = _code(lambda: client.delete_board("default"))
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
            assert "'default'" in error.details() and "replay" in error.details()
        finally:
            release.set()
            for thread in replays:
                thread.join(30)
        assert sorted(r.applied for r in results) == [2, 2]
        assert client.delete_board("default").votes == 2
        assert [b.name for b in client.boards()] == ["new"]


def test_batches_still_queued_when_their_board_is_deleted_do_not_bring_it_back(start_server):
    server = start_server()
    versions = server.service._versions
    gate = threading.Event()
    original = versions.apply

    def held_apply(*args, **kwargs):
        gate.wait(30)  # the applier waits here: what the writer commits meanwhile stays queued
        return original(*args, **kwargs)

    versions.apply = held_apply
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        last = 0
        for start in range(0, 50, 10):
            last = client.submit(_junk(range(start, start + 10))).last_seq
        assert client.delete_board("junk").votes == 50
        gate.set()
        assert client.boards() == []
        versions.wait_applied(last, timeout=30)
        assert client.boards() == []  # the queued batches were skipped, not applied to a new "junk"
        assert _code(lambda: client.leaderboard("junk", ci=pb.CI_NONE)).code() == grpc.StatusCode.NOT_FOUND
        ack = client.submit(_junk(range(0, 10)))
        assert client.leaderboard("junk", ci=pb.CI_NONE, min_seq=ack.last_seq).total_votes == 10


def test_boards_delete_needs_yes_and_names_what_it_would_delete(start_server, capsys):
    server = start_server()
    target = ["--target", f"127.0.0.1:{server.port}"]
    with RatingsClient(target[1]) as client:
        client.submit(_votes("typo", ["t1", "t2", "t3"]))
        client.submit(_votes("keep", ["k1"]))
    code, out, err = run_cli(capsys, "boards", "delete", "typo", *target)
    assert code == 2 and out == ""
    assert "board 'typo'" in err and "3 votes" in err and "--yes" in err
    code, out, _ = run_cli(capsys, "boards", *target)  # nothing changed; the plain listing still works
    assert code == 0 and "typo: 3 votes" in out
    code, out, err = run_cli(capsys, "boards", "delete", "typo", "--yes", *target)
    assert code == 0, err
    assert json.loads(out) == {"deleted": "typo", "votes": 3, "snapshots_kept": 0}
    code, out, _ = run_cli(capsys, "boards", *target)
    assert code == 0 and "typo" not in out and "keep: 1 votes" in out
    code, _, err = run_cli(capsys, "boards", "delete", "typo", "--yes", *target)
    assert code == 1 and "NOT_FOUND" in err and "'typo'" in err
    code, _, err = run_cli(capsys, "boards", "delete", "typo", *target)
    assert code == 2 and "'typo' does not exist" in err


def test_a_board_that_failed_to_start_can_be_deleted(start_server, tmp_path):
    from server.service.capacity import CapacityLimits

    data = tmp_path / "data"
    server = start_server(data_dir=data)
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        client.submit(make_batch(["a", "b", "c", "d"], ["e", "a", "b", "c"], [1, 1, 1, 1], board="big"))
    server.stop(grace=1.0)
    server = start_server(data_dir=data, capacity=CapacityLimits(max_competitors_per_board=3))
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        assert [(b.name, bool(b.failure)) for b in client.boards()] == [("big", True)]
        assert client.delete_board("big").board == "big"
        assert client.boards() == []
        ack = client.submit(make_batch(["a"], ["b"], [1], board="big"))  # a new board of that name, within limits
        assert ack.board_created and client.leaderboard("big", ci=pb.CI_NONE, min_seq=ack.last_seq).total_votes == 1


def test_a_watch_of_a_deleted_board_ends_with_not_found(start_server):
    server = start_server()
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        ack = client.submit(_junk(range(0, 10)))
        client.leaderboard("junk", ci=pb.CI_NONE, min_seq=ack.last_seq)
        updates = client.watch("junk", interval=0.05, timeout=30, ci=pb.CI_NONE)
        try:
            assert next(updates).total_votes == 10
            client.delete_board("junk")
            error = _code(lambda: next(updates))
            assert error.code() == grpc.StatusCode.NOT_FOUND and "'junk'" in error.details()
        finally:
            updates.cancel()


# ------------------------------------------------------------------ bench keeps to boards of its own

BENCH_SHORT = ("--duration", "0.6", "--warmup", "0", "--concurrency", "2", "--batch-size", "10", "--models", "6")


def _bench(capsys, target: str, *argv: str) -> tuple[int, str, str]:
    from server.client import bench
    from tests.test_bench_tool import parse

    code = bench.main(parse("--target", target, *BENCH_SHORT, *argv))
    out, err = capsys.readouterr()
    return code, out, err


def _seeded(start_server) -> tuple[object, str]:
    """A server whose `default` board holds votes an operator sent (not bench's)."""
    server = start_server()
    target = f"127.0.0.1:{server.port}"
    with RatingsClient(target) as client:
        ack = client.submit(make_batch(["x", "y", "z"], ["y", "z", "x"], [1, 1, 2], ["p1", "p2", "p3"]))
        client.leaderboard(ci=pb.CI_NONE, min_seq=ack.last_seq)
    return server, target


def test_bench_writes_into_a_new_board_of_its_own_by_default(start_server, capsys):
    server, target = _seeded(start_server)
    code, out, err = _bench(capsys, target, "--format", "json", "--mix", "submit=80,leaderboard_none=20")
    assert code == 0, err
    report = json.loads(out)
    board = report["options"]["board"]
    assert board == f"bench-{report['run_id']}"
    accepted = report["calls"][0]["votes_accepted"] + report["warmup"]["votes_accepted"]
    assert accepted > 0 and any(board in note and "boards delete" in note for note in report["notes"])
    with RatingsClient(target) as client:
        listed = {b.name: b.votes for b in client.boards()}
        assert listed == {"default": 3, board: listed[board]}
        assert client.leaderboard(board, ci=pb.CI_NONE, min_seq=server.service.last_seq).total_votes == accepted
    code, out, err = _bench(capsys, target, "--mix", "submit=1")  # a table names the board too; a new one each run
    assert code == 0, err
    second = out.splitlines()[0].split(" board ")[1].split(":")[0]
    assert second.startswith("bench-") and second != board and f"boards delete {second} --yes" in out


def test_bench_refuses_a_board_with_votes_it_did_not_write(start_server, capsys):
    server, target = _seeded(start_server)
    seq = server.service.last_seq
    code, out, err = _bench(capsys, target, "--board", "default")
    assert code == 2 and out == ""
    assert "board 'default'" in err and "3 votes" in err and "--board-force" in err and "--read-only" in err
    assert server.service.last_seq == seq  # nothing was written
    code, out, err = _bench(capsys, target, "--board", "default", "--board-force", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["options"]["board"] == "default"
    assert server.service.last_seq > seq
    for board in ("bench-mine", "bench-mine", "fresh"):  # a bench board, again; a board that does not exist yet
        code, out, err = _bench(capsys, target, "--board", board, "--format", "json", "--mix", "submit=1")
        assert code == 0, err
        assert json.loads(out)["options"]["board"] == board


def test_bench_read_only_queries_an_existing_board_and_writes_nothing(start_server, capsys):
    server, target = _seeded(start_server)
    seq = server.service.last_seq
    code, out, err = _bench(
        capsys, target, "--read-only", "--board", "default", "--format", "json",
        "--mix", "leaderboard_none=50,head_to_head=50",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["options"]["board"] == "default" and report["options"]["read_only"] is True
    assert report["total"]["calls"] > 0 and report["total"]["errors"] == {}  # head-to-head of the board's models
    assert server.service.last_seq == seq
    code, out, err = _bench(capsys, target, "--read-only", "--board", "default")  # its default mix: queries only
    assert code == 0, err
    assert server.service.last_seq == seq
    for argv, named in (
        (["--read-only"], "--board"),
        (["--read-only", "--board", "nope"], "'nope'"),
        (["--read-only", "--board", "default", "--mix", "submit=1,leaderboard=1"], "submit"),
    ):
        code, out, err = _bench(capsys, target, *argv)
        assert code == 2 and out == "" and named in err, (argv, err)
    assert server.service.last_seq == seq
