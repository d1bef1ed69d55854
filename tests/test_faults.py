"""Faults against a real server: a full disk, a read-only store, a checkpoint that cannot be
written, a shutdown under load. Acknowledged votes are never lost, writes fail cleanly with
UNAVAILABLE, reads keep working, and writes resume when the fault clears.

The disk faults are simulated at the storage layer, inside SQLite itself: ``max_page_count``
makes the database full (SQLITE_FULL, "database or disk is full", exactly what a full disk
gives) and ``query_only`` makes it refuse writes (SQLITE_READONLY). Both are reversible, so
the tests can check that writes resume. The engine's files (checkpoints, snapshots) meet a full
disk as an injected ENOSPC after a few bytes written, and, where this machine lets a test mount
one, as a real tmpfs filled to the last byte.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from engine import EloConfig
from server.domain.queries import LeaderboardQuery
from server.files.votefile import concat
from server.offline.replay import replay
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.rpc import convert
from server.storage import checkpoint
from tests.conftest import synthetic_batch
from tests.test_service import client_for, same_numbers


@contextmanager
def storage_fault(server, pragma: str, undo: str):
    """Apply a PRAGMA to the service's SQLite connection (under its writer lock), undo it after."""
    service = server.service
    with service._writer.lock:  # the store's one connection belongs to the writer
        service._store._db.execute(pragma)
    try:
        yield
    finally:
        with service._writer.lock:
            service._store._db.execute(undo)


def page_count(server) -> int:
    with server.service._writer.lock:
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
    from server.rpc.access import AccessInterceptor

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
        while "replayed" not in server.service._writer._replays:  # the replay holds its board, waiting for more
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


class _FillingFile:
    """A file on a disk with ``room`` bytes left: a write past it fails as a full disk's does."""

    def __init__(self, file, room: int) -> None:
        self._file = file
        self._room = room

    def write(self, data) -> int:
        data = bytes(data)
        fits = min(len(data), self._room)
        self._file.write(data[:fits])  # what fitted stays on disk: a half-written file
        self._room -= fits
        if fits < len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return fits

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()


@contextmanager
def disk_full(monkeypatch, room: int = 4096):
    """Every file server.storage.checkpoint writes (checkpoints and snapshots) fills the disk after ``room`` bytes."""
    real_open = open

    def filling_open(path, mode="r", *args, **kwargs):
        file = real_open(path, mode, *args, **kwargs)
        return _FillingFile(file, room) if "w" in mode else file

    with monkeypatch.context() as patch:
        patch.setattr(checkpoint, "open", filling_open, raising=False)
        yield


def files_in(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())} if directory.exists() else {}


def wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_full_disk_fails_a_snapshot_with_unavailable_and_leaves_nothing_behind(start_server, monkeypatch):
    server = start_server()
    snapshot_dir = server.service.data_dir / "snapshots"
    with client_for(server) as client:
        client.submit(synthetic_batch(2000, 8, seed=5))
        client.create_snapshot("default", "before")
        before = files_in(snapshot_dir)
        last = client.submit(synthetic_batch(500, 8, seed=6, prefix="more")).last_seq
        with disk_full(monkeypatch):
            with pytest.raises(grpc.RpcError) as caught:
                client.create_snapshot("default", "during")
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "No space left on device" in caught.value.details()
        assert [s.name for s in client.snapshots("default")] == ["before"]  # no row
        assert files_in(snapshot_dir) == before  # no half-written file, the old one intact
        assert client.create_snapshot("default", "during").seq == last  # the fault cleared: the same name works


def test_a_full_disk_fails_checkpoints_cleanly_and_ingest_goes_on(start_server, tmp_path, monkeypatch, caplog):
    data = tmp_path / "data"
    server = start_server(data, checkpoint_every_votes=1000)
    votes = synthetic_batch(3000, 8, seed=7)
    checkpoints = data / "checkpoints"
    with client_for(server) as client:
        client.submit(votes.slice(0, 1000))
        wait_for(lambda: checkpoints.is_dir() and any(checkpoints.iterdir()))
        wait_for(lambda: server.service._applier.checkpoint_seq == 1000)
        before = files_in(checkpoints)
        with disk_full(monkeypatch):
            for start in (1000, 2000):
                last = client.submit(votes.slice(start, start + 1000)).last_seq
            board = client.leaderboard(method=pb.ELO, min_seq=last)  # the applier goes on
            wait_for(lambda: "checkpoint failed" in caplog.text)
            server.stop()  # its final checkpoint fails too
            assert "final checkpoint failed" in caplog.text and "No space left on device" in caplog.text
        assert files_in(checkpoints) == before  # no half-written file, the older checkpoint intact
    again = start_server(data)  # the checkpoint at 1000, then the log
    with client_for(again) as client:
        same_numbers(client.leaderboard(method=pb.ELO), board)


def test_a_storage_error_on_any_rpc_is_unavailable_with_the_os_message(start_server, monkeypatch):
    server = start_server()

    def failing_disk():
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(server.service, "boards", failing_disk)
    with client_for(server) as client:
        with pytest.raises(grpc.RpcError) as caught:
            client.boards()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert os.strerror(errno.EIO) in caught.value.details()


@contextmanager
def small_filesystem(path: Path, size: str = "8m"):
    """A tmpfs of ``size`` mounted on ``path`` (needs root and CAP_SYS_ADMIN: skips without them)."""
    path.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small filesystem to fill")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True, timeout=10)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=10)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem is full; returns it (delete it to make room again)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_really_full_disk_fails_snapshots_and_checkpoints_cleanly(start_server, tmp_path, caplog):
    with small_filesystem(tmp_path / "small") as disk:
        data = disk / "data"
        server = start_server(data)
        with client_for(server) as client:
            client.submit(synthetic_batch(2000, 8, seed=8))
            client.create_snapshot("default", "before")
            last = client.submit(synthetic_batch(500, 8, seed=9, prefix="more")).last_seq
            board = client.leaderboard(method=pb.ELO, min_seq=last)
            snapshots, checkpoints = files_in(data / "snapshots"), files_in(data / "checkpoints")
            filler = fill(disk)
            with pytest.raises(grpc.RpcError) as caught:
                client.create_snapshot("default", "during")
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "No space left on device" in caught.value.details()
            assert [s.name for s in client.snapshots("default")] == ["before"]
        server.stop()  # its final checkpoint does not fit either
        assert "final checkpoint failed" in caplog.text
        assert files_in(data / "snapshots") == snapshots and files_in(data / "checkpoints") == checkpoints
        filler.unlink()
        again = start_server(data)
        with client_for(again) as client:
            same_numbers(client.leaderboard(method=pb.ELO), board)
            assert client.create_snapshot("default", "during").seq == last
        again.stop()
