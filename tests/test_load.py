"""Load: 8 concurrent clients for 60 s of mixed ingest and queries against a real server process
(its own process, durable store, B=1000), driven by the bench tool. Zero errors, and memory grows
only with what is stored (the vote ids kept for exactly-once), not with time or calls."""

from __future__ import annotations

import signal
from pathlib import Path

from server.client.launch import free_loopback_port, spawn_server
from server.client.ratings_client import RatingsClient
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from tests.conftest import make_batch
from tests.test_bench_tool import run_json

DURATION = "60"
BYTES_PER_STORED_VOTE = 300  # vote-id set and log pages; measured ~120 (README, "Load")
SLACK_BYTES = 100 * 2**20


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_eight_clients_for_a_minute(tmp_path, capsys):
    port = free_loopback_port()
    process = spawn_server(tmp_path / "data", port, ["--snapshot-every", "0"])
    target = f"127.0.0.1:{port}"
    try:
        names = [f"model-{i:03d}" for i in range(50)]
        seed = make_batch(names[:-1], names[1:], [1] * 49, [f"seed-{i}" for i in range(49)], board="bench-load")
        with RatingsClient(target) as client:
            client.leaderboard("bench-load", min_seq=client.submit(seed).last_seq, ci=pb.CI_NONE)
        before = rss_bytes(process.pid)
        report, _ = run_json(
            capsys, target, "--duration", DURATION, "--warmup", "2", "--concurrency", "8", "--batch-size", "1000",
            "--mix", "submit=80,leaderboard=10,leaderboard_none=10", "--board", "bench-load",
        )  # fmt: skip
        after = rss_bytes(process.pid)
        total = report["total"]
        assert total["errors"] == {} and report["warmup"]["errors"] == {} and report["abandoned"] == 0
        calls = {c["name"]: c for c in report["calls"]}
        assert calls["submit"]["calls"] > 0 and calls["leaderboard"]["calls"] > 0
        stored = calls["submit"]["votes_accepted"] + report["warmup"]["votes_accepted"]
        assert after - before <= SLACK_BYTES + BYTES_PER_STORED_VOTE * stored, (before, after, stored)
        with RatingsClient(target) as client:
            board = client.leaderboard("bench-load", min_seq=49 + stored, ci=pb.CI_NONE)
        assert board.total_votes == 49 + stored
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
