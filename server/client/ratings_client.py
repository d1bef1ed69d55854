"""A Python client for the Ratings service (used by the CLI, tests and benchmarks).

Light to import: gRPC and protobuf, nothing of the engine (no numba), polars or matplotlib.
Methods take domain values (a ``VoteBatch``, a ``CompetitorUpdate``, a ``RankingBallot``, method and CI
names) as well as ready-made messages; ``server.rpc.wire`` is where the two meet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import grpc

from server.domain.limits import DEFAULT_BOARD, Limits
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.rpc import wire

if TYPE_CHECKING:
    from server.domain.ballots import RankingBallot
    from server.domain.competitors import CompetitorUpdate
    from server.domain.filters import VoteFilters
    from server.domain.votes import VoteBatch

log = logging.getLogger(__name__)

REPLAY_CHUNK_VOTES = 1000  # votes per ReplayChunk message, well under the server's batch and size limits

PAGED_READ_ATTEMPTS = 3  # full_leaderboard's reads of a board that keeps changing between its pages


class LeaderboardStream(Protocol):
    """WatchLeaderboard's response stream: leaderboards as they come, until cancelled."""

    def __iter__(self) -> Iterator[pb.Leaderboard]: ...

    def __next__(self) -> pb.Leaderboard: ...

    def cancel(self) -> bool: ...


class PagesChanged(RuntimeError):
    """A leaderboard read page by page kept changing between its pages."""


