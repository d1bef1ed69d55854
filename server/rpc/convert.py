"""Protobuf messages <-> domain objects, on the service's side. No logic beyond the translation.

The enum mappings and the messages a client builds are ``server.rpc.wire``'s; the rules a
leaderboard query obeys are ``server.domain.queries.check_query``.
"""

from __future__ import annotations

import math

import numpy as np

from engine import Standings
from engine.outcomes import TIE_SCORE
from engine.views import SEPARATOR
from server.domain import names
from server.domain.audit import (
    DEFAULT_ALPHA,
    DEFAULT_MAX_CYCLES,
    DEFAULT_MIN_PAIR_VOTES,
    DEFAULT_VOTER_ALPHA,
    DEFAULT_VOTER_BETA,
    Audit,
    AuditOptions,
)
from server.domain.ballots import RankingBallot
from server.domain.competitors import CompetitorInfo, CompetitorUpdate
from server.domain.errors import InvalidArgument
from server.domain.filters import VoteFilters
from server.domain.listing import DEFAULT_GAP_RANKS, Listing, RowFilters, row_tallies
from server.domain.paging import Page
from server.domain.queries import LeaderboardQuery, ListingQuery, SnapshotRef, check_query
from server.domain.results import (
    Ack,
    BoardInfo,
    BoardList,
    DeletedBoard,
    HeadToHead,
    HeadToHeadMatrix,
    ReplayResult,
)
from server.domain.snapshot_info import SnapshotInfo
from server.domain.suggestions import (
    DEFAULT_HORIZON,
    DEFAULT_OBJECTIVE,
    DEFAULT_PAIRS,
    DEFAULT_TOP_K,
    PairSuggestions,
    SuggestQuery,
)
from server.domain.votes import MAX_WEIGHT, VoteBatch, resolve_board, valid_weights
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc import wire
from server.rpc.wire import batch_to_pb as batch_to_pb  # the client's builders, for callers that send by hand
from server.rpc.wire import filters_to_pb as filters_to_pb
from server.rpc.wire import update_to_pb as update_to_pb


def batch_from_pb(message: pb.VoteBatch) -> VoteBatch:
    board = resolve_board(message.board)
    has_rows = len(message.votes) > 0
    has_columns = message.HasField("columns")
    if has_rows and has_columns:
        raise InvalidArgument("votes", "a batch carries votes in row form or in columns, not both")
    if has_columns:
        return _columns_from_pb(board, message.columns)
    return _rows_from_pb(board, message.votes)


def filters_from_pb(message: pb.ReplayFilters) -> VoteFilters:
    return VoteFilters(
        anony_only=message.anony_only,
        exclude_models=frozenset(message.exclude_models),
        languages=frozenset(message.languages),
        since=message.since if message.HasField("since") else None,
        until=message.until if message.HasField("until") else None,
        drop_ties=message.drop_ties,
        tags=frozenset(message.tags),
        dedupe=message.dedupe,
        daily_cap=message.daily_cap,
        exclude_voters=frozenset(message.exclude_voters),
    )


def replay_result_to_pb(result: ReplayResult) -> pb.ReplaySummary:
    return pb.ReplaySummary(
        board=result.board,
        received=result.received,
        applied=result.applied,
        removed=result.removed,
        first_seq=result.first_seq,
        last_seq=result.last_seq,
        as_of_seq=result.as_of_seq,
    )


def _columns_from_pb(board: str, columns: pb.VoteColumns) -> VoteBatch:
    # np.array over a packed repeated field is ~65x faster than np.fromiter.
    n = len(columns.vote_id)
    if len(columns.timestamp):
        timestamp = np.array(columns.timestamp, dtype=np.float64)
        _require_finite(timestamp)
    else:
        timestamp = np.full(n, np.nan)  # NaN: not given, stamped on receipt
    return VoteBatch(
        board=board,
        vote_id=list(columns.vote_id),
        names=list(columns.names),
        model_a=np.array(columns.model_a, dtype=np.int64),
        model_b=np.array(columns.model_b, dtype=np.int64),
        outcome=np.array(columns.outcome, dtype=np.int64),
        timestamp=timestamp,
        voter_id=list(columns.voter_id),
        tag_count=np.array(columns.tag_count, dtype=np.int64),
        tags=list(columns.tags),
        anony=np.array(columns.anony, dtype=bool) if len(columns.anony) else None,
        language=list(columns.language),
        **_style_columns(columns, n),
        weight=_column_weights(columns, n),
        prompt_id=list(columns.prompt_id),
    )


