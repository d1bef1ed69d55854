"""One server per data directory and per port.

A second server on a data directory that one is using would write the same log (seq clashes),
serve stale reads and overwrite the first one's files; a second server on the same port would
get half the connections (SO_REUSEPORT). Both are refused at once, with the directory and the
PID that holds it, or the address, in the message. The lock is the OS's, so a server killed
with SIGKILL leaves nothing to clean up: a restart works at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.client.launch import free_loopback_port, spawn_server
from server.client.ratings_client import RatingsClient
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc import app
from server.service.core import RatingsService
from tests.conftest import synthetic_batch
from tests.test_service import client_for

ROOT = Path(__file__).resolve().parent.parent
REFUSAL_SECONDS = 30.0  # a refused `serve` exits within this (Python start-up and imports included)


def serve(data_dir: Path, port: int) -> subprocess.CompletedProcess:
    """Run `arena-ratings serve` and wait for it to exit (a second server must exit at once)."""
    command = [sys.executable, "-m", "server.cli", "--log-level", "WARNING", "serve",
               "--data-dir", str(data_dir), "--port", str(port), "--http-port", "0",
               "--snapshot-every", "0"]  # fmt: skip
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=REFUSAL_SECONDS)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the second server did not exit within {REFUSAL_SECONDS:.0f} s: it is serving ({exc.stderr})")
    assert time.monotonic() - started < REFUSAL_SECONDS
    return done


def test_a_second_service_on_a_data_directory_in_use_is_refused(start_server, tmp_path):
    data = tmp_path / "data"
    first = start_server(data)
    with pytest.raises(RuntimeError) as refused:
        app.start(data, "127.0.0.1", 0)
    message = str(refused.value)
    assert str(data) in message and f"PID {os.getpid()}" in message
    with client_for(first) as client:  # the first is untouched
        assert client.submit(synthetic_batch(100, 4, seed=1)).accepted == 100
    first.stop(grace=1.0)
    again = start_server(data)  # closing released the lock
    assert again.service.last_seq == 100


def test_a_service_that_cannot_listen_releases_its_data_directory(start_server, tmp_path):
    first = start_server(tmp_path / "first")
    other = tmp_path / "other"
    with pytest.raises(OSError, match=f"127.0.0.1:{first.port}"):
        app.start(other, "127.0.0.1", first.port)
    RatingsService(other).close()  # the refused start closed its service: the directory is free


def test_a_second_serve_on_a_port_in_use_exits_naming_it(start_server, tmp_path):
    first = start_server(tmp_path / "first")
    done = serve(tmp_path / "second", first.port)
    assert done.returncode != 0
    assert f"127.0.0.1:{first.port}" in done.stderr and "in use" in done.stderr
    with client_for(first) as client:  # every connection still reaches the first
        assert client.submit(synthetic_batch(50, 4, seed=2)).accepted == 50


def test_a_second_serve_on_a_data_directory_in_use_exits_and_kill_9_frees_it(tmp_path):
    data = tmp_path / "data"
    port = free_loopback_port()
    first = spawn_server(data, port, ["--snapshot-every", "0"])
    try:
        with RatingsClient(f"127.0.0.1:{port}", timeout=20.0, retries=0) as client:
            ack = client.submit(synthetic_batch(300, 5, seed=3))
        done = serve(data, free_loopback_port())
        assert done.returncode != 0
        assert str(data) in done.stderr and f"PID {first.pid}" in done.stderr
        assert (data / "LOCK").read_text().strip() == str(first.pid)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    again = spawn_server(data, port, ["--snapshot-every", "0"])  # at once: the OS dropped the lock
    try:
        with RatingsClient(f"127.0.0.1:{port}", timeout=20.0, retries=0) as client:
            assert client.leaderboard(min_seq=ack.last_seq, ci=pb.CI_NONE).total_votes == 300
            assert client.submit(synthetic_batch(300, 5, seed=3)).duplicates == 300
    finally:
        again.terminate()
        again.wait(timeout=30)
