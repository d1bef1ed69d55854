"""The gRPC servicer: convert, call the service, convert back. Nothing else."""

from __future__ import annotations

import itertools

from server import convert
from server.errors import InvalidArgument
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.service import RatingsService
from server.votes import resolve_board


class RatingsServicer(pb_grpc.RatingsServicer):
    def __init__(self, service: RatingsService) -> None:
        self._service = service

    def SubmitVotes(self, request: pb.VoteBatch, context) -> pb.VoteAck:
        ack = self._service.submit(convert.batch_from_pb(request))
        return convert.ack_to_pb(ack, request.batch_id)

    def StreamVotes(self, request_iterator, context):
        for request in request_iterator:
            ack = self._service.submit(convert.batch_from_pb(request))
            yield convert.ack_to_pb(ack, request.batch_id)

    def GetLeaderboard(self, request: pb.LeaderboardRequest, context) -> pb.Leaderboard:
        result = self._service.leaderboard(
            convert.query_from_pb(request), min_seq=request.min_seq, timeout=context.time_remaining()
        )
        return convert.leaderboard_to_pb(result)

    def GetHeadToHead(self, request: pb.HeadToHeadRequest, context) -> pb.HeadToHead:
        for field in ("model_a", "model_b"):
            if not getattr(request, field):
                raise InvalidArgument(field, "must not be empty")
        result = self._service.head_to_head(
            resolve_board(request.board),
            request.model_a,
            request.model_b,
            min_seq=request.min_seq,
            timeout=context.time_remaining(),
        )
        return convert.head_to_head_to_pb(result)

    def ReplayVotes(self, request_iterator, context) -> pb.ReplaySummary:
        first = next(request_iterator, None)
        if first is None:
            raise InvalidArgument("chunks", "a replay needs at least one chunk")
        board = resolve_board(first.board)
        filters = convert.filters_from_pb(first.filters)

        def batches():
            for i, chunk in enumerate(itertools.chain([first], request_iterator)):
                if i and (chunk.board or chunk.HasField("filters")):
                    raise InvalidArgument(f"chunks[{i}]", "board and filters belong in the first chunk only")
                if len(chunk.columns.vote_id) or len(chunk.columns.outcome):
                    yield convert.batch_from_pb(pb.VoteBatch(board=board, columns=chunk.columns))

        result = self._service.replay(board, filters, batches(), still_wanted=context.is_active)
        return convert.replay_result_to_pb(result)