# Safe to retry: a re-sent batch is deduplicated by vote_id on the server.
_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED}


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                   grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):  # fmt: skip
    """Adds ``authorization: Bearer <token>`` to every call (over TLS or plain loopback alike)."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, details):
        metadata = [*(details.metadata or ()), self._header]
        return details._replace(metadata=metadata) if hasattr(details, "_replace") else _Details(details, metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._with_token(details), requests)


class _Details(grpc.ClientCallDetails):
    def __init__(self, details, metadata) -> None:
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


def open_channel(target: str, token: str | None = None, tls_ca: bytes | None = None,
                 tls_client: tuple[bytes, bytes] | None = None) -> grpc.Channel:  # fmt: skip
    """A channel to the service: TLS when ``tls_ca`` (PEM) is given, with a client certificate
    (key PEM, certificate PEM) for mutual TLS; a bearer token on every call when given."""
    limit = Limits().max_message_bytes
    options = [("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)]
    if tls_ca is not None:
        key, chain = tls_client if tls_client else (None, None)
        credentials = grpc.ssl_channel_credentials(root_certificates=tls_ca, private_key=key, certificate_chain=chain)
        channel = grpc.secure_channel(target, credentials, options=options)
    else:
        channel = grpc.insecure_channel(target, options=options)
    return grpc.intercept_channel(channel, _BearerToken(token)) if token else channel


class RatingsClient:
    """``with RatingsClient("127.0.0.1:50051") as client: client.submit(batch)``.

    ``token``: a bearer token (scopes: read for queries, write for submits, admin for replays,
    competitors and snapshots); ``tls_ca``: the server's CA certificate (PEM bytes) to use TLS.
    """

    def __init__(
        self,
        target: str,
        timeout: float = 30.0,
        retries: int = 3,
        token: str | None = None,
        tls_ca: bytes | None = None,
        tls_client: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.channel = open_channel(target, token, tls_ca, tls_client)
        self.stub = pb_grpc.RatingsStub(self.channel)
        self.timeout = timeout
        self.retries = retries

    def __enter__(self) -> RatingsClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the server answers SERVING on its health service."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        health = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=1.0).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not become ready")
            time.sleep(0.05)

    def submit(self, batch: VoteBatch | pb.VoteBatch, batch_id: int = 0) -> pb.VoteAck:
        """Send one batch; retries UNAVAILABLE with back-off (duplicates are dropped server-side)."""
        message = batch if isinstance(batch, pb.VoteBatch) else wire.batch_to_pb(batch, batch_id)
        return self._retrying(self.stub.SubmitVotes, message)

    def _retrying(self, rpc, message):
        """Call a write RPC, retrying UNAVAILABLE and RESOURCE_EXHAUSTED with back-off (writes are idempotent)."""
        for attempt in range(self.retries + 1):
            try:
                return rpc(message, timeout=self.timeout)
            except grpc.RpcError as exc:
                if exc.code() not in _RETRYABLE or attempt == self.retries:
                    raise
                log.warning("%s, retrying", exc.code().name)
                time.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    def stream(self, batches: Iterable[VoteBatch | pb.VoteBatch]) -> Iterator[pb.VoteAck]:
        """StreamVotes: one ack per batch, in order."""
        messages = (b if isinstance(b, pb.VoteBatch) else wire.batch_to_pb(b, i) for i, b in enumerate(batches))
        return self.stub.StreamVotes(messages)

    def leaderboard(self, board: str = DEFAULT_BOARD, **options) -> pb.Leaderboard:
        """The board's leaderboard (BT with bootstrap CIs unless asked otherwise); options: leaderboard_request's."""
        return self.stub.GetLeaderboard(leaderboard_request(board, **options), timeout=self.timeout)

    def full_leaderboard(self, board: str = DEFAULT_BOARD, **options) -> pb.Leaderboard:
        """Every listed row: the default page, then the next pages (offset = rows so far) up to total_rows,
        joined into one Leaderboard. Options: leaderboard_request's, except limit and offset.

        Pages are separate calls; if the board changes between them (its votes, or which rows are listed)
        the pages may not join up, so the read starts over, up to PAGED_READ_ATTEMPTS times, then raises
        PagesChanged. A snapshot (``as_of``) never changes.
        """
        for attempt in range(1, PAGED_READ_ATTEMPTS + 1):
            joined = self.leaderboard(board, **options)
            while len(joined.rows) < joined.total_rows:
                page = self.leaderboard(board, offset=len(joined.rows), **options)
                if not page.rows or (page.total_rows, page.total_votes) != (joined.total_rows, joined.total_votes):
                    break
                joined.rows.extend(page.rows)
            else:
                if len({row.model for row in joined.rows}) == len(joined.rows):
                    return joined
            log.warning("board %r changed while its pages were read (attempt %d); reading again", board, attempt)
        raise PagesChanged(
            f"board {board!r} changed while its {joined.total_rows} rows were read page by page, "
            f"{PAGED_READ_ATTEMPTS} times; retry, or read a snapshot (as_of)"
        )

    def watch(
        self, board: str = DEFAULT_BOARD, top_k: int = 0, interval: float = 0.0, timeout: float | None = None, **options
    ) -> LeaderboardStream:
        """WatchLeaderboard: the leaderboard now, then whenever its ranks change. Cancel the stream to stop."""
        request = pb.WatchRequest(
            leaderboard=leaderboard_request(board, **options), top_k=top_k, min_interval_seconds=interval
        )
        return self.stub.WatchLeaderboard(request, timeout=timeout)

    def head_to_head_matrix(self, board: str = DEFAULT_BOARD, top_k: int = 10, **options) -> pb.HeadToHeadMatrix:
        request = pb.HeadToHeadMatrixRequest(leaderboard=leaderboard_request(board, **options), top_k=top_k)
        return self.stub.GetHeadToHeadMatrix(request, timeout=self.timeout)

    def suggest_pairs(
        self,
        board: str = DEFAULT_BOARD,
        n: int = 0,
        objective: str = "ci_width",
        k: int = 0,
        model: str = "",
        category: str = "",
        horizon: int = 0,
    ) -> pb.SuggestPairsResponse:
        """SuggestPairs: the pairs to show next with sampling weights; objective "top_k", "ci_width" or
        "placement" (with ``model``); zeros take the server's defaults."""
        request = pb.SuggestPairsRequest(
            board=board, category=category, n=n, objective=wire.suggest_objective(objective), k=k, model=model,
            horizon=horizon,
        )  # fmt: skip
        return self.stub.SuggestPairs(request, timeout=self.timeout)

    def submit_ranking(self, ballot: RankingBallot | pb.RankingBallot) -> pb.VoteAck:
        """A multi-way ranking; safe to retry (its votes' ids derive from ballot_id)."""
        message = ballot if isinstance(ballot, pb.RankingBallot) else wire.ballot_to_pb(ballot)
        return self._retrying(self.stub.SubmitRanking, message)

    def upsert_competitors(
        self, competitors: Iterable[CompetitorUpdate | pb.Competitor]
    ) -> pb.UpsertCompetitorsResponse:
        messages = [c if isinstance(c, pb.Competitor) else wire.update_to_pb(c) for c in competitors]
        request = pb.UpsertCompetitorsRequest(competitors=messages)
        return self.stub.UpsertCompetitors(request, timeout=self.timeout)

    def competitors(self) -> list[pb.Competitor]:
        """Every competitor the server knows, by name, with its metadata (``wire.competitor_from_pb`` reads one)."""
        return list(self.stub.ListCompetitors(pb.ListCompetitorsRequest(), timeout=self.timeout).competitors)

    def boards(self) -> list[pb.BoardInfo]:
        return list(self.stub.ListBoards(pb.ListBoardsRequest(), timeout=self.timeout).boards)

    def create_snapshot(self, board: str, name: str) -> pb.Snapshot:
        return self.stub.CreateSnapshot(pb.CreateSnapshotRequest(board=board, name=name), timeout=self.timeout)

    def delete_board(self, board: str) -> pb.DeletedBoard:
        """DeleteBoard (admin scope): retire ``board``; its votes stay in the server's log, unseen. Not retried."""
        return self.stub.DeleteBoard(pb.DeleteBoardRequest(board=board), timeout=self.timeout)

    def snapshots(self, board: str = DEFAULT_BOARD) -> list[pb.Snapshot]:
        return list(self.stub.ListSnapshots(pb.ListSnapshotsRequest(board=board), timeout=self.timeout).snapshots)

    def replay(
        self,
        board: str,
        batches: Iterable[VoteBatch],
        filters: VoteFilters | None = None,
        on_chunk: Callable[[int], object] | None = None,
    ) -> pb.ReplaySummary:
        """ReplayVotes: stream ``batches`` into a new version of ``board``; it replaces the live one when done.

        ``on_chunk(n)`` is called after each chunk of n votes is handed to gRPC (for progress bars).
        No deadline: a replay takes as long as its data.
        """

        def pieces():  # a chunk read from a file may hold a million votes; a message holds a few thousand
            for batch in batches:
                for start in range(0, len(batch), REPLAY_CHUNK_VOTES):
                    yield batch.slice(start, min(start + REPLAY_CHUNK_VOTES, len(batch)))

        if filters is None:
            from server.domain.filters import VoteFilters

            filters = VoteFilters()

        def chunks():
            first = True
            for piece in pieces():
                message = pb.ReplayChunk(columns=wire.batch_to_pb(piece).columns)
                if first:
                    message.board = board
                    message.filters.CopyFrom(wire.filters_to_pb(filters))
                    first = False
                yield message
                if on_chunk is not None:
                    on_chunk(len(piece))
            # The end, said explicitly: a stream that ends without a commit is abandoned by the server,
            # because a cancelled call can reach it looking like one that ended. With no votes at all the
            # chunk still names the board, so the server can say what is wrong.
            yield pb.ReplayChunk(board=board, commit=True) if first else pb.ReplayChunk(commit=True)

        return self.stub.ReplayVotes(chunks())

    def head_to_head(self, model_a: str, model_b: str, board: str = DEFAULT_BOARD, min_seq: int = 0) -> pb.HeadToHead:
        request = pb.HeadToHeadRequest(board=board, model_a=model_a, model_b=model_b, min_seq=min_seq)
        return self.stub.GetHeadToHead(request, timeout=self.timeout)

    def audit(self, board: str = DEFAULT_BOARD, category: str = "", **options) -> pb.Audit:
        """GetAudit: ``options`` are AuditRequest's fields (min_seq, alpha, min_pair_votes, max_cycles,
        voter_alpha, voter_beta); unset ones take the server's defaults."""
        request = pb.AuditRequest(board=board, category=category, **options)
        return self.stub.GetAudit(request, timeout=self.timeout)


