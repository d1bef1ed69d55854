"""Who may call what (server.rpc.auth), and how much (server.rpc.quotas): ``Admission``, shared by both
transports, so a token's scopes, its vote rate and the open-stream slots are one budget whether a
caller speaks gRPC or HTTP. ``AccessInterceptor`` applies it to gRPC calls.

The interceptor sits inside the error interceptor, so its refusals are domain errors
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


class Admission:
    def __init__(
        self, book: TokenBook | None, quotas: Quotas, max_batch_votes: int, public_read: bool = False
    ) -> None:
        self.book = book
        self.public_read = public_read  # read-scope calls need no token (a published leaderboard)
        burst = quotas.vote_burst or max(quotas.vote_rate, max_batch_votes)
        self._buckets = VoteBuckets(quotas.vote_rate, burst)
        self.streams = StreamSlots(quotas.max_streams, quotas.streams_per_caller)

    @property
    def open_streams(self) -> int:
        """Streaming calls holding a slot now, over both transports (the metrics read it at scrape time)."""
        return self.streams.open

    def caller(self, authorization: str | None, rpc: str) -> str:
        """The caller's name, once its token holds the scope of ``rpc`` (raises otherwise)."""
        scope = METHOD_SCOPES.get(rpc, "admin")
        if self.book is None or (self.public_read and scope == "read" and not authorization):
            return ANONYMOUS
        return self.book.check(authorization, scope).name

    def charge(self, caller: str, votes: int) -> None:
        """Spend ``votes`` of the caller's vote rate (raises ResourceExhausted when it cannot pay)."""
        self._buckets.take(caller, votes)

    @contextmanager
    def stream_slot(self, caller: str, connection: str) -> Iterator[None]:
        """Hold one of the open-stream slots while the stream is open. Without tokens every caller is
        "anonymous": the connection tells clients apart (server/rpc/quotas.py)."""
        holder = connection if self.book is None else caller
        self.streams.acquire(holder)
        try:
            yield
        finally:
            self.streams.release(holder)


class AccessInterceptor(grpc.ServerInterceptor):
    def __init__(self, admission: Admission) -> None:
        self._admission = admission

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or not details.method.startswith(SERVICE_PREFIX):
            return handler
        name = details.method[len(SERVICE_PREFIX) :]
        metadata = dict(details.invocation_metadata or ())
        admission = self._admission

        def admit() -> str:
            return admission.caller(metadata.get("authorization"), name)

        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request, context):
                admission.charge(admit(), request_votes(name, request))
                return inner(request, context)

            return handler._replace(unary_unary=unary)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def server_stream(request, context):
                with admission.stream_slot(admit(), context.peer()):
                    yield from inner_stream(request, context)

            return handler._replace(unary_stream=server_stream)
        if handler.stream_unary:
            inner_upload = handler.stream_unary

            def client_stream(requests, context):
                with admission.stream_slot(admit(), context.peer()):
                    return inner_upload(requests, context)

            return handler._replace(stream_unary=client_stream)
        inner_bidi = handler.stream_stream

        def bidi(requests, context):
            caller = admit()
            with admission.stream_slot(caller, context.peer()):
                yield from inner_bidi(self._metered(caller, name, requests), context)

        return handler._replace(stream_stream=bidi)

    def _metered(self, caller: str, name: str, requests) -> Iterator:
        for request in requests:
            self._admission.charge(caller, request_votes(name, request))
            yield request


def request_votes(name: str, request) -> int:
    """Votes a write request would store (its share of the caller's vote rate; the metrics' votes refused)."""
    if name in ("SubmitVotes", "StreamVotes"):
        return len(request.votes) + len(request.columns.vote_id)
    if name == "SubmitRanking":
        n = len(request.ranking)
        return n * (n - 1) // 2
    return 0
