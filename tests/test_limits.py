"""Capacity limits (server.service.capacity, engine.memory): competitors, category views, boards,
snapshots and the memory budget refuse cleanly before anything is stored; an applier failure
stops writes instead of acknowledging votes it never applies; a board that cannot be rebuilt
within the budget does not keep the others from starting (issue 11, defect 3)."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engine import Board, EloConfig
from engine.memory import ViewMemory, slot_capacity, view_memory
from engine.views import BoardViews
from server.client.launch import free_loopback_port
from server.client.ratings_client import RatingsClient
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.service.capacity import CapacityLimits
from tests.conftest import synthetic_votes

ROOT = Path(__file__).resolve().parent.parent


def columns(names, a, b, ids, tags=None) -> pb.VoteBatch:
    cols = pb.VoteColumns(names=names, model_a=a, model_b=b, outcome=[1] * len(a), vote_id=ids)
    if tags is not None:
        cols.tag_count.extend(len(t) for t in tags)
        cols.tags.extend(t for vote in tags for t in vote)
    return cols


def batch(board, names, a, b, ids, tags=None) -> pb.VoteBatch:
    return pb.VoteBatch(board=board, columns=columns(names, a, b, ids, tags))


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value


# ------------------------------------------------------------ engine memory


def test_slot_growth_is_a_pure_function_that_stops_doubling():
    previous = 0
    for n in [1, 3, 4, 5, 100, 8_192, 8_193, 10_000, 524_288, 524_289, 2_000_000]:
        capacity = slot_capacity(n)
        assert capacity >= n and capacity >= previous
        previous = capacity
    # Past 8,192 slots a step adds an eighth (rounded up to 1,024 slots), never as much again.
    assert slot_capacity(8_193) == 8_192 + 1_024
    big = slot_capacity(524_288)
    assert slot_capacity(big + 1) - big <= big // 8 + 1_024


def test_board_memory_is_what_the_estimate_says():
    """The Elo arrays are exactly the estimate; cells and style rows at most it."""
    rng = np.random.default_rng(3)
    for m, n, rounds in [(3, 10, 8), (40, 500, 16), (300, 5_000, 4), (9_000, 20_000, 2)]:
        a, b, outcome, _ = synthetic_votes(n, m, seed=int(rng.integers(1 << 30)))
        ids_a, ids_b = (x.astype(np.int32) * 3 for x in (a, b))  # sparse global ids
        board = Board(EloConfig(bootstrap_rounds=rounds), threads=1)
        style = rng.random((n, 4))
        for chunk in np.array_split(np.arange(n), 7):
            board.apply(ids_a[chunk], ids_b[chunk], outcome[chunk], None, ["x", "y"], style[chunk])
        held = board.memory()
        max_id = int(max(ids_a.max(), ids_b.max()))
        estimate = view_memory(board.n_competitors, max_id, min(n, m * (m - 1) // 2), n, 2, rounds)
        assert held.replicas == estimate.replicas
        assert board.cells.n_cells <= min(n, m * (m - 1) // 2)
        assert held.cells <= estimate.cells and held.style <= estimate.style
        restored = Board.from_state(board.state())  # a restart holds the same or less
        assert restored.memory().replicas == held.replicas
        assert restored.memory().total <= estimate.total


def test_views_add_up():
    views = BoardViews(EloConfig(bootstrap_rounds=4), threads=1)
    views.apply(np.array([0, 1], np.int32), np.array([1, 2], np.int32), np.array([1, 2], np.int8), [["t"], []], 2)
    total = views.overall.memory() + views.categories["t"].memory()
    assert views.memory() == total and total.total > 0
    assert ViewMemory(1, 2, 3).total == 6


# ------------------------------------------------------------ the limits


def test_each_limit_refuses_the_whole_batch_naming_the_limit_and_vote(start_server):
    limits = CapacityLimits(max_competitors_per_board=5, max_views_per_board=3, max_boards=2, max_snapshots_per_board=2)
    server = start_server(capacity=limits, snapshot_every_seconds=0)
    with RatingsClient(f"127.0.0.1:{server.port}", retries=0) as client:
        names = [f"m{i}" for i in range(7)]
        client.submit(batch("one", names, [0, 1, 2, 3], [1, 2, 3, 4], ["a", "b", "c", "d"]))
        last = server.service.last_seq

        # A sixth competitor, introduced by vote 2 of the batch.
        error = refused(lambda: client.submit(batch("one", names, [0, 1, 4], [1, 2, 5], ["e", "f", "g"])))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error.details().startswith("votes[2]:") and "5 competitors" in error.details()
        assert "--max-competitors" in error.details()

        # A fourth category view, first named by vote 1's second tag.
        tags = [["t1", "t2"], ["t3", "t4"], ["t1"]]
        error = refused(lambda: client.submit(batch("one", names, [0, 1, 2], [1, 2, 3], ["h", "i", "j"], tags)))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error.details().startswith("votes[1].tags[1]:") and "--max-categories" in error.details()

        client.submit(batch("two", names, [0], [1], ["a"]))
        error = refused(lambda: client.submit(batch("three", names, [0], [1], ["a"])))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "--max-boards" in error.details()

        client.create_snapshot("one", "s1")
        client.create_snapshot("one", "s2")
        error = refused(lambda: client.create_snapshot("one", "s3"))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "--max-snapshots" in error.details()

        # Nothing of a refused batch was stored, and what fits still goes in.
        assert server.service.last_seq == last + 1
        info = {b.name: b for b in client.boards()}
        assert sorted(info) == ["one", "two"]
        assert (info["one"].votes, info["one"].competitors, len(info["one"].categories)) == (4, 5, 0)
        ack = client.submit(batch("one", names, [0, 1, 2], [1, 2, 3], ["h", "i", "j"], [["t1"], ["t2", "t3"], []]))
        assert ack.accepted == 3


def test_memory_budget_refuses_cleanly_and_list_boards_reports_it(start_server):
    budget = 3 << 20
    server = start_server(capacity=CapacityLimits(memory_budget_bytes=budget), snapshot_every_seconds=0)
    with RatingsClient(f"127.0.0.1:{server.port}", retries=0) as client:
        n = 0
        error = None
        for step in range(200):  # each batch brings 20 fresh competitors (200 replicas: ~1.6 KB each)
            names = [f"c{step}-{i}" for i in range(20)]
            try:
                ids = [f"{step}-{i}" for i in range(19)]
                client.submit(batch("big", names, list(range(19)), list(range(1, 20)), ids))
                n += 19
            except grpc.RpcError as exc:
                error = exc
                break
        assert error is not None, "the budget never refused"
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "--memory-budget" in error.details() and error.details().startswith("votes[0]:")
        listing = server.service.boards()
        (board,) = listing.boards
        assert board.votes == n
        assert listing.memory_used_bytes <= budget == listing.memory_budget_bytes
        assert 0 < board.memory.total <= listing.memory_used_bytes
        (info,) = client.boards()
        assert info.memory.total_bytes == board.memory.total
        assert info.memory.replica_bytes + info.memory.cell_bytes + info.memory.style_bytes == info.memory.total_bytes
        # The board keeps taking votes between the competitors it has.
        assert client.submit(batch("big", ["c0-0", "c0-1"], [0], [1], ["more"])).accepted == 1


def test_the_reported_tag_flood_is_refused_fast_and_stores_nothing(start_server):
    """One SubmitVotes of 10,000 votes x 32 fresh tags asked for ~320,000 views (~45 GB)."""
    server = start_server(snapshot_every_seconds=0)
    names = [f"m{i}" for i in range(10)]
    n = 10_000
    tags = [[f"v{i}-t{j}" for j in range(32)] for i in range(n)]
    flood = batch("default", names, [i % 10 for i in range(n)], [(i + 1) % 10 for i in range(n)],
                  [f"id{i}" for i in range(n)], tags)  # fmt: skip
    with RatingsClient(f"127.0.0.1:{server.port}", retries=0) as client:
        started = time.monotonic()
        error = refused(lambda: client.submit(flood))
        assert time.monotonic() - started < 10
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error.details().startswith("votes[31].tags[8]:")  # the 1001st tag: 1000 views allowed
        assert server.service.last_seq == 0 and client.boards() == []


# --------------------------------------------------- when applying fails anyway


def test_applier_failure_stops_writes_goes_not_serving_and_restart_recovers(start_server, tmp_path, monkeypatch):
    data = tmp_path / "data"
    server = start_server(data, snapshot_every_seconds=0)
    real_apply = BoardViews.apply

    def failing(self, competitor_a, *args, **kwargs):
        if len(competitor_a) == 7:  # the poisoned batch
            raise MemoryError("simulated: the allocation failed")
        return real_apply(self, competitor_a, *args, **kwargs)

    monkeypatch.setattr(BoardViews, "apply", failing)
    a, b, outcome, _ = synthetic_votes(300, 6, seed=2)
    names = [f"m{i}" for i in range(6)]
    with RatingsClient(f"127.0.0.1:{server.port}", retries=0) as client:
        health = health_pb2_grpc.HealthStub(client.channel)
        client.submit(batch("default", names, a[:100].tolist(), b[:100].tolist(), [f"v{i}" for i in range(100)]))
        client.submit(batch("default", names, a[100:107].tolist(), b[100:107].tolist(),
                            [f"v{i}" for i in range(100, 107)]))  # fmt: skip
        deadline = time.monotonic() + 10
        while health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING:
            assert time.monotonic() < deadline, "health stayed SERVING after the applier failed"
            time.sleep(0.02)
        error = refused(lambda: client.submit(batch("other", names, [0], [1], ["x"])))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "seqs 101..107" in error.details() and "MemoryError" in error.details()
        error = refused(lambda: client.leaderboard("default", ci=pb.CI_NONE, min_seq=107))
        assert error.code() == grpc.StatusCode.UNAVAILABLE  # not a hang until the deadline
        assert client.leaderboard("default", ci=pb.CI_NONE).total_votes == 100  # reads still answer
    started = time.monotonic()
    server.stop(grace=1.0)
    assert time.monotonic() - started < 1.0 + 5.0
    monkeypatch.setattr(BoardViews, "apply", real_apply)
    again = start_server(data, snapshot_every_seconds=0)
    with RatingsClient(f"127.0.0.1:{again.port}") as client:
        assert client.leaderboard("default", ci=pb.CI_NONE).total_votes == 107  # the log had it all


def test_a_board_that_does_not_fit_at_restart_fails_alone(start_server, tmp_path):
    data = tmp_path / "data"
    server = start_server(data, snapshot_every_seconds=0)
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        client.submit(batch("small", ["a", "b"], [0], [1], ["1"]))
        names = [f"m{i}" for i in range(400)]
        client.submit(batch("large", names, list(range(399)), list(range(1, 400)), [str(i) for i in range(399)]))
    server.stop(grace=1.0)
    # 200 replicas: "small" needs ~10 KB, "large" ~700 KB.
    again = start_server(data, snapshot_every_seconds=0, capacity=CapacityLimits(memory_budget_bytes=200_000))
    with RatingsClient(f"127.0.0.1:{again.port}", retries=0) as client:
        assert client.leaderboard("small", ci=pb.CI_NONE).total_votes == 1
        error = refused(lambda: client.leaderboard("large", ci=pb.CI_NONE))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "could not be rebuilt" in error.details() and "--memory-budget" in error.details()
        error = refused(lambda: client.submit(batch("large", ["m0", "m1"], [0], [1], ["new"])))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        info = {b.name: b for b in client.boards()}
        assert info["large"].failure and not info["small"].failure
        assert client.submit(batch("small", ["a", "c"], [0], [1], ["2"])).accepted == 1


# --------------------------------------------- a real process under a memory cap

_HOSTILE = r"""
import sys, grpc
from server.client.ratings_client import RatingsClient
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
port, rounds = int(sys.argv[1]), int(sys.argv[2])
codes = {}
with RatingsClient(f"127.0.0.1:{port}", retries=0, timeout=30) as client:
    for step in range(rounds):
        names = [f"s{step}-{i}" for i in range(1000)]
        tags = [[f"s{step}-t{i % 200}"] for i in range(999)]
        cols = pb.VoteColumns(names=names, model_a=list(range(999)), model_b=list(range(1, 1000)),
                              outcome=[1] * 999, vote_id=[f"{step}-{i}" for i in range(999)],
                              tag_count=[1] * 999, tags=[t[0] for t in tags])
        try:
            client.submit(pb.VoteBatch(board=f"b{step % 50}", columns=cols))
            codes["OK"] = codes.get("OK", 0) + 1
        except grpc.RpcError as exc:
            codes[exc.code().name] = codes.get(exc.code().name, 0) + 1
