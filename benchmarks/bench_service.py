"""Latency and throughput of the live service on loopback, durable store, B=1000.

    python benchmarks/bench_service.py [--calls 300] [--stream-batches 300] [--bootstrap 1000]

Starts `arena-ratings serve` in a subprocess (its own process, like a real
deployment) on a free loopback port with a fresh data directory, then:
- SubmitVotes (columnar form) with 1, 100 and 1000 votes a batch: client-side
  p50 / p99 latency of each call (acknowledged = committed to SQLite);
- StreamVotes: one stream of 1000-vote batches, acknowledged votes/s, and
  applied votes/s (until the leaderboard covers the last seq);
- a stage profile of one 1000-vote batch in-process (decode, validate,
  commit, engine apply) that names what bounds ingest.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import columnar_batch  # noqa: E402
from engine import Board, EloConfig  # noqa: E402
from server.client.launch import free_loopback_port, spawn_server  # noqa: E402
from server.client.ratings_client import RatingsClient  # noqa: E402
from server.domain.limits import Limits  # noqa: E402
from server.domain.votes import validate  # noqa: E402
from server.proto.arena_ratings.v1 import ratings_pb2 as pb  # noqa: E402
from server.rpc import convert  # noqa: E402
from server.storage.store import LoggedBatch, NewBoard, Store  # noqa: E402


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def stage_profile(models: int, bootstrap: int, repeats: int = 50) -> dict[str, float]:
    """Median ms per stage for one 1000-vote batch, in-process."""
    rng = np.random.default_rng(1)
    messages = [columnar_batch(rng, 1000, i * 1000, models) for i in range(repeats)]
    wire = [m.SerializeToString() for m in messages]
    times: dict[str, list[float]] = {k: [] for k in ("protobuf parse", "to numpy", "validate", "commit", "apply")}
    board = Board(EloConfig(bootstrap_rounds=bootstrap))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "votes.sqlite3")
        store.append(
            LoggedBatch(0, 0, 0, *(np.zeros(0, t) for t in (np.int32, np.int32, np.int8, np.float64)), [], None, None),
            NewBoard(0, "b", {}),
            [],
        )
        for i, raw in enumerate(wire):
            t0 = time.perf_counter()
            message = pb.VoteBatch.FromString(raw)
            t1 = time.perf_counter()
            batch = convert.batch_from_pb(message)
            t2 = time.perf_counter()
            validate(batch, Limits())
            t3 = time.perf_counter()
            logged = LoggedBatch(
                first_seq=1 + i * 1000,
                last_seq=(i + 1) * 1000,
                board_id=0,
                model_a=batch.model_a.astype(np.int32),
                model_b=batch.model_b.astype(np.int32),
                outcome=batch.outcome.astype(np.int8),
                timestamp=batch.timestamp,
                vote_id=batch.vote_id,
                voter_id=None,
                tags=None,
            )
            store.append(logged, None, [])
            t4 = time.perf_counter()
            board.apply(logged.model_a, logged.model_b, logged.outcome)
            t5 = time.perf_counter()
            for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                times[key].append(dt)
        store.close()
    return {k: float(np.median(v) * 1e3) for k, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="SubmitVotes calls per batch size")
    parser.add_argument("--stream-batches", type=int, default=300, help="1000-vote batches on the stream")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--engine-threads", type=int, help="passed to serve (default: serve's, all cores but one)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    port = free_loopback_port()
    results: dict = {
        "command": " ".join(sys.argv),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
    }
    with tempfile.TemporaryDirectory() as data:
        threads = ["--engine-threads", str(args.engine_threads)] if args.engine_threads else []
        server = spawn_server(data, port, ["--bootstrap", str(args.bootstrap), *threads])
        try:
            with RatingsClient(f"127.0.0.1:{port}", retries=0) as client:
                next_id = 0
                # Warm-up: JIT caches, connection, first board.
                for _ in range(20):
                    client.stub.SubmitVotes(columnar_batch(rng, 1000, next_id, args.models))
                    next_id += 1000
                unary = {}
                for size in (1, 100, 1000):
                    messages = [columnar_batch(rng, size, next_id + i * size, args.models) for i in range(args.calls)]
                    next_id += size * args.calls
                    latencies = []
                    for message in messages:
                        t = time.perf_counter()
                        client.stub.SubmitVotes(message)
                        latencies.append(time.perf_counter() - t)
                    unary[size] = percentiles(latencies)
                results["submit_votes_ms"] = {str(k): {"p50": v[0], "p99": v[1]} for k, v in unary.items()}

                messages = [
                    columnar_batch(rng, 1000, next_id + i * 1000, args.models) for i in range(args.stream_batches)
                ]
                next_id += 1000 * args.stream_batches
                t = time.perf_counter()
                last_seq = 0
                for ack in client.stub.StreamVotes(iter(messages)):
                    last_seq = ack.last_seq
                acked = time.perf_counter() - t
                client.leaderboard(min_seq=last_seq, ci=pb.CI_NONE)  # waits for the applier; the cheapest view
                applied = time.perf_counter() - t
                n = 1000 * args.stream_batches
                results["stream"] = {"votes": n, "acked_votes_per_s": n / acked, "applied_votes_per_s": n / applied}
        finally:
            server.terminate()
            server.wait(60)
    results["stage_ms_per_1000_votes"] = stage_profile(args.models, args.bootstrap)

    print(f"machine: {results['machine']}\ncommand: {results['command']}\n")
    print("| SubmitVotes batch | p50 (ms) | p99 (ms) |\n|---:|---:|---:|")
    for size, v in results["submit_votes_ms"].items():
        print(f"| {size} | {v['p50']:.2f} | {v['p99']:.2f} |")
    s = results["stream"]
    print(
        f"\nStreamVotes, {s['votes']:,} votes in 1000-vote batches: "
        f"{s['acked_votes_per_s'] / 1e3:,.0f} k votes/s acknowledged (durable), "
        f"{s['applied_votes_per_s'] / 1e3:,.0f} k votes/s applied (ratings + B={args.bootstrap} replicas)"
    )
    print("\n| stage (one 1000-vote batch, in-process) | median ms |\n|---|---:|")
    for stage, ms in results["stage_ms_per_1000_votes"].items():
        print(f"| {stage} | {ms:.3f} |")
    p50, p99 = results["submit_votes_ms"]["1000"]["p50"], results["submit_votes_ms"]["1000"]["p99"]
    print(
        f"\ntargets: SubmitVotes(1000) p50 <= 3 ms: {'met' if p50 <= 3 else 'NOT met'} ({p50:.2f}); "
        f"p99 <= 15 ms: {'met' if p99 <= 15 else 'NOT met'} ({p99:.2f}); "
        f"stream >= 100 k votes/s: {'met' if s['acked_votes_per_s'] >= 1e5 else 'NOT met'}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
