"""The wire's vocabulary, defined once for the server, the client and the command line.

Each enum of protos/arena_ratings/v1/ratings.proto against the names the rest of the code uses:

- ``Method``: "bt" and "elo" (``engine.config.METHODS``); in a request METHOD_UNSPECIFIED means BT.
- ``CIMethod``: "bootstrap", "sandwich" and "none" (``engine.config.CI_METHODS``); unspecified
  means BOOTSTRAP.
- ``CompetitorStatus``: "active", "deprecated" and "unavailable" (``server.domain.competitors``);
  STATUS_UNSPECIFIED reads as active (in an upsert: leave the status as it is).
- ``Outcome``: the wire's codes are ``engine.outcomes.Outcome``'s values (tests/test_protos.py
  checks), so vote columns carry them unchanged.

Also the messages a client builds from domain values (vote batches, replay filters, competitor
updates, ballots, row filters) and ``leaderboard_from_pb``, which reads a received leaderboard into
the domain's ``PublishedLeaderboard``. The service's own conversions are ``server.rpc.convert``.

Imports protobuf and light domain modules only (numpy when a batch is encoded): a client that
imports this pays for neither numba, polars nor matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from server.domain.competitors import CompetitorInfo
from server.domain.published import (
    Anchor,
    PublishedLeaderboard,
    PublishedRow,
    PublishedSummary,
    SnapshotMark,
    StyleCoefficient,
    has_interval,
    tie_fields,
)
from server.proto.arena_ratings.v1 import ratings_pb2 as pb

if TYPE_CHECKING:
    from server.domain.ballots import RankingBallot
    from server.domain.competitors import CompetitorUpdate
    from server.domain.filters import VoteFilters
    from server.domain.votes import VoteBatch

# Keyed by int: a received message's enum fields may hold any code, including ones this build does
# not know (the generated stubs type them as the enum class; at run time they are plain ints).
METHOD_CODES = {"bt": pb.BT, "elo": pb.ELO}
METHOD_NAMES: dict[int, str] = {code: name for name, code in METHOD_CODES.items()}
REQUEST_METHODS: dict[int, str] = {pb.METHOD_UNSPECIFIED: "bt", **METHOD_NAMES}  # what a request's method asks for

TIES_CODES = {"half": pb.HALF, "davidson": pb.DAVIDSON, "rao-kupper": pb.RAO_KUPPER}
TIES_NAMES: dict[int, str] = {code: name for name, code in TIES_CODES.items()}
REQUEST_TIES: dict[int, str] = {pb.TIES_UNSPECIFIED: "half", **TIES_NAMES}
CI_CODES = {"bootstrap": pb.BOOTSTRAP, "sandwich": pb.SANDWICH, "none": pb.CI_NONE}
CI_NAMES: dict[int, str] = {code: name for name, code in CI_CODES.items()}
REQUEST_CIS: dict[int, str] = {pb.CI_UNSPECIFIED: "bootstrap", **CI_NAMES}
CLUSTER_CODES = {"none": pb.CLUSTER_NONE, "voter": pb.CLUSTER_VOTER, "prompt": pb.CLUSTER_PROMPT}
CLUSTER_NAMES: dict[int, str] = {code: name for name, code in CLUSTER_CODES.items()}
REQUEST_CLUSTERS: dict[int, str] = {pb.CLUSTER_UNSPECIFIED: "none", **CLUSTER_NAMES}

STATUS_CODES = {"active": pb.ACTIVE, "deprecated": pb.DEPRECATED, "unavailable": pb.UNAVAILABLE}
STATUS_NAMES: dict[int, str] = {code: name for name, code in STATUS_CODES.items()}

OBJECTIVE_CODES = {"top_k": pb.TOP_K, "ci_width": pb.CI_WIDTH, "placement": pb.PLACEMENT}  # SuggestPairs
OBJECTIVE_NAMES: dict[int, str] = {code: name for name, code in OBJECTIVE_CODES.items()}


def method_code(method: str | int) -> pb.Method:
    """A method by name ("bt", "elo") or already a wire code (an int: the enum's values are ints)."""
    return METHOD_CODES[method] if isinstance(method, str) else cast("pb.Method", method)


def ci_code(ci: str | int) -> pb.CIMethod:
    """A CI method by name ("bootstrap", "sandwich", "none") or already a wire code."""
    return CI_CODES[ci] if isinstance(ci, str) else cast("pb.CIMethod", ci)


def ties_code(ties: str | int) -> pb.BTTies:
    """A tie model by name ("half", "davidson", "rao-kupper") or already a wire code."""
    return TIES_CODES[ties] if isinstance(ties, str) else cast("pb.BTTies", ties)


def suggest_objective(objective: str | int) -> pb.SuggestObjective:
    """A SuggestPairs objective by name ("top_k", "ci_width", "placement"; "-" for "_") or already a wire code."""
    if isinstance(objective, str):
        return OBJECTIVE_CODES[objective.replace("-", "_")]
    return cast("pb.SuggestObjective", objective)


def cluster_code(cluster: str | int) -> pb.Cluster:
    """A bootstrap cluster by name ("none", "voter", "prompt") or already a wire code."""
    return CLUSTER_CODES[cluster] if isinstance(cluster, str) else cast("pb.Cluster", cluster)


def method_name(code: int) -> str:
    """A leaderboard's method as published: "bt", "elo" (another code: its enum name, lower case)."""
    return METHOD_NAMES.get(code) or pb.Method.Name(code).lower()


def ci_name(code: int) -> str:
    return REQUEST_CIS.get(code, "bootstrap")


def status_name(code: int) -> str:
    return STATUS_NAMES.get(code, "active")


# --- what a client sends -----------------------------------------------------------------------


def batch_to_pb(batch: VoteBatch, batch_id: int = 0) -> pb.VoteBatch:
    """The columnar wire form of a batch."""
    import numpy as np  # a VoteBatch holds numpy arrays: whoever has one has numpy loaded

    columns = pb.VoteColumns(
        names=batch.names,
        model_a=batch.model_a.tolist(),
        model_b=batch.model_b.tolist(),
        outcome=batch.outcome.tolist(),
        vote_id=batch.vote_id,
        voter_id=batch.voter_id,
        tag_count=batch.tag_count.tolist() if batch.tags else [],
        tags=batch.tags,
        anony=[] if batch.anony is None else batch.anony.tolist(),
        language=batch.language,
        style_features=batch.style_names,
        prompt_id=batch.prompt_id,
    )
    if batch.weight is not None:
        columns.weight.extend(batch.weight.tolist())
    if batch.style_names:
        f = len(batch.style_names)
        style = batch.style_values()
        columns.style_a.extend(style[:, :f].ravel().tolist())
        columns.style_b.extend(style[:, f:].ravel().tolist())
    if not np.isnan(batch.timestamp).all():
        columns.timestamp.extend(batch.timestamp.tolist())
    return pb.VoteBatch(board=batch.board, columns=columns, batch_id=batch_id)


def filters_to_pb(filters: VoteFilters) -> pb.ReplayFilters:
    message = pb.ReplayFilters(
        anony_only=filters.anony_only,
        exclude_models=sorted(filters.exclude_models),
        languages=sorted(filters.languages),
        drop_ties=filters.drop_ties,
        tags=sorted(filters.tags),
        dedupe=filters.dedupe,
        daily_cap=filters.daily_cap,
        exclude_voters=sorted(filters.exclude_voters),
    )
    if filters.since is not None:
        message.since = filters.since
    if filters.until is not None:
        message.until = filters.until
    return message


def update_to_pb(update: CompetitorUpdate) -> pb.Competitor:
    """The wire form of an upsert."""
    message = pb.Competitor(name=update.name, links=update.links)
    for key in ("display_name", "organization", "license", "open_weights"):
        if getattr(update, key) is not None:
            setattr(message, key, getattr(update, key))
    if update.status is not None:
        message.status = STATUS_CODES[update.status]
    return message


def ballot_to_pb(ballot: RankingBallot) -> pb.RankingBallot:
    """The wire form of a multi-way ballot (a NaN timestamp: not given)."""
    message = pb.RankingBallot(
        board=ballot.board,
        ballot_id=ballot.ballot_id,
        ranking=[pb.RankedCompetitor(model=m, place=p) for m, p in ballot.ranking],
        voter_id=ballot.voter_id,
        tags=ballot.tags,
    )
    if not math.isnan(ballot.timestamp):
        message.timestamp = ballot.timestamp
    return message


def row_filters_to_pb(
    statuses: Iterable[str] = (),
    open_weights_only: bool = False,
    licenses: Iterable[str] = (),
    organizations: Iterable[str] = (),
    min_votes: int = 0,
    include_unlisted: bool = False,
) -> pb.RowFilters:
    """Which rows a leaderboard lists (``server.domain.listing.RowFilters``); no statuses: active only."""
    return pb.RowFilters(
        statuses=[STATUS_CODES[s] for s in statuses],
        open_weights_only=open_weights_only,
        licenses=licenses,
        organizations=organizations,
        min_votes=min_votes,
        include_unlisted=include_unlisted,
    )


# --- what a client receives --------------------------------------------------------------------


def leaderboard_from_pb(message: pb.Leaderboard) -> PublishedLeaderboard:
    """A received leaderboard as the domain's published form (what exports and text formats take).

    With ``ci`` CI_NONE the rows' bounds and rank (UB), and the summary's ``tied_with_leader``, are None
    (the message's numbers are the rating and the rank: no interval was computed)."""
    s = message.summary
    ci = ci_name(message.ci)
    interval = has_interval(ci)
    return PublishedLeaderboard(
        board=message.board,
        method=method_name(message.method),
        ci=ci,
        as_of_seq=message.as_of_seq,
        total_votes=message.total_votes,
        rows=tuple(_row_from_pb(row, interval) for row in message.rows),
        bootstrap_rounds=message.bootstrap_rounds,
        anchor=Anchor(message.anchor.model, message.anchor.rating) if message.HasField("anchor") else None,
        log_likelihood=message.log_likelihood if message.method == pb.BT else None,
        category=message.category,
        summary=PublishedSummary(
            models_listed=s.models_listed,
            models_hidden=s.models_hidden,
            preliminary=s.preliminary,
            total_votes=s.total_votes,
            gaps=tuple((g.rank, g.gap) for g in s.gaps),
            tied_with_leader=s.tied_with_leader if interval else None,
        ),
        compared_to=_mark_from_pb(message, "compared_to"),
        compared_view_empty=message.compared_view_empty,
        as_of=_mark_from_pb(message, "as_of"),
        style_control=message.style_control,
        style_votes=message.style_votes,
        cluster=REQUEST_CLUSTERS.get(message.cluster, "none"),
        scale=message.scale,
        base=message.base,
        style_coefficients=tuple(
            StyleCoefficient(c.name, c.value, c.lower, c.upper) for c in message.style_coefficients
        ),
        total_rows=message.total_rows,
        as_of_time=message.as_of_time or None,
        **tie_fields(
            method_name(message.method), ci, message.tie_model, message.tie_parameter, message.tie_parameter_lower,
            message.tie_parameter_upper, message.aic,
        ),
    )


def _row_from_pb(row: pb.LeaderboardRow, interval: bool = True) -> PublishedRow:
    c = row.competitor
    return PublishedRow(
        rank=row.rank,
        rank_ub=row.rank_ub if interval else None,
        model=row.model,
        rating=row.rating,
        rating_lower=row.rating_lower if interval else None,
        rating_upper=row.rating_upper if interval else None,
        votes=row.votes,
        wins=row.wins,
        losses=row.losses,
        ties=row.ties,
        ties_both_bad=row.ties_both_bad,
        component=row.component,
        preliminary=row.preliminary,
        regularized=row.regularized,
        rank_delta=row.rank_delta if row.HasField("rank_delta") else None,
        rating_delta=row.rating_delta if row.HasField("rating_delta") else None,
        display_name=c.display_name,
        organization=c.organization,
        license=c.license,
        open_weights=c.open_weights if c.HasField("open_weights") else None,
        status=status_name(c.status),
        style_rank_delta=row.style_rank_delta if row.HasField("style_rank_delta") else None,
    )


def competitor_from_pb(message: pb.Competitor) -> CompetitorInfo:
    """A received competitor (``ListCompetitors``) as the domain's metadata: unset fields read as not known."""
    return CompetitorInfo(
        name=message.name,
        display_name=message.display_name,
        organization=message.organization,
        license=message.license,
        open_weights=message.open_weights if message.HasField("open_weights") else None,
        status=status_name(message.status),
        links=dict(message.links),
    )


def _mark_from_pb(message: pb.Leaderboard, field: str) -> SnapshotMark | None:
    if not message.HasField(field):
        return None
    snapshot = getattr(message, field)
    return SnapshotMark(name=snapshot.name, seq=snapshot.seq, created=snapshot.created, votes=snapshot.votes)


def message_dict(message) -> dict:
    """A response message as plain JSON values, by its proto field names: numbers stay numbers (protobuf's
    own JSON mapping quotes 64-bit integers), NaN becomes None, enums their names, an unset optional field
    None. What the CLI prints and the HTTP API returns for every message but the leaderboard (whose JSON
    is the published feed, ``server.files.export.feed``)."""
    return {field.name: _field_value(message, field) for field in message.DESCRIPTOR.fields}


def _field_value(message, field):
    value = getattr(message, field.name)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        return {key: _plain(item, value_field) for key, item in value.items()}
    if field.is_repeated:
        return [_plain(item, field) for item in value]
    if field.has_presence and not message.HasField(field.name):
        return None
    return _plain(value, field)


def _plain(value, field):
    if field.message_type is not None:
        return message_dict(value)
    if field.enum_type is not None:
        known = field.enum_type.values_by_number.get(value)
        return known.name if known is not None else value
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
