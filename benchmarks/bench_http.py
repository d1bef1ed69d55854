"""The HTTP API under gRPC ingest: GET leaderboard latency and throughput while votes stream in, and what the
HTTP load costs the ingest.

    python benchmarks/bench_http.py [--duration 10] [--votes-per-s 100000] [--batch 1000] [--connections 4]

One `arena-ratings serve` process with its default flags (HTTP on, Elo with 1000 bootstrap replicas) on
loopback. Board ``published`` gets --seed-votes votes over --models models first and is not written during
the runs: its BT leaderboard (the default query: bootstrap CIs) is computed once, then served from the
standings cache, which is what a published page asks for. The ingest is `arena-ratings bench` in open loop
(--votes-per-s in batches of --batch, SubmitVotes into its own board); the HTTP load is wrk (Debian's
``wrk``, closed loop, --connections connections) on ``GET /v1/boards/published/leaderboard``.

Three runs of --duration seconds each: HTTP alone, ingest alone, both at once. Reports wrk's p50, p99 and
requests/s, and the ingest's accepted votes/s and ack p99; the targets: HTTP p99 <= 20 ms under ingest, and
ingest with HTTP load within 10% of ingest without.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine_line  # noqa: E402
from server.client.launch import free_loopback_port  # noqa: E402
from server.client.ratings_client import RatingsClient  # noqa: E402
from server.proto.arena_ratings.v1 import ratings_pb2 as pb  # noqa: E402

TARGET_P99_MS = 20.0
TARGET_INGEST_RATIO = 0.90
BOARD = "published"


def seed(client: RatingsClient, votes: int, models: int) -> int:
    rng = np.random.default_rng(0)
    strength = rng.normal(0, 1, models)
    names = [f"model-{i:03d}" for i in range(models)]
    last = 0
    for start in range(0, votes, 5000):
        n = min(5000, votes - start)
        a = rng.integers(0, models, n)
        b = (a + rng.integers(1, models, n)) % models
        wins = rng.random(n) < 1 / (1 + np.exp(strength[b] - strength[a]))
        columns = pb.VoteColumns(
            names=names, model_a=a.tolist(), model_b=b.tolist(), outcome=np.where(wins, 1, 2).tolist(),
            vote_id=[f"s{start + i}" for i in range(n)],
        )  # fmt: skip
        last = client.submit(pb.VoteBatch(board=BOARD, columns=columns)).last_seq
    return last


def wrk(url: str, seconds: float, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "--latency", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def ingest(target: str, seconds: float, votes_per_s: float | None, batch: int) -> subprocess.Popen:
    """`arena-ratings bench` submitting batches: open loop at ``votes_per_s``, or closed loop (as fast as
    the server acknowledges) when None."""
    command = [
        sys.executable, "-m", "server.cli", "bench", "--target", target, "--duration", str(seconds),
        "--warmup", "1", "--mix", "submit=100", "--batch-size", str(batch), "--concurrency", "4", "--format", "json",
    ]  # fmt: skip
    if votes_per_s is not None:
        command += ["--rate", str(votes_per_s / batch)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def ingest_figures(process: subprocess.Popen) -> dict:
    out, _ = process.communicate(timeout=300)
    report = json.loads(out)
    submit = report["calls"][0]
    return {
        "votes_per_s": submit["votes_per_s"],
        "ack_p99_ms": submit["latency"]["p99_ms"],
        "errors": report["total"]["errors"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--votes-per-s", type=float, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seed-votes", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=100)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk: apt-get install wrk")

    port, http_port = free_loopback_port(), free_loopback_port()
    data = tempfile.mkdtemp(prefix="bench-http-")
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--data-dir", data, "--port", str(port),
         "--http-port", str(http_port), "--snapshot-every", "0"],
        cwd=ROOT, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        target = f"127.0.0.1:{port}"
        with RatingsClient(target, timeout=120) as client:
            client.wait_ready(timeout=120)
            last = seed(client, args.seed_votes, args.models)
            client.leaderboard(BOARD, min_seq=last)  # computes and caches the published view
        url = f"http://127.0.0.1:{http_port}/v1/boards/{BOARD}/leaderboard"
        wrk(url, 1, args.connections)  # warm the HTTP path

        alone = wrk(url, args.duration, args.connections)
        ingest_alone = ingest_figures(ingest(target, args.duration, args.votes_per_s, args.batch))
        running = ingest(target, args.duration + 1, args.votes_per_s, args.batch)
        time.sleep(1.0)  # the ingest's warm-up
        loaded = wrk(url, args.duration, args.connections)
        ingest_loaded = ingest_figures(running)
        # Not a target, for the record: the most the server acknowledges (closed loop), with and without HTTP.
        most_alone = ingest_figures(ingest(target, args.duration, None, args.batch))
        running = ingest(target, args.duration + 1, None, args.batch)
        time.sleep(1.0)
        wrk(url, args.duration, args.connections)
        most_loaded = ingest_figures(running)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(data, ignore_errors=True)

    print(machine_line())
    print(f"GET /v1/boards/{BOARD}/leaderboard (BT, 1000-round CIs, cached; {args.models} models)")
    print(f"  wrk -t1 -c{args.connections}, closed loop")
    print(f"  {'':28} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'non-2xx':>8}")
    for what, w in (("alone", alone), (f"under {args.votes_per_s:,.0f} votes/s ingest", loaded)):
        print(f"  {what:28} {w['p50_ms']:8.2f} {w['p99_ms']:8.2f} {w['requests_per_s']:8.0f} {w['non_2xx']:8d}")
    print(f"gRPC ingest (SubmitVotes, {args.batch} votes a batch, open loop at {args.votes_per_s:,.0f} votes/s)")
    print(f"  {'':28} {'votes/s':>10} {'ack p99 ms':>10} errors")
    for what, g in (("alone", ingest_alone), ("with the HTTP load", ingest_loaded)):
        print(f"  {what:28} {g['votes_per_s']:10,.0f} {g['ack_p99_ms']:10.2f} {g['errors'] or '-'}")
    print("gRPC ingest, closed loop (4 workers: as fast as acknowledged)")
    for what, g in (("alone", most_alone), ("with the HTTP load", most_loaded)):
        print(f"  {what:28} {g['votes_per_s']:10,.0f} {g['ack_p99_ms']:10.2f} {g['errors'] or '-'}")
    ratio = ingest_loaded["votes_per_s"] / ingest_alone["votes_per_s"]
    p99_met = loaded["p99_ms"] <= TARGET_P99_MS
    ratio_met = ratio >= TARGET_INGEST_RATIO
    verdict = {True: "met", False: "NOT met"}
    print(f"HTTP p99 under ingest {loaded['p99_ms']:.2f} ms (target <= {TARGET_P99_MS:.0f}): {verdict[p99_met]}")
    print(f"ingest with HTTP load / without: {ratio:.3f} (target >= {TARGET_INGEST_RATIO}): {verdict[ratio_met]}")
    return 0 if p99_met and ratio_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
