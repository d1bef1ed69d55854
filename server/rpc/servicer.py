"""The gRPC servicer: convert, call the service, convert back. Nothing else."""

from __future__ import annotations

import itertools

from server.domain import names, paging
from server.domain.errors import InvalidArgument
from server.domain.listing import Listing
from server.domain.votes import resolve_board
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.rpc import convert
from server.service.core import RatingsService
from server.service.watch import WatchHub, watch

DEFAULT_MATRIX_K = 10
MAX_MATRIX_K = 100


class RatingsServicer(pb_grpc.RatingsServicer):
    def __init__(self, service: RatingsService) -> None:
        self._service = service
        self._watches = WatchHub(service)
        service.metrics.count_watchers(self._watches.watchers)

    def SubmitVotes(self, request: pb.VoteBatch, context) -> pb.VoteAck:
        ack = self._service.submit(convert.batch_from_pb(request))
        return convert.ack_to_pb(ack, request.batch_id)

    def StreamVotes(self, request_iterator, context):
        for request in request_iterator:
            ack = self._service.submit(convert.batch_from_pb(request))
            yield convert.ack_to_pb(ack, request.batch_id)

    def GetLeaderboard(self, request: pb.LeaderboardRequest, context) -> pb.Leaderboard:
        page = convert.page_from_pb(request)
        shown = self._service.listing(
            convert.listing_query_from_pb(request), min_seq=request.min_seq, timeout=context.time_remaining()
        )
        return self._page(shown, page)

    def WatchLeaderboard(self, request: pb.WatchRequest, context):
        query = convert.listing_query_from_pb(request.leaderboard)
        page = convert.page_from_pb(request.leaderboard)
        updates = watch(
            self._watches, self._service, query, request.top_k, request.min_interval_seconds, context.is_active
        )
        for shown in updates:
            yield self._page(shown, page)

    def _page(self, shown: Listing, page: paging.Page) -> pb.Leaderboard:
        """The requested page of a listing, as one message within the server's size limit."""
        board = convert.leaderboard_to_pb(paging.page_of(shown, page))
        return paging.fit_message(board, page, self._service.config.limits.max_message_bytes)

    def GetHeadToHeadMatrix(self, request: pb.HeadToHeadMatrixRequest, context) -> pb.HeadToHeadMatrix:
        if request.top_k > MAX_MATRIX_K:
            raise InvalidArgument("top_k", f"{request.top_k}, the limit is {MAX_MATRIX_K}")
        result = self._service.head_to_head_matrix(
            convert.listing_query_from_pb(request.leaderboard),
            request.top_k or DEFAULT_MATRIX_K,
            min_seq=request.leaderboard.min_seq,
            timeout=context.time_remaining(),
        )
        return convert.matrix_to_pb(result)

    def SubmitRanking(self, request: pb.RankingBallot, context) -> pb.VoteAck:
        return convert.ack_to_pb(self._service.submit_ranking(convert.ballot_from_pb(request)))

    def UpsertCompetitors(self, request: pb.UpsertCompetitorsRequest, context) -> pb.UpsertCompetitorsResponse:
        created, updated = self._service.upsert_competitors(convert.updates_from_pb(request))
        return pb.UpsertCompetitorsResponse(created=created, updated=updated)

    def ListCompetitors(self, request: pb.ListCompetitorsRequest, context) -> pb.CompetitorList:
        return pb.CompetitorList(competitors=[convert.competitor_to_pb(c) for c in self._service.competitor_list()])

    def ListBoards(self, request: pb.ListBoardsRequest, context) -> pb.BoardList:
        return convert.board_list_to_pb(self._service.boards())

    def CreateSnapshot(self, request: pb.CreateSnapshotRequest, context) -> pb.Snapshot:
        info = self._service.create_snapshot(
            resolve_board(request.board), request.name, timeout=context.time_remaining()
        )
        return convert.snapshot_to_pb(info)

    def ListSnapshots(self, request: pb.ListSnapshotsRequest, context) -> pb.SnapshotList:
        found = self._service.snapshots(resolve_board(request.board))
        return pb.SnapshotList(snapshots=[convert.snapshot_to_pb(info) for info in found])

    def DeleteBoard(self, request: pb.DeleteBoardRequest, context) -> pb.DeletedBoard:
        return convert.deleted_board_to_pb(self._service.delete_board(convert.board_to_delete(request)))

    def GetHeadToHead(self, request: pb.HeadToHeadRequest, context) -> pb.HeadToHead:
        for field in ("model_a", "model_b"):
            if not getattr(request, field):
                raise InvalidArgument(field, "must not be empty")
        result = self._service.head_to_head(
            resolve_board(request.board),
            names.normalized(request.model_a),  # names are stored in NFC form
            names.normalized(request.model_b),
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

        committed = False

        def batches():
            nonlocal committed
            for i, chunk in enumerate(itertools.chain([first], request_iterator)):
                if committed:
                    raise InvalidArgument(f"chunks[{i}]", "comes after the chunk marked commit, which ends a replay")
                if i and (chunk.board or chunk.HasField("filters")):
                    raise InvalidArgument(f"chunks[{i}]", "board and filters belong in the first chunk only")
                committed = chunk.commit
                if len(chunk.columns.vote_id) or len(chunk.columns.outcome):
                    yield convert.batch_from_pb(pb.VoteBatch(board=board, columns=chunk.columns))

        def still_wanted() -> bool:
            # Only an explicit commit completes a replay: a cancel can reach us as a normal end of stream.
            if not committed:
                raise InvalidArgument("commit", "the stream ended without a chunk marked commit; nothing was replaced")
            return context.is_active()

        result = self._service.replay(board, filters, batches(), still_wanted=still_wanted)
        return convert.replay_result_to_pb(result)

    # ------------------------------------------------------------------------------------------ audits

    def GetAudit(self, request: pb.AuditRequest, context) -> pb.Audit:
        board, category, options = convert.audit_request_from_pb(request)
        result = self._service.audit(board, category, options, min_seq=request.min_seq,
                                     timeout=context.time_remaining())  # fmt: skip
        return convert.audit_to_pb(result)

    # ------------------------------------------------------------------ SuggestPairs

    def SuggestPairs(self, request: pb.SuggestPairsRequest, context) -> pb.SuggestPairsResponse:
        return convert.suggestions_to_pb(self._service.suggest_pairs(convert.suggest_query_from_pb(request)))
