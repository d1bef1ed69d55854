"""Arena leaderboard semantics against a real server on a loopback port: category views,
competitor metadata and listing, preliminary flags, snapshots and deltas, the summary,
the head-to-head matrix, multi-way ballots."""

from __future__ import annotations

import math

import grpc
import numpy as np
import pytest

from engine import EloConfig
from server.domain.ballots import RankingBallot, ballot_votes
from server.domain.limits import Limits
from server.domain.listing import ListingConfig
from server.domain.published import PublishedLeaderboard
from server.domain.queries import LeaderboardQuery
from server.domain.votes import VoteBatch
from server.files.votefile import concat
from server.offline.replay import replay
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc import wire
from tests.conftest import make_batch, synthetic_batch
from tests.naive import rank_ub as naive_rank_ub
from tests.test_service import client_for, same_numbers

TAGS = ("coding", "english", "hard")
ALL_STATUSES = pb.RowFilters(statuses=[pb.ACTIVE, pb.DEPRECATED, pb.UNAVAILABLE])


def tagged_batch(n: int, m: int, seed: int, prefix: str = "v") -> VoteBatch:
    """Synthetic votes where each carries each of TAGS with its own probability (some none, some several)."""
    batch = synthetic_batch(n, m, seed, prefix)
    rng = np.random.default_rng(seed + 1000)
    carries = rng.random((n, len(TAGS))) < np.array([0.3, 0.5, 0.15])
    batch.tag_count = carries.sum(axis=1).astype(np.int64)
    batch.tags = [tag for row in carries for tag, on in zip(TAGS, row) if on]
    return batch


def by_model(board: pb.Leaderboard) -> dict[str, pb.LeaderboardRow]:
    return {row.model: row for row in board.rows}


def close_rows(got: pb.Leaderboard, want: PublishedLeaderboard, tol: float = 1e-6) -> None:
    got = wire.leaderboard_from_pb(got)  # as published: with CI_NONE, no bounds and no rank (UB), as offline
    assert [r.model for r in got.rows] == [r.model for r in want.rows]
    for g, w in zip(got.rows, want.rows):
        assert g.rating == pytest.approx(w.rating, abs=tol)
        assert g.rating_lower == pytest.approx(w.rating_lower, abs=tol)
        assert g.rating_upper == pytest.approx(w.rating_upper, abs=tol)
        assert (g.rank, g.rank_ub, g.votes, g.wins, g.ties) == (w.rank, w.rank_ub, w.votes, w.wins, w.ties)


# ------------------------------------------------------------------ category views


def test_category_views_equal_a_replay_filtered_to_the_tag(start_server):
    server = start_server()
    votes = tagged_batch(4000, 10, seed=3)
    with client_for(server) as client:
        for start in range(0, 4000, 900):  # batch boundaries must not matter
            last = client.submit(votes.slice(start, min(start + 900, 4000))).last_seq
        for tag in TAGS:
            elo = client.leaderboard(method=pb.ELO, category=tag, min_seq=last)
            want = replay(votes, EloConfig(bootstrap_rounds=200), LeaderboardQuery("default", "elo", category=tag))
            same_numbers(elo, want)  # bit for bit, bootstrap CIs included
            assert elo.category == tag and elo.total_votes == sum(tag in t for t in votes.tags_of())
            bt_query = LeaderboardQuery("default", "bt", "bootstrap", rounds=100, category=tag)
            close_rows(client.leaderboard(category=tag, rounds=100), replay(votes, EloConfig(), bt_query))
            sandwich = LeaderboardQuery("default", "bt", "sandwich", category=tag)
            close_rows(client.leaderboard(f"default/{tag}", ci=pb.SANDWICH), replay(votes, EloConfig(), sandwich))
        [info] = client.boards()
        assert (info.name, info.votes, info.last_seq) == ("default", 4000, last)
        tag_lists = votes.tags_of()
        assert {c.name: c.votes for c in info.categories} == {t: sum(t in v for v in tag_lists) for t in TAGS}
        with pytest.raises(grpc.RpcError) as missing:
            client.leaderboard(category="vision")
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND and "vision" in missing.value.details()
        with pytest.raises(grpc.RpcError) as twice:
            client.leaderboard("default/coding", category="coding")
        assert twice.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "category" in twice.value.details()


