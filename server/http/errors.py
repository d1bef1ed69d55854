"""Errors as HTTP answers: ``{"error": {"code", "message"}}`` with the status code that the gRPC code
maps to (the code names are gRPC's, so a client of both transports handles one vocabulary)."""

from __future__ import annotations

import math

from fastapi.responses import JSONResponse

from server.domain.errors import Status

# gRPC code -> HTTP status, after Google's HTTP mapping (google.rpc.Code), except FAILED_PRECONDITION,
# which is 409 here: it says the service's state conflicts with the request (a replay running, a fit
# that cannot converge on this board), not that the request was malformed.
HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "FAILED_PRECONDITION": 409,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


class HttpError(Exception):
    """A call refused with ``status``; ``http_status`` overrides the mapping (413 for a body too large)."""

    def __init__(self, status: Status, http_status: int | None = None) -> None:
        super().__init__(status.message)
        self.status = status
        self.http_status = http_status or HTTP_STATUS.get(status.code, 500)


def error_response(error: HttpError) -> JSONResponse:
    headers = {}
    if error.status.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.status.retry_after)))  # whole seconds (RFC 9110)
    if error.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = {"error": {"code": error.status.code, "message": error.status.message}}
    return JSONResponse(body, status_code=error.http_status, headers=headers)
