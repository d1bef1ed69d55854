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
* ``head_to_head``: GetHeadToHead of two random competitors (NOT_FOUND until they have votes).

The report gives, per call type and in total: calls, throughput, accepted votes/s (submit), latency
percentiles of the successful calls (p50/p90/p99/p99.9/max, numpy's linear interpolation over every
recorded latency, no sampling), errors by gRPC status code, and a latency histogram with log-spaced
buckets. Failed calls count in throughput and errors but not in the latency percentiles; a call that
exceeds its deadline (``--timeout``) is a DEADLINE_EXCEEDED error. Warm-up calls are reported apart.

Each call has a deadline, so the run is bounded: at the end no new call starts, the workers are joined
for at most one deadline more, and calls still in flight after that are cancelled and counted as
``abandoned``. Exit code: 0 when the run completed (errors or not: they are reported), 2 on bad
options, 1 when the target cannot be reached at the start, 130 when interrupted (the partial report is
printed).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import secrets
import sys
import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from typing import NamedTuple, TextIO

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.client.ratings_client import open_channel
from server.domain.limits import DEFAULT_BOARD, Limits
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

CALL_TYPES = ("submit", "leaderboard", "leaderboard_none", "head_to_head")
DEFAULT_MIX = "submit=80,leaderboard=20"
CONNECT_TIMEOUT = 5.0  # seconds for the start-up health check and for each worker's channel to connect
PROGRESS_INTERVAL = 0.5  # seconds between progress lines
JOIN_GRACE = 1.0  # seconds beyond a call's deadline that the workers get to finish at the end
HISTOGRAM_EDGES_MS = 0.1 * 10.0 ** (np.arange(26) / 5.0)  # 0.1 ms .. 10 s, five buckets per decade
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
OK = "OK"
ABANDONED = "ABANDONED"  # in flight at the end and cancelled by the tool: neither a latency nor an error


class BenchOptionError(ValueError):
    """A bad option value (exit code 2)."""


# ------------------------------------------------------------------ options


def parse_mix(text: str) -> tuple[tuple[str, float], ...]:
    """``"submit=80,leaderboard=20"`` -> (("submit", 80.0), ("leaderboard", 20.0)); BenchOptionError if bad."""
    entries: dict[str, float] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, weight_text = entry.partition("=")
        name = name.strip()
        if name not in CALL_TYPES:
            raise BenchOptionError(f"--mix: unknown call type {name!r} in {entry!r} (known: {', '.join(CALL_TYPES)})")
        if name in entries:
            raise BenchOptionError(f"--mix: {name!r} is given twice")
        try:
            weight = float(weight_text) if sep else float("nan")
        except ValueError:
            weight = float("nan")
        if not math.isfinite(weight) or weight <= 0:
            raise BenchOptionError(f"--mix: {entry!r} needs a positive weight, e.g. {name}=20")
        entries[name] = weight
    if not entries:
        raise BenchOptionError(f"--mix: no call types given (e.g. {DEFAULT_MIX})")
    return tuple(entries.items())


