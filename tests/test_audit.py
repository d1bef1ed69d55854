"""The audits (server.domain.audit, GetAudit, ``arena-ratings audit``): each check finds a planted effect and
stays within its level on boards where the effect is absent."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.outcomes import Outcome
from server.domain.audit import AuditOptions, AuditVotes, audit, binomial_upper_tail, position_bias, wilson

NULL_BOARDS = 100


def binomial_margin(level: float, trials: int) -> int:
    """Most false alarms expected among ``trials`` at ``level``: the mean plus three standard deviations."""
    return math.ceil(trials * level + 3 * math.sqrt(trials * level * (1 - level)))


def bt_votes(
    rng: np.random.Generator,
    strengths: np.ndarray,
    n: int,
    tie_rate: float = 0.1,
    a_bias: float = 0.0,
    voters: int = 0,
) -> AuditVotes:
    """``n`` votes between random pairs, sides at random, outcomes from Bradley–Terry (``strengths``
    natural-scale), a share of ties, and ``a_bias`` added to side A's logit."""
    m = len(strengths)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    p = 1 / (1 + np.exp(strengths[b] - strengths[a] - a_bias))
    outcome = np.where(rng.random(n) < p, Outcome.A_WINS, Outcome.B_WINS)
    tie = rng.random(n) < tie_rate
    outcome[tie] = np.where(rng.random(int(tie.sum())) < 0.3, Outcome.TIE_BOTH_BAD, Outcome.TIE)
    voter_id = [f"u{v}" for v in rng.integers(0, voters, n)] if voters else []
    return AuditVotes([f"m{i}" for i in range(m)], a, b, outcome.astype(np.int64), voter_id)


def joined(*parts: AuditVotes) -> AuditVotes:
    names = parts[0].names
    return AuditVotes(
        names,
        np.concatenate([p.model_a for p in parts]),
        np.concatenate([p.model_b for p in parts]),
        np.concatenate([p.outcome for p in parts]),
        [v for p in parts for v in p.voter_id],
    )


# ----------------------------------------------------------------------------------- statistics


def test_binomial_tail_and_wilson_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for k, n in [(0, 5), (3, 5), (5, 5), (60, 100), (700, 1200), (1, 1)]:
        assert binomial_upper_tail(k, n) == pytest.approx(stats.binom.sf(k - 1, n, 0.5), rel=1e-9, abs=1e-300)
    lower, upper = wilson(40, 100, 0.05)
    low, high = stats.binomtest(40, 100).proportion_ci(0.95, method="wilson")
    assert (lower, upper) == pytest.approx((low, high), rel=1e-9)


# --------------------------------------------------------------------------------- position bias


def test_position_bias_planted_is_flagged():
    rng = np.random.default_rng(1)
    votes = bt_votes(rng, rng.normal(0, 1, 20), 4000, a_bias=0.3)
    found = audit(votes, "b", "", 1).position_bias
    assert found.flagged and found.lower > 0.5
    assert found.decisive_votes + found.ties == 4000


def test_position_bias_null_false_alarms_within_level():
    rng = np.random.default_rng(2)
    alarms = 0
    for _ in range(NULL_BOARDS):
        votes = bt_votes(rng, rng.normal(0, 1, 10), 500)
        alarms += position_bias(votes.outcome, 0.05).flagged
    assert alarms <= binomial_margin(0.05, NULL_BOARDS)


# ---------------------------------------------------------------------------------- intransitivity


def rock_paper_scissors(rng: np.random.Generator, names: list[str], per_pair: int, rate: float) -> AuditVotes:
    """m0 beats m1, m1 beats m2, m2 beats m0, each with ``rate`` of their decisive votes."""
    a, b, outcome = [], [], []
    for winner, loser in [(0, 1), (1, 2), (2, 0)]:
        won = rng.random(per_pair) < rate
        swap = rng.random(per_pair) < 0.5  # sides at random
        a += np.where(swap, loser, winner).tolist()
        b += np.where(swap, winner, loser).tolist()
        a_won = won ^ swap
        outcome += np.where(a_won, Outcome.A_WINS, Outcome.B_WINS).tolist()
    return AuditVotes(names, np.array(a), np.array(b), np.array(outcome, dtype=np.int64), [])


def test_planted_rock_paper_scissors_triad_is_found():
    rng = np.random.default_rng(3)
    names = [f"m{i}" for i in range(12)]
    strengths = rng.normal(0, 1, 12)
    strengths[:3] = 0.0  # the background's votes among the three are even: the cycle is all of their edge
    background = bt_votes(rng, strengths, 20_000)
    votes = joined(background, rock_paper_scissors(rng, names, 300, 0.7))
    found = audit(votes, "b", "", 1).intransitivity
    assert found.cycles >= 1 and found.triads_tested > 0
    cycle = found.top[0]
    assert set(cycle.models) == {"m0", "m1", "m2"}
    assert cycle.p_value <= found.edge_level and min(cycle.win_rates) > 0.5
    # the cycle's order: each model beats the next
    assert cycle.models in [("m0", "m1", "m2"), ("m1", "m2", "m0"), ("m2", "m0", "m1")]


