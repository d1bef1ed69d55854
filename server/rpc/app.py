"""Build, run and stop the server: gRPC, and beside it in the same process the HTTP/JSON transport
(server/http) over the same service, servicer, admission and shutdown gate."""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.rpc.access import AccessInterceptor, Admission
from server.rpc.auth import TokenBook
from server.rpc.gate import CallGate
from server.rpc.interceptors import ErrorInterceptor
from server.rpc.metered import MetricsInterceptor
from server.rpc.quotas import Quotas
from server.rpc.servicer import RatingsServicer
from server.service.core import RatingsService, ServiceConfig

if TYPE_CHECKING:
    from server.http.options import HttpOptions
    from server.http.server import HttpServer

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Ratings"].full_name
DEFAULT_PORT = 50051
DEFAULT_MAX_WORKERS = 128  # gRPC's handler threads
SHUTDOWN_GRACE_SECONDS = 10.0
SHUTDOWN_EXTRA_SECONDS = 5.0  # after the grace, how long to wait for gRPC to report the stop


class RunningServer:
    """A started server: its port, and an orderly stop."""

    def __init__(
        self,
        server: grpc.Server,
        service: RatingsService,
        health_servicer,
        port: int,
        gate: CallGate,
        http: HttpServer | None = None,
    ) -> None:
        self.server = server
        self.service = service
        self.port = port
        self.http = http
        self.http_port = http.port if http is not None else None
        self._health = health_servicer
        self._gate = gate
        self._stopped = threading.Event()

    def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """NOT_SERVING, refuse new calls and drain in-flight ones, apply and checkpoint, close the store."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        log.info("shutting down: NOT_SERVING, draining calls for up to %.0f s", grace)
        self._health.enter_graceful_shutdown()
        self.service.begin_shutdown()  # watch streams end now instead of holding the drain for its grace
        # Refuse calls ourselves (UNAVAILABLE) until the callers are gone, then stop gRPC, whose own refusal is
        # CANCELLED (server/gate.py says why).
        deadline = time.monotonic() + grace
        self._gate.close()
        if not self._gate.drain(grace):
            log.warning("calls still running after the %.0f s grace are cancelled", grace)
        grace = max(0.0, deadline - time.monotonic())
        if self.http is not None:
            self.http.stop(grace + SHUTDOWN_EXTRA_SECONDS)
        if not self.server.stop(grace).wait(grace + SHUTDOWN_EXTRA_SECONDS):
            # grpcio 1.85 can keep a stream whose message it failed to deserialize in its server state,
            # and then never reports the stop as done (tests/test_fuzz.py): do not wait forever.
            log.warning("the gRPC server did not report its stop within %.0f s; closing the store anyway",
                        grace + SHUTDOWN_EXTRA_SECONDS)  # fmt: skip
        self.service.close()
        log.info("stopped cleanly at seq %d", self.service.last_seq)

    def wait(self) -> None:
        self.server.wait_for_termination()


@dataclass(frozen=True)
class Tls:
    """PEM bytes. With ``client_ca``, clients must present a certificate it signed (mutual TLS)."""

    cert: bytes
    key: bytes
    client_ca: bytes | None = None


@dataclass(frozen=True)
class Access:
    tokens: TokenBook | None = None  # None: no authentication, so loopback only unless insecure
    quotas: Quotas = Quotas()
    tls: Tls | None = None
    insecure: bool = False  # allow a non-loopback address without tokens
    public_read: bool = False  # with tokens, queries (the read scope) need none: a public leaderboard


def start(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    config: ServiceConfig | None = None,
    max_workers: int = DEFAULT_MAX_WORKERS,
    access: Access | None = None,
    warm_up: Callable[[RatingsService], object] = RatingsService.warm_up,
    http: HttpOptions | None = None,
) -> RunningServer:
    """Open the store, recover, listen (health NOT_SERVING), warm the kernels up, then report SERVING.
    ``port=0`` picks a free port. ``warm_up(service)`` compiles the kernels (the tests slow it down).
    ``http``: also serve the HTTP/JSON API and the page on ``http.port`` of the same host (None: gRPC only)."""
    access = access or Access()
    check_exposure(host, access)
    service = RatingsService(data_dir, config)
    limit = service.config.limits.max_message_bytes
    gate = CallGate(access.quotas.stream_idle_timeout)
    admission = Admission(access.tokens, access.quotas, service.config.limits.max_batch_votes, access.public_read)
    servicer = RatingsServicer(service)
    if http is not None and access.tls is not None and http.tls is None:
        service.close()
        raise ValueError("the HTTP listener serves the gRPC certificate: give HttpOptions.tls the PEM files")
    service.metrics.count_streams(lambda: admission.open_streams)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        # The error interceptor is outside the gate and access, so their refusals map to status codes like any
        # error; the metrics interceptor outside it all, so it records the status the caller sees.
        interceptors=[MetricsInterceptor(service.metrics), ErrorInterceptor(), gate, AccessInterceptor(admission)],
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            # gRPC turns SO_REUSEPORT on by default: a second server would bind the same port and
            # the kernel would split connections between two stores. One server per port.
            ("grpc.so_reuseport", 0),
        ],
    )
    pb_grpc.add_RatingsServicer_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    status = _Health(health_servicer)
    # grpcio's health servicer starts out SERVING: not until the kernels are ready.
    status.set(health_pb2.HealthCheckResponse.NOT_SERVING)
    try:
        bound = _listen(server, f"{host}:{port}", access.tls)
        http_socket = None if http is None else _listen_http(host, http.port)
        server.start()
        # Before SERVING, so that no query is the one that compiles (seconds with numba's cache cold). Calls that
        # arrive meanwhile are answered: health is what balancers and wait_ready() go by. After recovery, not
        # beside it: numba compiles under one process-wide lock, so the two would mostly wait for each other.
        warm_up(service)
        http_server = None
        if http is not None and http_socket is not None:
            http_server = _start_http(http_socket, http, service, servicer, admission, gate)
    except BaseException:
        if http is not None and http_socket is not None:
            http_socket.close()
        server.stop(0)
        service.close()  # releases the data directory: this process will not serve it
        raise
    status.set(health_pb2.HealthCheckResponse.SERVING)
    # The applier failed: writes are refused until a restart.
    service.on_failure(lambda reason: status.set(health_pb2.HealthCheckResponse.NOT_SERVING))
    mode = "TLS" if access.tls else "plaintext"
    who = f"{len(access.tokens.tokens)} tokens" if access.tokens else "NO AUTHENTICATION"
    log.info("serving %s on %s:%d (%s, %s), data in %s", SERVICE_NAME, host, bound, mode, who, data_dir)
    if http_server is not None:
        scheme = "https" if http is not None and http.tls is not None else "http"
        log.info("serving the HTTP API and the leaderboard page on %s://%s:%d/", scheme, host, http_server.port)
    return RunningServer(server, service, health_servicer, bound, gate, http_server)


def _listen_http(host: str, port: int) -> socket.socket:
    from server.http.server import listen

    try:
        return listen(host, port)
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port} for HTTP: {exc.strerror or exc}") from exc


def _start_http(
    listening: socket.socket,
    options: HttpOptions,
    service: RatingsService,
    servicer: RatingsServicer,
    admission: Admission,
    gate: CallGate,
) -> HttpServer:
    """The HTTP server over the gRPC server's own service, servicer, admission and gate (imported here:
    FastAPI and uvicorn cost a gRPC-only start nothing)."""
    from server.http.app import build_app
    from server.http.calls import Rpcs
    from server.http.server import HttpServer

    app = build_app(Rpcs(service, servicer, admission, gate), options, service.config.limits.max_message_bytes)
    # Room for every event stream (they hold a stream slot each) and as many requests as gRPC has workers.
    max_requests = admission.streams.limit + DEFAULT_MAX_WORKERS
    return HttpServer(app, listening, options.tls, max_requests)


class _Health:
    """The health servicer's status for the whole server and for the Ratings service alike."""

    def __init__(self, servicer: health.HealthServicer) -> None:
        self._servicer = servicer

    def set(self, status: int) -> None:
        for name in ("", SERVICE_NAME):
            self._servicer.set(name, status)


