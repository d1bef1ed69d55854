"""Build, run and stop the gRPC server."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from server.interceptors import ErrorInterceptor
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.service import RatingsService, ServiceConfig
from server.servicer import RatingsServicer

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Ratings"].full_name
DEFAULT_PORT = 50051
SHUTDOWN_GRACE_SECONDS = 10.0


class RunningServer:
    """A started server: its port, and an orderly stop."""

    def __init__(self, server: grpc.Server, service: RatingsService, health_servicer, port: int) -> None:
        self.server = server
        self.service = service
        self.port = port
        self._health = health_servicer
        self._stopped = threading.Event()

    def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """NOT_SERVING, drain in-flight calls, apply and checkpoint, close the store."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        log.info("shutting down: NOT_SERVING, draining calls for up to %.0f s", grace)
        self._health.enter_graceful_shutdown()
        self.service.begin_shutdown()  # watch streams end now instead of holding the drain for its grace
        self.server.stop(grace).wait()
        self.service.close()
        log.info("stopped cleanly at seq %d", self.service.last_seq)

    def wait(self) -> None:
        self.server.wait_for_termination()


def start(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    config: ServiceConfig | None = None,
    max_workers: int = 128,
) -> RunningServer:
    """Open the store, recover, and start serving. ``port=0`` picks a free port."""
    service = RatingsService(data_dir, config)
    limit = service.config.limits.max_message_bytes
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=[ErrorInterceptor()],
        options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)],
    )
    pb_grpc.add_RatingsServicer_to_server(RatingsServicer(service), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        service.close()
        raise OSError(f"cannot listen on {host}:{port}")
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving %s on %s:%d, data in %s", SERVICE_NAME, host, bound, data_dir)
    return RunningServer(server, service, health_servicer, bound)


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
