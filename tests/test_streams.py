"""Stream limits against a real server: stream slots per caller.

Every wait is bounded, so the tests cannot hang.
"""

from __future__ import annotations

import queue
import threading
import time

import grpc

from server import app
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.quotas import Quotas
from tests.test_access import book, votes

WAIT = 10.0  # the most any test waits for something it expects
WRITER = [("authorization", "Bearer write-token")]
EVERYTHING = [("authorization", "Bearer all-token")]


class Stream:
    """A client stream that sends ``messages``, then holds the call open sending nothing, until ``release()``.

    ``responses`` receives what the server sends; ``ended`` is set when the call ends, ``error`` is then
    its RpcError (None: OK).
    """

    def __init__(self, rpc, messages=(), metadata=None, unary=False) -> None:
        self._release = threading.Event()
        self.responses: queue.Queue = queue.Queue()
        self.ended = threading.Event()
        self.error: grpc.RpcError | None = None

        def requests():
            yield from messages
            self._release.wait(60)

        def run() -> None:
            try:
                answer = rpc(requests(), metadata=metadata, timeout=60)
                for response in [answer] if unary else answer:
                    self.responses.put(response)
            except grpc.RpcError as exc:
                self.error = exc
            self.ended.set()

        threading.Thread(target=run, daemon=True).start()

    def release(self) -> None:
        self._release.set()

    def is_open(self) -> bool:
        return not self.ended.is_set()

    def end(self) -> grpc.RpcError | None:
        """Wait (bounded) for the call to end; its error."""
        assert self.ended.wait(WAIT), "the stream is still open"
        return self.error


def channel(server, own_connection: bool = False) -> grpc.Channel:
    """A channel to the server. A process's channels normally share one connection; ``own_connection`` gives it its
    own (another peer address, as another client would have)."""
    options = [("grpc.use_local_subchannel_pool", 1)] if own_connection else []
    return grpc.insecure_channel(f"127.0.0.1:{server.port}", options=options)


def refusals(streams: list[Stream], count: int) -> list[grpc.RpcError]:
    """Wait (bounded) until ``count`` of the streams have ended; their errors."""
    deadline = time.monotonic() + WAIT
    while sum(not s.is_open() for s in streams) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return [s.error for s in streams if not s.is_open()]


def test_one_token_cannot_take_every_stream_slot(start_server):
    server = start_server(access=app.Access(tokens=book(), quotas=Quotas(max_streams=8)))  # 2 a caller
    stub = pb_grpc.RatingsStub(channel(server))
    stub.SubmitVotes(votes(n=3), metadata=EVERYTHING, timeout=10)
    idle = [Stream(stub.StreamVotes, metadata=WRITER) for _ in range(8)]
    try:
        refused = refusals(idle, 6)
        assert len(refused) == 6, f"{len(refused)} of 8 idle streams of one token refused"
        assert all(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for e in refused)
        assert "'writer' has 2 streams open" in refused[0].details()
        time.sleep(0.2)
        assert sum(s.is_open() for s in idle) == 2  # the ones admitted stay open
        # Another token still gets a stream and a watch.
        acks = list(stub.StreamVotes(iter([votes(n=2)]), metadata=EVERYTHING, timeout=10))
        assert [a.accepted for a in acks] == [2]
        watch = stub.WatchLeaderboard(
            pb.WatchRequest(leaderboard=pb.LeaderboardRequest(board="acl", ci=pb.CI_NONE)),
            metadata=[("authorization", "Bearer read-token")],
            timeout=10,
        )
        assert next(watch).board == "acl"
        watch.cancel()
    finally:
        for stream in idle:
            stream.release()


def test_without_tokens_one_connection_cannot_take_every_stream_slot(start_server):
    server = start_server(access=app.Access(quotas=Quotas(max_streams=4)))  # 1 a connection
    greedy, other = channel(server, own_connection=True), channel(server, own_connection=True)
    idle = [Stream(pb_grpc.RatingsStub(greedy).StreamVotes) for _ in range(4)]
    try:
        refused = refusals(idle, 3)
        assert len(refused) == 3 and all(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for e in refused)
        assert "ipv4:127.0.0.1:" in refused[0].details()  # the caller is the connection
        acks = list(pb_grpc.RatingsStub(other).StreamVotes(iter([votes(n=2)]), timeout=10))
        assert [a.accepted for a in acks] == [2]
    finally:
        for stream in idle:
            stream.release()
