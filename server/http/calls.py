"""``Rpcs``: an HTTP request's way into the service, through the same admission and the same servicer
methods as a gRPC call.

Each call passes the shutdown gate (refused with UNAVAILABLE once shutdown begins, and counted while it
runs so the drain waits for it), the token check for the RPC's scope, the caller's vote rate for
writes, then the servicer's method for that RPC with a context that answers what the servicer asks of
gRPC's (time remaining, still active, the peer). Every failure leaves as ``HttpError`` carrying the
status ``server.domain.errors.status_of`` gives, which gRPC would have sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TypeVar

from server.domain.errors import Status, status_of
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc.access import Admission, request_votes
from server.rpc.gate import CallGate
from server.rpc.servicer import RatingsServicer
from server.service.core import RatingsService

from .errors import HttpError

# How long a call may wait (GetLeaderboard's min_seq, a BT fit queued behind others) before
# DEADLINE_EXCEEDED: gRPC clients set their own deadline, an HTTP request has none to send.
CALL_TIMEOUT_SECONDS = 30.0

T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """Who sent an HTTP request: its Authorization header and its connection (host:port)."""

    authorization: str | None
    peer: str


class CallContext:
    """What the servicer asks of a gRPC context, for a call that came over HTTP."""

    def __init__(self, peer: str, timeout: float, is_active: Callable[[], bool] = lambda: True) -> None:
        self._peer = peer
        self._deadline = time.monotonic() + timeout
        self._is_active = is_active

    def time_remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def is_active(self) -> bool:
        return self._is_active()

    def peer(self) -> str:
        return self._peer


@dataclass
class Watch:
    """An admitted WatchLeaderboard: its first message, the rest, and what it holds until ``close``."""

    first: pb.Leaderboard
    rest: Iterator[pb.Leaderboard]
    _active: threading.Event
    _held: ExitStack

    def close(self) -> None:
        """The watch's thread sees the caller gone within its poll interval and ends; the slot is freed."""
        self._active.clear()
        self._held.close()


class Rpcs:
    def __init__(
        self, service: RatingsService, servicer: RatingsServicer, admission: Admission, gate: CallGate
    ) -> None:
        self.service = service
        self.servicer = servicer
        self._admission = admission
        self._gate = gate

    def call(self, rpc: str, request, caller: Caller):
        """The servicer's answer to ``request`` (a protobuf message) for ``rpc``, e.g. "GetLeaderboard"."""
        method = getattr(self.servicer, rpc)
        return self.run(rpc, caller, lambda context: method(request, context), request_votes(rpc, request))

    def run(self, rpc: str, caller: Caller, work: Callable[[CallContext], T], votes: int = 0) -> T:
        """``work`` admitted as a call of ``rpc`` would be (gate, scope, ``votes`` of the vote rate), timed and
        counted as one; its failure leaves as HttpError."""
        started = time.monotonic()
        status = None
        try:
            with self.admitted(rpc, caller, votes):
                return work(CallContext(caller.peer, CALL_TIMEOUT_SECONDS))
        except HttpError as error:
            status = error.status
            raise
        finally:
            self.observe(rpc, started, status, votes)

    @contextmanager
    def admitted(self, rpc: str, caller: Caller, votes: int = 0) -> Iterator[None]:
        """Inside: the call passed the gate, its token holds ``rpc``'s scope and its caller paid ``votes``. Any
        failure (of these or inside) leaves as HttpError, with the status gRPC would send."""
        try:
            with self._gate.admitted():
                name = self._admission.caller(caller.authorization, rpc)
                self._admission.charge(name, votes)
                yield
        except HttpError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, as the gRPC interceptor does
            raise HttpError(status_of(exc, rpc)) from exc

    def admit(self, rpc: str, caller: Caller) -> None:
        """Refuse a caller whose token lacks ``rpc``'s scope (for what is served without calling an RPC)."""
        try:
            self._admission.caller(caller.authorization, rpc)
        except Exception as exc:  # noqa: BLE001
            raise HttpError(status_of(exc, rpc)) from exc

    def watch(self, request, caller: Caller) -> Watch:
        """Admit a WatchLeaderboard (gate, scope, a stream slot) and compute its first message, so that a
        refusal is an HTTP status before any event is sent."""
        started = time.monotonic()
        held = ExitStack()
        active = threading.Event()
        active.set()
        try:
            held.enter_context(self._gate.admitted())
            name = self._admission.caller(caller.authorization, "WatchLeaderboard")
            held.enter_context(self._admission.stream_slot(name, caller.peer))
            context = CallContext(caller.peer, float("inf"), active.is_set)
            messages = iter(self.servicer.WatchLeaderboard(request, context))
            first = next(messages)
            # Counted when it ends, as gRPC counts a stream: its whole duration.
            held.callback(self.observe, "WatchLeaderboard", started, None, 0)
            return Watch(first, messages, active, held)
        except Exception as exc:  # noqa: BLE001
            held.close()
            status = status_of(exc, "WatchLeaderboard")
            self.observe("WatchLeaderboard", started, status, 0)
            raise HttpError(status) from exc

    def observe(self, rpc: str, started: float, status: Status | None, votes: int) -> None:
        """Count a call of ``rpc`` that began at ``started`` (monotonic) and ended with ``status`` (None: OK)."""
        code = None if status is None else status.code
        self.service.metrics.observe_call(rpc, "http", time.monotonic() - started, code, votes)