def leaderboard_request(
    board: str = DEFAULT_BOARD,
    method: str | int = pb.METHOD_UNSPECIFIED,
    min_seq: int = 0,
    ci: str | int = pb.CI_UNSPECIFIED,
    rounds: int = 0,
    anchor: tuple[str, float] | None = None,
    category: str = "",
    filters: pb.RowFilters | Mapping[str, Any] | None = None,
    compare_to: str | float | None = None,
    as_of: str | float | None = None,
    gap_ranks: Iterable[int] = (),
    style_control: bool = False,
    limit: int = 0,
    offset: int = 0,
    ties: str | int = pb.TIES_UNSPECIFIED,
    cluster: str | int = pb.CLUSTER_UNSPECIFIED,
) -> pb.LeaderboardRequest:
    """A LeaderboardRequest; a snapshot is named by a str, or by a time (Unix seconds) as a float.

    ``method``, ``ci`` and ``ties``: a wire code (``pb.ELO``) or a name ("elo", "sandwich", "davidson"); ``filters``: a
    RowFilters message or ``wire.row_filters_to_pb``'s keywords (``{"statuses": ["deprecated"]}``); ``cluster``:
    a wire code or "none", "voter", "prompt"."""
    request = pb.LeaderboardRequest(
        board=board, method=wire.method_code(method), min_seq=min_seq, ci=wire.ci_code(ci), rounds=rounds,
        category=category, gap_ranks=gap_ranks, style_control=style_control, limit=limit, offset=offset,
        ties=wire.ties_code(ties), cluster=wire.cluster_code(cluster),
    )  # fmt: skip
    if anchor is not None:
        request.anchor.model, request.anchor.rating = anchor
    if filters is not None:
        request.filters.CopyFrom(filters if isinstance(filters, pb.RowFilters) else wire.row_filters_to_pb(**filters))
    for field, ref in (("compare_to", compare_to), ("as_of", as_of)):
        if isinstance(ref, str):
            getattr(request, field).name = ref
        elif ref is not None:
            getattr(request, field).time = float(ref)
    return request
