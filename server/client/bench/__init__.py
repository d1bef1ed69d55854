"""``arena-ratings bench``: measure a deployment's latency and throughput under a mix of calls.

The tool runs ``--concurrency`` worker threads, each with its own gRPC channel (gRPC releases the GIL while
a thread waits for its answer), sending a weighted random mix of calls (``--mix``) for ``--duration``
seconds after ``--warmup`` seconds whose samples are discarded (connections, caches and the JIT warm up).

Two ways to generate load:

* **Closed loop** (no ``--rate``): each worker sends its next call as soon as the previous answer arrives.
  This measures the service's capacity (how many calls/s C callers get through), and a call's latency
  is measured from its actual send time. Its weakness is *coordinated omission*: when the server
  stalls, the workers stall with it and stop sending, so the calls that a real population of users
  would have sent during the stall are never made, never measured, and the tail percentiles look far
  better than what users experience.

* **Open loop** (``--rate R``): calls are scheduled at fixed *intended* start times, R per second in total,
  spread over the C workers (worker i sends calls i, i + C, i + 2C, ... at t0 + j / R). A worker that falls
  behind (its previous call took longer than its interval) sends the next call at once, and every
  latency is measured from the call's **intended** start time, not from when it was actually sent. The
  time a call spent queued behind a stall is thus counted, as it would be for a user, and coordinated
  omission does not hide the tail (the correction wrk2 and HdrHistogram make). A worker can keep at most
  one call in flight, so holding a rate R at latency L needs C > R * L workers; calls still unsent when
  the run ends are reported as ``unsent`` (the load generator, or the server, could not keep up).

Call types (``--mix name=weight,...``):

* ``submit``: SubmitVotes with a columnar batch of ``--batch-size`` random votes over ``--models``
  competitors named ``model-000``, ``model-001``, ...; vote ids are prefixed with a random run id, so
  every run writes new votes (the ``--seed`` only fixes the mix and the votes' content).
* ``leaderboard``: GetLeaderboard with the default query (BT with bootstrap CIs).
* ``leaderboard_none``: GetLeaderboard with ``ci=CI_NONE`` (point estimates only).
* ``head_to_head``: GetHeadToHead of two random competitors (NOT_FOUND until they have votes; in a run
  without submit, two of the board's own competitors).

Boards. Random votes cannot be taken out of a board one by one, so a run writes only into a board of
its own: by default a new board ``bench-<run id>`` (named in the report, with the command that deletes
it). Its boards are known by that prefix: ``--board NAME`` may name a board that does not exist yet or
one named ``bench-...``; a board with votes under any other name is refused (exit 2) unless
``--board-force`` is given. ``--read-only`` (or a mix without submit) sends queries only, against the
existing ``--board`` (default mix ``leaderboard=50,leaderboard_none=50``).

The report gives, per call type and in total: calls, throughput, accepted votes/s (submit), latency
percentiles of the successful calls (p50/p90/p99/p99.9/max, numpy's linear interpolation over every
recorded latency, no sampling), errors by gRPC status code, and a latency histogram with log-spaced
buckets. Failed calls count in throughput and errors but not in the latency percentiles; a call that
exceeds its deadline (``--timeout``) is a DEADLINE_EXCEEDED error. Warm-up calls are reported apart.

Each call has a deadline, so the run is bounded: at the end no new call starts, the workers are joined
for at most one deadline more, and calls still in flight after that are cancelled and counted as
``abandoned``. Exit code: 0 when the run completed (errors or not: they are reported), 2 on bad
options or a board the run may not use, 1 when the target cannot be reached at the start, 130 when
interrupted (the partial report is printed).

Modules: ``options`` (command line and checked options), ``workers`` (calls, schedule, worker threads),
``report`` (aggregation, JSON and table), ``runner`` (the run and ``main``).
"""

from __future__ import annotations

from server.client.bench.options import (
    BENCH_BOARD_PREFIX,
    CALL_TYPES,
    DEFAULT_MIX,
    READ_ONLY_MIX,
    BenchOptionError,
    Options,
    add_arguments,
    parse_mix,
)
from server.client.bench.report import Report, build_report, render_table, to_json
from server.client.bench.runner import check_board, check_target, main, run
from server.client.bench.workers import Requests, Schedule, Worker, vote_batch

__all__ = [
    "BENCH_BOARD_PREFIX",
    "CALL_TYPES",
    "DEFAULT_MIX",
    "READ_ONLY_MIX",
    "BenchOptionError",
    "Options",
    "Report",
    "Requests",
    "Schedule",
    "Worker",
    "add_arguments",
    "build_report",
    "check_board",
    "check_target",
    "main",
    "parse_mix",
    "render_table",
    "run",
    "to_json",
    "vote_batch",
]