class CannotListen(OSError):
    """The address is taken (by another server, or anything else) or not this machine's."""


def _listen(server: grpc.Server, address: str, tls: Tls | None) -> int:
    """Bind ``address``; the bound port. grpcio raises RuntimeError on failure (older versions returned 0)."""
    try:
        if tls is None:
            bound = server.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials(
                [(tls.key, tls.cert)], root_certificates=tls.client_ca, require_client_auth=tls.client_ca is not None
            )
            bound = server.add_secure_port(address, credentials)
    except RuntimeError:
        bound = 0
    if bound == 0:
        raise CannotListen(f"cannot listen on {address}: the port is in use, or the address is not this machine's")
    return bound


def check_exposure(host: str, access: Access) -> None:
    """Without tokens, listen on loopback only, unless the operator insists (``insecure``)."""
    if access.tokens is not None:
        return
    if not _is_loopback(host) and not access.insecure:
        raise ValueError(
            f"refusing to listen on {host!r} without authentication: configure tokens (--tokens FILE or "
            "$ARENA_RATINGS_TOKENS), listen on 127.0.0.1, or pass --insecure"
        )
    log.warning("no tokens configured: the service is unauthenticated (anyone who can reach %s may write)", host)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_forever(running: RunningServer) -> None:
    """Block until SIGTERM or SIGINT, then stop gracefully."""
    done = threading.Event()

    def on_signal(signum, _frame) -> None:
        log.info("received %s", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    done.wait()
    running.stop()
