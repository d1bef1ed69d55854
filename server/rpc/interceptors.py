"""One interceptor maps domain errors (and the engine's ConvergenceError) to gRPC status codes, for every RPC:
``server.domain.errors.status_of`` says which status, this module only speaks gRPC."""

from __future__ import annotations

import grpc

from server.domain.errors import status_of


def _abort(context: grpc.ServicerContext, exc: Exception, method: str) -> None:
    status = status_of(exc, method)
    if status.retry_after is not None:
        context.set_trailing_metadata((("retry-after-ms", str(max(1, round(status.retry_after * 1000)))),))
    context.abort(grpc.StatusCode[status.code], status.message)


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
