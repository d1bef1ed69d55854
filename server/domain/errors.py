"""Domain errors. server/rpc/interceptors.py maps each to one gRPC status code."""

from __future__ import annotations


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
