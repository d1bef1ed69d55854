"""The service's Prometheus metrics, scraped from a real server on a loopback port."""

from __future__ import annotations

import threading

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.metrics import CONTENT_TYPE, ServiceMetrics
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.rpc import app
from tests.test_access import CREDENTIALS, book


def samples(running) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape: (sample name, its labels) -> value."""
    text = running.service.metrics.exposition().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series does not exist yet (a labelled counter appears once it moves)."""
    return scraped.get((name, frozenset(labels.items())), 0.0)


def batch(board: str, ids: list[str], outcome: int = pb.A_WINS) -> pb.VoteBatch:
    return pb.VoteBatch(
        board=board, votes=[pb.Vote(vote_id=i, model_a="alpha", model_b="beta", outcome=outcome) for i in ids]
    )


def ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture
def stub(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.RatingsStub(channel)


def test_ingest_counts_votes_batches_duplicates_and_refusals(server, stub):
    before = samples(server)
    stub.SubmitVotes(batch("one", ids("a", 5)), timeout=10)
    acks = list(stub.StreamVotes(iter([batch("two", ids("s", 3)), batch("two", ids("t", 4))]), timeout=10))
    assert [a.accepted for a in acks] == [3, 4]
    again = stub.SubmitVotes(batch("one", ids("a", 5)), timeout=10)  # a resend: every vote a duplicate
    assert again.duplicates == 5
    with pytest.raises(grpc.RpcError) as caught:
        stub.SubmitVotes(batch("one", ids("x", 3), outcome=pb.OUTCOME_UNSPECIFIED), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # A stream refused at its second batch: the first is accepted, the second's votes are refused.
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.StreamVotes(iter([batch("two", ids("u", 2)), batch("two", ids("v", 6), outcome=0)]), timeout=10))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    got = samples(server)

    def moved(name: str, **labels: str) -> float:
        return value(got, name, **labels) - value(before, name, **labels)

    assert moved("arena_ratings_votes_accepted_total", board="one") == 5
    assert moved("arena_ratings_votes_accepted_total", board="two") == 3 + 4 + 2
    assert moved("arena_ratings_votes_duplicate_total", board="one") == 5
    assert moved("arena_ratings_votes_duplicate_total", board="two") == 0
    assert moved("arena_ratings_batches_total", board="one") == 2
    assert moved("arena_ratings_batches_total", board="two") == 3
    assert moved("arena_ratings_batch_votes_count") == 5
    assert moved("arena_ratings_batch_votes_sum") == 5 + 3 + 4 + 5 + 2
    assert moved("arena_ratings_batch_votes_bucket", le="1.0") == 0
    assert moved("arena_ratings_batch_votes_bucket", le="10.0") == 5
    assert moved("arena_ratings_votes_refused_total", reason="invalid_argument") == 3 + 6
    refused = {"code": "INVALID_ARGUMENT", "transport": "grpc"}
    assert moved("arena_ratings_calls_refused_total", rpc="SubmitVotes", **refused) == 1
    assert moved("arena_ratings_calls_refused_total", rpc="StreamVotes", **refused) == 1
    assert moved("arena_ratings_request_duration_seconds_count", rpc="SubmitVotes", transport="grpc") == 3
    assert moved("arena_ratings_request_duration_seconds_count", rpc="StreamVotes", transport="grpc") == 2
    assert moved("arena_ratings_request_duration_seconds_sum", rpc="SubmitVotes", transport="grpc") > 0


def test_refusals_by_access_are_counted_with_their_votes(start_server):
    server = start_server(access=app.Access(tokens=book()))
    reader = [("authorization", f"Bearer {CREDENTIALS['reader'][0]}")]
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = pb_grpc.RatingsStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.SubmitVotes(batch("acl", ids("r", 4)), metadata=reader, timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListBoards(pb.ListBoardsRequest(), timeout=10)  # no token at all
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    got = samples(server)
    assert value(got, "arena_ratings_votes_refused_total", reason="permission_denied") == 4
    assert value(got, "arena_ratings_calls_refused_total", rpc="SubmitVotes", code="PERMISSION_DENIED",
                 transport="grpc") == 1  # fmt: skip
    assert value(got, "arena_ratings_calls_refused_total", rpc="ListBoards", code="UNAUTHENTICATED",
                 transport="grpc") == 1  # fmt: skip
    assert value(got, "arena_ratings_votes_accepted_total", board="acl") == 0


def test_standings_cache_and_fit_durations(server, stub):
    last = stub.SubmitVotes(batch("default", ids("v", 20)), timeout=10).last_seq
    request = pb.LeaderboardRequest(board="default", method=pb.BT, ci=pb.CI_NONE, min_seq=last)
    before = samples(server)
    stub.GetLeaderboard(request, timeout=20)
    first = samples(server)
    stub.GetLeaderboard(request, timeout=20)
    second = samples(server)
    assert value(first, "arena_ratings_standings_cache_misses_total") - value(
        before, "arena_ratings_standings_cache_misses_total"
    ) == 1
    assert value(first, "arena_ratings_standings_cache_hits_total") == value(
        before, "arena_ratings_standings_cache_hits_total"
    )
    assert value(second, "arena_ratings_standings_cache_hits_total") - value(
        first, "arena_ratings_standings_cache_hits_total"
    ) == 1
    assert value(second, "arena_ratings_standings_cache_misses_total") == value(
        first, "arena_ratings_standings_cache_misses_total"
    )
    fits = "arena_ratings_fit_duration_seconds_count"
    assert value(second, fits, method="bt", ci="none") - value(before, fits, method="bt", ci="none") == 1
    durations = "arena_ratings_request_duration_seconds_count"
    assert value(second, durations, rpc="GetLeaderboard", transport="grpc") == 2


def test_gauges_read_at_scrape_time(server, stub):
    stub.SubmitVotes(batch("one", ids("a", 3)), timeout=10)
    last = stub.SubmitVotes(batch("two", ids("b", 7)), timeout=10).last_seq
    server.service.wait_applied(last, timeout=10)
    got = samples(server)
    assert "arena_ratings_checkpoint_age_seconds" not in {name for name, _ in got}  # no checkpoint yet
    assert value(got, "arena_ratings_board_votes", board="one") == 3
    assert value(got, "arena_ratings_board_votes", board="two") == 7
    for board in ("one", "two"):
        assert value(got, "arena_ratings_board_memory_bytes", board=board, kind="replicas") > 0
        assert value(got, "arena_ratings_board_memory_bytes", board=board, kind="cells") > 0
        assert ("arena_ratings_board_memory_bytes", frozenset({"board": board, "kind": "style"}.items())) in got
    assert value(got, "arena_ratings_applier_lag_seqs") == 0
    assert value(got, "arena_ratings_applier_lag_seconds") == 0
    assert value(got, "arena_ratings_apply_queue_depth") == 0
    assert value(got, "arena_ratings_open_streams") == 0
    assert value(got, "arena_ratings_watchers") == 0

    server.service.checkpoint()
    age = value(samples(server), "arena_ratings_checkpoint_age_seconds")
    assert 0 <= age < 60

    # One watch open: a stream and a watcher, until it is cancelled.
    watch = stub.WatchLeaderboard(
        pb.WatchRequest(leaderboard=pb.LeaderboardRequest(board="two", method=pb.ELO, ci=pb.CI_NONE)), timeout=20
    )
    next(watch)
    got = samples(server)
    assert value(got, "arena_ratings_open_streams") == 1
    assert value(got, "arena_ratings_watchers") == 1
    watch.cancel()
    cancelled = {"rpc": "WatchLeaderboard", "code": "CANCELLED", "transport": "grpc"}
    ended = threading.Event()
    for _ in range(100):  # the server notices a cancelled watch within its poll interval
        got = samples(server)
        gauges = value(got, "arena_ratings_open_streams"), value(got, "arena_ratings_watchers")
        if gauges == (0, 0) and value(got, "arena_ratings_calls_refused_total", **cancelled) == 1:
            ended.set()
            break
        ended.wait(0.05)
    assert ended.is_set(), got
    assert value(got, "arena_ratings_request_duration_seconds_count", rpc="WatchLeaderboard", transport="grpc") == 1


def test_each_service_has_its_own_registry():
    first, second = ServiceMetrics(), ServiceMetrics()
    first.observe_call("SubmitVotes", "http", 0.01, "RESOURCE_EXHAUSTED", votes=7)
    second.observe_call("SubmitVotes", "http", 0.01, None, votes=7)
    assert b'arena_ratings_votes_refused_total{reason="resource_exhausted"} 7.0' in first.exposition()
    assert b"votes_refused_total{" not in second.exposition()
    assert b'arena_ratings_request_duration_seconds_count{rpc="SubmitVotes",transport="http"} 1.0' in (
        second.exposition()
    )
    assert CONTENT_TYPE.startswith("text/plain")
