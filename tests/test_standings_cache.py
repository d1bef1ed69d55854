"""The standings cache: LRU by bytes, single flight, and a lock map that does not grow."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine import Standings
from server.domain.results import BoardStandings
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.service.standings_cache import StandingsCache, standings_bytes
from tests.conftest import synthetic_batch
from tests.test_service import client_for


def standings_of(m: int, board: str = "b") -> BoardStandings:
    rng = np.random.default_rng(m)
    rating = rng.normal(1000, 50, m)
    counts = rng.integers(0, 100, (m, 4))
    s = Standings.build(np.arange(m, dtype=np.int32), rating, rating - 10, rating + 10, counts, int(counts.sum()), 1, 0)
    return BoardStandings(board, s, [f"model-{i}" for i in s.competitor_ids.tolist()])


def test_size_estimate_counts_the_arrays_and_names():
    small, big = standings_of(10), standings_of(1000)
    arrays = sum(v.nbytes for v in vars(big.standings).values() if isinstance(v, np.ndarray))
    assert standings_bytes(big) > arrays + 1000 * len("model-000")
    assert standings_bytes(big) < 2 * arrays + 1000 * 200
    assert standings_bytes(small) < standings_bytes(big)


def test_evicts_least_recently_used_past_the_byte_budget():
    one = standings_bytes(standings_of(100))
    cache = StandingsCache(max_bytes=3 * one + one // 2)  # room for three
    for key in "abc":
        cache.put(key, 1, standings_of(100))
    assert cache.get("a") is not None  # a is now the most recently used; b the least
    cache.put("d", 1, standings_of(100))
    assert cache.get("b") is None and all(cache.get(k) is not None for k in "acd")
    stats = cache.stats()
    assert stats.entries == 3 and stats.nbytes <= stats.max_bytes and stats.evictions == 1
    # Replacing an entry (a newer stamp) keeps one entry for the key and its new size.
    cache.put("a", 2, standings_of(50))
    assert cache.get("a").stamp == 2 and cache.stats().entries == 3
    assert cache.stats().nbytes == 2 * one + standings_bytes(standings_of(50))


def test_an_entry_over_the_whole_budget_is_returned_not_kept():
    cache = StandingsCache(max_bytes=10_000)
    cache.put("small", 1, standings_of(1))
    kept = cache.put("huge", 1, standings_of(5000))
    assert kept.standings.models[0].startswith("model-") and cache.get("huge") is None
    assert cache.get("small") is not None  # nothing was evicted for it


def test_single_flight_runs_one_computation_for_concurrent_callers():
    cache = StandingsCache(max_bytes=10**8)
    computed = []
    started = threading.Event()

    def query() -> None:
        with cache.single_flight("k"):
            if cache.get("k") is None:
                started.set()
                time.sleep(0.2)  # the others arrive meanwhile and wait
                computed.append(1)
                cache.put("k", 1, standings_of(10))

    threads = [threading.Thread(target=query) for _ in range(8)]
    for t in threads:
        t.start()
    assert started.wait(5)
    assert cache.stats().keys_in_flight == 1
    for t in threads:
        t.join(10)
    assert len(computed) == 1 and cache.stats().keys_in_flight == 0


def test_flights_of_different_keys_do_not_wait_for_each_other():
    cache = StandingsCache(max_bytes=10**8)
    with cache.single_flight("a"):
        done = threading.Event()

        def other() -> None:
            with cache.single_flight("b"):
                done.set()

        threading.Thread(target=other).start()
        assert done.wait(5)


def test_the_lock_map_does_not_grow_with_distinct_keys():
    cache = StandingsCache(max_bytes=standings_bytes(standings_of(20)) * 4)
    for i in range(2000):
        with cache.single_flight(("anchor", float(i))):
            cache.put(("anchor", float(i)), 1, standings_of(20))
    stats = cache.stats()
    assert stats.keys_in_flight == 0 and stats.entries == 4
    with pytest.raises(RuntimeError):  # an exception inside still releases the key
        with cache.single_flight("x"):
            raise RuntimeError("fit failed")
    assert cache.stats().keys_in_flight == 0


def test_many_distinct_anchor_ratings_keep_the_service_cache_in_budget(start_server):
    budget = 64 * 1024
    server = start_server(standings_cache_bytes=budget)
    with client_for(server) as client:
        last = client.submit(synthetic_batch(2000, 30, seed=61)).last_seq
        model = client.leaderboard(min_seq=last, ci=pb.CI_NONE).rows[0].model
        for i in range(300):
            anchored = client.leaderboard(ci=pb.CI_NONE, anchor=(model, 1000.0 + i))
            assert anchored.rows[0].rating == pytest.approx(1000.0 + i)
    stats = server.service.standings_cache.stats()
    assert 0 < stats.nbytes <= budget and stats.entries < 100 and stats.evictions > 200
    assert stats.keys_in_flight == 0


def test_serve_flag_sets_the_budget(monkeypatch, tmp_path):
    from server.cli.main import main
    from server.rpc import app

    started = []

    def fake_start(data_dir, host, port, config, access=None, http=None):
        started.append(config)
        raise SystemExit(0)

    monkeypatch.setattr(app, "start", fake_start)
    with pytest.raises(SystemExit):
        main(["serve", "--data-dir", str(tmp_path), "--standings-cache-mb", "16"])
    assert started[0].standings_cache_bytes == 16 * 1024 * 1024
    with pytest.raises(SystemExit, match="--standings-cache-mb"):
        main(["serve", "--data-dir", str(tmp_path), "--standings-cache-mb", "0"])
