"""Voter and vote-quality audits of one view's votes (GetAudit, ``arena-ratings audit``).

Four checks, each on the view's votes in seq (file) order:

- position bias: side A's share of the decisive votes (ties excluded), with a Wilson interval at
  level ``1 - alpha``; flagged when the interval excludes 1/2. Assumes sides are assigned at random.
- intransitivity: triads whose empirical win rates form a cycle. A pair is tested when it has at least
  ``min_pair_votes`` decisive votes; its edge points to the winner and carries the exact one-sided
  binomial p-value of "no better than 1/2". A triad is a cycle when all three edges around it are
  significant at ``alpha / T`` (T: triads whose three pairs are tested): an intersection-union test
  per triad (level alpha with no correction for the three edges), Bonferroni over the T triads, so
  the chance of any false cycle is at most alpha. Cost: O(votes) to count the pairs, O(E^1.5) to count
  the T triangles of the E tested pairs, and cycles are searched among the significant edges only.
- ties by model: ties (both kinds) / votes, and both-bad ties / votes, per model.
- outlier voters (LMArena's test): a sequential probability ratio test per voter, in the voter's vote
  order, of H0 "the voter's outcomes follow the board's Bradley–Terry fit" against H1 "the voter picks
  the fit's loser with the fit's winning probability" (an adversarial voter). Each decisive vote adds
  log(P1/P0) = ±logit(p) to the voter's statistic; ties add nothing. The test stops at the first
  crossing of log((1 - beta) / voter_alpha) (flagged) or log(beta / (1 - voter_alpha)) (cleared);
  between them the voter is undecided. Under H0 the likelihood ratio is a martingale, so by Ville's
  inequality an honest voter is flagged with probability at most voter_alpha / (1 - beta), per voter:
  with V voters about V * voter_alpha false flags are expected. The fit is the board's own (votes of
  flagged voters included), so a large adversarial group weakens the test. Cost: one BT fit, O(votes).

Pure numpy (the fit is ``engine.bt``'s): the service runs it on the votes read back from its log, the
offline command on a file's votes, so both give the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from engine.outcomes import Outcome

DEFAULT_ALPHA = 0.05
DEFAULT_MIN_PAIR_VOTES = 30
DEFAULT_MAX_CYCLES = 20
DEFAULT_VOTER_ALPHA = 0.01
DEFAULT_VOTER_BETA = 0.05
MAX_LISTED_VOTERS = 10_000  # flagged voters listed (the count covers all)
_P_FLOOR = 1e-9  # fitted probabilities are clipped to [floor, 1 - floor]: a logit stays finite


@dataclass(frozen=True)
class AuditOptions:
    alpha: float = DEFAULT_ALPHA  # position bias and intransitivity
    min_pair_votes: int = DEFAULT_MIN_PAIR_VOTES  # decisive votes a pair needs to be tested
    max_cycles: int = DEFAULT_MAX_CYCLES  # cycles listed (the strongest; the count covers all)
    voter_alpha: float = DEFAULT_VOTER_ALPHA  # per-voter false-flag level of the SPRT
    voter_beta: float = DEFAULT_VOTER_BETA  # per-voter miss level against a fully adversarial voter

    def check(self) -> None:
        from server.domain.errors import InvalidArgument

        for name in ("alpha", "voter_alpha", "voter_beta"):
            value = getattr(self, name)
            if not 0 < value < 0.5:
                raise InvalidArgument(name, f"{value} is not in (0, 0.5)")
        if self.min_pair_votes < 1:
            raise InvalidArgument("min_pair_votes", "must be at least 1")


@dataclass(frozen=True)
class AuditVotes:
    """A view's votes: ``model_a[i]`` indexes ``names``; ``voter_id`` one per vote ("" for none)."""

    names: list[str]
    model_a: NDArray[np.int64]
    model_b: NDArray[np.int64]
    outcome: NDArray[np.int64]
    voter_id: list[str]

    def __len__(self) -> int:
        return int(self.outcome.shape[0])


@dataclass(frozen=True)
class PositionBias:
    decisive_votes: int
    wins_a: int
    ties: int  # excluded from the rate
    win_rate_a: float  # wins_a / decisive_votes (NaN when none)
    lower: float
    upper: float
    flagged: bool  # the interval excludes 1/2


