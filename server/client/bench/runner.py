"""``arena-ratings bench`` run: check the target, start the workers, show progress, stop, report."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import threading
import time
from dataclasses import replace
from typing import TextIO

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.client.bench.options import BENCH_BOARD_PREFIX, BenchOptionError, Options, read_ca
from server.client.bench.report import Report, build_report, render_table, to_json
from server.client.bench.workers import ABANDONED, OK, Requests, Schedule, Worker
from server.client.ratings_client import open_channel
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds for the start-up health check and for each worker's channel to connect
PROGRESS_INTERVAL = 0.5  # seconds between progress lines
JOIN_GRACE = 1.0  # seconds beyond a call's deadline that the workers get to finish at the end


class Progress:
    """The live line on stderr: elapsed time, calls, errors and the p99 of the last interval."""

    def __init__(self, stream: TextIO, enabled: bool, schedule: Schedule) -> None:
        self.stream = stream
        self.enabled = enabled
        self.schedule = schedule
        self.seen: dict[int, int] = {}
        self.written = False

    def update(self, workers: list[Worker]) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        recent, calls, errors = [], 0, 0
        for w in workers:
            samples = w.samples[:]  # a copy: the worker appends concurrently
            recent += samples[self.seen.get(w.index, 0) :]
            self.seen[w.index] = len(samples)
            calls += len(samples)
            errors += sum(s.code not in (OK, ABANDONED) for s in samples)
        latencies = [s.latency for s in recent if s.code == OK]
        p99 = f"{np.percentile(latencies, 99) * 1e3:.2f} ms" if latencies else "-"
        phase = "warm-up" if now < self.schedule.warm_end else "measuring"
        elapsed = now - self.schedule.t0
        total = self.schedule.end - self.schedule.t0
        self.stream.write(f"\r{phase:<9} {elapsed:6.1f}/{total:.1f} s  calls {calls}  errors {errors}  p99 {p99}    ")
        self.stream.flush()
        self.written = True

    def close(self) -> None:
        if self.written:
            self.stream.write("\n")
            self.stream.flush()


# ------------------------------------------------------------------ the run


def check_target(channel: grpc.Channel, target: str) -> str | None:
    """None when the target answers its health check (or has none); else why it cannot be used."""
    health = health_pb2_grpc.HealthStub(channel)
    try:
        status = health.Check(health_pb2.HealthCheckRequest(), timeout=CONNECT_TIMEOUT).status
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNIMPLEMENTED:  # reachable, no health service
            return None
        hint = " (is the server running? with TLS, is --tls-ca its CA?)" if exc.code().name == "UNAVAILABLE" else ""
        return f"cannot reach {target}: {exc.code().name}: {exc.details()}{hint}"
    if status != health_pb2.HealthCheckResponse.SERVING:
        return f"{target} is not serving (health status {health_pb2.HealthCheckResponse.ServingStatus.Name(status)})"
    return None


def check_board(channel: grpc.Channel, options: Options) -> str | None:
    """None when the run may use its board; else why not. A run that writes uses a board of its own (a new
    ``bench-<run id>``, or one named ``bench-...``), a board without votes, or any board with --board-force; a
    run that only queries needs a board with votes."""
    if options.writes and (options.own_board or options.board_force):
        return None
    try:
        listed = pb_grpc.RatingsStub(channel).ListBoards(pb.ListBoardsRequest(), timeout=CONNECT_TIMEOUT).boards
    except grpc.RpcError as exc:
        skip = "; --board-force writes without checking" if options.writes else ""
        return (
            f"cannot check board {options.board!r} on {options.target}: {exc.code().name}: {exc.details()} "
            f"(ListBoards needs the read scope{skip})"
        )
    votes = next((board.votes for board in listed if board.name == options.board), 0)
    if not options.writes:
        if votes == 0:
            return (
                f"board {options.board!r} has no votes on {options.target}: a run without submit queries an "
                "existing board (`arena-ratings boards` lists them)"
            )
        return None
    if votes == 0:
        return None
    return (
        f"board {options.board!r} has {votes} votes that bench did not write (bench's own boards are named "
        f"{BENCH_BOARD_PREFIX}...), and its random votes over model-000.. could not be taken out again: leave out "
        f"--board (a new board {BENCH_BOARD_PREFIX}<run id>), add --read-only to only query it, or --board-force "
        "to write into it anyway"
    )


def _competitors(channel: grpc.Channel, options: Options) -> list[str] | None:
    """A run that only queries asks head-to-head of the board's own competitors (None: of model-000..)."""
    if options.writes or "head_to_head" not in dict(options.mix):
        return None
    request = pb.LeaderboardRequest(board=options.board, ci=pb.CI_NONE)
    try:
        rows = pb_grpc.RatingsStub(channel).GetLeaderboard(request, timeout=options.timeout).rows
    except grpc.RpcError as exc:
        log.warning("cannot list the competitors of %r (%s); head-to-head asks of model-000..", options.board, exc)
        return None
    names = [row.model for row in rows]
    return names if len(names) >= 2 else None