def test_category_views_survive_a_restart_from_checkpoint_and_from_the_log(start_server, tmp_path):
    votes = tagged_batch(2000, 8, seed=4)
    server = start_server(tmp_path / "data")
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        before = {t: client.leaderboard(method=pb.ELO, category=t, min_seq=last) for t in TAGS}
    server.service.checkpoint()
    server.stop()
    for wipe_checkpoint in (False, True):
        if wipe_checkpoint:
            for path in (tmp_path / "data" / "checkpoints").glob("*"):
                path.unlink()
        server = start_server(tmp_path / "data")
        with client_for(server) as client:
            for tag in TAGS:
                same_numbers(client.leaderboard(method=pb.ELO, category=tag), before[tag])
        server.stop()


# ------------------------------------------------------------------ metadata and listing


def test_hiding_a_deprecated_model_re_ranks_the_rest_as_recomputing_on_the_remaining_rows(start_server):
    server = start_server()
    votes = synthetic_batch(3000, 12, seed=5)
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        full = client.leaderboard(min_seq=last, rounds=200)
        leader = full.rows[0].model
        client.upsert_competitors([pb.Competitor(name=leader, status=pb.DEPRECATED)])
        shown = client.leaderboard(rounds=200)
        assert leader not in by_model(shown)
        assert shown.summary.models_hidden == 1 and shown.summary.models_listed == len(full.rows) - 1
        rest = [r for r in full.rows if r.model != leader]
        want_ub = naive_rank_ub([r.rating_lower for r in rest], [r.rating_upper for r in rest])
        assert [r.model for r in shown.rows] == [r.model for r in rest]
        assert [r.rank for r in shown.rows] == list(range(1, len(rest) + 1))
        assert [r.rank_ub for r in shown.rows] == want_ub
        assert [r.rating for r in shown.rows] == [r.rating for r in rest]  # the fit still has the leader's votes
        # The test means something only if hiding the leader moved someone's rank (UB).
        assert [r.rank_ub for r in shown.rows] != [r.rank_ub for r in rest]
        everything = client.leaderboard(rounds=200, filters=ALL_STATUSES)
        assert [(r.model, r.rank_ub) for r in everything.rows] == [(r.model, r.rank_ub) for r in full.rows]
        assert everything.rows[0].competitor.status == pb.DEPRECATED


def test_metadata_rows_filters_and_persistence(start_server, tmp_path):
    server = start_server(tmp_path / "data")
    votes = make_batch(["a", "b", "c", "d"] * 30, ["b", "c", "d", "a"] * 30, [1, 1, 2, 3] * 30)
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        reply = client.upsert_competitors(
            [
                pb.Competitor(name="a", display_name="Model A", organization="OrgA", license="MIT", open_weights=True),
                pb.Competitor(name="b", organization="OrgB", license="proprietary", open_weights=False),
                pb.Competitor(name="not-yet-voted", organization="OrgZ", links={"site": "https://z.example"}),
            ]
        )
        assert (reply.created, reply.updated) == (3, 0)
        # A partial update keeps the other fields; links merge and "" removes one.
        reply = client.upsert_competitors(
            [pb.Competitor(name="a", license="Apache-2.0", links={"paper": "https://p.example"})]
        )
        assert (reply.created, reply.updated) == (0, 1)
        rows = by_model(client.leaderboard(min_seq=last, ci=pb.CI_NONE))
        a = rows["a"].competitor
        assert (a.display_name, a.organization, a.license, a.open_weights, a.status) == (
            "Model A", "OrgA", "Apache-2.0", True, pb.ACTIVE,
        )  # fmt: skip
        assert dict(a.links) == {"paper": "https://p.example"}
        assert rows["c"].competitor.name == "c" and not rows["c"].competitor.HasField("open_weights")

        def listed(**filters) -> list[str]:
            board = client.leaderboard(ci=pb.CI_NONE, filters=pb.RowFilters(**filters))
            return sorted(r.model for r in board.rows)

        assert listed(open_weights_only=True) == ["a"]
        assert listed(licenses=["proprietary"]) == ["b"]
        assert listed(organizations=["OrgA", "OrgB"]) == ["a", "b"]
        assert listed(min_votes=61) == []
        assert listed(min_votes=60) == ["a", "b", "c", "d"]
        with pytest.raises(grpc.RpcError) as bad:
            client.upsert_competitors([pb.Competitor(name="a", status=7)])
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "competitors[0].status" in bad.value.details()
        with pytest.raises(grpc.RpcError) as bad:
            client.upsert_competitors([pb.Competitor(name="")])
        assert "competitors[0].name" in bad.value.details()
    server.stop()
    server = start_server(tmp_path / "data")
    with client_for(server) as client:
        assert by_model(client.leaderboard(ci=pb.CI_NONE))["a"].competitor.license == "Apache-2.0"


