"""The metrics interceptor: every Ratings call's duration and final status, into the service's metrics.

It is outermost, so it sees the status the caller sees: the error interceptor's mapping of domain errors,
and the refusals of the call gate (shutdown) and of the access interceptor (tokens, quotas) alike. A
stream is one call: its duration until it ends, its final status. A refused write counts the votes it
carried as refused (server.metrics.ServiceMetrics.observe_call); on StreamVotes, the votes of the batch
being handled when the stream failed (earlier batches were acknowledged, and count as accepted).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc

from server.metrics import ServiceMetrics
from server.rpc.access import request_votes
from server.rpc.auth import SERVICE_PREFIX

TRANSPORT = "grpc"


@dataclass
class _Call:
    rpc: str
    votes: int = 0  # of the message being handled: refused with the call if it fails now


class MetricsInterceptor(grpc.ServerInterceptor):
    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or not details.method.startswith(SERVICE_PREFIX):
            return handler  # health checks and reflection are not the service's calls
        rpc = details.method[len(SERVICE_PREFIX) :]
        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request, context):
                call = _Call(rpc, request_votes(rpc, request))
                with self._observed(call, context):
                    return inner(request, context)

            return handler._replace(unary_unary=unary)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def server_stream(request, context):
                with self._observed(_Call(rpc), context):
                    yield from inner_stream(request, context)

            return handler._replace(unary_stream=server_stream)
        if handler.stream_unary:
            inner_upload = handler.stream_unary

            def client_stream(requests, context):
                call = _Call(rpc)
                with self._observed(call, context):
                    return inner_upload(_counted(call, requests), context)

            return handler._replace(stream_unary=client_stream)
        inner_bidi = handler.stream_stream

        def bidi(requests, context):
            call = _Call(rpc)
            with self._observed(call, context):
                for response in inner_bidi(_counted(call, requests), context):
                    call.votes = 0  # its batch is answered: a later failure does not refuse it
                    yield response

        return handler._replace(stream_stream=bidi)

    @contextmanager
    def _observed(self, call: _Call, context) -> Iterator[None]:
        started = time.perf_counter()
        failed = True
        try:
            yield
            failed = False
        finally:
            seconds = time.perf_counter() - started
            self._metrics.observe_call(call.rpc, TRANSPORT, seconds, _final_code(context, failed), call.votes)


def _counted(call: _Call, requests: Iterator) -> Iterator:
    """The client's messages, each one's votes noted as it is handed on (a message's worth of work, no copy)."""
    for request in requests:
        call.votes = request_votes(call.rpc, request)
        yield request


def _final_code(context, failed: bool) -> str:
    """The status the call ends with, by name. The error interceptor aborts with a code for every error it
    maps. With none set, a call no longer active was cancelled by its client or ran out of time (a watch then
    ends quietly, as if it had finished); otherwise an exception is one gRPC reports as UNKNOWN."""
    code = context.code()
    if code is not None:
        return code.name
    if not context.is_active():
        remaining = context.time_remaining()  # None: the call has no deadline
        return "DEADLINE_EXCEEDED" if remaining is not None and remaining <= 0 else "CANCELLED"
    return "UNKNOWN" if failed else "OK"
