"""Faults against a real server: a full disk, a read-only store, a checkpoint that cannot be
written, a shutdown under load. Acknowledged votes are never lost, writes fail cleanly with
UNAVAILABLE, reads keep working, and writes resume when the fault clears.

The disk faults are simulated at the storage layer, inside SQLite itself: ``max_page_count``
makes the database full (SQLITE_FULL, "database or disk is full", exactly what a full disk
gives) and ``query_only`` makes it refuse writes (SQLITE_READONLY). Both are reversible, so
the tests can check that writes resume.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import grpc
import pytest

from engine import EloConfig
from server import convert
from server.offline import replay
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.queries import LeaderboardQuery
from server.votefile import concat
from tests.conftest import synthetic_batch
from tests.test_service import client_for, same_numbers


@contextmanager
def storage_fault(server, pragma: str, undo: str):
    """Apply a PRAGMA to the service's SQLite connection (under its writer lock), undo it after."""
    service = server.service
    with service._write_lock:  # the store's one connection belongs to the writer
        service._store._db.execute(pragma)
    try:
        yield
    finally:
        with service._write_lock:
            service._store._db.execute(undo)


def page_count(server) -> int:
    with server.service._write_lock:
        return server.service._store._db.execute("PRAGMA page_count").fetchone()[0]


@pytest.mark.parametrize(
    ("fault", "message"),
    [("full", "database or disk is full"), ("read-only", "readonly database")],
)
def test_a_full_or_read_only_store_refuses_writes_keeps_reads_and_recovers(start_server, tmp_path, fault, message):
    data = tmp_path / "data"
    server = start_server(data)
    acked = [synthetic_batch(2000, 8, seed=1, prefix="before")]
    with client_for(server) as client:
        last = client.submit(acked[0]).last_seq
        before = client.leaderboard(method=pb.ELO, min_seq=last)
        pragma, undo = (
            (f"PRAGMA max_page_count = {page_count(server)}", "PRAGMA max_page_count = 1073741823")
            if fault == "full"
            else ("PRAGMA query_only = 1", "PRAGMA query_only = 0")
        )
        with storage_fault(server, pragma, undo):
            writes = [lambda: client.submit(synthetic_batch(500, 8, seed=2, prefix="refused"))]
            if fault == "read-only":  # a full database may still find room for a tiny row
                writes += [
                    lambda: client.upsert_competitors([pb.Competitor(name="model-000", organization="X")]),
                    lambda: client.create_snapshot("default", "during"),
                ]
            for request in writes:
                with pytest.raises(grpc.RpcError) as caught:
                    request()
                assert caught.value.code() == grpc.StatusCode.UNAVAILABLE and message in caught.value.details()
            same_numbers(client.leaderboard(method=pb.ELO), before)  # reads keep working, nothing changed
            assert server.service.last_seq == last
        acked.append(synthetic_batch(500, 8, seed=3, prefix="after"))
        ack = client.submit(acked[1])  # the fault cleared: writes resume
        assert ack.accepted == 500 and ack.first_seq == last + 1
        assert client.create_snapshot("default", "after").seq == ack.last_seq
        now = client.leaderboard(method=pb.ELO, min_seq=ack.last_seq)
    server.stop()
    again = start_server(data)
    with client_for(again) as client:
        restarted = client.leaderboard(method=pb.ELO)
    same_numbers(restarted, now)
    same_numbers(restarted, replay(concat(acked), EloConfig(bootstrap_rounds=200), LeaderboardQuery("default", "elo")))


def test_a_checkpoint_that_cannot_be_written_does_not_stop_ingest(start_server, tmp_path, caplog):
    data = tmp_path / "data"
    server = start_server(data, checkpoint_every_votes=1000)
    (data / "checkpoints").mkdir(parents=True, exist_ok=True)
    (data / "checkpoints").rmdir()
    (data / "checkpoints").write_text("not a directory")  # every checkpoint write now fails
    votes = synthetic_batch(5000, 8, seed=4)
    with client_for(server) as client:
        for start in range(0, 5000, 1000):
            last = client.submit(votes.slice(start, start + 1000)).last_seq
        board = client.leaderboard(method=pb.ELO, min_seq=last)  # the applier is alive and caught up
        assert board.total_votes == 5000
    assert "checkpoint failed" in caplog.text
    server.stop()
    (data / "checkpoints").unlink()
    again = start_server(data)
    with client_for(again) as client:
        same_numbers(client.leaderboard(method=pb.ELO), board)  # rebuilt from the log


def test_shutdown_under_load_keeps_every_acknowledged_batch_whole(start_server, tmp_path):
    data = tmp_path / "data"
    server = start_server(data)
    acked: list[tuple[str, int]] = []  # (vote id prefix, votes)
    refused = []
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(worker: int) -> None:
        with client_for(server) as client:
            for i in range(10_000):
                if stop.is_set():
                    return
                prefix = f"w{worker}-b{i}-"
                try:
                    ack = client.submit(synthetic_batch(200, 8, seed=worker * 10_000 + i, prefix=prefix))
                except grpc.RpcError as exc:
                    with lock:
                        refused.append(exc.code())
                    return
                with lock:
                    acked.append((prefix, ack.accepted))

    workers = [threading.Thread(target=client_loop, args=(w,)) for w in range(4)]
    for thread in workers:
        thread.start()
    time.sleep(1.0)
    server.stop(grace=2.0)
    stop.set()
    for thread in workers:
        thread.join(timeout=20)
    assert not any(t.is_alive() for t in workers)
    assert acked and all(code == grpc.StatusCode.UNAVAILABLE for code in refused)
    again = start_server(data)
    stored = {}
    for batch in again.service._store.batches():
        for vote_id in batch.vote_id:
            prefix = vote_id[: vote_id.rindex("-") + 1]
            stored[prefix] = stored.get(prefix, 0) + 1
    for prefix, accepted in acked:
        assert stored.get(prefix) == accepted == 200  # every acknowledged batch, whole
    assert all(count == 200 for count in stored.values())  # no batch half stored