def test_preliminary_and_listing_thresholds(start_server):
    server = start_server(listing=ListingConfig(preliminary_votes=100, listed_min_votes=20))
    # a, b, c play 150 games each way round; newcomer plays 10 (listed only when asked).
    names_a = ["a", "b", "c"] * 100 + ["newcomer"] * 10
    names_b = ["b", "c", "a"] * 100 + ["a"] * 10
    votes = make_batch(names_a, names_b, [1, 1, 2] * 100 + [1] * 10)
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        shown = client.leaderboard(min_seq=last, ci=pb.CI_NONE)
        assert sorted(r.model for r in shown.rows) == ["a", "b", "c"]
        assert not any(r.preliminary for r in shown.rows)
        asked = client.leaderboard(ci=pb.CI_NONE, filters=pb.RowFilters(include_unlisted=True))
        assert {r.model: r.preliminary for r in asked.rows} == {"a": False, "b": False, "c": False, "newcomer": True}
        assert asked.summary.preliminary == 1 and shown.summary.models_hidden == 1
        [info] = client.boards()
        assert (info.preliminary_votes, info.listed_min_votes) == (100, 20)


def test_summary_statistics(start_server):
    server = start_server()
    votes = synthetic_batch(5000, 25, seed=6)
    with client_for(server) as client:
        board = client.leaderboard(min_seq=client.submit(votes).last_seq, rounds=100)
        s = board.summary
        assert (s.models_listed, s.total_votes) == (25, 5000)
        assert [(g.rank, g.gap) for g in s.gaps] == [
            (k, board.rows[0].rating - board.rows[k - 1].rating) for k in (10, 20)
        ]
        assert s.tied_with_leader == sum(r.rank_ub == 1 for r in board.rows) >= 1
        custom = client.leaderboard(rounds=100, gap_ranks=[2, 30])
        assert [g.rank for g in custom.summary.gaps] == [2]  # rank 30 is beyond the 25 rows


# ------------------------------------------------------------------ snapshots


def test_deltas_against_a_snapshot_equal_the_difference_of_two_replays(start_server):
    server = start_server()
    early = synthetic_batch(3000, 10, seed=7, prefix="early")
    late = synthetic_batch(3000, 12, seed=8, prefix="late")  # two models are new since the snapshot
    with client_for(server) as client:
        client.submit(early)
        snapshot = client.create_snapshot("default", "week-1")
        assert (snapshot.seq, snapshot.votes, snapshot.scheduled) == (3000, 3000, False)
        last = client.submit(late).last_seq
        for method, query in (
            (pb.ELO, LeaderboardQuery("default", "elo")),
            (pb.BT, LeaderboardQuery("default", "bt", "none")),
        ):
            ci = pb.BOOTSTRAP if method == pb.ELO else pb.CI_NONE
            now = client.leaderboard(method=method, ci=ci, min_seq=last, compare_to="week-1")
            assert now.compared_to.name == "week-1" and now.compared_to.seq == 3000
            config = EloConfig(bootstrap_rounds=200)
            then_rows = by_model(replay(early, config, query))
            now_rows = by_model(replay(concat([early, late]), config, query))
            for row in now.rows:
                assert row.rating == pytest.approx(now_rows[row.model].rating, abs=1e-6)
                if row.model not in then_rows:
                    assert not row.HasField("rank_delta") and not row.HasField("rating_delta")
                    continue
                assert row.rank_delta == then_rows[row.model].rank - now_rows[row.model].rank
                want = now_rows[row.model].rating - then_rows[row.model].rating
                assert row.rating_delta == pytest.approx(want, abs=1e-6)
            assert sum(not r.HasField("rank_delta") for r in now.rows) == 2
            assert any(r.rank_delta != 0 for r in now.rows if r.HasField("rank_delta"))
            # The board as of the snapshot is the replay of the votes before it.
            then = client.leaderboard(method=method, ci=ci, as_of="week-1")
            assert then.as_of.name == "week-1" and then.as_of_seq == 3000
            close_rows(then, replay(early, config, query))
        # A time picks the newest snapshot taken at or before it.
        by_time = client.leaderboard(ci=pb.CI_NONE, compare_to=snapshot.created + 1.0)
        assert by_time.compared_to.name == "week-1"
        with pytest.raises(grpc.RpcError) as early_time:
            client.leaderboard(ci=pb.CI_NONE, compare_to=snapshot.created - 1.0)
        assert early_time.value.code() == grpc.StatusCode.NOT_FOUND


