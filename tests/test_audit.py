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


# ---------------------------------------------------------------------- the filter, the service, the CLI


def planted_board(seed: int = 10) -> tuple[AuditVotes, list[str]]:
    """Honest voters on a BT board, two adversarial ones ("bad0", "bad1"); every third vote tagged coding."""
    rng = np.random.default_rng(seed)
    strengths = np.linspace(-1.5, 1.5, 8)
    votes = joined(bt_votes(rng, strengths, 3000, voters=60), adversarial(rng, strengths, ["bad0", "bad1"], 80))
    order = rng.permutation(len(votes))  # the adversarial votes spread through the log
    shuffled = AuditVotes(
        votes.names, votes.model_a[order], votes.model_b[order], votes.outcome[order],
        [votes.voter_id[i] for i in order.tolist()],
    )  # fmt: skip
    return shuffled, ["bad0", "bad1"]


LABELS = {
    Outcome.A_WINS: "model_a",
    Outcome.B_WINS: "model_b",
    Outcome.TIE: "tie",
    Outcome.TIE_BOTH_BAD: "tie (bothbad)",
}


def write_votes_file(path, votes: AuditVotes):
    import polars as pl

    pl.DataFrame({
        "model_a": [votes.names[i] for i in votes.model_a.tolist()],
        "model_b": [votes.names[i] for i in votes.model_b.tolist()],
        "winner": [LABELS[Outcome(o)] for o in votes.outcome.tolist()],
        "judge": votes.voter_id,
    }).write_csv(path)  # fmt: skip
    return path


def grpc_batch(board: str, votes: AuditVotes, start: int, stop: int):
    from server.proto.arena_ratings.v1 import ratings_pb2 as pb

    rows = [
        pb.Vote(
            vote_id=f"v{i}",
            model_a=votes.names[int(votes.model_a[i])],
            model_b=votes.names[int(votes.model_b[i])],
            outcome=int(votes.outcome[i]),
            voter_id=votes.voter_id[i],
            tags=["coding"] if i % 3 == 0 else [],
        )  # fmt: skip
        for i in range(start, stop)
    ]
    return pb.VoteBatch(board=board, votes=rows)


def test_exclude_voters_filter_removes_exactly_their_votes():
    from server.domain.filters import FilterRun, VoteFilters, needed_fields
    from tests.conftest import make_batch

    batch = make_batch(["a", "b", "a", "c"], ["b", "c", "c", "a"], [1, 2, 3, 1])
    batch.voter_id = ["u1", "u2", "", "u1"]
    run = FilterRun(VoteFilters(exclude_voters=frozenset({"u1", "nobody"})))
    kept = run.apply(batch)
    assert kept.voter_id == ["u2", ""] and run.summary()["exclude_voters"] == 2
    assert "judge" in needed_fields(VoteFilters(exclude_voters=frozenset({"u1"})), False, False)


def test_grpc_and_http_audits_agree_and_match_the_offline_audit(start_server, tmp_path, capsys):
    import httpx

    from server.client.ratings_client import RatingsClient
    from server.http.options import HttpOptions
    from server.rpc.wire import message_dict
    from tests.test_cli import run_cli

    votes, bad = planted_board()
    running = start_server(http=HttpOptions(port=0))
    client = RatingsClient(f"127.0.0.1:{running.port}")
    last = 0
    for start in range(0, len(votes), 1000):
        last = client.submit(grpc_batch("text", votes, start, min(start + 1000, len(votes)))).last_seq
    with httpx.Client(base_url=f"http://127.0.0.1:{running.http_port}", timeout=30) as http:
        for category in ("", "coding"):
            by_grpc = message_dict(client.audit("text", category, min_seq=last))
            answer = http.get("/v1/boards/text/audit", params={"category": category, "min_seq": last})
            assert answer.status_code == 200, answer.text
            assert answer.json() == json.loads(json.dumps(by_grpc))
        assert by_grpc["category"] == "coding" and by_grpc["votes"] == (len(votes) + 2) // 3
        wrong = http.get("/v1/boards/text/audit", params={"alpha": 0.7})
        assert wrong.status_code == 400 and "alpha" in wrong.text
        assert http.get("/v1/boards/nope/audit").status_code == 404
        # one audit at a time (each reads the board's log back): another waits its turn with a retry hint
        with running.service._auditing:
            busy = http.get("/v1/boards/text/audit")
            assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
        assert http.get("/v1/boards/text/audit").status_code == 200
    found = client.audit("text", min_seq=last)
    assert set(bad) <= {f.voter_id for f in found.voters.flagged_voters}
    assert found.votes == len(votes) and found.as_of_seq == last
    # the offline audit of the same votes, as a file: the same report (the fit to its tolerance)
    path = write_votes_file(tmp_path / "votes.csv", votes)
    code, out, _ = run_cli(capsys, "audit", str(path), "--board", "text", "--format", "json")
    offline = json.loads(out)
    served = message_dict(found)
    assert code == 0 and offline["voters"]["flagged"] == served["voters"]["flagged"]
    assert [v["voter_id"] for v in offline["voters"]["flagged_voters"]] == [
        v["voter_id"] for v in served["voters"]["flagged_voters"]
    ]
    for key in ("position_bias", "ties", "intransitivity"):
        assert offline[key] == served[key]
    with pytest.raises(Exception, match="INVALID_ARGUMENT"):
        client.audit("text", voter_beta=0.9)
    client.close()


