"""Start `arena-ratings serve` as a separate process (for tests, benchmarks and tools)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from server.client.ratings_client import RatingsClient


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_server(
    data_dir: Path | str, port: int, serve_args: Sequence[str] = (), ready_timeout: float = 60.0
) -> subprocess.Popen:
    """Start a server process on 127.0.0.1:port and return once it reports SERVING. Its HTTP listener takes
    a free port unless ``serve_args`` names one (the default, 8080, may be taken)."""
    http = [] if "--http-port" in serve_args else ["--http-port", str(free_loopback_port())]
    command = [
        sys.executable, "-m", "server.cli", "--log-level", "WARNING", "serve",
        "--data-dir", str(data_dir), "--port", str(port), *http, *serve_args,
    ]  # fmt: skip
    # From the folder that holds the package (cwd goes first on the child's sys.path with -m): not server/
    # itself, where server/http would stand in for the standard library's http.
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2])
    deadline = time.monotonic() + ready_timeout
    try:
        with RatingsClient(f"127.0.0.1:{port}") as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited with code {process.returncode} before it was ready")
                try:
                    client.wait_ready(timeout=min(1.0, max(0.1, deadline - time.monotonic())))
                    return process
                except TimeoutError:
                    if time.monotonic() > deadline:
                        raise
    except BaseException:
        process.kill()
        raise
