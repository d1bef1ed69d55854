"""WatchLeaderboard against a real server: an update when ranks change, none otherwise, and a clean end.

Every wait is bounded; the watch interval is short so the tests are quick.
"""

from __future__ import annotations

import queue
import threading

import grpc
import pytest

from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from tests.conftest import make_batch
from tests.test_service import client_for

INTERVAL = 0.05
QUIET = 1.0  # seconds of silence that count as "no update" (20 watch intervals)


def start_watch(client, **options):
    """(the call, a queue that receives each Leaderboard, then the final status code)."""
    call = client.watch(interval=INTERVAL, ci=pb.CI_NONE, **options)
    received: queue.Queue = queue.Queue()

    def pump() -> None:
        try:
            for board in call:
                received.put(board)
            received.put(grpc.StatusCode.OK)
        except grpc.RpcError as exc:
            received.put(exc.code())

    threading.Thread(target=pump, daemon=True).start()
    return call, received


def order(board: pb.Leaderboard) -> list[str]:
    return [row.model for row in board.rows]


def test_a_watcher_hears_of_rank_changes_and_of_nothing_else(start_server):
    server = start_server()
    # a > b > c, clearly.
    ranks = make_batch(
        ["a", "b", "a"] * 40, ["b", "c", "c"] * 40, [1, 1, 1] * 40, vote_ids=[f"s{i}" for i in range(120)]
    )
    with client_for(server) as client:
        client.submit(ranks)
        call, received = start_watch(client)
        first = received.get(timeout=10)
        assert order(first) == ["a", "b", "c"] and first.total_votes == 120
        # Votes that move ratings but not the order: no message.
        confirm = make_batch(["a"] * 30, ["c"] * 30, [1] * 30, vote_ids=[f"c{i}" for i in range(30)])
        last = client.submit(confirm).last_seq
        client.leaderboard(min_seq=last, ci=pb.CI_NONE)
        with pytest.raises(queue.Empty):
            received.get(timeout=QUIET)
        # c beats everyone, often: the order changes and exactly one update reports it.
        upset = make_batch(["c", "c"] * 150, ["a", "b"] * 150, [1, 1] * 150, vote_ids=[f"u{i}" for i in range(300)])
        client.submit(upset)
        update = received.get(timeout=10)
        assert order(update)[0] == "c" and update.total_votes == 450
        with pytest.raises(queue.Empty):
            received.get(timeout=QUIET)
        call.cancel()
        assert received.get(timeout=10) == grpc.StatusCode.CANCELLED


def test_top_k_watch_ignores_changes_below_the_top(start_server):
    server = start_server()
    votes = make_batch(["a", "b", "c", "a"] * 50, ["b", "c", "d", "d"] * 50, [1, 1, 1, 1] * 50)
    with client_for(server) as client:
        client.submit(votes)
        call, received = start_watch(client, top_k=1)
        assert order(received.get(timeout=10))[0] == "a"
        # d overtakes c (ranks 3 and 4 swap): not in the top 1, no update.
        swap = make_batch(["d"] * 200, ["c"] * 200, [1] * 200, vote_ids=[f"d{i}" for i in range(200)])
        last = client.submit(swap).last_seq
        assert order(client.leaderboard(min_seq=last, ci=pb.CI_NONE))[2] == "d"
        with pytest.raises(queue.Empty):
            received.get(timeout=QUIET)
        call.cancel()


def test_watches_end_with_unavailable_when_the_server_stops_and_reject_bad_requests(start_server):
    server = start_server()
    with client_for(server) as client:
        client.submit(make_batch(["a", "b"], ["b", "c"], [1, 1]))
        watches = [start_watch(client) for _ in range(5)]
        for _, received in watches:
            received.get(timeout=10)
        for field, request in (
            ("min_interval_seconds", dict(interval=0.001)),
            ("leaderboard.as_of", dict(as_of="x")),
        ):
            bad = client.watch(timeout=10, **request)
            with pytest.raises(grpc.RpcError) as caught:
                next(bad)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in caught.value.details()
        with pytest.raises(grpc.RpcError) as caught:
            next(client.watch("nope", timeout=10))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        for _, received in watches:
            assert received.get(timeout=5) == grpc.StatusCode.UNAVAILABLE
        stopper.join(timeout=15)
        assert not stopper.is_alive()


def test_fifty_watchers_share_one_publisher_and_all_hear_the_change(start_server):
    from server.domain.queries import LeaderboardQuery, ListingQuery
    from server.service.watch import WatchHub, watch

    server = start_server()
    service = server.service
    hub = WatchHub(service)
    request = ListingQuery(LeaderboardQuery("default", "bt", "none"))
    with client_for(server) as client:
        client.submit(make_batch(["a", "b"] * 30, ["b", "c"] * 30, [1, 1] * 30))
        stop = threading.Event()
        heard: queue.Queue = queue.Queue()

        def watcher() -> None:
            for shown in watch(hub, service, request, interval=INTERVAL, is_active=lambda: not stop.is_set()):
                heard.put(shown.result.models[0])

        threads = [threading.Thread(target=watcher, daemon=True) for _ in range(50)]
        for t in threads:
            t.start()
        assert [heard.get(timeout=10) for _ in range(50)] == ["a"] * 50
        assert len(hub) == 1  # one recomputation per change, whatever the number of watchers
        client.submit(make_batch(["c"] * 200, ["a"] * 200, [1] * 200, vote_ids=[f"u{i}" for i in range(200)]))
        assert [heard.get(timeout=10) for _ in range(50)] == ["c"] * 50
        stop.set()
        for t in threads:
            t.join(timeout=10)
        assert not any(t.is_alive() for t in threads) and len(hub) == 0
