"""The ASGI application: the /v1 API, the leaderboard page at ``/`` (its files under /assets), the
Prometheus scrape at /metrics and the OpenAPI document at /openapi.json. No docs page: FastAPI's loads
its scripts from a CDN, and the service must work offline."""

from __future__ import annotations

import html
import json
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.domain.errors import Status
from server.metrics import CONTENT_TYPE

from .calls import Caller, Rpcs
from .errors import HttpError, error_response
from .options import HttpOptions
from .routes import caller_of, router


def build_app(rpcs: Rpcs, site: HttpOptions, max_body_bytes: int) -> FastAPI:
    app = FastAPI(
        title="arena-ratings",
        summary="Pairwise-vote ratings: the gRPC service's RPCs as JSON",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.include_router(router(rpcs, site.keepalive_seconds, max_body_bytes))

    @app.exception_handler(HttpError)
    async def refused(request: Request, error: HttpError) -> Response:
        return error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def by_starlette(request: Request, error: StarletteHTTPException) -> Response:
        """Starlette's own refusals (an unknown path, a method not allowed) in our shape."""
        code = {404: "NOT_FOUND", 405: "UNIMPLEMENTED"}.get(error.status_code, "INVALID_ARGUMENT")
        return error_response(HttpError(Status(code, f"{request.url.path}: {error.detail}"), error.status_code))

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body"))
        return error_response(HttpError(Status("INVALID_ARGUMENT", f"{where or 'request'}: {first.get('msg')}")))

    page = resources.files("server.http") / "page"
    app.mount("/assets", StaticFiles(packages=[("server.http", "page")]), name="assets")
    index = (page / "index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def leaderboard_page() -> HTMLResponse:
        config = json.dumps({"title": site.site_title}).replace("<", "\\u003c")  # cannot close the script tag
        text = index.replace("{{title}}", html.escape(site.site_title)).replace("{{config}}", config)
        return HTMLResponse(text)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        rpcs.admit("ListBoards", caller_of(request))  # the read scope: the board names are in it
        return Response(rpcs.service.metrics.exposition(), media_type=CONTENT_TYPE)

    @app.get("/healthz", summary="SERVING once the kernels are warm, as gRPC health reports")
    def healthz() -> Response:
        serving = not rpcs.service.stopping.is_set()
        return Response("SERVING" if serving else "NOT_SERVING", status_code=200 if serving else 503)

    if site.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(site.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app


__all__ = ["Caller", "HttpOptions", "build_app"]
