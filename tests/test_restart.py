"""Shutdown is bounded whatever the backlog, and the next start applies what was left
(issue 11, defect 11). The figures for restart time are benchmarks/bench_restart.py's."""

from __future__ import annotations

import shutil
import time

import numpy as np

from engine import EloConfig
from engine.views import BoardViews
from server.domain.queries import LeaderboardQuery
from server.service.core import RatingsService, ServiceConfig
from tests.conftest import synthetic_batch


def test_close_does_not_wait_for_a_long_backlog_and_the_restart_applies_it(tmp_path, monkeypatch):
    config = ServiceConfig(default_elo=EloConfig(bootstrap_rounds=8), snapshot_every_seconds=0,
                           close_apply_seconds=0.5, engine_threads=1)  # fmt: skip
    real_apply = BoardViews.apply

    def slow(self, *args, **kwargs):  # 50 ms a batch: 200 batches would take 10 s to apply
        time.sleep(0.05)
        return real_apply(self, *args, **kwargs)

    votes = synthetic_batch(4000, 10, seed=5)
    service = RatingsService(tmp_path, config)
    monkeypatch.setattr(BoardViews, "apply", slow)
    for start in range(0, 4000, 20):
        service.submit(votes.slice(start, start + 20))
    started = time.monotonic()
    service.close()
    closing = time.monotonic() - started
    assert closing < 0.5 + 3.0, f"close took {closing:.1f} s with a 0.5 s apply budget"
    monkeypatch.setattr(BoardViews, "apply", real_apply)

    restarted = RatingsService(tmp_path, config)
    try:
        assert restarted.last_seq == 4000
        state = restarted._versions._live["default"].state()
        elo = restarted.leaderboard(LeaderboardQuery("default", "elo"))
        assert elo.standings.total_votes == 4000
    finally:
        restarted.close()
    shutil.rmtree(tmp_path / "checkpoints")
    replayed = RatingsService(tmp_path, config)  # the whole log, no checkpoint
    try:
        for view, arrays in replayed._versions._live["default"].state().items():
            for key, value in arrays.items():
                np.testing.assert_array_equal(value, state[view][key], err_msg=f"{view}: {key}")
    finally:
        replayed.close()


def test_recovery_uses_every_core_then_gives_the_engine_back_its_share(tmp_path, monkeypatch):
    config = ServiceConfig(default_elo=EloConfig(bootstrap_rounds=8), snapshot_every_seconds=0, engine_threads=1)
    service = RatingsService(tmp_path, config)
    service.submit(synthetic_batch(500, 6, seed=1))
    service.close()
    shutil.rmtree(tmp_path / "checkpoints")
    seen = []
    real_apply = BoardViews.apply

    def spy(self, *args, **kwargs):
        seen.append(self.threads)
        return real_apply(self, *args, **kwargs)

    monkeypatch.setattr("server.service.core.os.cpu_count", lambda: 7)
    monkeypatch.setattr(BoardViews, "apply", spy)
    restarted = RatingsService(tmp_path, config)
    try:
        assert seen == [7]
        assert restarted._versions._live["default"].threads == 1
    finally:
        restarted.close()