def test_snapshot_errors_persistence_and_damaged_files(start_server, tmp_path):
    server = start_server(tmp_path / "data")
    votes = synthetic_batch(2000, 8, seed=9)
    with client_for(server) as client:
        client.submit(votes)
        client.create_snapshot("default", "v1")
        for name, code in (("v1", grpc.StatusCode.ALREADY_EXISTS), ("bad name!", grpc.StatusCode.INVALID_ARGUMENT)):
            with pytest.raises(grpc.RpcError) as caught:
                client.create_snapshot("default", name)
            assert caught.value.code() == code
        with pytest.raises(grpc.RpcError) as caught:
            client.create_snapshot("nope", "v1")
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        client.submit(synthetic_batch(500, 8, seed=10, prefix="more"))
        want = client.leaderboard(method=pb.ELO, as_of="v1")
    server.stop()
    [path] = (tmp_path / "data" / "snapshots").glob("*.npz")
    path.write_bytes(path.read_bytes()[:-100])  # truncated: the checksum fails, the log rebuilds it
    server = start_server(tmp_path / "data")
    with client_for(server) as client:
        assert [s.name for s in client.snapshots("default")] == ["v1"]
        same_numbers(client.leaderboard(method=pb.ELO, as_of="v1"), want)


def test_scheduled_snapshots(start_server):
    server = start_server(snapshot_every_seconds=0.2)
    with client_for(server) as client:
        client.submit(synthetic_batch(300, 5, seed=11))
        for _ in range(100):
            taken = client.snapshots("default")
            if taken:
                break
            server.service.stopping.wait(0.05)
        assert taken and taken[0].scheduled and taken[0].name.startswith("auto-") and taken[0].seq == 300
        # Nothing new on the board: no more snapshots of it.
        server.service.stopping.wait(0.6)
        assert len(client.snapshots("default")) == 1
        assert server.service.boards_needing_snapshot() == []


# ------------------------------------------------------------------ head-to-head matrix


def test_head_to_head_matrix_counts_the_votes(start_server):
    server = start_server()
    votes = synthetic_batch(3000, 9, seed=12)
    with client_for(server) as client:
        last = client.submit(votes).last_seq
        board = client.leaderboard(min_seq=last, ci=pb.CI_NONE)
        matrix = client.head_to_head_matrix(top_k=5, ci=pb.CI_NONE)
    models = [r.model for r in board.rows[:5]]
    assert list(matrix.models) == models
    names = np.asarray(votes.names, dtype=object)
    a, b, outcome = names[votes.model_a], names[votes.model_b], votes.outcome
    rating = {r.model: r.rating for r in board.rows}
    for i, x in enumerate(models):
        for j, y in enumerate(models):
            cell = i * 5 + j
            if i == j:
                assert matrix.battles[cell] == 0 and matrix.predicted_win_probability[cell] == 0.5
                continue
            x_first, y_first = (a == x) & (b == y), (a == y) & (b == x)
            battles = int((x_first | y_first).sum())
            wins = int((x_first & (outcome == 1)).sum() + (y_first & (outcome == 2)).sum())
            ties = int(((x_first | y_first) & (outcome >= 3)).sum())
            assert matrix.battles[cell] == battles
            if battles:
                assert matrix.empirical_win_rate[cell] == pytest.approx((wins + ties / 2) / battles)
            else:
                assert math.isnan(matrix.empirical_win_rate[cell])
            want = 1 / (1 + 10 ** ((rating[y] - rating[x]) / 400))
            assert matrix.predicted_win_probability[cell] == pytest.approx(want)


# ------------------------------------------------------------------ multi-way ballots