def _open_channels(options: Options, ca: bytes | None) -> list[grpc.Channel]:
    """One connected channel per worker, or an error message when one cannot connect."""
    channels = []
    try:
        for _ in range(options.concurrency):
            channels.append(open_channel(options.target, token=options.token, tls_ca=ca))
            grpc.channel_ready_future(channels[-1]).result(timeout=CONNECT_TIMEOUT)
    except grpc.FutureTimeoutError:
        for channel in channels:
            channel.close()
        raise ConnectionError(f"worker channel {len(channels)} could not connect to {options.target}") from None
    return channels


def run(options: Options, ca: bytes | None, stderr: TextIO) -> Report:
    """Start the workers, show progress until the end (or Ctrl-C), stop them, and aggregate."""
    run_id = secrets.token_hex(4)  # not from --seed: every run writes new vote ids (into a new board by default)
    if not options.board:
        options = replace(options, board=f"{BENCH_BOARD_PREFIX}{run_id}")
    channels = _open_channels(options, ca)
    competitors = _competitors(channels[0], options)
    stop = threading.Event()
    began = time.perf_counter()
    t0 = began + 0.01
    schedule = Schedule(t0, t0 + options.warmup, t0 + options.warmup + options.duration, options.rate,
                        options.concurrency)  # fmt: skip
    workers = [
        Worker(
            i, ch, Requests(options, pb_grpc.RatingsStub(ch), i, run_id, competitors), schedule, options.timeout, stop
        )  # fmt: skip
        for i, ch in enumerate(channels)
    ]
    progress = Progress(stderr, options.progress or stderr.isatty(), schedule)
    log.info("bench run %s: %d workers against %s, board %r", run_id, options.concurrency, options.target,
             options.board)  # fmt: skip
    interrupted = False
    try:
        for worker in workers:
            worker.start()
        _wait_for_end(schedule, workers, progress)
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted: stopping the workers")
    stopped_at = time.perf_counter()
    try:
        _stop(workers, stop, options.timeout + JOIN_GRACE if not interrupted else 0.0)
    finally:
        progress.close()
        for channel in channels:
            channel.close()
    return build_report(options, run_id, workers, schedule, stopped_at, time.perf_counter() - began, interrupted)


def _wait_for_end(schedule: Schedule, workers: list[Worker], progress: Progress) -> None:
    while (now := time.perf_counter()) < schedule.end and any(w.thread.is_alive() for w in workers):
        time.sleep(min(PROGRESS_INTERVAL, schedule.end - now))
        progress.update(workers)


def _stop(workers: list[Worker], stop: threading.Event, grace: float) -> None:
    """No new calls; wait up to ``grace`` seconds for the calls in flight, then cancel what is left."""
    stop.set()
    deadline = time.perf_counter() + grace
    for worker in workers:
        worker.thread.join(max(0.0, deadline - time.perf_counter()))
    for worker in workers:
        if worker.thread.is_alive():
            worker.cancel()
    for worker in workers:
        worker.thread.join(JOIN_GRACE)
        if worker.thread.is_alive():
            log.warning("bench worker %d did not stop; leaving it behind", worker.index)


def main(args: argparse.Namespace) -> int:
    """Run the benchmark described by ``args`` (see add_arguments); print the report; the exit code."""
    try:
        options = Options.from_args(args)
        ca = read_ca(options.tls_ca)
    except BenchOptionError as exc:
        print(f"arena-ratings bench: {exc}", file=sys.stderr)
        return 2
    probe = open_channel(options.target, token=options.token, tls_ca=ca)
    try:
        problem = check_target(probe, options.target)
        refused = check_board(probe, options) if problem is None else None
    finally:
        probe.close()
    if refused is not None:
        print(f"arena-ratings bench: {refused}", file=sys.stderr)
        return 2
    if problem is None:
        try:
            report = run(options, ca, sys.stderr)
        except ConnectionError as exc:
            problem = str(exc)
    if problem is not None:
        print(f"arena-ratings bench: {problem}", file=sys.stderr)
        return 1
    print(to_json(report) if options.format == "json" else render_table(report))
    return 130 if report.interrupted else 0
