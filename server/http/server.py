"""uvicorn on a thread of the gRPC server's process: the HTTP transport's listener and its stop."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time

import uvicorn
from fastapi import FastAPI

from .options import TlsFiles

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 10.0


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening (OSError when taken; port 0 picks a free one). Bound
    before the kernels warm up, so a port in use stops ``serve`` at once."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # proto=IPPROTO_TCP, not create_server's 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
    # they are TCP, and the connections accepted inherit it. With Nagle on, every response after the first on a
    # kept-alive connection waited for the client's delayed ACK: 44 ms a request on this machine.
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart while old connections linger
        listening.bind((host.strip("[]"), port))
        listening.listen(socket.SOMAXCONN)
    except OSError:
        listening.close()
        raise
    return listening


class HttpServer:
    def __init__(
        self, app: FastAPI, listening: socket.socket, tls: TlsFiles | None = None, max_requests: int | None = None
    ) -> None:
        """Serve ``app`` on the ``listening`` socket, on a thread; returns once uvicorn is accepting. Past
        ``max_requests`` requests in flight (event streams included), uvicorn answers 503 at once: each may hold
        a body of up to the message limit in memory."""
        self._socket = listening
        self.port = listening.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,  # the service's logging stays as the CLI set it up
            access_log=False,
            lifespan="off",
            timeout_keep_alive=5,
            limit_concurrency=max_requests,
            # On stop, requests in flight get this long; event streams end sooner (the watch ends at shutdown).
            timeout_graceful_shutdown=5,
            ssl_certfile=tls.cert if tls else None,
            ssl_keyfile=tls.key if tls else None,
            ssl_ca_certs=tls.client_ca if tls else None,
            ssl_cert_reqs=ssl.CERT_REQUIRED if tls and tls.client_ca else ssl.CERT_NONE,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise OSError(f"the HTTP server on port {self.port} did not start; see the log")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let requests in flight finish (uvicorn's graceful shutdown), join the thread."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the HTTP server did not stop within %.0f s", timeout)
        self._socket.close()
