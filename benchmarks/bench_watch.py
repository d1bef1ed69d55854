"""Ingest throughput with and without 50 WatchLeaderboard watchers, live service on loopback.

    python benchmarks/bench_watch.py [--watchers 50] [--stream-batches 1500] [--repeats 3] [--watch-ci bootstrap]

Target: 50 watchers attached to WatchLeaderboard do not reduce ingest
throughput by more than 10%.

Starts `arena-ratings serve` in a subprocess (its own process, like a real
deployment) on a free loopback port with a fresh data directory and
scheduled snapshots off, warms it up, then runs pairs of phases on the
"default" board:
- A, 0 watchers: one StreamVotes stream of 1000-vote batches (fresh vote
  ids); acknowledged votes/s (until the last ack) and applied votes/s (until
  a CI_NONE leaderboard with min_seq = the last acked seq returns). The
  default 1.5 M votes keep ingest busy for several watch intervals (and
  longer than one bootstrap fit); a shorter phase can end before the
  watchers have cost anything;
- B, N watchers: each on its own channel and thread, WatchLeaderboard with
  the service's default view (BT, bootstrap CIs; CI_NONE with
  --watch-ci none) and a 1 s interval; once every watcher has its first
  message, the same stream and the same two rates. Then the watchers are
  cancelled and joined.
The pairs alternate their order (AB, BA, AB, ...) so drift on a noisy
machine falls on both sides; the summary gives each run, the CPU seconds
in it of the server, of this client and of every other process (a large
"others" marks a run disturbed by the machine, not by the watchers), the
updates the watchers received and how far behind the newest one was, and
the median over pairs of the B/A ratio of each rate. Every wait is bounded
by --timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import columnar_batch, machine_line  # noqa: E402
from server.client.launch import free_loopback_port, spawn_server  # noqa: E402
from server.client.ratings_client import RatingsClient, leaderboard_request  # noqa: E402
from server.proto.arena_ratings.v1 import ratings_pb2 as pb  # noqa: E402

BATCH = 1000  # votes per StreamVotes message
TARGET_RATIO = 0.90
WATCH_CI = {"bootstrap": pb.CI_UNSPECIFIED, "none": pb.CI_NONE}  # CI_UNSPECIFIED: the service default, bootstrap


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self, at_most: float | None = None) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the benchmark ran out of time (--timeout)")
        return left if at_most is None else min(left, at_most)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used (not idle, not waiting for I/O), NaN off Linux."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan")
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


class Watcher(threading.Thread):
    """Consumes one WatchLeaderboard stream; records when each update arrived and the seq it covers."""

    def __init__(self, target: str, ci: int, interval: float, timeout: float) -> None:
        super().__init__(daemon=True)
        self.client = RatingsClient(target, retries=0)
        self.call = self.client.watch(interval=interval, timeout=timeout, ci=ci)
        self.first = threading.Event()
        self.updates: list[tuple[float, int]] = []  # (perf_counter, as_of_seq)
        self.error: str | None = None

    def run(self) -> None:
        try:
            for message in self.call:
                self.updates.append((time.perf_counter(), message.as_of_seq))
                self.first.set()
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                self.error = f"{exc.code().name}: {exc.details()}"
        finally:
            self.first.set()  # a failed watcher must not hold up the wait for first messages

    def stop(self, timeout: float) -> None:
        self.call.cancel()
        self.join(timeout)
        self.client.close()


def stream_phase(
    client: RatingsClient,
    messages: list[pb.VoteBatch],
    deadline: Deadline,
    server_pid: int,
    watchers: list[Watcher],
) -> dict:
    """Stream ``messages`` on one StreamVotes call; the two rates, server CPU, and the watchers' updates meanwhile."""
    n = sum(len(m.columns.vote_id) for m in messages)
    cpu0, own0, busy0 = cpu_seconds(server_pid), cpu_seconds(os.getpid()), machine_busy_seconds()
    t0 = time.perf_counter()
    last_seq = accepted = 0
    acks = []
    for ack in client.stub.StreamVotes(iter(messages), timeout=deadline.left()):
        acks.append(time.perf_counter())
        last_seq = ack.last_seq
        accepted += ack.accepted
    t_acked = time.perf_counter()
    request = leaderboard_request(min_seq=last_seq, ci=pb.CI_NONE)  # waits for the applier; the cheapest view
    client.stub.GetLeaderboard(request, timeout=deadline.left())
    t_applied = time.perf_counter()
    cpu, own = cpu_seconds(server_pid) - cpu0, cpu_seconds(os.getpid()) - own0
    # Other processes on the machine: the noise (clamped: the three counters tick separately).
    others = max(0.0, machine_busy_seconds() - busy0 - cpu - own)
    if accepted != n:
        raise RuntimeError(f"{accepted} of {n} votes accepted: the vote ids were not fresh")
    during = [u for w in watchers for u in w.updates if t0 <= u[0] <= t_applied]
    held = [u for w in watchers for u in w.updates if u[0] <= t_applied]
    return {
        "watchers": len(watchers),
        "votes": n,
        "acked_s": t_acked - t0,
        "applied_s": t_applied - t0,
        "acked_votes_per_s": n / (t_acked - t0),
        "applied_votes_per_s": n / (t_applied - t0),
        "server_cpu_s": cpu,
        "client_cpu_s": own,
        "other_processes_cpu_s": others,
        # When the acks of the first 10%, 20%, ... of the batches arrived (s); the log of the stream's pace.
        "ack_s_at_deciles": [acks[max(0, round(len(acks) * q / 10) - 1)] - t0 for q in range(1, 11)],
        "max_ack_gap_s": float(np.diff(acks).max()) if len(acks) > 1 else 0.0,
        "watch_updates_during": len(during),
        "distinct_seqs_sent_during": len({seq for _, seq in during}),
        # How far the newest update any watcher held at the end was behind the applied log (votes).
        "watch_lag_votes": last_seq - max(seq for _, seq in held) if held else None,
        "first_seq": last_seq - n + 1,
        "last_seq": last_seq,
    }