def _column_weights(columns: pb.VoteColumns, n: int) -> np.ndarray | None:
    """The weight column (None when empty: every vote weighs 1); each from 0 to MAX_WEIGHT."""
    if not len(columns.weight):
        return None
    weight = np.array(columns.weight, dtype=np.float64)
    if weight.shape[0] != n:
        raise InvalidArgument("columns.weight", f"has {weight.shape[0]} values for {n} votes")
    bad = np.flatnonzero(~valid_weights(weight))
    if bad.size:
        i = int(bad[0])
        raise InvalidArgument(f"columns.weight[{i}]", f"{weight[i]} is not a number from 0 to {MAX_WEIGHT:g}")
    return weight


def _style_columns(columns: pb.VoteColumns, n: int) -> dict:
    """VoteBatch's style fields from the columns (validate() checks their shapes)."""
    names = list(columns.style_features)
    if not names and not len(columns.style_a) and not len(columns.style_b):
        return {}
    f = len(names)
    a = np.array(columns.style_a, dtype=np.float64)
    b = np.array(columns.style_b, dtype=np.float64)
    for side, values in (("style_a", a), ("style_b", b)):
        if not f or values.shape[0] != n * f:
            raise InvalidArgument(f"columns.{side}", f"has {values.shape[0]} values for {n} votes x {f} features")
    return {"style_names": names, "style": np.hstack([a.reshape(n, f), b.reshape(n, f)])}


def _rows_from_pb(board: str, votes) -> VoteBatch:
    ids: dict[str, int] = {}
    model_a = np.empty(len(votes), dtype=np.int64)
    model_b = np.empty(len(votes), dtype=np.int64)
    outcome = np.empty(len(votes), dtype=np.int64)
    timestamp = np.full(len(votes), np.nan)
    vote_id, voter_id, tag_count, tags, prompt_id = [], [], [], [], []
    weight = np.ones(len(votes))
    style_names = sorted(votes[0].style_a) if len(votes) else []
    style = np.empty((len(votes), 2 * len(style_names)))
    for i, vote in enumerate(votes):
        model_a[i] = ids.setdefault(vote.model_a, len(ids))
        model_b[i] = ids.setdefault(vote.model_b, len(ids))
        outcome[i] = vote.outcome
        if vote.HasField("timestamp"):
            timestamp[i] = vote.timestamp
            _require_finite(timestamp[i : i + 1], offset=i)
        vote_id.append(vote.vote_id)
        voter_id.append(vote.voter_id)
        prompt_id.append(vote.prompt_id)
        if vote.HasField("weight"):
            weight[i] = vote.weight
            if not (math.isfinite(vote.weight) and vote.weight >= 0):
                raise InvalidArgument(f"votes[{i}].weight", f"{vote.weight} is not a finite number >= 0")
        tag_count.append(len(vote.tags))
        tags.extend(vote.tags)
        if style_names or vote.style_a or vote.style_b:
            style[i] = _row_style(vote, i, style_names)
    return VoteBatch(
        board=board,
        vote_id=vote_id,
        names=list(ids),
        model_a=model_a,
        model_b=model_b,
        outcome=outcome,
        timestamp=timestamp,
        voter_id=voter_id if any(voter_id) else [],
        tag_count=np.array(tag_count, dtype=np.int64) if tags else np.zeros(0, dtype=np.int64),
        tags=tags,
        style_names=style_names,
        style=style if style_names else None,
        weight=None if (weight == 1.0).all() else weight,
        prompt_id=prompt_id if any(prompt_id) else [],
    )


def _row_style(vote: pb.Vote, i: int, names: list[str]) -> list[float]:
    """Vote i's style values (A's then B's) in the order of ``names``: the features of the batch's first vote."""
    for side in ("style_a", "style_b"):
        given = sorted(getattr(vote, side))
        if given != names:
            raise InvalidArgument(f"votes[{i}].{side}", f"names features {given}; the batch's first vote names {names}")
    return [vote.style_a[n] for n in names] + [vote.style_b[n] for n in names]


