"""``arena-ratings bench`` load: each worker's stream of calls, the run's clock, and the worker threads."""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

import grpc
import numpy as np

from server.client.bench.options import Options
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

OK = "OK"
ABANDONED = "ABANDONED"  # in flight at the end and cancelled by the tool: neither a latency nor an error


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
    method: grpc.UnaryUnaryMultiCallable  # the stub's multi-callable
    request: object
    votes: int  # votes sent (submit)


class Requests:
    """One worker's stream of calls: the mix drawn with its own generator, unique vote ids."""

    def __init__(
        self,
        options: Options,
        stub: pb_grpc.RatingsStub,
        worker: int,
        run_id: str,
        competitors: list[str] | None = None,
    ) -> None:
        self.options = options
        self.competitors = competitors  # head-to-head's names (None: model-000..)
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
        names = self.competitors
        a, b = self.rng.choice(len(names) if names else self.options.models, 2, replace=False).tolist()
        model_a, model_b = (names[a], names[b]) if names else (model_name(a), model_name(b))
        request = pb.HeadToHeadRequest(board=self.options.board, model_a=model_a, model_b=model_b)
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
