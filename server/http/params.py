"""Query strings and JSON bodies read into the RPCs' protobuf requests.

The leaderboard's query parameters are ``LeaderboardRequest``'s fields, flattened: the row filters by
their own names (``status``, ``license`` and ``organization`` repeat), a snapshot by ``compare_to``
(its name) or ``compare_to_time`` (Unix seconds), likewise ``as_of``; ``anchor`` and ``anchor_rating``.
FastAPI checks their types (a 400 naming the parameter otherwise) and lists them in /openapi.json;
what a value means is checked where gRPC checks it, by the servicer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Query
from google.protobuf import json_format

from server.client.ratings_client import leaderboard_request
from server.domain.errors import InvalidArgument, Status
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc import wire

from .errors import HttpError

UINT32 = 2**32 - 1
INT64 = 2**63 - 1

Uint32 = Annotated[int, Query(ge=0, le=UINT32)]
Count = Annotated[int, Query(ge=0, le=INT64)]


@dataclass(frozen=True)
class LeaderboardParams:
    category: str = ""
    method: Literal["bt", "elo"] = "bt"
    ci: Literal["bootstrap", "sandwich", "none"] = "bootstrap"
    rounds: int = 0
    anchor: str | None = None
    anchor_rating: float = 1000.0
    style_control: bool = False
    ties: Literal["half", "davidson", "rao-kupper"] = "half"
    status: list[str] = field(default_factory=list)
    open_weights_only: bool = False
    license: list[str] = field(default_factory=list)
    organization: list[str] = field(default_factory=list)
    min_votes: int = 0
    include_unlisted: bool = False
    compare_to: str | None = None
    compare_to_time: float | None = None
    as_of: str | None = None
    as_of_time: float | None = None
    gap_ranks: list[int] = field(default_factory=list)
    min_seq: int = 0
    limit: int = 0
    offset: int = 0
    cluster: Literal["none", "voter", "prompt"] = "none"

    def request(self, board: str) -> pb.LeaderboardRequest:
        return leaderboard_request(
            board,
            method=self.method,
            min_seq=self.min_seq,
            ci=self.ci,
            rounds=self.rounds,
            anchor=None if self.anchor is None else (self.anchor, self.anchor_rating),
            category=self.category,
            filters=wire.row_filters_to_pb(
                statuses=self.status,
                open_weights_only=self.open_weights_only,
                licenses=self.license,
                organizations=self.organization,
                min_votes=self.min_votes,
                include_unlisted=self.include_unlisted,
            ),
            compare_to=_snapshot("compare_to", self.compare_to, self.compare_to_time),
            as_of=_snapshot("as_of", self.as_of, self.as_of_time),
            gap_ranks=self.gap_ranks,
            style_control=self.style_control,
            ties=self.ties,
            limit=self.limit,
            offset=self.offset,
            cluster=self.cluster,
        )


def leaderboard_params(
    category: str = "",
    method: Literal["bt", "elo"] = "bt",
    ci: Literal["bootstrap", "sandwich", "none"] = "bootstrap",
    rounds: Annotated[int, Query(ge=0, le=UINT32, description="BT bootstrap rounds; 0: 1000")] = 0,
    anchor: Annotated[str | None, Query(description="pin this model's rating (BT)")] = None,
    anchor_rating: float = 1000.0,
    style_control: bool = False,
    ties: Annotated[
        Literal["half", "davidson", "rao-kupper"], Query(description="BT's tie model (half: half a win each)")
    ] = "half",
    status: Annotated[list[Literal["active", "deprecated", "unavailable"]], Query(max_length=3)] = [],  # noqa: B006
    open_weights_only: bool = False,
    license: Annotated[list[str], Query(max_length=64)] = [],  # noqa: B006 - FastAPI copies defaults
    organization: Annotated[list[str], Query(max_length=64)] = [],  # noqa: B006
    min_votes: Count = 0,
    include_unlisted: bool = False,
    compare_to: Annotated[str | None, Query(description="a snapshot's name")] = None,
    compare_to_time: Annotated[float | None, Query(description="the newest snapshot at or before (Unix s)")] = None,
    as_of: str | None = None,
    as_of_time: float | None = None,
    gap_ranks: Annotated[list[Annotated[int, Query(ge=1, le=UINT32)]], Query(max_length=16)] = [],  # noqa: B006
    min_seq: Annotated[int, Query(ge=0, le=INT64, description="wait until the standings cover this seq")] = 0,
    limit: Count = 0,
    offset: Count = 0,
    cluster: Annotated[
        Literal["none", "voter", "prompt"], Query(description="BT bootstrap by voter or prompt clusters")
    ] = "none",
) -> LeaderboardParams:
    """The leaderboard's query parameters (LeaderboardRequest's fields)."""
    return LeaderboardParams(
        category, method, ci, rounds, anchor, anchor_rating, style_control, ties, list(status), open_weights_only,
        license, organization, min_votes, include_unlisted, compare_to, compare_to_time, as_of, as_of_time,
        gap_ranks, min_seq, limit, offset, cluster,
    )  # fmt: skip


def _snapshot(name: str, by_name: str | None, by_time: float | None) -> str | float | None:
    if by_name is not None and by_time is not None:
        raise HttpError(Status("INVALID_ARGUMENT", f"{name}: give {name} (a name) or {name}_time, not both"))
    return by_name if by_name is not None else by_time


# --- JSON bodies ------------------------------------------------------------------------------------

_WHERE = re.compile(r"at (?:\w+\.)?([\w\[\]\.]+)\.?$")


def parse_body(raw: bytes, message, what: str):
    """``raw`` (JSON) read into ``message`` by protobuf's JSON mapping (field names as in the proto, in
    snake_case or lowerCamelCase; enums by name or number). A malformed body is INVALID_ARGUMENT naming
    where it went wrong (``votes[3].outcome``)."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError; nesting past the stack
        raise _invalid("body", f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise _invalid("body", f"{what} must be a JSON object, not {type(document).__name__}")
    try:
        json_format.ParseDict(document, message)
    except json_format.ParseError as exc:
        text = str(exc).splitlines()[0]
        found = _WHERE.search(text.rstrip("."))
        raise _invalid(found.group(1) if found else "body", text) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise _invalid("body", str(exc)) from exc
    return message


def _invalid(where: str, message: str) -> HttpError:
    error = InvalidArgument(where, message)
    return HttpError(Status("INVALID_ARGUMENT", str(error)))
