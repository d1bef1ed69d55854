"""The gate every call of the service passes: counted while it runs, its client stream read through a
StreamReader (the idle timeout), and refused with UNAVAILABLE once shutdown begins.

Why shutdown refuses calls here instead of leaving it to gRPC: when a grpcio server's stop()
begins, its core cancels the calls it has received but not yet handed to Python (and those that
arrive before the client has seen its GOAWAY), and those clients see CANCELLED (grpc/grpc#41785,
unfixed in grpcio 1.85), where the service promises UNAVAILABLE, the status clients retry. So
RunningServer.stop() closes this gate first and keeps gRPC serving: every call that arrives is
refused here with UNAVAILABLE, open client streams end with UNAVAILABLE at their next wait for a
message, and calls in flight finish. gRPC is stopped once no call has been in flight (being
dispatched or handled) for QUIET_SECONDS, the callers having had their answers, or when the grace
runs out. (A call that arrives in the instant gRPC stops can still meet gRPC's refusal.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from server.domain.errors import Unavailable
from server.rpc.auth import SERVICE_PREFIX
from server.rpc.streams import StreamReader

QUIET_SECONDS = 0.1  # this long without a call in flight: the callers have had their answers and gone
SHUTTING_DOWN = "the service is shutting down; retry against the restarted server"


class CallGate(grpc.ServerInterceptor):
    def __init__(self, stream_idle_timeout: float = 0.0) -> None:
        self._idle_timeout = stream_idle_timeout
        self._changed = threading.Condition()
        self._closed = False
        self._in_flight = 0  # calls being dispatched (on gRPC's one thread for it) or handled
        self._last_seen = time.monotonic()  # when a call was last dispatched, started or ended
        self._readers: set[StreamReader] = set()

    def intercept_service(self, continuation, details):
        if not details.method.startswith(SERVICE_PREFIX):
            return continuation(details)
        with self._dispatching():  # in flight from the moment gRPC hands the call over
            handler = continuation(details)
        if handler is None:
            return handler
        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request, context):
                with self.admitted():
                    return inner(request, context)

            return handler._replace(unary_unary=unary)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def server_stream(request, context):
                with self.admitted():
                    yield from inner_stream(request, context)

            return handler._replace(unary_stream=server_stream)
        if handler.stream_unary:
            inner_upload = handler.stream_unary

            def client_stream(requests, context):
                with self.admitted(), self._reading(requests) as reader:
                    return inner_upload(reader, context)

            return handler._replace(stream_unary=client_stream)
        inner_bidi = handler.stream_stream

        def bidi(requests, context):
            with self.admitted(), self._reading(requests) as reader:
                yield from inner_bidi(reader, context)

        return handler._replace(stream_stream=bidi)

    def close(self) -> None:
        """From now on refuse every call with UNAVAILABLE; end open client streams at their next wait."""
        with self._changed:
            self._closed = True
            readers = list(self._readers)
        for reader in readers:
            reader.interrupt(Unavailable(SHUTTING_DOWN))

    def drain(self, timeout: float) -> bool:
        """Wait until no call has been in flight for QUIET_SECONDS; False if ``timeout`` ran out first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                now = time.monotonic()
                quiet_at = self._last_seen + QUIET_SECONDS
                if self._in_flight == 0 and now >= quiet_at:
                    return True
                if now >= deadline:
                    return False
                until = min(deadline, quiet_at) if self._in_flight == 0 else deadline
                self._changed.wait(max(0.0, until - now))

    @contextmanager
    def _dispatching(self) -> Iterator[None]:
        with self._changed:
            self._in_flight += 1
        try:
            yield
        finally:
            self._ended()

    @contextmanager
    def admitted(self) -> Iterator[None]:
        with self._changed:
            self._last_seen = time.monotonic()
            if self._closed:
                raise Unavailable(SHUTTING_DOWN)
            self._in_flight += 1
        try:
            yield
        finally:
            self._ended()

    def _ended(self) -> None:
        with self._changed:
            self._in_flight -= 1
            self._last_seen = time.monotonic()
            self._changed.notify_all()

    @contextmanager
    def _reading(self, requests: Iterator) -> Iterator[StreamReader]:
        reader = StreamReader(requests, self._idle_timeout)
        with self._changed:
            if self._closed:
                reader.interrupt(Unavailable(SHUTTING_DOWN))
            self._readers.add(reader)
        try:
            yield reader
        finally:
            with self._changed:
                self._readers.discard(reader)
            reader.close()
