"""Joining a Ray cluster for a replay, or starting one on this machine (``--ray auto``).

``connect`` checks that a gRPC server answers at the address before it hands it to Ray: ``ray.init``
against an address nobody listens on retries for a minute, and against a port that is not Ray's it
waited over three minutes here. A cluster that cannot be reached is ``ClusterUnavailable``, naming
the address.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

AUTO = "auto"  # start a local Ray instance on this machine, for the length of the command
DEFAULT_PORT = 6379  # a Ray head node's GCS port (`ray start --head`)
RAY_CLIENT_PORT = 10001  # Ray Client's (ray://)
CONNECT_SECONDS = 10.0  # how long an address may take to accept a TCP connection


class ClusterUnavailable(ConnectionError):
    """Ray is not installed, or no Ray cluster answers at the address."""


@dataclass(frozen=True)
class Cluster:
    """A Ray cluster this process has joined."""

    address: str  # as given: "auto", "HOST:PORT" or "ray://HOST:PORT"
    cpus: int  # the cluster's CPUs when it was joined: how many tasks run at once

    def tasks(self, per_cpu: int = 1) -> int:
        """How many tasks to cut a job into: ``per_cpu`` a CPU, so a slow node or a retried task
        holds back only a small part of the job."""
        return max(1, self.cpus * per_cpu)


def ray_module():
    """The ``ray`` package, or ClusterUnavailable saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ClusterUnavailable(f'--ray needs Ray: pip install ".[ray]" ({exc})') from None
    return ray


def host_port(address: str) -> tuple[str, int]:
    """The (host, port) an address names: "HOST[:PORT]" (a head node's GCS, port 6379 by default) or
    "ray://HOST[:PORT]" (Ray Client, port 10001 by default)."""
    client = address.startswith("ray://")
    parts = urlsplit(address if client else f"//{address}")
    try:
        port = parts.port
    except ValueError:
        raise ClusterUnavailable(f"--ray {address}: the port is not a number") from None
    if not parts.hostname:
        raise ClusterUnavailable(f"--ray {address}: give auto, HOST:PORT or ray://HOST:PORT")
    return parts.hostname, port or (RAY_CLIENT_PORT if client else DEFAULT_PORT)


def check_reachable(address: str, seconds: float = CONNECT_SECONDS) -> None:
    """ClusterUnavailable unless a gRPC server (a Ray head's GCS, or Ray Client's server) answers at the
    address within ``seconds``. A port that accepts connections but does not speak gRPC fails here too:
    ``ray.init`` would wait on it for minutes."""
    import grpc

    host, port = host_port(address)
    try:  # a refused or unroutable address fails here at once
        socket.create_connection((host, port), timeout=seconds).close()
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise ClusterUnavailable(f"--ray {address}: no Ray cluster answers at {host}:{port} ({why})") from None
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=seconds)
        except grpc.FutureTimeoutError:
            raise ClusterUnavailable(
                f"--ray {address}: no Ray cluster answers at {host}:{port} within {seconds:g} s "
                "(is `ray start --head` running there, and is the port open?)"
            ) from None


@contextmanager
def connect(address: str, cpus: int | None = None) -> Iterator[Cluster]:
    """Join the Ray cluster at ``address`` (``auto``: start one here with ``cpus`` CPUs, default all) for
    the length of the block; leave it (and stop a local one) after."""
    ray = ray_module()
    if ray.is_initialized():
        if address != AUTO:
            raise ClusterUnavailable(f"--ray {address}: this process has joined another Ray cluster already")
        # A caller (a test, a notebook) that started Ray itself: auto uses that instance, and leaves it running.
        yield Cluster(address, int(ray.cluster_resources().get("CPU", 1)))
        return
    kwargs: dict = {"include_dashboard": False, "configure_logging": False}
    if address == AUTO:
        kwargs.update(address="local", num_cpus=cpus or os.cpu_count() or 1)
    else:
        check_reachable(address)
        # The workers import this project: ship the local code, so a cluster needs only the dependencies.
        import engine
        import server

        kwargs.update(address=address, runtime_env={"py_modules": [engine, server]})
    log.info("joining Ray at %s", address)
    try:
        ray.init(**kwargs)
    except (ConnectionError, TimeoutError, RuntimeError) as exc:
        raise ClusterUnavailable(
            f"--ray {address}: Ray could not join the cluster ({exc}). A cluster with token authentication (Ray's "
            "default from 2.59 on) needs RAY_AUTH_MODE=token here, and its token in RAY_AUTH_TOKEN or ~/.ray/auth_token"
        ) from None
    try:
        yield Cluster(address, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        ray.shutdown()
