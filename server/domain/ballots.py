"""Multi-way ballots: a ranking of 3-8 competitors from one prompt, as pairwise votes.

The rule (the all-pairs decomposition Design Arena's four-model
tournaments produce): a ranking of n competitors becomes n(n-1)/2 votes,
one per pair. The better-placed competitor is model_a and the vote is
A_WINS; equal places make a TIE. Each vote counts as one ordinary vote, so
a four-way ballot weighs six pairwise votes.

Every vote carries the ballot's timestamp, voter and tags, and the vote id
``<ballot_id>#<i>.<j>``, where i < j are positions in the ballot's
canonical order (by place, then name). A retried ballot therefore yields
the same ids, however its entries are listed, and adds nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.outcomes import Outcome
from server.domain import names
from server.domain.errors import InvalidArgument
from server.domain.limits import Limits
from server.domain.votes import VoteBatch

MIN_COMPETITORS = 3
MAX_COMPETITORS = 8
_ID_SUFFIX_LENGTH = 6  # "#i.j" with one-digit positions, and room to spare


@dataclass(frozen=True)
class RankingBallot:
    board: str
    ballot_id: str
    ranking: list[tuple[str, int]]  # (model, place); 1 = best, equal places tie
    timestamp: float = math.nan  # NaN: the time the server receives it
    voter_id: str = ""
    tags: list[str] = field(default_factory=list)


def ballot_votes(ballot: RankingBallot, limits: Limits) -> VoteBatch:
    """The pairwise votes of a ballot, in canonical order; InvalidArgument names the bad entry."""
    ranked = sorted(_validated_ranking(ballot, limits), key=lambda entry: (entry[1], entry[0]))
    models = [model for model, _ in ranked]
    model_a, model_b, outcome, vote_id = [], [], [], []
    for i in range(len(ranked)):
        for j in range(i + 1, len(ranked)):
            model_a.append(i)
            model_b.append(j)
            outcome.append(Outcome.TIE if ranked[i][1] == ranked[j][1] else Outcome.A_WINS)
            vote_id.append(f"{ballot.ballot_id}#{i}.{j}")
    n = len(vote_id)
    return VoteBatch(
        board=ballot.board,
        vote_id=vote_id,
        names=models,
        model_a=np.array(model_a, dtype=np.int64),
        model_b=np.array(model_b, dtype=np.int64),
        outcome=np.array(outcome, dtype=np.int64),
        timestamp=np.full(n, ballot.timestamp, dtype=np.float64),
        voter_id=[ballot.voter_id] * n if ballot.voter_id else [],
        tag_count=np.full(n, len(ballot.tags), dtype=np.int64) if ballot.tags else np.zeros(0, dtype=np.int64),
        tags=list(ballot.tags) * n,
    )


def _validated_ranking(ballot: RankingBallot, limits: Limits) -> list[tuple[str, int]]:
    """The ballot's ranking with names in NFC form (server.domain.names), or InvalidArgument."""
    if not ballot.ballot_id:
        raise InvalidArgument("ballot_id", "must not be empty (it makes a retried ballot idempotent)")
    if len(ballot.ballot_id) > limits.max_name_length - _ID_SUFFIX_LENGTH:
        raise InvalidArgument(
            "ballot_id",
            f"is {len(ballot.ballot_id)} characters, the limit is {limits.max_name_length - _ID_SUFFIX_LENGTH}",
        )
    n = len(ballot.ranking)
    if not MIN_COMPETITORS <= n <= MAX_COMPETITORS:
        raise InvalidArgument(
            "ranking", f"ranks {n} competitors; a ballot ranks {MIN_COMPETITORS} to {MAX_COMPETITORS}"
        )
    seen: set[str] = set()
    ranking = [
        (names.checked(model, f"ranking[{i}].model", limits.max_name_length), place)
        for i, (model, place) in enumerate(ballot.ranking)
    ]
    for i, (model, place) in enumerate(ranking):
        if model in seen:
            raise InvalidArgument(f"ranking[{i}].model", f"{model!r} is ranked twice")
        seen.add(model)
        if place < 1:
            raise InvalidArgument(f"ranking[{i}].place", f"{place}: places start at 1 (the best)")
    if math.isinf(ballot.timestamp):
        raise InvalidArgument("timestamp", f"{ballot.timestamp} is not a finite number")
    return ranking
