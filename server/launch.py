"""Start `arena-ratings serve` as a separate process (for tests, benchmarks and tools)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from server.client import RatingsClient


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_server(
    data_dir: Path | str, port: int, serve_args: Sequence[str] = (), ready_timeout: float = 60.0
) -> subprocess.Popen:
    """Start a server process on 127.0.0.1:port and return once it reports SERVING."""
    command = [
        sys.executable, "-m", "server.cli", "--log-level", "WARNING", "serve",
        "--data-dir", str(data_dir), "--port", str(port), *serve_args,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent)
    try:
        with RatingsClient(f"127.0.0.1:{port}") as client:
            client.wait_ready(timeout=ready_timeout)
    except BaseException:
        process.kill()
        raise
    return process
