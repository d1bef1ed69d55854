"""The /v1 endpoints: one per RPC, each reading its request, calling it through ``Rpcs`` and answering
JSON. A leaderboard is answered as the published feed (``arena-ratings/leaderboard/v1``, what
``--format json`` prints); every other message by its proto field names (``wire.message_dict``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from server.domain.errors import Status
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc.wire import message_dict, suggest_objective

from .calls import Caller, Rpcs
from .errors import HttpError
from .events import event_stream
from .feeds import Feeds, feed
from .params import UINT32, LeaderboardParams, leaderboard_params, parse_body

Board = Annotated[str, "the board's name"]


def caller_of(request: Request) -> Caller:
    client = request.client
    peer = f"{client.host}:{client.port}" if client is not None else "unknown"
    return Caller(request.headers.get("authorization"), peer)


# Module level, not in router(): FastAPI resolves the annotations (strings here) in the module's namespace.
Who = Annotated[Caller, Depends(caller_of)]
Leaderboard = Annotated[LeaderboardParams, Depends(leaderboard_params)]


def router(rpcs: Rpcs, keepalive_seconds: float, max_body_bytes: int) -> APIRouter:
    api = APIRouter(prefix="/v1")
    feeds = Feeds(rpcs)

    @api.get("/boards", summary="ListBoards")
    def boards(caller: Who) -> dict:
        return message_dict(rpcs.call("ListBoards", pb.ListBoardsRequest(), caller))

    @api.get(
        "/boards/{board}/leaderboard",
        summary="GetLeaderboard: the published JSON feed (arena-ratings/leaderboard/v1)",
        response_class=Response,
        responses={200: {"content": {"application/json": {}}}},
    )
    async def leaderboard(board: Board, params: Leaderboard, request: Request, caller: Who) -> Response:
        message = params.request(board)
        # The request as parsed, not its query string: parameters FastAPI ignores, or their order, must not
        # make new entries (a client could otherwise push every published view out of the cache).
        key = message.SerializeToString(deterministic=True)
        body = feeds.cached(message, key, caller)
        if body is None:
            body = await run_in_threadpool(feeds.compute, message, key, caller)
        return Response(body, media_type="application/json")

    @api.get("/boards/{board}/head-to-head", summary="GetHeadToHead")
    def head_to_head(
        board: Board,
        caller: Who,
        a: Annotated[str, Query(description="model A")],
        b: Annotated[str, Query(description="model B")],
        min_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    ) -> dict:
        request = pb.HeadToHeadRequest(board=board, model_a=a, model_b=b, min_seq=min_seq)
        return message_dict(rpcs.call("GetHeadToHead", request, caller))

    @api.get("/boards/{board}/matrix", summary="GetHeadToHeadMatrix: the top k's battles and win rates")
    def matrix(
        board: Board, params: Leaderboard, caller: Who, top_k: Annotated[int, Query(ge=0, le=UINT32)] = 0
    ) -> dict:
        request = pb.HeadToHeadMatrixRequest(leaderboard=params.request(board), top_k=top_k)
        return message_dict(rpcs.call("GetHeadToHeadMatrix", request, caller))

    @api.get(
        "/boards/{board}/audit",
        summary="GetAudit: position bias, intransitive triads, ties by model, outlier voters (0: the defaults)",
    )
    def audit(
        board: Board,
        caller: Who,
        category: Annotated[str, Query(description="the category view; empty: all votes")] = "",
        min_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
        alpha: Annotated[float, Query(description="in (0, 0.5); 0: 0.05")] = 0.0,
        min_pair_votes: Annotated[int, Query(ge=0, le=UINT32, description="0: 30")] = 0,
        max_cycles: Annotated[int, Query(ge=0, le=UINT32, description="0: 20")] = 0,
        voter_alpha: Annotated[float, Query(description="in (0, 0.5); 0: 0.01")] = 0.0,
        voter_beta: Annotated[float, Query(description="in (0, 0.5); 0: 0.05")] = 0.0,
    ) -> dict:
        request = pb.AuditRequest(
            board=board, category=category, min_seq=min_seq, alpha=alpha, min_pair_votes=min_pair_votes,
            max_cycles=max_cycles, voter_alpha=voter_alpha, voter_beta=voter_beta,
        )  # fmt: skip
        return message_dict(rpcs.call("GetAudit", request, caller))

    @api.get("/boards/{board}/suggest", summary="SuggestPairs: the pairs to show next, with sampling weights")
    def suggest(
        board: Board,
        caller: Who,
        category: str = "",
        n: Annotated[int, Query(ge=0, le=UINT32, description="at most this many pairs; 0: 10")] = 0,
        objective: Literal["top-k", "ci-width", "placement"] = "ci-width",
        k: Annotated[int, Query(ge=0, le=UINT32, description="top-k: the top k to order; 0: 10")] = 0,
        model: Annotated[str, Query(description="placement: the competitor to place")] = "",
        horizon: Annotated[int, Query(ge=0, le=UINT32, description="votes the weights plan for; 0: 1000")] = 0,
    ) -> dict:
        request = pb.SuggestPairsRequest(
            board=board, category=category, n=n, objective=suggest_objective(objective), k=k, model=model,
            horizon=horizon,
        )  # fmt: skip
        return message_dict(rpcs.call("SuggestPairs", request, caller))

    @api.get("/boards/{board}/snapshots", summary="ListSnapshots, oldest first")
    def snapshots(board: Board, caller: Who) -> dict:
        return message_dict(rpcs.call("ListSnapshots", pb.ListSnapshotsRequest(board=board), caller))

    @api.post(
        "/boards/{board}/snapshots",
        summary="CreateSnapshot (admin): the board as it is now, kept under a name",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
        }}}}},
    )  # fmt: skip
    async def create_snapshot(board: Board, request: Request, caller: Who) -> dict:
        return await posted("CreateSnapshot", board, pb.CreateSnapshotRequest(), request, caller)

    @api.get("/competitors", summary="ListCompetitors")
    def competitors(caller: Who) -> dict:
        return message_dict(rpcs.call("ListCompetitors", pb.ListCompetitorsRequest(), caller))

    @api.post(
        "/boards/{board}/votes",
        summary="SubmitVotes: a batch as rows ({\"votes\": [...]}) or columns ({\"columns\": {...}})",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object",
            "description": "a VoteBatch in protobuf's JSON mapping (ratings.proto): votes or columns, batch_id",
        }}}}},
    )  # fmt: skip
    async def submit(board: Board, request: Request, caller: Who) -> dict:
        return await posted("SubmitVotes", board, pb.VoteBatch(), request, caller)

    @api.get(
        "/boards/{board}/leaderboard/events",
        summary="WatchLeaderboard as Server-Sent Events: the feed now, then whenever the watched ranks change",
        response_class=StreamingResponse,
    )
    async def events(
        board: Board,
        params: Leaderboard,
        request: Request,
        caller: Who,
        top_k: Annotated[int, Query(ge=0, le=UINT32, description="watch the top k rows; 0: all")] = 0,
        min_interval_seconds: Annotated[float, Query(description="at most one event per interval; 0: 1 s")] = 0.0,
    ) -> StreamingResponse:
        watch_request = pb.WatchRequest(
            leaderboard=params.request(board), top_k=top_k, min_interval_seconds=min_interval_seconds
        )
        watch = await run_in_threadpool(rpcs.watch, watch_request, caller)
        stream = event_stream(watch, feed, keepalive_seconds, request.is_disconnected)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # and no proxy buffering
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    async def posted(rpc: str, board: str, message, request: Request, caller: Caller) -> dict:
        """A POST's JSON body read into ``message`` (the RPC's request, whose ``board`` is the path's) and
        called. The token is checked before the body is read; parsing runs on a worker thread, since a batch
        of thousands of votes takes milliseconds."""
        rpcs.admit(rpc, caller)
        body = await read_body(request, max_body_bytes)

        def parse_and_call() -> dict:
            parse_body(body, message, f"the body of {rpc}")
            if message.board and message.board != board:
                named = f"board: the body names {message.board!r}, the path {board!r}"
                raise HttpError(Status("INVALID_ARGUMENT", named))
            message.board = board
            return message_dict(rpcs.call(rpc, message, caller))

        return await run_in_threadpool(parse_and_call)

    return api


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused with 413 past ``limit`` bytes: before reading it when it declares its
    size, else as soon as it grows past. (Starlette's own body limit answers in plain text, not in the
    API's error shape.)"""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> HttpError:
    message = f"body: larger than {limit} bytes (serve --max-message-bytes); send smaller batches"
    return HttpError(Status("RESOURCE_EXHAUSTED", message), http_status=413)