@dataclass(frozen=True)
class Cycle:
    models: tuple[str, str, str]  # models[0] beats models[1] beats models[2] beats models[0]
    win_rates: tuple[float, float, float]  # of each edge's winner, decisive votes only
    votes: tuple[int, int, int]  # decisive votes of each edge
    p_value: float  # the largest of the three one-sided p-values (compare with edge_level)


@dataclass(frozen=True)
class Intransitivity:
    pairs_tested: int
    triads_tested: int
    edge_level: float  # alpha / triads_tested
    cycles: int
    top: list[Cycle]  # strongest first: by the smallest win rate around the cycle


@dataclass(frozen=True)
class ModelTies:
    model: str
    votes: int
    ties: int  # both kinds
    ties_both_bad: int  # of which both-bad
    tie_rate: float  # ties / votes
    both_bad_rate: float  # ties_both_bad / votes


@dataclass(frozen=True)
class FlaggedVoter:
    voter_id: str
    statistic: float  # the log-likelihood ratio when it crossed the upper threshold
    votes: int  # the voter's votes in the view
    votes_tested: int  # decisive votes read until the crossing


@dataclass(frozen=True)
class VoterAudit:
    voters: int
    votes_without_voter: int
    upper_threshold: float
    lower_threshold: float
    flagged: int
    cleared: int
    undecided: int
    flagged_voters: list[FlaggedVoter]  # by statistic, largest first (at most MAX_LISTED_VOTERS)


@dataclass(frozen=True)
class Audit:
    board: str
    category: str
    as_of_seq: int
    votes: int
    options: AuditOptions
    position_bias: PositionBias
    intransitivity: Intransitivity
    ties: list[ModelTies]  # by model name
    voters: VoterAudit


def audit(votes: AuditVotes, board: str, category: str, as_of_seq: int, options: AuditOptions | None = None) -> Audit:
    """Every check on ``votes``."""
    options = options or AuditOptions()
    options.check()
    if len(votes) == 0:
        raise ValueError("no votes to audit")
    # dense model indices: the fit and the pair counts work on the models that have votes
    used, dense = np.unique(np.concatenate([votes.model_a, votes.model_b]), return_inverse=True)
    n = len(votes)
    a, b = dense[:n].astype(np.int64), dense[n:].astype(np.int64)
    names = [votes.names[i] for i in used.tolist()]
    outcome = np.asarray(votes.outcome, dtype=np.int64)
    return Audit(
        board, category, as_of_seq, n, options,
        position_bias(outcome, options.alpha),
        intransitivity(names, a, b, outcome, options),
        ties_by_model(names, a, b, outcome),
        outlier_voters(names, a, b, outcome, votes.voter_id, options),
    )  # fmt: skip


# ------------------------------------------------------------------------------------ position bias


def position_bias(outcome: NDArray[np.int64], alpha: float) -> PositionBias:
    wins_a = int((outcome == Outcome.A_WINS).sum())
    wins_b = int((outcome == Outcome.B_WINS).sum())
    decisive = wins_a + wins_b
    if decisive == 0:
        nan = float("nan")
        return PositionBias(0, 0, len(outcome), nan, nan, nan, False)
    lower, upper = wilson(wins_a, decisive, alpha)
    return PositionBias(
        decisive, wins_a, len(outcome) - decisive, wins_a / decisive, lower, upper, not lower <= 0.5 <= upper
    )