def test_calls_reaching_a_stopping_server_are_refused_with_unavailable_never_cancelled(start_server, monkeypatch):
    """gRPC's core cancels the calls it holds but has not yet handed to Python when its stop begins
    (grpc/grpc#41785), and the client sees CANCELLED, which it does not retry. Make that window wide
    and certain: stall the dispatch of one call (on gRPC's one dispatching thread), so that the
    others wait in the core, and stop the server meanwhile. Every call must be acknowledged or
    refused with UNAVAILABLE."""
    from server.access import AccessInterceptor

    armed, stalled = threading.Event(), threading.Event()
    dispatch = AccessInterceptor.intercept_service

    def slow_dispatch(self, continuation, details):
        if armed.is_set() and details.method.endswith("/SubmitVotes"):
            armed.clear()
            stalled.set()
            time.sleep(0.3)
        return dispatch(self, continuation, details)

    monkeypatch.setattr(AccessInterceptor, "intercept_service", slow_dispatch)
    server = start_server()
    codes = []
    with client_for(server) as client:
        client.submit(synthetic_batch(10, 4, seed=1, prefix="warm-"))  # connected before the race

        def submit(worker: int) -> None:
            try:
                client.submit(synthetic_batch(10, 4, seed=worker, prefix=f"w{worker}-"))
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as exc:
                codes.append(exc.code())

        armed.set()
        threads = [threading.Thread(target=submit, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        assert stalled.wait(10)
        time.sleep(0.1)  # the other calls reach the server meanwhile and wait in the core
        server.stop(grace=2.0)
        for thread in threads:
            thread.join(timeout=20)
    assert len(codes) == 6 and set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}, codes


def test_open_client_streams_end_with_unavailable_at_once_when_the_server_stops(start_server, tmp_path):
    """An ingest stream and a replay left open at shutdown end with UNAVAILABLE at once, not with
    CANCELLED when the grace runs out; the replay is discarded, the acknowledged batch kept."""
    from tests.test_access import votes
    from tests.test_streams import Stream

    server = start_server(tmp_path / "data")
    stub = pb_grpc.RatingsStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    ingest = Stream(stub.StreamVotes, [votes(board="live", n=3)])
    chunk = pb.ReplayChunk(board="replayed", columns=convert.batch_to_pb(synthetic_batch(5, 3, seed=9)).columns)
    replay = Stream(stub.ReplayVotes, [chunk], unary=True)
    try:
        assert ingest.responses.get(timeout=10).accepted == 3
        deadline = time.monotonic() + 10
        while "replayed" not in server.service._replays:  # the replay holds its board, waiting for more
            assert time.monotonic() < deadline, "the replay never started"
            time.sleep(0.02)
        started = time.monotonic()
        server.stop(grace=5.0)
        assert time.monotonic() - started < 2.5  # not the grace
        for stream in (ingest, replay):
            error = stream.end()
            assert error.code() == grpc.StatusCode.UNAVAILABLE and "shutting down" in error.details()
    finally:
        ingest.release()
        replay.release()
    with client_for(start_server(tmp_path / "data")) as client:
        assert [(b.name, b.votes) for b in client.stub.ListBoards(pb.ListBoardsRequest()).boards] == [("live", 3)]


def test_a_retry_storm_is_applied_exactly_once(start_server):
    """Eight clients send the same 30 batches at once, each in its own shuffled order (a retry
    storm after a timeout): every vote is stored once, the acks add up, the ratings are right."""
    import random

    from engine.bt import BTConfig

    server = start_server()
    batches = [synthetic_batch(100, 8, seed=b, prefix=f"b{b}-") for b in range(30)]
    accepted, duplicates = [], []
    lock = threading.Lock()

    def storm(worker: int) -> None:
        order = list(range(len(batches)))
        random.Random(worker).shuffle(order)
        with client_for(server) as client:
            for b in order:
                ack = client.submit(batches[b])
                with lock:
                    accepted.append(ack.accepted)
                    duplicates.append(ack.duplicates)

    threads = [threading.Thread(target=storm, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert sum(accepted) == 3000 and sum(duplicates) == 7 * 3000
    with client_for(server) as client:
        board = client.leaderboard(min_seq=3000, ci=pb.CI_NONE)
    assert board.total_votes == 3000 == server.service.last_seq
    want = replay(concat(batches), EloConfig(), LeaderboardQuery("default", "bt", "none"), BTConfig())
    assert [(r.model, round(r.rating, 6)) for r in board.rows] == [(r.model, round(r.rating, 6)) for r in want.rows]
