"""Cold start: how long `serve` takes to report SERVING, and whether its first queries are slower than the next.

    python benchmarks/bench_cold_start.py [--votes 10000] [--models 40] [--caches cold,warm]

Each run starts `python -m server.cli serve` in its own process (loopback, a temporary data directory) with
numba's cache (NUMBA_CACHE_DIR) in a temporary folder: empty for the cold run, so every kernel compiles from
scratch as after `pip install`; the cold run's, now full, for the warm run. It times the launch to SERVING
(health), then sends the same --votes votes (with tags and style features) to two boards, ``a`` and ``b``, and
times each kind of query on ``a`` (the first of its kind) and then on ``b`` (the second: the same work, with no
cached standings and no warm start to help it). first ÷ second near 1 means the start left no compile to the
queries; the target is at most 1.5 (or under 10 ms slower: SLACK_S).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import fmt_seconds, machine_line  # noqa: E402
from server.client.launch import free_loopback_port  # noqa: E402
from server.client.ratings_client import RatingsClient  # noqa: E402
from server.proto.arena_ratings.v1 import ratings_pb2 as pb  # noqa: E402

TARGET_RATIO = 1.5
# A query of a few milliseconds can take 2 ms more the first time (first use of Python-side paths): noise
# against what the ratio is for, a compile, the cheapest of which costs over 100 ms. Such a query passes.
SLACK_S = 0.010
FEATURES = ["tokens", "headers", "lists", "bold"]
BATCH = 2000
# (what, the call on a board): the kinds of query a start must leave ready.
QUERIES = {
    "leaderboard BT, bootstrap (default)": lambda client, board: client.leaderboard(board),
    "leaderboard BT, sandwich": lambda client, board: client.leaderboard(board, ci="sandwich"),
    "leaderboard Elo": lambda client, board: client.leaderboard(board, method="elo"),
    "leaderboard category, BT none": lambda client, board: client.leaderboard(board, category="coding", ci="none"),
    "style control, bootstrap": lambda client, board: client.leaderboard(board, style_control=True),
    "style control, sandwich": lambda client, board: client.leaderboard(board, style_control=True, ci="sandwich"),
    "head-to-head": lambda client, board: client.head_to_head("model-000", "model-001", board),
    "head-to-head matrix": lambda client, board: client.head_to_head_matrix(board, top_k=10),
}


def batches(board: str, votes: int, models: int):
    """The same votes for every board (seeded): tagged "coding" one in three, with style features."""
    rng = np.random.default_rng(0)
    for start in range(0, votes, BATCH):
        n = min(BATCH, votes - start)
        a = rng.integers(0, models, n)
        b = (a + rng.integers(1, models, n)) % models
        tags = [["coding"] if i % 3 == 0 else [] for i in range(n)]
        yield pb.VoteBatch(board=board, columns=pb.VoteColumns(
            names=[f"model-{i:03d}" for i in range(models)], model_a=a.tolist(), model_b=b.tolist(),
            outcome=rng.integers(1, 5, n).tolist(), timestamp=(1.7e9 + start + np.arange(n)).tolist(),
            vote_id=[f"v{start + i}" for i in range(n)], tag_count=[len(t) for t in tags],
            tags=[t for ts in tags for t in ts], style_features=FEATURES,
            style_a=rng.gamma(4.0, 100.0, n * len(FEATURES)).tolist(),
            style_b=rng.gamma(4.0, 100.0, n * len(FEATURES)).tolist(),
        ))  # fmt: skip


def run(cache: Path, votes: int, models: int) -> dict:
    """One server start with numba's cache in ``cache``: launch to SERVING, then first and second of each query."""
    port = free_loopback_port()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    with tempfile.TemporaryDirectory() as data:
        command = [sys.executable, "-m", "server.cli", "--log-level", "WARNING", "serve", "--data-dir", data,
                   "--port", str(port), "--http-port", str(free_loopback_port()), "--snapshot-every", "0"]  # fmt: skip
        launched = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env)
        try:
            with RatingsClient(f"127.0.0.1:{port}", timeout=600) as client:
                client.wait_ready(timeout=600)
                serving = time.perf_counter() - launched
                last = 0
                for board in ("a", "b"):
                    for batch in batches(board, votes, models):
                        last = client.submit(batch).last_seq
                client.leaderboard("b", min_seq=last, method="elo")  # every vote applied: the clocks time queries
                queries = {}
                for what, query in QUERIES.items():
                    times = []
                    for board in ("a", "b"):
                        started = time.perf_counter()
                        query(client, board)
                        times.append(time.perf_counter() - started)
                    queries[what] = {"first_s": times[0], "second_s": times[1], "ratio": times[0] / times[1]}
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    return {"start_to_serving_s": serving, "queries": queries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--votes", type=int, default=10_000, help="votes per board (default %(default)s)")
    parser.add_argument("--models", type=int, default=40, help="default %(default)s")
    parser.add_argument("--caches", default="cold,warm", help="runs, in order: cold (an empty numba cache), warm")
    args = parser.parse_args()
    results: dict = {"machine": machine_line(), "votes_per_board": args.votes, "target_ratio": TARGET_RATIO}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "numba-cache"  # empty for the first run; the cold run fills it for the warm one
        for name in args.caches.split(","):
            result = results[name] = run(cache, args.votes, args.models)
            print(f"{name} cache: SERVING after {fmt_seconds(result['start_to_serving_s'])}", file=sys.stderr)
            for what, timing in result["queries"].items():
                slack = timing["first_s"] - timing["second_s"] < SLACK_S
                met = "ok" if timing["ratio"] <= TARGET_RATIO else "ok (under 10 ms slower)" if slack else "OVER TARGET"
                first, second = fmt_seconds(timing["first_s"]), fmt_seconds(timing["second_s"])
                line = f"  {what:38s} first {first:>9s}  second {second:>9s}  ratio {timing['ratio']:.2f} {met}"
                print(line, file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