def wilson(successes: int, trials: int, alpha: float) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion at level 1 - alpha."""
    z = NormalDist().inv_cdf(1 - alpha / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


# ---------------------------------------------------------------------------------- intransitivity


def binomial_upper_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2), exactly (in log space)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    i = np.arange(1, n + 1, dtype=np.float64)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log(n - i + 1) - np.log(i))])  # log C(n, j), j = 0..n
    tail = log_choose[k:]
    top = tail.max()
    return float(min(1.0, math.exp(top + math.log(np.exp(tail - top).sum()) - n * math.log(2.0))))


def _pair_wins(m: int, a: NDArray[np.int64], b: NDArray[np.int64], outcome: NDArray[np.int64]):
    """Decisive wins per unordered pair: (lo, hi, wins of lo, wins of hi), pairs with any decisive vote."""
    decisive = (outcome == Outcome.A_WINS) | (outcome == Outcome.B_WINS)
    a, b, won_a = a[decisive], b[decisive], outcome[decisive] == Outcome.A_WINS
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    lo_won = np.where(a == lo, won_a, ~won_a)
    key = lo * m + hi
    keys, inverse = np.unique(key, return_inverse=True)
    wins_lo = np.bincount(inverse, weights=lo_won, minlength=len(keys)).astype(np.int64)
    total = np.bincount(inverse, minlength=len(keys)).astype(np.int64)
    return keys // m, keys % m, wins_lo, total - wins_lo


def _count_triangles(neighbours: list[set[int]]) -> int:
    """Triangles of an undirected graph, each counted once (edges oriented from lower to higher degree)."""
    rank = sorted(range(len(neighbours)), key=lambda v: (len(neighbours[v]), v))
    order = {v: r for r, v in enumerate(rank)}
    forward = [{u for u in neighbours[v] if order[u] > order[v]} for v in range(len(neighbours))]
    return sum(len(forward[v] & forward[u]) for v in range(len(neighbours)) for u in forward[v])


def intransitivity(
    names: list[str], a: NDArray[np.int64], b: NDArray[np.int64], outcome: NDArray[np.int64], options: AuditOptions
) -> Intransitivity:
    m = len(names)
    lo, hi, wins_lo, wins_hi = _pair_wins(m, a, b, outcome)
    tested = (wins_lo + wins_hi) >= options.min_pair_votes
    lo, hi, wins_lo, wins_hi = lo[tested], hi[tested], wins_lo[tested], wins_hi[tested]
    neighbours: list[set[int]] = [set() for _ in range(m)]
    for u, v in zip(lo.tolist(), hi.tolist()):
        neighbours[u].add(v)
        neighbours[v].add(u)
    triads = _count_triangles(neighbours)
    if triads == 0:
        return Intransitivity(len(lo), 0, 0.0, 0, [])
    level = options.alpha / triads
    # significant directed edges winner -> loser: (p-value, win rate, votes)
    beats: dict[int, dict[int, tuple[float, float, int]]] = {}
    for u, v, wu, wv in zip(lo.tolist(), hi.tolist(), wins_lo.tolist(), wins_hi.tolist()):
        if wu == wv:
            continue
        winner, loser, w = (u, v, wu) if wu > wv else (v, u, wv)
        p = binomial_upper_tail(w, wu + wv)
        if p <= level:
            beats.setdefault(winner, {})[loser] = (p, w / (wu + wv), wu + wv)
    beaten_by: dict[int, set[int]] = {}
    for winner, losers in beats.items():
        for loser in losers:
            beaten_by.setdefault(loser, set()).add(winner)
    cycles = []
    for x, out_x in beats.items():
        into_x = beaten_by.get(x, set())
        for y in out_x:
            # z with y -> z -> x: one set intersection (in C) per significant edge
            for z in beats.get(y, {}).keys() & into_x:
                if x < y and x < z:  # each cycle once, from its lowest index
                    edges = (out_x[y], beats[y][z], beats[z][x])
                    cycles.append(Cycle(
                        (names[x], names[y], names[z]), tuple(e[1] for e in edges),  # type: ignore[arg-type]
                        tuple(e[2] for e in edges), max(e[0] for e in edges),  # type: ignore[arg-type]
                    ))  # fmt: skip
    cycles.sort(key=lambda c: (-min(c.win_rates), c.models))
    return Intransitivity(len(lo), triads, level, len(cycles), cycles[: options.max_cycles])


# ------------------------------------------------------------------------------------ ties by model


def ties_by_model(
    names: list[str], a: NDArray[np.int64], b: NDArray[np.int64], outcome: NDArray[np.int64]
) -> list[ModelTies]:
    m = len(names)
    both = np.concatenate([a, b])
    twice = np.concatenate([outcome, outcome])
    votes = np.bincount(both, minlength=m)
    ties = np.bincount(both, weights=(twice == Outcome.TIE) | (twice == Outcome.TIE_BOTH_BAD), minlength=m)
    both_bad = np.bincount(both, weights=twice == Outcome.TIE_BOTH_BAD, minlength=m)
    rows = [
        ModelTies(names[i], int(votes[i]), int(ties[i]), int(both_bad[i]), ties[i] / votes[i], both_bad[i] / votes[i])
        for i in range(m)
    ]
    return sorted(rows, key=lambda row: row.model)


# ----------------------------------------------------------------------------------- outlier voters


def fitted_theta(m: int, a: NDArray[np.int64], b: NDArray[np.int64], outcome: NDArray[np.int64]) -> NDArray:
    """The Bradley–Terry fit of the votes (the service's default settings), on the natural scale."""
    from engine.bt import fit
    from engine.cells import CellTable

    table = CellTable.from_votes(m, a.astype(np.int32), b.astype(np.int32), outcome.astype(np.int8))
    return fit(table).theta


def sprt_increments(theta: NDArray, a: NDArray[np.int64], b: NDArray[np.int64], outcome: NDArray[np.int64]):
    """Per vote: log P1/P0 of its outcome (H1 the flipped fit), and whether it is decisive."""
    p = np.clip(1.0 / (1.0 + np.exp(theta[b] - theta[a])), _P_FLOOR, 1 - _P_FLOOR)
    logit = np.log(p) - np.log1p(-p)
    step = np.where(outcome == Outcome.A_WINS, -logit, np.where(outcome == Outcome.B_WINS, logit, 0.0))
    return step, (outcome == Outcome.A_WINS) | (outcome == Outcome.B_WINS)


def outlier_voters(
    names: list[str],
    a: NDArray[np.int64],
    b: NDArray[np.int64],
    outcome: NDArray[np.int64],
    voter_id: list[str],
    options: AuditOptions,
) -> VoterAudit:
    upper = math.log((1 - options.voter_beta) / options.voter_alpha)
    lower = math.log(options.voter_beta / (1 - options.voter_alpha))
    if not voter_id or not any(voter_id):
        return VoterAudit(0, len(outcome), upper, lower, 0, 0, 0, [])
    # voters interned in order of first vote (a dict: np.unique sorts strings, 2 s for a million votes)
    index: dict[str, int] = {}
    voter_of = np.fromiter((index.setdefault(v, len(index)) if v else -1 for v in voter_id), np.int64, len(voter_id))
    has_voter = voter_of >= 0
    ids = np.asarray(list(index), dtype=object)
    voter = voter_of[has_voter]
    theta = fitted_theta(len(names), a, b, outcome)
    step, decisive = sprt_increments(theta, a, b, outcome)
    step, decisive = step[has_voter], decisive[has_voter]
    order = np.argsort(voter, kind="stable")  # each voter's votes together, in seq order
    voter, step, decisive = voter[order], step[order], decisive[order]
    counts = np.bincount(voter, minlength=len(ids))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    total = np.cumsum(step)
    llr = total - np.repeat(total[starts] - step[starts], counts)  # cumulative within each voter
    tested = np.cumsum(decisive)
    tested = tested - np.repeat(tested[starts] - decisive[starts], counts)
    never = len(step)
    position = np.arange(len(step))
    first_up = np.minimum.reduceat(np.where(llr >= upper, position, never), starts)
    first_down = np.minimum.reduceat(np.where(llr <= lower, position, never), starts)
    flagged = first_up < first_down
    cleared = first_down < first_up
    found = [
        FlaggedVoter(str(ids[v]), float(llr[first_up[v]]), int(counts[v]), int(tested[first_up[v]]))
        for v in np.flatnonzero(flagged).tolist()
    ]
    found.sort(key=lambda f: (-f.statistic, f.voter_id))
    return VoterAudit(
        len(ids), int((~has_voter).sum()), upper, lower, int(flagged.sum()), int(cleared.sum()),
        int(len(ids) - flagged.sum() - cleared.sum()), found[:MAX_LISTED_VOTERS],
    )  # fmt: skip