def test_cli_audit_flagged_voters_file_feeds_replay_exclude_voters(tmp_path, capsys, start_server):
    from tests.test_cli import run_cli

    votes, bad = planted_board(11)
    path = write_votes_file(tmp_path / "votes.csv", votes)
    flagged = tmp_path / "flagged.txt"
    code, out, _ = run_cli(capsys, "audit", str(path), "--flagged-voters-out", str(flagged))
    assert code == 0 and "outlier voters:" in out and "position bias:" in out
    ids = flagged.read_text().split()
    assert set(bad) <= set(ids)
    theirs = sum(voter in set(ids) for voter in votes.voter_id)
    code, _, err = run_cli(capsys, "replay", str(path), "--exclude-voters", str(flagged), "--ci", "none")
    summary = json.loads(err.split("replay summary: ", 1)[1].splitlines()[0])
    assert code == 0 and summary["removed"]["exclude_voters"] == theirs
    assert summary["applied"] == len(votes) - theirs
    # the audit of the replayed votes flags none of them again
    code, out, _ = run_cli(capsys, "audit", str(path), "--exclude-voters", str(flagged), "--format", "json")
    assert not set(ids) & {v["voter_id"] for v in json.loads(out)["voters"]["flagged_voters"]}
    # a server's replay takes the same filter (ReplayFilters.exclude_voters)
    server = start_server()
    target = f"127.0.0.1:{server.port}"
    code, out, _ = run_cli(capsys, "replay", str(path), "--target", target, "--exclude-voters", str(flagged))
    result = json.loads(out)
    assert code == 0 and (result["removed"]["exclude_voters"], result["applied"]) == (theirs, len(votes) - theirs)
    code, out, _ = run_cli(capsys, "audit", "--target", target, "--format", "json")
    assert code == 0 and json.loads(out)["votes"] == len(votes) - theirs
    with pytest.raises(SystemExit, match="filters apply to vote files"):
        run_cli(capsys, "audit", "--target", target, "--drop-ties")
    with pytest.raises(SystemExit, match="not both"):
        run_cli(capsys, "audit", str(path), "--target", target)


def test_a_category_audit_reads_its_votes_inside_a_batch(start_server):
    """A category view's last vote may sit inside a logged batch: the audit reads up to the board's seq."""
    from server.client.ratings_client import RatingsClient
    from server.proto.arena_ratings.v1 import ratings_pb2 as pb

    running = start_server()
    rows = [
        pb.Vote(vote_id=f"v{i}", model_a="x", model_b="y" if i % 2 else "z", outcome=pb.A_WINS if i % 3 else pb.TIE,
                voter_id=f"u{i % 2}", tags=["coding"] if i < 5 else [])
        for i in range(9)
    ]  # fmt: skip
    with RatingsClient(f"127.0.0.1:{running.port}") as client:
        last = client.submit(pb.VoteBatch(board="text", votes=rows)).last_seq
        found = client.audit("text/coding", min_seq=last)
        assert (found.category, found.votes, found.as_of_seq) == ("coding", 5, last)
        assert sum(t.votes for t in found.ties) == 10 and found.voters.voters == 2
        with pytest.raises(Exception, match="NOT_FOUND"):
            client.audit("text", "nope", min_seq=last)
