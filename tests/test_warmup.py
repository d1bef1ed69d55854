"""The kernel warm-up of `serve` (server/service/warmup.py): health says NOT_SERVING until it is done, and after
it no query, write, snapshot, replay or restart compiles a kernel.

The guard runs in a new process with numba's cache in an empty folder, so every kernel compiles from scratch
and numba reports each compile: a query kind whose kernels (or argument types) the warm-up misses shows up as a
compile after SERVING. About 15 s on the project's 2-core machine, most of it the compile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.client.launch import free_loopback_port
from server.client.ratings_client import RatingsClient
from server.proto.arena_ratings.v1 import ratings_pb2 as pb

ROOT = Path(__file__).resolve().parent.parent
MODELS = [f"m{i}" for i in range(8)]
FEATURES = ["tokens", "headers", "lists"]


def health_status(client: RatingsClient) -> int:
    return health_pb2_grpc.HealthStub(client.channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status


def test_health_is_not_serving_until_the_warm_up_is_done(tmp_path, start_server):
    from server.rpc.app import RatingsService

    port = free_loopback_port()
    entered, release = threading.Event(), threading.Event()
    warmed: list[object] = []

    def slow_warm_up(service: RatingsService) -> None:  # the real warm-up, held until the test has looked
        entered.set()
        assert release.wait(60)
        warmed.append(service.warm_up())

    started: list = []
    starting = threading.Thread(target=lambda: started.append(start_server(port=port, warm_up=slow_warm_up)))
    starting.start()
    try:
        assert entered.wait(60)
        with RatingsClient(f"127.0.0.1:{port}") as client:
            assert health_status(client) == health_pb2.HealthCheckResponse.NOT_SERVING
            release.set()
            starting.join(120)
            assert started and warmed
            assert health_status(client) == health_pb2.HealthCheckResponse.SERVING
    finally:
        release.set()
        starting.join(120)


def style_batch(board: str, n: int, seed: int) -> pb.VoteBatch:
    """n votes in columns, every third tagged "coding", all with three style features."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(MODELS), n)
    b = (a + rng.integers(1, len(MODELS), n)) % len(MODELS)
    tags = [["coding"] if i % 3 == 0 else [] for i in range(n)]
    return pb.VoteBatch(board=board, columns=pb.VoteColumns(
        names=MODELS, model_a=a.tolist(), model_b=b.tolist(), outcome=rng.integers(1, 5, n).tolist(),
        timestamp=(1.7e9 + np.arange(n)).tolist(), vote_id=[f"{board}-{seed}-{i}" for i in range(n)],
        tag_count=[len(t) for t in tags], tags=[t for ts in tags for t in ts], style_features=FEATURES,
        style_a=rng.gamma(4.0, 100.0, n * len(FEATURES)).tolist(),
        style_b=rng.gamma(4.0, 100.0, n * len(FEATURES)).tolist(),
    ))  # fmt: skip


def every_call(client: RatingsClient) -> None:
    """Writes, every kind of leaderboard, head-to-head, the matrix, a watch, snapshots and a replay."""
    from server.rpc import convert

    client.submit(style_batch("text", 300, 1))
    last = client.submit(style_batch("text", 200, 2)).last_seq
    for query in (
        {}, {"ci": "sandwich"}, {"ci": "none"}, {"anchor": ("m0", 1200.0)}, {"method": "elo"},
        {"category": "coding"}, {"category": "coding", "method": "elo"}, {"rounds": 50},
        {"style_control": True}, {"style_control": True, "ci": "sandwich"}, {"style_control": True, "ci": "none"},
    ):  # fmt: skip
        client.leaderboard("text", min_seq=last, **query)
    client.head_to_head("m0", "m1", "text")
    client.head_to_head_matrix("text", top_k=5)
    client.head_to_head_matrix("text", top_k=5, category="coding")
    for objective, model in (("ci_width", ""), ("top_k", ""), ("placement", "m0")):
        client.suggest_pairs("text", objective=objective, model=model)
        client.suggest_pairs("text", objective=objective, model=model, category="coding")
    watch = client.watch("text", top_k=3, timeout=30)
    next(iter(watch))
    watch.cancel()
    client.create_snapshot("text", "before")
    last = client.submit(style_batch("text", 100, 3)).last_seq
    client.leaderboard("text", min_seq=last, compare_to="before")
    client.leaderboard("text", as_of="before", ci="sandwich")
    client.leaderboard("text", as_of="before", style_control=True)
    # A board configured with an int k ({"k": 32} from --board-config's JSON).
    last = client.submit(style_batch("chess", 200, 4)).last_seq
    client.leaderboard("chess", min_seq=last, method="elo")
    client.leaderboard("chess", min_seq=last)
    # A replay builds a new version of the board beside the live one.
    client.replay("text", [convert.batch_from_pb(style_batch("text", 150, 5))])
    client.leaderboard("text", style_control=True)
    client.leaderboard("text", ties="davidson", ci="sandwich")
    client.leaderboard("text", ties="rao-kupper", rounds=30)


def guard(data_dir: Path) -> dict:
    """In this process: start a server (which warms up), make every call, restart it (checkpoint and log
    recovery), query again. How many kernel compiles numba reported by SERVING, and in all; the kernels that
    met new argument types after SERVING."""
    from engine import EloConfig
    from engine._jit import compiles, signatures
    from server.rpc import app
    from server.service.config import ServiceConfig

    config = ServiceConfig(
        default_elo=EloConfig(bootstrap_rounds=20), board_elo={"chess": EloConfig(k=32, bootstrap_rounds=10)},
        snapshot_every_seconds=0, checkpoint_every_votes=250,
    )  # fmt: skip
    compiles()  # start counting
    server = app.start(data_dir, "127.0.0.1", 0, config)
    serving, warmed = compiles(), signatures()
    with RatingsClient(f"127.0.0.1:{server.port}", timeout=120) as client:
        every_call(client)
    server.stop(grace=5)
    server = app.start(data_dir, "127.0.0.1", 0, config)
    with RatingsClient(f"127.0.0.1:{server.port}", timeout=120) as client:
        client.leaderboard("text")
        client.leaderboard("text", category="coding", style_control=True, ci="sandwich")
    server.stop(grace=5)
    late = sorted(name for name, types in signatures().items() if types - warmed[name])
    return {"by_serving": serving, "in_all": compiles(), "late": late}


def test_after_the_warm_up_nothing_compiles(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, __file__, str(tmp_path / "data")], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.splitlines()[-1])
    assert counts["by_serving"] > 0  # the cache was empty: the warm-up compiled
    assert counts["in_all"] == counts["by_serving"], f"{counts['late']} compiled after the warm-up: warm them up"


if __name__ == "__main__":
    print(json.dumps(guard(Path(sys.argv[1]))))