def test_ballot_decomposes_into_all_pairs_by_the_documented_rule():
    ballot = RankingBallot("design", "t-1", [("d", 4), ("b", 2), ("a", 1), ("c", 2)], voter_id="j", tags=["ui"])
    votes = ballot_votes(ballot, Limits())
    pairs = [(votes.names[x], votes.names[y], int(o)) for x, y, o in zip(votes.model_a, votes.model_b, votes.outcome)]
    assert pairs == [
        ("a", "b", pb.A_WINS), ("a", "c", pb.A_WINS), ("a", "d", pb.A_WINS),
        ("b", "c", pb.TIE), ("b", "d", pb.A_WINS), ("c", "d", pb.A_WINS),
    ]  # fmt: skip
    assert votes.vote_id == ["t-1#0.1", "t-1#0.2", "t-1#0.3", "t-1#1.2", "t-1#1.3", "t-1#2.3"]
    assert votes.voter_id == ["j"] * 6 and votes.tags_of() == [["ui"]] * 6
    shuffled = RankingBallot("design", "t-1", [("c", 2), ("a", 1), ("d", 4), ("b", 2)], voter_id="j", tags=["ui"])
    assert ballot_votes(shuffled, Limits()).vote_id == votes.vote_id


def test_a_four_way_ranking_is_stored_as_its_pairs_and_a_retry_adds_nothing(start_server):
    server = start_server()
    ranking = [pb.RankedCompetitor(model=m, place=p) for m, p in (("a", 1), ("b", 2), ("c", 2), ("d", 3))]
    ballot = pb.RankingBallot(board="design", ballot_id="tournament-7", ranking=ranking, tags=["landing-page"])
    with client_for(server) as client:
        ack = client.submit_ranking(ballot)
        assert (ack.accepted, ack.duplicates, ack.first_seq, ack.last_seq) == (6, 0, 1, 6)
        retry = pb.RankingBallot(board="design", ballot_id="tournament-7", ranking=list(reversed(ranking)))
        again = client.submit_ranking(retry)
        assert (again.accepted, again.duplicates) == (0, 6)
        board = client.leaderboard("design", min_seq=6, ci=pb.CI_NONE)
        assert board.total_votes == 6
        record = {}
        for x, y in (("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")):
            h = client.head_to_head(x, y, "design")
            record[(x, y)] = (h.wins_a, h.wins_b, h.ties)
        assert record == {
            ("a", "b"): (1, 0, 0), ("a", "c"): (1, 0, 0), ("a", "d"): (1, 0, 0),
            ("b", "c"): (0, 0, 1), ("b", "d"): (1, 0, 0), ("c", "d"): (1, 0, 0),
        }  # fmt: skip
        assert [c.name for c in client.boards()[0].categories] == ["landing-page"]
        bad_ballots = {
            "ranking": [ranking[0], ranking[1]],
            "ranking[1].model": [ranking[0], ranking[0], ranking[2]],
            "ranking[2].place": [*ranking[:2], pb.RankedCompetitor(model="z", place=0)],
        }
        for field, entries in bad_ballots.items():
            with pytest.raises(grpc.RpcError) as caught:
                client.submit_ranking(pb.RankingBallot(board="design", ballot_id="x", ranking=entries))
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert caught.value.details().startswith(field + ":")
        with pytest.raises(grpc.RpcError) as caught:
            client.submit_ranking(pb.RankingBallot(board="design", ranking=ranking))
        assert caught.value.details().startswith("ballot_id:")
        assert client.leaderboard("design", ci=pb.CI_NONE).total_votes == 6  # rejected ballots stored nothing


def test_compare_to_a_snapshot_before_the_view_existed_gives_rows_without_deltas(start_server):
    """The README's arena example: a snapshot taken before any vote was tagged 'coding', then
    `leaderboard --category coding --compare-to` it: rows without deltas, not NOT_FOUND."""
    from server.client import RatingsClient

    server = start_server(snapshot_every_seconds=0)
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        client.submit(pb.VoteBatch(votes=[pb.Vote(vote_id="1", model_a="a", model_b="b", outcome=pb.A_WINS)]))
        client.create_snapshot("default", "week-47")
        vote = pb.Vote(vote_id="2", model_a="a", model_b="b", outcome=pb.B_WINS, tags=["coding"])
        last = client.submit(pb.VoteBatch(votes=[vote])).last_seq
        board = client.leaderboard("default", category="coding", compare_to="week-47", ci=pb.CI_NONE, min_seq=last)
        assert board.compared_to.name == "week-47" and board.compared_view_empty
        assert [r.model for r in board.rows] == ["b", "a"]
        assert not any(r.HasField("rank_delta") or r.HasField("rating_delta") for r in board.rows)
        whole = client.leaderboard("default", compare_to="week-47", ci=pb.CI_NONE)
        assert not whole.compared_view_empty and all(r.HasField("rank_delta") for r in whole.rows)
