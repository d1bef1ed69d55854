"""Stream limits against a real server: stream slots per caller, and the idle timeout of client streams.

Idle timeouts are set short here (IDLE) and every wait is bounded, so the tests are quick and
cannot hang.
"""

from __future__ import annotations

import queue
import threading
import time

import grpc

from server.client.launch import free_loopback_port, spawn_server
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.rpc import app
from server.rpc.quotas import Quotas
from tests.test_access import book, votes

IDLE = 0.5  # the server's --stream-idle-timeout in these tests
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


def test_an_idle_stream_is_ended_and_frees_its_slot_but_a_slow_one_is_not(start_server):
    server = start_server(access=app.Access(quotas=Quotas(max_streams=1, stream_idle_timeout=IDLE)))
    stub = pb_grpc.RatingsStub(channel(server))

    def slowly():
        for _ in range(4):  # 1.2 s in all, never IDLE without a message
            yield votes(n=1)
            time.sleep(IDLE * 0.6)

    assert [a.accepted for a in stub.StreamVotes(slowly(), timeout=10)] == [1] * 4
    started = time.monotonic()
    idle = Stream(stub.StreamVotes, [votes(n=3)])
    try:
        assert idle.responses.get(timeout=WAIT).accepted == 3
        error = idle.end()
        assert time.monotonic() - started >= IDLE
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "no message for 0.5 s" in error.details() and "--stream-idle-timeout" in error.details()
        assert server.service.last_seq == 4 + 3  # the batch acknowledged before is stored
        # Its slot (the only one) is free again.
        assert [a.accepted for a in stub.StreamVotes(iter([votes(n=2)]), timeout=10)] == [2]
    finally:
        idle.release()


def test_an_idle_replay_is_discarded_and_live_ingest_resumes_at_once(start_server):
    server = start_server(access=app.Access(quotas=Quotas(stream_idle_timeout=IDLE)))
    stub = pb_grpc.RatingsStub(channel(server))
    last = stub.SubmitVotes(votes(n=4), timeout=10).last_seq
    before = stub.GetLeaderboard(pb.LeaderboardRequest(board="acl", ci=pb.CI_NONE, min_seq=last), timeout=10)
    columns = pb.VoteColumns(
        names=["x", "y"], model_a=[0] * 5, model_b=[1] * 5, outcome=[pb.A_WINS] * 5, vote_id=[f"r{i}" for i in range(5)]
    )
    replay = Stream(stub.ReplayVotes, [pb.ReplayChunk(board="acl", columns=columns)], unary=True)
    try:
        deadline, held = time.monotonic() + WAIT, 0  # held: the votes the poll got in before the replay began
        while True:  # until the replay holds the board
            try:
                held += stub.SubmitVotes(votes(n=1), timeout=10).accepted
                assert time.monotonic() < deadline, "the replay never started"
                time.sleep(0.02)
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAVAILABLE and "replay" in exc.details()
                break
        error = replay.end()
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "--stream-idle-timeout" in error.details()
        ack = stub.SubmitVotes(votes(n=2), timeout=10)  # at once: no retry needed
        assert ack.accepted == 2
        after = stub.GetLeaderboard(pb.LeaderboardRequest(board="acl", ci=pb.CI_NONE, min_seq=ack.last_seq), timeout=10)
        assert after.total_votes == before.total_votes + held + 2  # the old version, with the live votes
        assert {row.model for row in after.rows} == {row.model for row in before.rows} == {"a", "b"}
    finally:
        replay.release()


def test_the_serve_flags_set_both_limits(tmp_path):
    port = free_loopback_port()
    flags = ["--stream-idle-timeout", str(IDLE), "--max-streams-per-caller", "1", "--snapshot-every", "0"]
    process = spawn_server(tmp_path / "data", port, flags)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as shared:
            stub = pb_grpc.RatingsStub(shared)
            both = [Stream(stub.StreamVotes), Stream(stub.StreamVotes)]  # on one connection
            try:  # one is refused at once, the other ended after IDLE
                codes = {stream.end().code() for stream in both}
                assert codes == {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED}
            finally:
                for stream in both:
                    stream.release()
    finally:
        process.terminate()
        process.wait(timeout=30)
