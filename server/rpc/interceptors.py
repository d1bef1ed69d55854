"""One interceptor maps domain errors (and the engine's ConvergenceError) to gRPC status codes, for every RPC."""

from __future__ import annotations

import logging

import grpc

from engine.fit import ConvergenceError
from server.domain.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RatingsError,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

_CODES: dict[type[RatingsError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def _abort(context: grpc.ServicerContext, exc: Exception, method: str) -> None:
    if isinstance(exc, ConvergenceError):  # a fit that does not converge on this board's data: not a server fault
        log.warning("%s: %s", method, exc)
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
    if isinstance(exc, RatingsError):
        code = next((c for t, c in _CODES.items() if isinstance(exc, t)), grpc.StatusCode.INTERNAL)
        if isinstance(exc, ResourceExhausted) and exc.retry_after is not None:
            context.set_trailing_metadata((("retry-after-ms", str(max(1, round(exc.retry_after * 1000)))),))
        context.abort(code, str(exc))
    if isinstance(exc, OSError):  # storage (disk full, read-only, I/O error): the client retries later
        log.exception("%s failed on storage", method)
        context.abort(grpc.StatusCode.UNAVAILABLE, f"storage failed: {exc.strerror or exc}")
    log.exception("%s failed", method)
    context.abort(grpc.StatusCode.INTERNAL, "internal error; see the server log")


def _wrap_unary(behavior, method: str):
    def handler(request, context):
        try:
            return behavior(request, context)
        except Exception as exc:  # noqa: BLE001 - the point is to catch everything
            if isinstance(exc, grpc.RpcError) or context.code() is not None:
                raise
            _abort(context, exc, method)

    return handler


def _wrap_stream(behavior, method: str):
    def handler(request, context):
        try:
            yield from behavior(request, context)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, grpc.RpcError) or context.code() is not None:
                raise
            _abort(context, exc, method)

    return handler


class ErrorInterceptor(grpc.ServerInterceptor):
    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if handler.unary_unary:
            return handler._replace(unary_unary=_wrap_unary(handler.unary_unary, method))
        if handler.unary_stream:
            return handler._replace(unary_stream=_wrap_stream(handler.unary_stream, method))
        if handler.stream_unary:
            return handler._replace(stream_unary=_wrap_unary(handler.stream_unary, method))
        if handler.stream_stream:
            return handler._replace(stream_stream=_wrap_stream(handler.stream_stream, method))
        return handler