def watched_phase(
    target: str,
    client: RatingsClient,
    messages: list[pb.VoteBatch],
    deadline: Deadline,
    server_pid: int,
    args: argparse.Namespace,
) -> dict:
    watchers: list[Watcher] = []
    try:
        t = time.perf_counter()
        for _ in range(args.watchers):
            watchers.append(Watcher(target, WATCH_CI[args.watch_ci], args.interval, deadline.left()))
            watchers[-1].start()
        for w in watchers:
            if not w.first.wait(deadline.left(60.0)) or not w.updates:
                raise RuntimeError(f"a watcher got no first message: {w.error or 'timed out'}")
        attach_s = time.perf_counter() - t
        result = stream_phase(client, messages, deadline, server_pid, watchers)
        result["attach_s"] = attach_s
    finally:
        for w in watchers:
            w.call.cancel()
        for w in watchers:
            w.stop(timeout=10.0)
    errors = [w.error for w in watchers if w.error]
    if errors:
        raise RuntimeError(f"{len(errors)} watcher(s) failed, e.g. {errors[0]}")
    if any(w.is_alive() for w in watchers):
        raise RuntimeError("a watcher thread did not stop within 10 s of its cancel")
    result["watch_updates_total"] = sum(len(w.updates) for w in watchers)
    # Server-side watch loops notice the cancel at their next wake-up: let them go before the next phase.
    time.sleep(min(args.interval + 0.5, deadline.left()))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--stream-batches", type=int, default=1500, help="1000-vote batches per phase")
    parser.add_argument("--repeats", type=int, default=3, help="A/B pairs, in alternating order")
    parser.add_argument("--watch-ci", choices=sorted(WATCH_CI), default="bootstrap", help="the watchers' CI")
    parser.add_argument("--interval", type=float, default=1.0, help="the watchers' min_interval_seconds")
    parser.add_argument("--bootstrap", type=int, default=1000, help="online Elo replicas per board (serve's)")
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--engine-threads", type=int, help="passed to serve (default: serve's, all cores but one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=840.0, help="seconds for the whole run")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()

    deadline = Deadline(args.timeout)
    rng = np.random.default_rng(args.seed)
    port = free_loopback_port()
    target = f"127.0.0.1:{port}"
    results: dict = {
        "command": " ".join(sys.argv),
        "machine": machine_line(),
        "commit": git_commit(),
        "config": {k: v for k, v in vars(args).items() if k != "json"},
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as data:
        threads = ["--engine-threads", str(args.engine_threads)] if args.engine_threads else []
        serve_args = ["--bootstrap", str(args.bootstrap), "--snapshot-every", "0", *threads]
        # The watchers stand for many clients but share this process's one connection, which the server would
        # otherwise hold to its per-caller share of the stream slots.
        serve_args += ["--max-streams-per-caller", str(args.watchers + 1)]
        server = spawn_server(data, port, serve_args)
        try:
            with RatingsClient(target, retries=0) as client:
                next_id = 0

                def messages(batches: int) -> list[pb.VoteBatch]:
                    nonlocal next_id
                    out = [
                        columnar_batch(rng, BATCH, next_id + i * BATCH, args.models, prefix="watch-bench-")
                        for i in range(batches)
                    ]
                    next_id += BATCH * batches
                    return out

                # Warm-up: JIT caches, connection, the board, one fit of each kind the phases ask for.
                stream_phase(client, messages(20), deadline, server.pid, [])
                client.stub.GetLeaderboard(leaderboard_request(ci=WATCH_CI[args.watch_ci]), timeout=deadline.left())
                for repeat in range(args.repeats):
                    order = (0, 1) if repeat % 2 == 0 else (1, 0)
                    for watched in order:
                        batch = messages(args.stream_batches)
                        if watched:
                            run = watched_phase(target, client, batch, deadline, server.pid, args)
                        else:
                            run = stream_phase(client, batch, deadline, server.pid, [])
                        run["repeat"] = repeat
                        results["runs"].append(run)
        finally:
            server.terminate()
            server.wait(60)

    pairs = [
        {
            key: next(r for r in results["runs"] if r["repeat"] == i and r["watchers"])[key]
            / next(r for r in results["runs"] if r["repeat"] == i and not r["watchers"])[key]
            for key in ("acked_votes_per_s", "applied_votes_per_s")
        }
        for i in range(args.repeats)
    ]
    ratio = {key: float(np.median([p[key] for p in pairs])) for key in ("acked_votes_per_s", "applied_votes_per_s")}
    results["ratio_b_over_a"] = {"per_repeat": pairs, "median": ratio}

    print(f"machine: {results['machine']}\ncommit: {results['commit']}\ncommand: {results['command']}\n")
    print(
        f"{args.stream_batches * BATCH:,} votes a phase in {BATCH}-vote batches, {args.models} models, "
        f"serve --bootstrap {args.bootstrap}; watchers: {args.watchers}, ci={args.watch_ci}, "
        f"interval {args.interval} s\n"
    )
    print(
        "| repeat | watchers | acked k votes/s | applied k votes/s | CPU s: server / client / others "
        "| watch updates (during / total) | watch lag at end (votes) |\n|---:|---:|---:|---:|---:|---:|---:|"
    )
    for r in results["runs"]:
        updates = f"{r['watch_updates_during']} / {r['watch_updates_total']}" if r["watchers"] else "-"
        lag = f"{r['watch_lag_votes']:,}" if r["watchers"] else "-"
        cpu = " / ".join(f"{r[k]:.1f}" for k in ("server_cpu_s", "client_cpu_s", "other_processes_cpu_s"))
        print(
            f"| {r['repeat']} | {r['watchers']} | {r['acked_votes_per_s'] / 1e3:,.1f} | "
            f"{r['applied_votes_per_s'] / 1e3:,.1f} | {cpu} | {updates} | {lag} |"
        )
    print(
        "\nB/A per repeat: "
        + ", ".join(f"acked {p['acked_votes_per_s']:.2f} applied {p['applied_votes_per_s']:.2f}" for p in pairs)
    )
    met = min(ratio.values()) >= TARGET_RATIO
    print(
        f"{args.watchers} watchers: acked throughput ratio {ratio['acked_votes_per_s']:.2f}, "
        f"applied ratio {ratio['applied_votes_per_s']:.2f} "
        f"(target >= {TARGET_RATIO:.2f}: {'met' if met else 'NOT met'})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