def _mix_type(text: str) -> tuple[tuple[str, float], ...]:
    try:
        return parse_mix(text)
    except BenchOptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive(kind: type, name: str, allow_zero: bool = False) -> Callable[[str], float | int]:
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{name} must be {'at least 0' if allow_zero else 'positive'}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    return convert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every option of ``arena-ratings bench`` (except --log-level, the command line's own)."""
    parser.add_argument("--target", required=True, metavar="HOST:PORT", help="the server to measure")
    parser.add_argument("--token", help="bearer token sent with every call (needs write scope for submit)")
    parser.add_argument("--tls-ca", metavar="PEM_FILE", help="the server's CA certificate: use TLS")
    parser.add_argument(
        "--duration", type=_positive(float, "--duration"), default=10.0, metavar="S",
        help="measured seconds, after the warm-up (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--warmup", type=_positive(float, "--warmup", allow_zero=True), default=1.0, metavar="S",
        help="seconds of load before measuring, whose samples are discarded (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--concurrency", type=_positive(int, "--concurrency"), default=4, metavar="C",
        help="worker threads, each with its own channel and one call in flight (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-size", type=_positive(int, "--batch-size"), default=100, metavar="N",
        help="votes per submit call (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--mix", type=_mix_type, default=DEFAULT_MIX, metavar="NAME=W,...",
        help=f"weighted call types, of {', '.join(CALL_TYPES)} (default {DEFAULT_MIX})",
    )  # fmt: skip
    parser.add_argument(
        "--models", type=_positive(int, "--models"), default=50, metavar="M",
        help="competitors the random votes are over, model-000.. (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--rate", type=_positive(float, "--rate"), default=None, metavar="R",
        help="open loop: R calls/s in total at fixed intended times, latency measured from those times "
        "(default: closed loop, each worker sends as soon as its previous call returns)",
    )  # fmt: skip
    parser.add_argument("--board", default=DEFAULT_BOARD, help="the board to write and query (default %(default)s)")
    parser.add_argument("--format", choices=["table", "json"], default="table", help="report format (default table)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the call mix and the votes (default %(default)s)")
    parser.add_argument(
        "--timeout", type=_positive(float, "--timeout"), default=10.0, metavar="S",
        help="deadline of each call (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--progress", action="store_true", help="print the live progress line on stderr even when it is not a terminal"
    )


@dataclass(frozen=True)
class Options:
    """The checked options of a run."""

    target: str
    token: str | None
    tls_ca: str | None
    duration: float
    warmup: float
    concurrency: int
    batch_size: int
    mix: tuple[tuple[str, float], ...]
    models: int
    rate: float | None
    board: str
    seed: int
    timeout: float
    format: str = "table"
    progress: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        mix = args.mix if not isinstance(args.mix, str) else parse_mix(args.mix)
        options = cls(
            target=args.target, token=args.token, tls_ca=args.tls_ca, duration=float(args.duration),
            warmup=float(args.warmup), concurrency=int(args.concurrency), batch_size=int(args.batch_size), mix=mix,
            models=int(args.models), rate=None if args.rate is None else float(args.rate), board=args.board,
            seed=int(args.seed), timeout=float(args.timeout), format=args.format, progress=bool(args.progress),
        )  # fmt: skip
        options.check()
        return options

    def check(self) -> None:
        """Limits argparse does not see (for Namespaces built by hand as well)."""
        if not self.target or ":" not in self.target:
            raise BenchOptionError(f"--target wants HOST:PORT, got {self.target!r}")
        for name, value in (("--duration", self.duration), ("--timeout", self.timeout)):
            if not math.isfinite(value) or value <= 0:
                raise BenchOptionError(f"{name} must be positive, got {value}")
        if not math.isfinite(self.warmup) or self.warmup < 0:
            raise BenchOptionError(f"--warmup must be at least 0, got {self.warmup}")
        if self.rate is not None and (not math.isfinite(self.rate) or self.rate <= 0):
            raise BenchOptionError(f"--rate must be positive, got {self.rate}")
        if self.concurrency < 1:
            raise BenchOptionError(f"--concurrency must be at least 1, got {self.concurrency}")
        max_batch = Limits().max_batch_votes
        if not 1 <= self.batch_size <= max_batch:
            raise BenchOptionError(f"--batch-size must be 1..{max_batch}, got {self.batch_size}")
        if self.models < 2:
            raise BenchOptionError(f"--models must be at least 2 (a vote needs two competitors), got {self.models}")
        if self.format not in ("table", "json"):
            raise BenchOptionError(f"--format must be table or json, got {self.format!r}")

    def describe(self) -> dict:
        """The options as reported (the token itself is never printed)."""
        return {
            "target": self.target, "token": self.token is not None, "tls_ca": self.tls_ca,
            "duration_s": self.duration, "warmup_s": self.warmup, "concurrency": self.concurrency,
            "batch_size": self.batch_size, "mix": dict(self.mix), "models": self.models, "rate": self.rate,
            "board": self.board, "seed": self.seed, "timeout_s": self.timeout,
        }  # fmt: skip


def _read_ca(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise BenchOptionError(f"--tls-ca: cannot read {path}: {exc.strerror or exc}") from exc


# ------------------------------------------------------------------ requests


def vote_batch(
    rng: np.random.Generator, n: int, models: int, board: str, vote_ids: list[str], batch_id: int = 0
) -> pb.VoteBatch:
    """n random votes over competitors model-000..model-{models-1}, in the columnar wire form."""
    a = rng.integers(0, models, n)
    b = (a + rng.integers(1, models, n)) % models  # never a == b
    used, index = np.unique(np.concatenate([a, b]), return_inverse=True)  # intern only the names used
    return pb.VoteBatch(
        board=board,
        batch_id=batch_id,
        columns=pb.VoteColumns(
            names=[model_name(i) for i in used.tolist()],
            model_a=index[:n].tolist(),
            model_b=index[n:].tolist(),
            outcome=rng.integers(pb.A_WINS, pb.TIE_BOTH_BAD + 1, n).tolist(),
            vote_id=vote_ids,
        ),
    )


def model_name(i: int) -> str:
    return f"model-{i:03d}"


class Call(NamedTuple):
    kind: int  # index into the mix
    method: Callable  # the stub's multi-callable
    request: object
    votes: int  # votes sent (submit)


class Requests:
    """One worker's stream of calls: the mix drawn with its own generator, unique vote ids."""

    def __init__(self, options: Options, stub: pb_grpc.RatingsStub, worker: int, run_id: str) -> None:
        self.options = options
        self.rng = np.random.default_rng([options.seed, worker])
        self.names = [name for name, _ in options.mix]
        total = sum(weight for _, weight in options.mix)
        self.cumulative = [c / total for c in accumulate(weight for _, weight in options.mix)]
        self.id_prefix = f"bench-{run_id}-w{worker}-"
        self.sent_votes = 0
        self.batches = 0
        self.builders = {
            "submit": lambda: self._submit(stub),
            "leaderboard": lambda: Call(0, stub.GetLeaderboard, pb.LeaderboardRequest(board=options.board), 0),
            "leaderboard_none": lambda: Call(
                0, stub.GetLeaderboard, pb.LeaderboardRequest(board=options.board, ci=pb.CI_NONE), 0
            ),
            "head_to_head": lambda: self._head_to_head(stub),
        }

    def next(self) -> Call:
        kind = min(bisect_right(self.cumulative, self.rng.random()), len(self.names) - 1)
        return self.builders[self.names[kind]]()._replace(kind=kind)

    def _submit(self, stub: pb_grpc.RatingsStub) -> Call:
        n = self.options.batch_size
        ids = [f"{self.id_prefix}{self.sent_votes + i}" for i in range(n)]
        self.sent_votes += n
        self.batches += 1
        batch = vote_batch(self.rng, n, self.options.models, self.options.board, ids, self.batches)
        return Call(0, stub.SubmitVotes, batch, n)

    def _head_to_head(self, stub: pb_grpc.RatingsStub) -> Call:
        a, b = self.rng.choice(self.options.models, 2, replace=False).tolist()
        request = pb.HeadToHeadRequest(board=self.options.board, model_a=model_name(a), model_b=model_name(b))
        return Call(0, stub.GetHeadToHead, request, 0)


# ------------------------------------------------------------------ workers


class Sample(NamedTuple):
    kind: int
    start: float  # perf_counter seconds: the intended start (open loop) or the send time (closed loop)
    latency: float  # seconds from ``start`` to the answer
    lag: float  # seconds the send was behind its intended start (open loop; 0 in closed loop)
    code: str  # OK, a grpc.StatusCode name, or ABANDONED
    accepted: int
    duplicates: int


@dataclass(frozen=True)
class Schedule:
    """The run's clock: perf_counter times of the start, the end of the warm-up, and the end."""

    t0: float
    warm_end: float
    end: float
    rate: float | None
    concurrency: int

    def intended(self, worker: int, k: int) -> float:
        """Open loop: the intended start of worker's k-th call (call k * C + worker of the run)."""
        assert self.rate is not None
        return self.t0 + (k * self.concurrency + worker) / self.rate


class Worker:
    """A thread with its own channel that sends calls until the schedule's end or the stop event."""

    def __init__(self, index: int, channel: grpc.Channel, requests: Requests, schedule: Schedule,
                 timeout: float, stop: threading.Event) -> None:  # fmt: skip
        self.index = index
        self.channel = channel
        self.requests = requests
        self.schedule = schedule
        self.timeout = timeout
        self.stop = stop
        self.samples: list[Sample] = []  # appended by the worker only; read by the progress line
        self.unsent = 0  # open loop: calls scheduled in the measured window that were never sent
        self.cancelled = False  # set when the tool cancels the call in flight at the end
        self._inflight: grpc.Future | None = None
        self.thread = threading.Thread(target=self._run, name=f"bench-worker-{index}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        """Cancel the call in flight, if any (at the end of the run, or on an interrupt)."""
        self.cancelled = True
        future = self._inflight
        if future is not None:
            future.cancel()

    def _run(self) -> None:
        try:
            if self.schedule.rate is None:
                self._closed_loop()
            else:
                self._open_loop()
        except Exception:  # a bug here must not hang the run: the report shows the worker's calls so far
            log.exception("bench worker %d failed", self.index)

    def _closed_loop(self) -> None:
        while not self.stop.is_set():
            call = self.requests.next()
            start = time.perf_counter()
            if start >= self.schedule.end:
                return
            self._send(call, start, start)

    def _open_loop(self) -> None:
        k = 0
        while not self.stop.is_set():
            intended = self.schedule.intended(self.index, k)
            if intended >= self.schedule.end:
                return
            call = self.requests.next()  # built while waiting for its time
            delay = intended - time.perf_counter()
            if (delay > 0 and self.stop.wait(delay)) or time.perf_counter() >= self.schedule.end:
                break
            self._send(call, intended, time.perf_counter())
            k += 1
        self.unsent = self._count_unsent(k, min(time.perf_counter(), self.schedule.end))

    def _count_unsent(self, k: int, until: float) -> int:
        """Calls from the k-th on that were due in the measured window before ``until`` but never sent."""
        unsent = 0
        while (intended := self.schedule.intended(self.index, k)) < until:
            unsent += intended >= self.schedule.warm_end
            k += 1
        return unsent

    def _send(self, call: Call, start: float, sent: float) -> None:
        accepted = duplicates = 0
        future = call.method.future(call.request, timeout=self.timeout)
        self._inflight = future
        try:
            response = future.result()
            code = OK
            if call.votes:
                accepted, duplicates = response.accepted, response.duplicates
        except grpc.FutureCancelledError:
            code = ABANDONED if self.cancelled else grpc.StatusCode.CANCELLED.name
        except grpc.RpcError as exc:
            code = ABANDONED if self.cancelled else exc.code().name
        finally:
            self._inflight = None
        done = time.perf_counter()
        self.samples.append(Sample(call.kind, start, done - start, sent - start, code, accepted, duplicates))


# ------------------------------------------------------------------ report


@dataclass
class Latency:
    """Milliseconds, over the successful calls."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, seconds: np.ndarray) -> Latency | None:
        if len(seconds) == 0:
            return None
        ms = seconds * 1e3
        p50, p90, p99, p999 = np.percentile(ms, PERCENTILES).tolist()
        return cls(p50, p90, p99, p999, float(ms.max()), float(ms.mean()))


@dataclass
class CallStats:
    name: str
    calls: int  # completed calls, failed or not
    ok: int
    calls_per_s: float
    errors: dict[str, int]  # by gRPC status code name
    latency: Latency | None  # None when no call succeeded
    votes_sent: int = 0  # submit: votes in the successful calls
    votes_accepted: int = 0
    votes_duplicate: int = 0
    votes_per_s: float = 0.0  # accepted votes per second


@dataclass
class Bucket:
    lower_ms: float
    upper_ms: float | None  # None: no upper bound
    count: int


@dataclass
class Warmup:
    """The discarded warm-up calls (the server still stored their votes)."""

    seconds: float
    calls: int
    errors: dict[str, int]  # by gRPC status code name
    votes_accepted: int


@dataclass
class Report:
    mode: str  # "open" or "closed"
    run_id: str
    options: dict
    measured_s: float  # the measured window (shorter than --duration when interrupted)
    elapsed_s: float  # wall time of the whole run, warm-up and drain included
    calls: list[CallStats]  # per call type, in --mix order
    total: CallStats
    histogram: list[Bucket]  # latencies of every successful measured call
    warmup: Warmup
    unsent: int = 0  # open loop: calls scheduled in the window but never sent (the generator fell behind)
    max_send_lag_ms: float = 0.0  # open loop: how far behind schedule a send was, at worst
    abandoned: int = 0  # calls in flight at the end, cancelled by the tool
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)


class _Columns(NamedTuple):
    kind: np.ndarray
    start: np.ndarray
    latency: np.ndarray
    lag: np.ndarray
    code: np.ndarray
    accepted: np.ndarray
    duplicates: np.ndarray


def _columns(samples: list[Sample]) -> _Columns:
    if not samples:
        empty = np.zeros(0)
        return _Columns(empty.astype(int), empty, empty, empty, np.zeros(0, dtype=object), empty.astype(int),
                        empty.astype(int))  # fmt: skip
    kind, start, latency, lag, code, accepted, duplicates = zip(*samples)
    return _Columns(
        np.array(kind, dtype=np.int64), np.array(start), np.array(latency), np.array(lag),
        np.array(code, dtype=object), np.array(accepted, dtype=np.int64), np.array(duplicates, dtype=np.int64),
    )  # fmt: skip


def call_stats(name: str, cols: _Columns, mask: np.ndarray, seconds: float, votes_per_call: int) -> CallStats:
    codes = cols.code[mask]
    ok = codes == OK
    errors = Counter(str(c) for c in codes[~ok])
    accepted = int(cols.accepted[mask].sum())
    return CallStats(
        name=name,
        calls=int(mask.sum()),
        ok=int(ok.sum()),
        calls_per_s=float(mask.sum()) / seconds,
        errors=dict(errors.most_common()),
        latency=Latency.of(cols.latency[mask][ok]),
        votes_sent=int(ok.sum()) * votes_per_call,
        votes_accepted=accepted,
        votes_duplicate=int(cols.duplicates[mask].sum()),
        votes_per_s=accepted / seconds,
    )


def histogram(latency_s: np.ndarray) -> list[Bucket]:
    """Counts over log-spaced buckets 0.1 ms .. 10 s, with an underflow and an overflow bucket."""
    edges = np.concatenate([[0.0], HISTOGRAM_EDGES_MS, [np.inf]])
    counts, _ = np.histogram(latency_s * 1e3, bins=edges)
    return [
        Bucket(float(lo), None if math.isinf(hi) else float(hi), int(n))
        for lo, hi, n in zip(edges[:-1], edges[1:], counts)
    ]


def build_report(options: Options, run_id: str, workers: list[Worker], schedule: Schedule, stopped_at: float,
                 elapsed: float, interrupted: bool) -> Report:  # fmt: skip
    """Aggregate every worker's samples; warm-up and abandoned calls are reported apart."""
    cols = _columns([s for w in workers for s in w.samples])
    abandoned = cols.code == ABANDONED
    warm = (cols.start < schedule.warm_end) & ~abandoned
    measured = (cols.start >= schedule.warm_end) & ~abandoned
    seconds = max(min(stopped_at, schedule.end) - schedule.warm_end, 1e-9)
    names = [name for name, _ in options.mix]
    votes_of = {"submit": options.batch_size}
    per_call = [
        call_stats(n, cols, measured & (cols.kind == i), seconds, votes_of.get(n, 0)) for i, n in enumerate(names)
    ]
    total = call_stats("total", cols, measured, seconds, 0)
    total.votes_sent = sum(c.votes_sent for c in per_call)
    ok_latency = cols.latency[measured & (cols.code == OK)]
    report = Report(
        mode="closed" if options.rate is None else "open",
        run_id=run_id,
        options=options.describe(),
        measured_s=seconds,
        elapsed_s=elapsed,
        calls=per_call,
        total=total,
        histogram=histogram(ok_latency),
        warmup=Warmup(
            seconds=options.warmup,
            calls=int(warm.sum()),
            errors=dict(Counter(str(c) for c in cols.code[warm & (cols.code != OK)]).most_common()),
            votes_accepted=int(cols.accepted[warm].sum()),
        ),
        unsent=sum(w.unsent for w in workers),
        max_send_lag_ms=float(cols.lag[measured].max() * 1e3) if measured.any() else 0.0,
        abandoned=int(abandoned.sum()),
        interrupted=interrupted,
    )
    report.notes = _notes(report, options)
    return report


def _notes(report: Report, options: Options) -> list[str]:
    notes = []
    if report.interrupted:
        notes.append(f"interrupted: {report.measured_s:.1f} s of the {options.duration:g} s were measured")
    if report.unsent:
        notes.append(
            f"the load fell behind: {report.unsent} scheduled calls were never sent; "
            f"raise --concurrency (a rate R at latency L needs more than R x L workers) or lower --rate"
        )
    if report.abandoned:
        notes.append(f"{report.abandoned} calls were still in flight at the end and were cancelled")
    if report.total.calls == 0:
        notes.append("no call completed in the measured window")
    return notes


# ------------------------------------------------------------------ output


def to_json(report: Report) -> str:
    return json.dumps(asdict(report), indent=2)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_table(report: Report) -> str:
    """The report as text: a summary table, errors, and the latency histogram."""
    o = report.options
    mix = ",".join(f"{k}={v:g}" for k, v in o["mix"].items())
    load = f"open loop at {o['rate']:g} calls/s" if report.mode == "open" else "closed loop"
    lines = [
        f"bench {o['target']} board {o['board']}: {load}, concurrency {o['concurrency']}, mix {mix}, "
        f"batch {o['batch_size']} votes over {o['models']} models",
        f"measured {report.measured_s:.1f} s after {o['warmup_s']:g} s of warm-up ({report.warmup.calls} calls "
        f"discarded); run id {report.run_id}",
        "",
    ]
    header = ("call", "calls", "ok", "calls/s", "votes/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors")
    rows = [header]
    for stats in [*report.calls, report.total]:
        lat = stats.latency
        rows.append((
            stats.name, str(stats.calls), str(stats.ok), f"{stats.calls_per_s:.1f}",
            f"{stats.votes_per_s:.0f}" if stats.votes_accepted or stats.name == "submit" else "-",
            *(_ms(getattr(lat, f, None) if lat else None) for f in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")),
            str(sum(stats.errors.values())),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append(
            "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        )
    errors = [(s.name, code, n) for s in report.calls for code, n in s.errors.items()]
    if errors:
        lines += ["", "errors:"] + [f"  {name}: {code} x {n}" for name, code, n in errors]
    if report.mode == "open":
        lines += ["", f"worst send lag behind schedule {report.max_send_lag_ms:.2f} ms; unsent calls {report.unsent}"]
    lines += ["", "latency histogram (successful calls, ms):", *_histogram_lines(report.histogram)]
    if report.notes:
        lines += ["", *(f"note: {note}" for note in report.notes)]
    return "\n".join(lines)


def _histogram_lines(buckets: list[Bucket], width: int = 40) -> list[str]:
    counts = [b.count for b in buckets]
    total = sum(counts)
    if total == 0:
        return ["  (no successful calls)"]
    first = next(i for i, n in enumerate(counts) if n)
    last = max(i for i, n in enumerate(counts) if n)
    peak = max(counts)
    lines, cumulative = [], 0
    for bucket in buckets[first : last + 1]:
        cumulative += bucket.count
        upper = "inf" if bucket.upper_ms is None else f"{bucket.upper_ms:.3g}"
        bar = "#" * round(width * bucket.count / peak)
        share = 100 * cumulative / total
        lines.append(f"  {bucket.lower_ms:>8.3g} .. {upper:<8} {bar:<{width}} {bucket.count:>8}  {share:6.2f}%")
    return lines


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
    run_id = secrets.token_hex(4)  # not from --seed: every run writes new vote ids
    channels = _open_channels(options, ca)
    stop = threading.Event()
    began = time.perf_counter()
    t0 = began + 0.01
    schedule = Schedule(t0, t0 + options.warmup, t0 + options.warmup + options.duration, options.rate,
                        options.concurrency)  # fmt: skip
    workers = [
        Worker(i, ch, Requests(options, pb_grpc.RatingsStub(ch), i, run_id), schedule, options.timeout, stop)
        for i, ch in enumerate(channels)
    ]
    progress = Progress(stderr, options.progress or stderr.isatty(), schedule)
    log.info("bench run %s: %d workers against %s", run_id, options.concurrency, options.target)
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
        ca = _read_ca(options.tls_ca)
    except BenchOptionError as exc:
        print(f"arena-ratings bench: {exc}", file=sys.stderr)
        return 2
    probe = open_channel(options.target, token=options.token, tls_ca=ca)
    try:
        problem = check_target(probe, options.target)
    finally:
        probe.close()
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
