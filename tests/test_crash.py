"""A real server process: SIGKILL during ingest loses no acknowledged vote; SIGTERM exits cleanly."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest

from server.client.launch import free_loopback_port, spawn_server
from server.client.ratings_client import RatingsClient
from tests.conftest import synthetic_batch
from tests.test_service import elo_board, offline_elo, same_numbers

BOOTSTRAP = 100


def spawn(data_dir: Path, port: int) -> subprocess.Popen:
    return spawn_server(data_dir, port, ["--bootstrap", str(BOOTSTRAP), "--checkpoint-every", "3000"])


def test_sigkill_during_ingest_loses_no_acknowledged_vote(tmp_path):
    port = free_loopback_port()
    data = tmp_path / "data"
    votes = synthetic_batch(60_000, 15, seed=11)
    acked: set[int] = set()  # batch starts the server acknowledged
    stop = threading.Event()

    def sender() -> None:
        with RatingsClient(f"127.0.0.1:{port}", timeout=5, retries=0) as client:
            start = 0
            deadline = time.monotonic() + 60
            while start < len(votes) and time.monotonic() < deadline:
                try:
                    client.submit(votes.slice(start, start + 100))
                    acked.add(start)
                    start += 100
                    time.sleep(0.003)  # paced, so the kills land mid-ingest
                except grpc.RpcError:
                    if stop.is_set():
                        return
                    time.sleep(0.05)  # the server is down: retry the same batch

    process = spawn(data, port)
    thread = threading.Thread(target=sender)
    thread.start()
    progress_at_kill = []
    rng = random.Random(5)
    try:
        for _ in range(4):
            time.sleep(rng.uniform(0.1, 0.5))
            progress_at_kill.append(len(acked))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            process = spawn(data, port)
        thread.join(90)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    n_batches = len(votes) // 100
    assert all(0 < p < n_batches for p in progress_at_kill), f"every kill landed mid-ingest: {progress_at_kill}"
    assert acked == set(range(0, len(votes), 100)), "the sender got every batch acknowledged in the end"
    with RatingsClient(f"127.0.0.1:{port}") as client:
        board = elo_board(client, min_seq=len(votes))
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    # Every vote exactly once, in send order: equal to the offline replay.
    assert board.total_votes == len(votes)
    same_numbers(board, offline_elo(votes, BOOTSTRAP))


def test_sigterm_drains_checkpoints_and_exits_zero(tmp_path):
    port = free_loopback_port()
    data = tmp_path / "data"
    process = spawn(data, port)
    votes = synthetic_batch(2000, 8, seed=12)
    with RatingsClient(f"127.0.0.1:{port}") as client:
        client.submit(votes)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert sorted((data / "checkpoints").glob("*.npz"))[-1].name.endswith("00000000000000002000.npz")
    process = spawn(data, port)
    try:
        with RatingsClient(f"127.0.0.1:{port}") as client:
            same_numbers(elo_board(client), offline_elo(votes, BOOTSTRAP))
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0


def crash_loop(tmp_path: Path, kills: int, clients: int = 3, seed: int = 7) -> None:
    """Several clients ingest while the server is SIGKILLed ``kills`` times at random moments
    and restarted. In the end every acknowledged vote is stored exactly once, and the live
    leaderboard equals the offline replay of the stored log, in log order."""
    from server.domain.votes import VoteBatch
    from server.storage.store import Store

    port = free_loopback_port()
    data = tmp_path / "data"
    acked: set[str] = set()  # vote ids the server acknowledged
    lock = threading.Lock()
    stop = threading.Event()

    def sender(worker: int) -> None:
        votes = synthetic_batch(400_000, 12, seed=100 + worker, prefix=f"c{worker}-")
        with RatingsClient(f"127.0.0.1:{port}", timeout=5, retries=0) as client:
            start = 0
            while not stop.is_set() and start < len(votes):
                batch = votes.slice(start, start + 50)
                try:
                    client.submit(batch)
                except grpc.RpcError:
                    time.sleep(0.02)  # down: resend the same batch (ids make it safe)
                    continue
                with lock:
                    acked.update(batch.vote_id)
                start += 50
                time.sleep(0.002)

    process = spawn(data, port)
    threads = [threading.Thread(target=sender, args=(w,)) for w in range(clients)]
    for thread in threads:
        thread.start()
    rng = random.Random(seed)
    progress = []
    try:
        for _ in range(kills):
            with lock:
                seen = len(acked)
            deadline = time.monotonic() + 20  # the clients reconnect (gRPC backs off), then ingest resumes
            while time.monotonic() < deadline:
                with lock:
                    if len(acked) > seen:
                        break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.6))  # then a random moment of ingest
            with lock:
                progress.append(len(acked))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            process = spawn(data, port)
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not any(t.is_alive() for t in threads)
    assert len(set(progress)) == kills, f"every kill landed after ingest had progressed: {progress}"
    with RatingsClient(f"127.0.0.1:{port}") as client:
        client.wait_ready()
        live_seq = client.boards()[0].last_seq
        board = elo_board(client, min_seq=live_seq)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    store = Store(data / "votes.sqlite3")
    names = store.competitor_names()
    logged = list(store.batches())
    store.close()
    stored_ids = [vote_id for batch in logged for vote_id in batch.vote_id]
    assert len(stored_ids) == len(set(stored_ids)), "no vote stored twice"
    assert acked <= set(stored_ids), "every acknowledged vote stored"
    assert board.total_votes == len(stored_ids)
    # The log, in seq order, replayed offline: the live state exactly.
    import numpy as np

    log_votes = VoteBatch(
        board="default",
        vote_id=stored_ids,
        names=names,
        model_a=np.concatenate([b.model_a for b in logged]).astype(np.int64),
        model_b=np.concatenate([b.model_b for b in logged]).astype(np.int64),
        outcome=np.concatenate([b.outcome for b in logged]).astype(np.int64),
        timestamp=np.concatenate([b.timestamp for b in logged]),
    )
    same_numbers(board, offline_elo(log_votes, BOOTSTRAP))


def test_crash_loop_twenty_kills(tmp_path):
    crash_loop(tmp_path, kills=20)


@pytest.mark.slow
def test_crash_loop_long(tmp_path):
    crash_loop(tmp_path, kills=100, clients=4, seed=8)