def _require_finite(timestamp: np.ndarray, offset: int = 0) -> None:
    # Inside a VoteBatch NaN means "not given"; on the wire a given NaN is an error.
    bad = np.flatnonzero(~np.isfinite(timestamp))
    if bad.size:
        i = int(bad[0])
        raise InvalidArgument(f"votes[{offset + i}].timestamp", f"{timestamp[i]} is not a finite number")


def ack_to_pb(ack: Ack, batch_id: int = 0) -> pb.VoteAck:
    return pb.VoteAck(
        batch_id=batch_id,
        accepted=ack.accepted,
        duplicates=ack.duplicates,
        first_seq=ack.first_seq,
        last_seq=ack.last_seq,
        duplicate_index=ack.duplicate_index,
        board_created=ack.board_created,
    )


MAX_ROUNDS = 100_000


def query_from_pb(request: pb.LeaderboardRequest) -> LeaderboardQuery:
    board, category = _board_and_category(request)
    method = wire.REQUEST_METHODS.get(request.method)
    if method is None:
        raise InvalidArgument("method", f"{request.method} is not a method (ELO, BT)")
    ci = wire.REQUEST_CIS.get(request.ci)
    if ci is None:
        raise InvalidArgument("ci", f"{request.ci} is not a CI method (BOOTSTRAP, SANDWICH, CI_NONE)")
    if request.rounds > MAX_ROUNDS:
        raise InvalidArgument("rounds", f"{request.rounds} bootstrap rounds, the limit is {MAX_ROUNDS}")
    anchor_model = None
    if request.HasField("anchor"):
        if not request.anchor.model:
            raise InvalidArgument("anchor.model", "must not be empty")
        if not math.isfinite(request.anchor.rating):
            raise InvalidArgument("anchor.rating", f"{request.anchor.rating} is not a finite number")
        anchor_model = names.normalized(request.anchor.model)  # names are stored in NFC form
    ties = wire.REQUEST_TIES.get(request.ties)
    if ties is None:
        raise InvalidArgument("ties", f"{request.ties} is not a tie model (HALF, DAVIDSON, RAO_KUPPER)")
    cluster = wire.REQUEST_CLUSTERS.get(request.cluster)
    if cluster is None:
        raise InvalidArgument(
            "cluster", f"{request.cluster} is not a cluster (CLUSTER_NONE, CLUSTER_VOTER, CLUSTER_PROMPT)"
        )
    check_query(method, ci, request.rounds, anchor_model is not None, request.style_control, ties, cluster)
    return LeaderboardQuery(
        board=board,
        method=method,
        ci=ci,
        rounds=request.rounds,
        anchor_model=anchor_model,
        anchor_rating=request.anchor.rating if anchor_model is not None else 1000.0,
        category=category,
        style_control=request.style_control,
        ties=ties,
        cluster=cluster,
    )


def _board_and_category(request: pb.LeaderboardRequest) -> tuple[str, str]:
    """``board="text/coding"`` is the same view as ``board="text", category="coding"``."""
    board, sep, category = request.board.partition(SEPARATOR)
    if sep and request.category:
        raise InvalidArgument("category", f"given twice: in board {request.board!r} and as {request.category!r}")
    category = category if sep else request.category
    if sep and not category:
        raise InvalidArgument("board", f"{request.board!r} names no category after {SEPARATOR!r}")
    return resolve_board(board), names.normalized(category)


MAX_GAP_RANKS = 16


def listing_query_from_pb(request: pb.LeaderboardRequest) -> ListingQuery:
    query = query_from_pb(request)
    f = request.filters
    statuses = set()
    for i, status in enumerate(f.statuses):
        if status not in wire.STATUS_NAMES:
            raise InvalidArgument(
                f"filters.statuses[{i}]", f"{status} is not a status (ACTIVE, DEPRECATED, UNAVAILABLE)"
            )
        statuses.add(wire.STATUS_NAMES[status])
    filters = RowFilters(
        statuses=frozenset(statuses) or RowFilters().statuses,
        open_weights_only=f.open_weights_only,
        licenses=frozenset(f.licenses),
        organizations=frozenset(f.organizations),
        min_votes=f.min_votes,
        include_unlisted=f.include_unlisted,
    )
    if len(request.gap_ranks) > MAX_GAP_RANKS or any(k < 1 for k in request.gap_ranks):
        raise InvalidArgument("gap_ranks", f"at most {MAX_GAP_RANKS} ranks, each at least 1")
    return ListingQuery(
        query,
        filters,
        compare_to=_snapshot_ref(request, "compare_to"),
        as_of=_snapshot_ref(request, "as_of"),
        gap_ranks=tuple(request.gap_ranks) or DEFAULT_GAP_RANKS,
    )


