"""What ``serve`` says about the HTTP listener and the page it serves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_HTTP_PORT = 8080
DEFAULT_SITE_TITLE = "Arena leaderboard"


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files of ``serve --tls-cert``/``--tls-key``/``--tls-client-ca``: the HTTP listener serves the
    same certificate as gRPC (Python's ssl reads certificates from files only)."""

    cert: Path
    key: Path
    client_ca: Path | None = None


@dataclass(frozen=True)
class HttpOptions:
    port: int = DEFAULT_HTTP_PORT  # 0: a free port (the Python API; the CLI's --http-port 0 turns HTTP off)
    site_title: str = DEFAULT_SITE_TITLE
    cors_origins: tuple[str, ...] = ()  # origins an arena website's scripts may call the API from
    keepalive_seconds: float = 15.0  # a comment on quiet event streams this often
    tls: TlsFiles | None = None  # required when the gRPC listener has TLS