print(codes)
"""


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_hostile_client_against_a_capped_process_stays_within_budget(tmp_path):
    """A server under an address-space cap takes fresh competitors, views and boards until the
    budget refuses them; it stays up, healthy and under its budget (bounded: ~60 batches)."""
    port = free_loopback_port()
    budget = 256 << 20
    cap = 6 << 30  # the address space numba, gRPC and the budget need, so a leak fails instead of swapping

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    command = [sys.executable, "-m", "server.cli", "--log-level", "WARNING", "serve", "--data-dir", str(tmp_path),
               "--port", str(port), "--http-port", "0", "--memory-budget", str(budget),
               "--snapshot-every", "0"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, preexec_fn=limit)
    try:
        with RatingsClient(f"127.0.0.1:{port}") as client:
            client.wait_ready(timeout=60)
            client.submit(batch("warm", ["a", "b"], [0], [1], ["w"]))  # kernels compile outside the budget
            client.leaderboard("warm", ci=pb.CI_NONE, min_seq=1)
        baseline = _rss_bytes(process.pid)
        result = subprocess.run([sys.executable, "-c", _HOSTILE, str(port), "60"], cwd=ROOT, capture_output=True,
                                text=True, timeout=240)  # fmt: skip
        assert result.returncode == 0, result.stderr
        codes = eval(result.stdout.strip())  # noqa: S307 - our own child's dict literal
        assert set(codes) == {"OK", "RESOURCE_EXHAUSTED"}, codes
        assert process.poll() is None, "the server died"
        with RatingsClient(f"127.0.0.1:{port}") as client:
            health = health_pb2_grpc.HealthStub(client.channel)
            assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
            (info,) = [b for b in client.boards() if b.name == "b0"]
            assert info.memory.total_bytes > 0
        assert _rss_bytes(process.pid) - baseline < budget + (64 << 20)
    finally:
        process.terminate()
        assert process.wait(60) == 0


@pytest.mark.parametrize("text", ["abc", "inf", "1e400", "-5", "0", "nan%"])
def test_a_bad_memory_budget_is_a_clear_error(text):
    from server.cli.serve import _memory_size

    with pytest.raises(SystemExit, match="--memory-budget"):
        _memory_size(text)
    assert _memory_size("800M") == 800 << 20 and _memory_size("1g") == 1 << 30