def page_from_pb(request: pb.LeaderboardRequest) -> Page:
    return Page(limit=request.limit, offset=request.offset)


def _snapshot_ref(request: pb.LeaderboardRequest, field: str) -> SnapshotRef | None:
    if not request.HasField(field):
        return None
    ref: pb.SnapshotRef = getattr(request, field)
    which = ref.WhichOneof("ref")
    if which == "name" and ref.name:
        return SnapshotRef(name=ref.name)
    if which == "time" and math.isfinite(ref.time):
        return SnapshotRef(time=ref.time)
    raise InvalidArgument(field, "names no snapshot: give a name or a finite time")


def leaderboard_to_pb(shown: Listing) -> pb.Leaderboard:
    """The published leaderboard: rows with metadata, flags and deltas, and the summary."""
    result = shown.result
    s: Standings = result.standings
    summary = shown.summary
    rows = [
        pb.LeaderboardRow(
            rank=int(s.rank[i]),
            rank_ub=int(s.rank_ub[i]),
            model=result.models[i],
            rating=float(s.rating[i]),
            rating_lower=float(s.rating_lower[i]),
            rating_upper=float(s.rating_upper[i]),
            **row_tallies(s, i),
            preliminary=bool(shown.preliminary[i]),
            regularized=bool(s.regularized[i]),
            competitor=competitor_to_pb(shown.competitors[i]),
        )
        for i in range(len(s))
    ]
    board = pb.Leaderboard(
        board=result.board,
        method=wire.METHOD_CODES[result.method],
        as_of_seq=s.as_of_seq,
        total_votes=s.total_votes,
        rows=rows,
        bootstrap_rounds=s.bootstrap_rounds,
        ci=wire.CI_CODES[result.ci],
        log_likelihood=result.log_likelihood,
        category=shown.category,
        summary=pb.LeaderboardSummary(
            models_listed=summary.models_listed,
            models_hidden=summary.models_hidden,
            preliminary=summary.preliminary,
            total_votes=summary.total_votes,
            gaps=[pb.RatingGap(rank=k, gap=gap) for k, gap in summary.gaps],
            tied_with_leader=summary.tied_with_leader,
        ),
        total_rows=summary.models_listed,  # the listing's, also when shown holds one page of it
        scale=result.scale,
        base=result.base,
        as_of_time=result.as_of_time or 0.0,
        tie_model=result.tie_model,
        tie_parameter=result.tie_parameter,
        tie_parameter_lower=result.tie_parameter_lower,
        tie_parameter_upper=result.tie_parameter_upper,
        aic=result.aic,
        cluster=wire.CLUSTER_CODES[result.cluster],
    )
    for row, rank_delta, rating_delta in zip(board.rows, shown.rank_delta, shown.rating_delta):
        if rank_delta is not None:
            row.rank_delta, row.rating_delta = rank_delta, rating_delta
    for row, style_delta in zip(board.rows, shown.style_rank_delta):
        row.style_rank_delta = style_delta
    if result.style_control:
        board.style_control = True
        board.style_votes = result.style_votes
        board.style_coefficients.extend(
            pb.StyleCoefficient(name=c.name, value=c.value, lower=c.lower, upper=c.upper)
            for c in result.style_coefficients
        )
    if result.anchor is not None:
        board.anchor.model, board.anchor.rating = result.anchor
    if shown.compared_to is not None:
        board.compared_to.CopyFrom(snapshot_to_pb(shown.compared_to))
        board.compared_view_empty = shown.compared_view_empty
    if shown.as_of is not None:
        board.as_of.CopyFrom(snapshot_to_pb(shown.as_of))
    return board


def competitor_to_pb(info: CompetitorInfo) -> pb.Competitor:
    message = pb.Competitor(name=info.name, status=wire.STATUS_CODES[info.status], links=info.links)
    for key in ("display_name", "organization", "license"):
        if getattr(info, key):
            setattr(message, key, getattr(info, key))
    if info.open_weights is not None:
        message.open_weights = info.open_weights
    return message