def test_no_cycles_on_bradley_terry_boards():
    rng = np.random.default_rng(4)
    alarms = 0
    for _ in range(NULL_BOARDS // 2):
        votes = bt_votes(rng, rng.normal(0, 0.3, 8), 3000)  # close strengths: many significant-looking edges
        alarms += audit(votes, "b", "", 1).intransitivity.cycles > 0
    assert alarms <= binomial_margin(0.05, NULL_BOARDS // 2)


def test_intransitivity_only_tests_pairs_with_enough_votes():
    rng = np.random.default_rng(5)
    names = [f"m{i}" for i in range(3)]
    votes = rock_paper_scissors(rng, names, 20, 0.9)  # under the default 30 decisive votes a pair
    found = audit(votes, "b", "", 1).intransitivity
    assert (found.pairs_tested, found.triads_tested, found.cycles) == (0, 0, 0)
    found = audit(votes, "b", "", 1, AuditOptions(min_pair_votes=10)).intransitivity
    assert (found.pairs_tested, found.triads_tested) == (3, 1) and found.cycles == 1


# ------------------------------------------------------------------------------------------- ties


def test_tie_rates_by_model_on_a_hand_made_board():
    A, B, T, X = Outcome.A_WINS, Outcome.B_WINS, Outcome.TIE, Outcome.TIE_BOTH_BAD
    votes = AuditVotes(
        ["x", "y", "z"],
        np.array([0, 0, 1, 2, 0, 1]),
        np.array([1, 2, 2, 0, 1, 0]),
        np.array([A, T, X, T, B, X], dtype=np.int64),
        [],
    )
    rows = {row.model: row for row in audit(votes, "b", "", 6).ties}
    # x: 5 votes (T, T, X with y... ) -> votes 0-1 A, 0-2 T, 2-0 T, 0-1 B, 1-0 X: 5 votes, 3 ties, 1 both-bad
    assert (rows["x"].votes, rows["x"].ties, rows["x"].ties_both_bad) == (5, 3, 1)
    assert rows["x"].tie_rate == pytest.approx(3 / 5) and rows["x"].both_bad_rate == pytest.approx(1 / 5)
    # y: 0-1 A, 1-2 X, 0-1 B, 1-0 X: 4 votes, 2 ties, both both-bad
    assert (rows["y"].votes, rows["y"].ties, rows["y"].ties_both_bad) == (4, 2, 2)
    # z: 0-2 T, 1-2 X, 2-0 T: 3 votes, 3 ties, 1 both-bad
    assert (rows["z"].votes, rows["z"].ties, rows["z"].ties_both_bad, rows["z"].tie_rate) == (3, 3, 1, 1.0)


# ---------------------------------------------------------------------------------- outlier voters


def adversarial(rng: np.random.Generator, strengths: np.ndarray, voters: list[str], per_voter: int) -> AuditVotes:
    """Voters who pick the true loser with the true winner's probability."""
    votes = bt_votes(rng, strengths, len(voters) * per_voter, tie_rate=0.0)
    flipped = np.where(votes.outcome == Outcome.A_WINS, Outcome.B_WINS, Outcome.A_WINS).astype(np.int64)
    owners = [v for v in voters for _ in range(per_voter)]
    return AuditVotes(votes.names, votes.model_a, votes.model_b, flipped, owners)


def test_planted_adversarial_voters_are_flagged_and_honest_ones_within_level():
    rng = np.random.default_rng(6)
    strengths = np.linspace(-2, 2, 30)
    honest = bt_votes(rng, strengths, 40_000, voters=800)
    bad = [f"bad{i}" for i in range(10)]
    votes = joined(honest, adversarial(rng, strengths, bad, 60))
    found = audit(votes, "b", "", 1).voters
    flagged = {f.voter_id for f in found.flagged_voters}
    assert set(bad) <= flagged
    false_flags = len(flagged - set(bad))
    assert false_flags <= binomial_margin(0.01, 800)
    assert found.voters == 810 and found.flagged == len(flagged)
    assert found.flagged + found.cleared + found.undecided == found.voters
    top = found.flagged_voters[0]
    assert top.statistic >= found.upper_threshold and 0 < top.votes_tested <= top.votes


def test_honest_voters_false_flags_within_level_over_null_boards():
    rng = np.random.default_rng(7)
    flags = voters = 0
    for _ in range(NULL_BOARDS // 2):
        votes = bt_votes(rng, rng.normal(0, 1, 15), 2000, voters=40)
        found = audit(votes, "b", "", 1).voters
        flags += found.flagged
        voters += found.voters
    # Ville's inequality: each honest voter is flagged with probability at most alpha / (1 - beta)
    assert flags <= binomial_margin(0.01 / 0.95, voters)


def test_votes_without_voter_are_counted_not_tested():
    rng = np.random.default_rng(8)
    votes = bt_votes(rng, rng.normal(0, 1, 5), 200)
    found = audit(votes, "b", "", 1).voters
    assert (found.voters, found.votes_without_voter, found.flagged) == (0, 200, 0)


def test_options_are_checked():
    from server.domain.errors import InvalidArgument

    votes = bt_votes(np.random.default_rng(9), np.zeros(3), 10)
    with pytest.raises(InvalidArgument):
        audit(votes, "b", "", 1, AuditOptions(alpha=0.7))
    with pytest.raises(InvalidArgument):
        audit(votes, "b", "", 1, AuditOptions(min_pair_votes=0))
    assert json  # used by the CLI tests below
