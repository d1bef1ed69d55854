"""``arena-ratings bench`` (server/bench.py) against an in-process server on loopback."""

from __future__ import annotations

import argparse
import json
import time

import pytest

from server.client import bench
from server.client.launch import free_loopback_port
from server.client.ratings_client import RatingsClient
from server.proto.arena_ratings.v1 import ratings_pb2 as pb


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args(list(argv))


def run_json(capsys, target: str, *argv: str) -> tuple[dict, str]:
    code = bench.main(parse("--target", target, "--format", "json", *argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out), err


def assert_ordered(latency: dict) -> None:
    values = [latency[k] for k in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")]
    assert all(v > 0 for v in values)
    assert values == sorted(values), latency


def test_closed_loop_json_report(start_server, capsys):
    server = start_server()
    target = f"127.0.0.1:{server.port}"
    report, err = run_json(
        capsys, target, "--duration", "2", "--warmup", "0.3", "--concurrency", "2",
        "--mix", "submit=80,leaderboard_none=20", "--batch-size", "20", "--models", "10", "--progress",
    )  # fmt: skip
    assert report["mode"] == "closed"
    assert report["options"]["mix"] == {"submit": 80.0, "leaderboard_none": 20.0}
    assert report["options"]["concurrency"] == 2 and report["options"]["token"] is False
    calls = {c["name"]: c for c in report["calls"]}
    submit, board, total = calls["submit"], calls["leaderboard_none"], report["total"]
    assert submit["calls"] > 0 and board["calls"] > 0
    assert total["errors"] == {} and total["ok"] == total["calls"] == submit["calls"] + board["calls"]
    assert set(report["warmup"]["errors"]) <= {"NOT_FOUND"}  # a leaderboard before the board's first vote
    assert report["abandoned"] == 0
    assert submit["votes_sent"] == submit["votes_accepted"] == 20 * submit["calls"]
    assert submit["votes_duplicate"] == 0
    assert total["calls_per_s"] == pytest.approx(total["calls"] / report["measured_s"])
    for stats in (submit, board, total):
        assert_ordered(stats["latency"])
    assert sum(b["count"] for b in report["histogram"]) == total["ok"]
    # every vote the tool says was accepted (warm-up included) is on the server, and nothing else
    accepted = submit["votes_accepted"] + report["warmup"]["votes_accepted"]
    assert server.service.last_seq == accepted
    with RatingsClient(target) as client:
        board = client.leaderboard(report["options"]["board"], ci=pb.CI_NONE, min_seq=server.service.last_seq)
        assert board.total_votes == accepted
    assert "\r" in err and err.endswith("\n") and "calls" in err  # the live progress line, asked for


def test_open_loop_holds_the_rate(start_server, capsys):
    server = start_server()
    report, _ = run_json(
        capsys, f"127.0.0.1:{server.port}", "--rate", "50", "--duration", "2", "--warmup", "0.5",
        "--concurrency", "4", "--mix", "submit=50,leaderboard_none=30,head_to_head=20", "--batch-size", "10",
    )  # fmt: skip
    assert report["mode"] == "open" and report["options"]["rate"] == 50.0
    total = report["total"]
    assert 0.75 * 100 <= total["calls"] <= 1.25 * 100
    assert abs(total["calls"] + report["unsent"] - 100) <= 1  # sent or not, the schedule had 2 s x 50/s calls
    assert report["warmup"]["calls"] > 0
    assert set(total["errors"]) <= {"NOT_FOUND"}  # head_to_head before both of its models have votes
    assert_ordered(total["latency"])


def test_table_report(start_server, capsys):
    server = start_server()
    code = bench.main(
        parse("--target", f"127.0.0.1:{server.port}", "--duration", "1", "--warmup", "0", "--concurrency", "1")
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "closed loop" in out and "p99.9 ms" in out and "latency histogram" in out
    for name in ("submit", "leaderboard", "total"):
        assert any(line.startswith(name) for line in out.splitlines()), out
    assert "\r" not in err  # no progress line when stderr is not a terminal


@pytest.mark.parametrize(
    ("mix", "named"),
    [("submit=80,stream=20", "stream"), ("submit=0", "submit=0"), ("leaderboard=abc", "leaderboard=abc"),
     ("submit", "submit"), (" , ", "no call types")],
)  # fmt: skip
def test_bad_mix_is_refused(capsys, mix, named):
    with pytest.raises(SystemExit) as exc:
        parse("--target", "127.0.0.1:1", "--mix", mix)
    assert exc.value.code == 2
    assert named in capsys.readouterr().err
    # a Namespace built without argparse's checks gets the same answer from main, as exit code 2
    args = parse("--target", "127.0.0.1:1")
    args.mix = mix
    assert bench.main(args) == 2
    assert named in capsys.readouterr().err


def test_bad_options_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        parse("--target", "127.0.0.1:1", "--duration", "0")
    assert exc.value.code == 2
    args = parse("--target", "127.0.0.1:1", "--tls-ca", "/nonexistent/ca.pem")
    assert bench.main(args) == 2
    assert "--tls-ca" in capsys.readouterr().err


def test_unreachable_target_exits_1(capsys):
    port = free_loopback_port()
    began = time.monotonic()
    code = bench.main(parse("--target", f"127.0.0.1:{port}", "--duration", "1"))
    out, err = capsys.readouterr()
    assert code == 1
    assert time.monotonic() - began < 8
    assert f"127.0.0.1:{port}" in err and "cannot reach" in err
    assert out == ""