def updates_from_pb(request: pb.UpsertCompetitorsRequest) -> list[CompetitorUpdate]:
    updates = []
    for i, c in enumerate(request.competitors):
        if c.status not in wire.STATUS_NAMES and c.status != pb.STATUS_UNSPECIFIED:
            raise InvalidArgument(
                f"competitors[{i}].status", f"{c.status} is not a status (ACTIVE, DEPRECATED, UNAVAILABLE)"
            )
        updates.append(
            CompetitorUpdate(
                name=c.name,
                display_name=c.display_name if c.HasField("display_name") else None,
                organization=c.organization if c.HasField("organization") else None,
                license=c.license if c.HasField("license") else None,
                open_weights=c.open_weights if c.HasField("open_weights") else None,
                status=wire.STATUS_NAMES.get(c.status),
                links=dict(c.links),
            )
        )
    return updates


def snapshot_to_pb(info: SnapshotInfo) -> pb.Snapshot:
    return pb.Snapshot(
        board=info.board, name=info.name, seq=info.seq, created=info.created, votes=info.votes, scheduled=info.scheduled
    )


def board_info_to_pb(info: BoardInfo) -> pb.BoardInfo:
    return pb.BoardInfo(
        name=info.name,
        votes=info.votes,
        competitors=info.competitors,
        last_seq=info.last_seq,
        categories=[
            pb.CategoryInfo(
                name=c.name, votes=c.votes, competitors=c.competitors, style_votes=c.style_votes, clusters=c.clusters
            )
            for c in info.categories
        ],
        snapshots=info.snapshots,
        preliminary_votes=info.thresholds.preliminary_votes,
        listed_min_votes=info.thresholds.listed_min_votes,
        memory=pb.Memory(
            replica_bytes=info.memory.replicas,
            cell_bytes=info.memory.cells,
            style_bytes=info.memory.style,
            total_bytes=info.memory.total,
        ),
        failure=info.failure,
        display_name=info.display_name,
        style_votes=info.style_votes,
        clusters=info.clusters,
        weighted=info.weighted,
    )


def board_list_to_pb(boards: BoardList) -> pb.BoardList:
    return pb.BoardList(
        boards=[board_info_to_pb(info) for info in boards.boards],
        memory_budget_bytes=boards.memory_budget_bytes,
        memory_used_bytes=boards.memory_used_bytes,
    )


def board_to_delete(request: pb.DeleteBoardRequest) -> str:
    """The board a DeleteBoard names: no default board here, naming it is part of the confirmation."""
    if not request.board:
        raise InvalidArgument("board", "name the board to delete (DeleteBoard has no default board)")
    return request.board


def deleted_board_to_pb(deleted: DeletedBoard) -> pb.DeletedBoard:
    return pb.DeletedBoard(board=deleted.board, votes=deleted.votes, snapshots=deleted.snapshots)


def matrix_to_pb(result: HeadToHeadMatrix) -> pb.HeadToHeadMatrix:
    return pb.HeadToHeadMatrix(
        board=result.board,
        category=result.category,
        models=result.models,
        battles=result.battles.ravel().tolist(),
        empirical_win_rate=result.empirical_win_rate.ravel().tolist(),
        predicted_win_probability=result.predicted_win_probability.ravel().tolist(),
        as_of_seq=result.as_of_seq,
    )


def ballot_from_pb(message: pb.RankingBallot) -> RankingBallot:
    if message.HasField("timestamp") and not math.isfinite(message.timestamp):
        raise InvalidArgument("timestamp", f"{message.timestamp} is not a finite number")
    return RankingBallot(
        board=resolve_board(message.board),
        ballot_id=message.ballot_id,
        ranking=[(entry.model, entry.place) for entry in message.ranking],
        timestamp=message.timestamp if message.HasField("timestamp") else math.nan,
        voter_id=message.voter_id,
        tags=list(message.tags),
    )


def head_to_head_to_pb(result: HeadToHead) -> pb.HeadToHead:
    wins_a, wins_b, ties, both_bad = result.counts
    votes = wins_a + wins_b + ties + both_bad
    return pb.HeadToHead(
        board=result.board,
        model_a=result.model_a,
        model_b=result.model_b,
        votes=votes,
        wins_a=wins_a,
        wins_b=wins_b,
        ties=ties + both_bad,
        ties_both_bad=both_bad,
        empirical_win_rate=(wins_a + TIE_SCORE * (ties + both_bad)) / votes if votes else 0.0,
        predicted_win_probability=result.predicted_win_probability,
        as_of_seq=result.as_of_seq,
    )


