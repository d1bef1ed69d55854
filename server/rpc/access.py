"""The access interceptor: who may call what (server.rpc.auth), and how much (server.rpc.quotas).

It sits inside the error interceptor, so its refusals are domain errors
mapped to UNAUTHENTICATED, PERMISSION_DENIED and RESOURCE_EXHAUSTED like
every other. Health checks and reflection pass untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from server.rpc.auth import METHOD_SCOPES, SERVICE_PREFIX, TokenBook
from server.rpc.quotas import Quotas, StreamSlots, VoteBuckets

ANONYMOUS = "anonymous"  # the caller when no tokens are configured


class AccessInterceptor(grpc.ServerInterceptor):
    def __init__(self, book: TokenBook | None, quotas: Quotas, max_batch_votes: int) -> None:
        self._book = book
        burst = quotas.vote_burst or max(quotas.vote_rate, max_batch_votes)
        self._buckets = VoteBuckets(quotas.vote_rate, burst)
        self._streams = StreamSlots(quotas.max_streams, quotas.streams_per_caller)

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or not details.method.startswith(SERVICE_PREFIX):
            return handler
        name = details.method[len(SERVICE_PREFIX) :]
        metadata = dict(details.invocation_metadata or ())

        def admit() -> str:
            """The caller's name, once its token holds the call's scope (raises otherwise)."""
            if self._book is None:
                return ANONYMOUS
            return self._book.check(metadata.get("authorization"), METHOD_SCOPES.get(name, "admin")).name

        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request, context):
                self._buckets.take(admit(), request_votes(name, request))
                return inner(request, context)

            return handler._replace(unary_unary=unary)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def server_stream(request, context):
                with self._stream_slot(admit(), context):
                    yield from inner_stream(request, context)

            return handler._replace(unary_stream=server_stream)
        if handler.stream_unary:
            inner_upload = handler.stream_unary

            def client_stream(requests, context):
                with self._stream_slot(admit(), context):
                    return inner_upload(requests, context)

            return handler._replace(stream_unary=client_stream)
        inner_bidi = handler.stream_stream

        def bidi(requests, context):
            caller = admit()
            with self._stream_slot(caller, context):
                yield from inner_bidi(self._metered(caller, name, requests), context)

        return handler._replace(stream_stream=bidi)

    @property
    def open_streams(self) -> int:
        """Streaming calls holding a slot now (the metrics read it at scrape time)."""
        return self._streams.open

    def _metered(self, caller: str, name: str, requests) -> Iterator:
        for request in requests:
            self._buckets.take(caller, request_votes(name, request))
            yield request

    @contextmanager
    def _stream_slot(self, caller: str, context):
        # Without tokens every caller is "anonymous": the connection tells clients apart (server/quotas.py).
        holder = context.peer() if self._book is None else caller
        self._streams.acquire(holder)
        try:
            yield
        finally:
            self._streams.release(holder)


def request_votes(name: str, request) -> int:
    """Votes a write request would store (its share of the caller's vote rate; the metrics' votes refused)."""
    if name in ("SubmitVotes", "StreamVotes"):
        return len(request.votes) + len(request.columns.vote_id)
    if name == "SubmitRanking":
        n = len(request.ranking)
        return n * (n - 1) // 2
    return 0
