"""Boards as an operator manages them (issue 17): which writes may create a board, and deleting one."""

from __future__ import annotations

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

    def fake_start(data_dir, host, port, config, access=None):
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
