"""Domain errors, and the status (``status_of``) each one gives a caller: server/rpc/interceptors.py
turns it into a gRPC status, server/http/errors.py into an HTTP one."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from engine.errors import ConvergenceError

log = logging.getLogger(__name__)


class RatingsError(Exception):
    """Base of every error a client is meant to see."""


class InvalidArgument(RatingsError):
    """Bad input; ``field`` names where, e.g. ``votes[3].outcome``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(RatingsError):
    """An unknown board or competitor."""


class Unavailable(RatingsError):
    """The service cannot take the request now (shutting down, storage failing); retry later."""


class DeadlineExceeded(RatingsError):
    """The wait a request asked for (e.g. for a seq to be applied) ran out."""


class FailedPrecondition(RatingsError):
    """The request conflicts with the state of the service (e.g. a replay already running on the board)."""


class AlreadyExists(RatingsError):
    """The request would create something that exists (e.g. a snapshot name already taken)."""


class Unauthenticated(RatingsError):
    """No token, an unknown one, or an expired one."""


class PermissionDenied(RatingsError):
    """A valid token without the scope the call needs."""


class ResourceExhausted(RatingsError):
    """A quota is used up (vote rate, open streams); ``retry_after`` seconds, when known, until it is not."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Status:
    """What a caller is told about a failed call, whatever the transport: ``code`` is the canonical
    gRPC status name (``"INVALID_ARGUMENT"``); server/rpc maps it to a gRPC code, server/http to an
    HTTP status."""

    code: str
    message: str
    retry_after: float | None = None  # seconds, for RESOURCE_EXHAUSTED when known


_CODES: dict[type[RatingsError], str] = {
    InvalidArgument: "INVALID_ARGUMENT",
    NotFound: "NOT_FOUND",
    Unavailable: "UNAVAILABLE",
    DeadlineExceeded: "DEADLINE_EXCEEDED",
    FailedPrecondition: "FAILED_PRECONDITION",
    AlreadyExists: "ALREADY_EXISTS",
    Unauthenticated: "UNAUTHENTICATED",
    PermissionDenied: "PERMISSION_DENIED",
    ResourceExhausted: "RESOURCE_EXHAUSTED",
}

INTERNAL = Status("INTERNAL", "internal error; see the server log")


def status_of(exc: BaseException, method: str) -> Status:
    """The status a call that raised ``exc`` ends with. Faults of the server (a bug) are logged with their
    traceback and reach the caller as INTERNAL with a generic message; storage failures as UNAVAILABLE."""
    if isinstance(exc, ConvergenceError):  # a fit that does not converge on this board's data: not a server fault
        log.warning("%s: %s", method, exc)
        return Status("FAILED_PRECONDITION", str(exc))
    if isinstance(exc, RatingsError):
        code = next((c for t, c in _CODES.items() if isinstance(exc, t)), "INTERNAL")
        retry_after = exc.retry_after if isinstance(exc, ResourceExhausted) else None
        return Status(code, str(exc), retry_after)
    if isinstance(exc, OSError):  # storage (disk full, read-only, I/O error): the client retries later
        log.exception("%s failed on storage", method)
        return Status("UNAVAILABLE", f"storage failed: {exc.strerror or exc}")
    log.exception("%s failed", method)
    return INTERNAL