# ------------------------------------------------------------------------------------------ audits


def audit_request_from_pb(request: pb.AuditRequest) -> tuple[str, str, AuditOptions]:
    """The view (board, category: as a leaderboard's) and the options of an AuditRequest (0: the defaults)."""
    board, category = _board_and_category(request)  # an AuditRequest names its view as a LeaderboardRequest does
    options = AuditOptions(
        alpha=request.alpha or DEFAULT_ALPHA,
        min_pair_votes=request.min_pair_votes or DEFAULT_MIN_PAIR_VOTES,
        max_cycles=request.max_cycles or DEFAULT_MAX_CYCLES,
        voter_alpha=request.voter_alpha or DEFAULT_VOTER_ALPHA,
        voter_beta=request.voter_beta or DEFAULT_VOTER_BETA,
    )
    options.check()
    return board, category, options


def audit_to_pb(result: Audit) -> pb.Audit:
    bias, cycles, voters = result.position_bias, result.intransitivity, result.voters
    return pb.Audit(
        board=result.board,
        category=result.category,
        as_of_seq=result.as_of_seq,
        votes=result.votes,
        alpha=result.options.alpha,
        voter_alpha=result.options.voter_alpha,
        voter_beta=result.options.voter_beta,
        min_pair_votes=result.options.min_pair_votes,
        position_bias=pb.PositionBias(
            decisive_votes=bias.decisive_votes,
            wins_a=bias.wins_a,
            ties=bias.ties,
            win_rate_a=bias.win_rate_a,
            lower=bias.lower,
            upper=bias.upper,
            flagged=bias.flagged,
        ),
        intransitivity=pb.Intransitivity(
            pairs_tested=cycles.pairs_tested,
            triads_tested=cycles.triads_tested,
            edge_level=cycles.edge_level,
            cycles=cycles.cycles,
            top=[
                pb.Cycle(models=c.models, win_rates=c.win_rates, votes=c.votes, p_value=c.p_value) for c in cycles.top
            ],
        ),
        ties=[
            pb.ModelTies(
                model=t.model,
                votes=t.votes,
                ties=t.ties,
                ties_both_bad=t.ties_both_bad,
                tie_rate=t.tie_rate,
                both_bad_rate=t.both_bad_rate,
            )
            for t in result.ties
        ],
        voters=pb.VoterAudit(
            voters=voters.voters,
            votes_without_voter=voters.votes_without_voter,
            upper_threshold=voters.upper_threshold,
            lower_threshold=voters.lower_threshold,
            flagged=voters.flagged,
            cleared=voters.cleared,
            undecided=voters.undecided,
            flagged_voters=[
                pb.FlaggedVoter(voter_id=f.voter_id, statistic=f.statistic, votes=f.votes, votes_tested=f.votes_tested)
                for f in voters.flagged_voters
            ],
        ),
    )


# ------------------------------------------------------------------------ SuggestPairs


def suggest_query_from_pb(request: pb.SuggestPairsRequest) -> SuggestQuery:
    """Zeros take the defaults (SuggestQuery checks the ranges); board "text/coding" names a view."""
    board, category = _board_and_category(request)  # its board and category fields, as a LeaderboardRequest
    unspecified = request.objective == pb.OBJECTIVE_UNSPECIFIED
    objective = DEFAULT_OBJECTIVE if unspecified else wire.OBJECTIVE_NAMES.get(request.objective)
    if objective is None:
        raise InvalidArgument("objective", f"{request.objective} is not an objective (TOP_K, CI_WIDTH, PLACEMENT)")
    return SuggestQuery(
        board=board,
        category=category,
        n=request.n or DEFAULT_PAIRS,
        objective=objective,
        k=request.k or DEFAULT_TOP_K,
        model=names.normalized(request.model) if request.model else "",  # names are stored in NFC form
        horizon=request.horizon or DEFAULT_HORIZON,
    )


def suggestions_to_pb(result: PairSuggestions) -> pb.SuggestPairsResponse:
    return pb.SuggestPairsResponse(
        pairs=[pb.SuggestedPair(model_a=p.model_a, model_b=p.model_b, weight=p.weight) for p in result.pairs],
        board=result.board,
        category=result.category,
        objective=wire.OBJECTIVE_CODES[result.objective],
        as_of_seq=result.as_of_seq,
    )
