"""``replay --ray``: the same output as the single-machine replay, on a local Ray instance.

Ray starts once for the module with 2 CPUs (``ray.init(num_cpus=2)``); ``--ray auto`` in this process
uses that instance. The tests are skipped, saying why, only when Ray cannot start on the machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import ray

from engine import Board, EloConfig
from server.cli.main import main
from server.distributed import elo_shards
from server.distributed.cluster import Cluster, ClusterUnavailable, check_reachable
from server.offline.replay import AppliedVotes
from tests.conftest import style_votes

ROOT = Path(__file__).resolve().parent.parent
LABELS = np.array(["", "model_a", "model_b", "tie", "tie (bothbad)"])
N_VOTES = 12_000


@pytest.fixture(scope="module")
def cluster():
    try:
        ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    except Exception as exc:  # noqa: BLE001 - whatever stops Ray from starting here
        pytest.skip(f"Ray cannot start on this machine: {exc}")
    yield Cluster("auto", 2)
    ray.shutdown()


def vote_frame(n: int = N_VOTES, seed: int = 5) -> pl.DataFrame:
    """Votes with every column the distributed parts read: weights (some 0), tags, voters and two style
    features."""
    a, b, outcome, values, _ = style_votes(n, 14, seed=seed, n_features=2, tie_rate=0.1)
    rng = np.random.default_rng(seed + 1)
    tags = [["coding"] if r < 0.4 else ["coding", "math"] if r < 0.6 else [] for r in rng.random(n)]
    weight = np.where(rng.random(n) < 0.05, 0.0, rng.choice([0.5, 1.0, 1.0, 2.0], n))
    return pl.DataFrame({
        "model_a": [f"m{i:02d}" for i in a],
        "model_b": [f"m{i:02d}" for i in b],
        "winner": LABELS[outcome].tolist(),
        "tstamp": 1.7e9 + np.arange(float(n)) * 60,
        "judge": [f"voter{i}" for i in rng.integers(0, 300, n)],
        "tags": tags,
        "weight": weight,
        "style_a_tokens": values[:, 0],
        "style_a_bold": values[:, 1],
        "style_b_tokens": values[:, 2],
        "style_b_bold": values[:, 3],
    })  # fmt: skip


@pytest.fixture(scope="module")
def vote_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("votes") / "votes.parquet"
    vote_frame().write_parquet(path)
    return path


def replay_json(capsys, files: list[Path], *flags: str) -> dict:
    assert main(["replay", *map(str, files), "--format", "json", *flags]) == 0
    feed = json.loads(capsys.readouterr().out)
    feed.pop("as_of")  # the wall-clock time the feed was written
    return feed


def assert_close(got, expected, path: str = "feed", tol: float = 1e-6) -> None:
    """Equal, with floats within ``tol`` (points)."""
    if isinstance(expected, dict):
        assert got.keys() == expected.keys(), path
        for key in expected:
            assert_close(got[key], expected[key], f"{path}.{key}", tol)
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_close(g, e, f"{path}[{i}]", tol)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=tol), path
    else:
        assert got == expected, path


def test_elo_replay_is_bit_identical(cluster, vote_file, capsys):
    flags = ["--method", "elo", "--bootstrap", "37", "--seed", "11"]  # 37: shards of unequal width
    expected = replay_json(capsys, [vote_file], *flags)
    got = replay_json(capsys, [vote_file], *flags, "--ray", "auto")
    assert got == expected
    assert {row["rating_lower"] < row["rating"] < row["rating_upper"] for row in got["rows"]} == {True}


def test_elo_shards_join_to_the_boards_replicas_bit_for_bit(cluster):
    rng = np.random.default_rng(3)
    n, m = 20_000, 9
    a = rng.integers(0, m, n).astype(np.int32)
    b = ((a + rng.integers(1, m, n)) % m).astype(np.int32)
    outcome = rng.integers(1, 5, n).astype(np.int8)
    weight = np.where(rng.random(n) < 0.1, 0.0, rng.uniform(0.5, 3.0, n))
    config = EloConfig(bootstrap_rounds=50, seed=21)
    board = Board(config)
    board.apply(a, b, outcome, weight=weight)
    replicas = elo_shards.elo_replicas(cluster, AppliedVotes(a, b, outcome, weight), config, board.competitor_ids)
    assert replicas.dtype == np.float64 and replicas.shape == board.replicas.shape
    assert np.array_equal(replicas, board.replicas)


@pytest.mark.parametrize(
    "flags",
    [
        ["--rounds", "40"],
        ["--rounds", "30", "--category", "math"],
        ["--rounds", "20", "--style-control"],
        ["--rounds", "30", "--cluster", "voter"],
        ["--rounds", "20", "--bt-ties", "davidson"],
    ],
    ids=["bt", "category", "style", "clustered", "davidson"],
)
def test_fits_match_the_single_machine_replay(cluster, vote_file, capsys, flags):
    expected = replay_json(capsys, [vote_file], *flags)
    got = replay_json(capsys, [vote_file], *flags, "--ray", "auto")
    assert_close(got, expected)


def test_category_views_one_task_each_equal_the_single_machine_export(cluster, vote_file, tmp_path, capsys):
    def export(outdir: Path, *flags: str) -> dict[str, dict]:
        argv = ["export", "--file", str(vote_file), "--categories", "all", "--formats", "json", "--rounds", "30"]
        assert main([*argv, "--outdir", str(outdir), *flags]) == 0
        capsys.readouterr()
        feeds = {path.name: json.loads(path.read_text()) for path in outdir.iterdir()}
        for feed in feeds.values():
            feed.pop("as_of")
        return feeds

    expected = export(tmp_path / "here")
    assert sorted(expected) == ["leaderboard.coding.json", "leaderboard.math.json"]
    assert expected["leaderboard.math.json"]["category"] == "math"
    assert_close(export(tmp_path / "ray", "--ray", "auto"), expected)
    # each view is the replay of that category
    assert_close(expected["leaderboard.coding.json"], replay_json(capsys, [vote_file], "--rounds", "30", "--category",
                                                                 "coding"))  # fmt: skip


def test_categories_no_vote_carries_are_an_error(vote_file, tmp_path, capsys):
    argv = ["export", "--file", str(vote_file), "--categories", "coding,poetry", "--outdir", str(tmp_path)]
    assert main(argv) == 2
    assert "--categories: no vote carries 'poetry'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_files_read_by_the_workers_replay_as_one(cluster, tmp_path, capsys):
    """A dataset of several files (a directory of Parquet parts, applied in name order), read by the
    workers one task a file, replays as the files do on one machine, and as the one file they came from."""
    frame = vote_frame(9_000, seed=8)
    whole = tmp_path / "whole.parquet"
    frame.write_parquet(whole)
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    (dataset / "_SUCCESS").touch()  # a writer's marker, not votes
    parts = []
    for i, (start, length) in enumerate(((0, 2_500), (2_500, 3_500), (6_000, 3_000))):
        parts.append(dataset / f"part-{i}.parquet")
        frame.slice(start, length).write_parquet(parts[-1])
    flags = ["--method", "elo", "--bootstrap", "16", "--drop-ties"]
    expected = replay_json(capsys, [whole], *flags)
    assert replay_json(capsys, parts, *flags) == expected
    assert replay_json(capsys, [dataset], *flags) == expected
    assert replay_json(capsys, [dataset], *flags, "--ray", "auto") == expected
    assert replay_json(capsys, [dataset], *flags, "--ray", "auto", "--ray-read", "driver") == expected


def test_a_bad_row_in_a_file_read_by_a_worker_names_the_file_and_row(cluster, tmp_path, capsys):
    frame = vote_frame(3_000, seed=9)
    good, bad = tmp_path / "good.parquet", tmp_path / "bad.parquet"
    frame.slice(0, 1_500).write_parquet(good)
    broken = frame.slice(1_500, 1_500).with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("nobody")).otherwise(pl.col("winner")).alias("winner")
    )
    broken.write_parquet(bad)
    assert main(["replay", str(good), str(bad), "--ray", "auto"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "row" in err and "winner" in err


def test_a_worker_killed_mid_task_is_retried_and_the_replicas_are_unchanged(cluster, tmp_path):
    marker = tmp_path / "killed-once"

    def kill_once(votes, config, replicas, report):
        # Only the shard holding replica 0 dies, and only the first time: after part of its votes.
        if replicas.start == 0 and not marker.exists():
            elo_shards.apply_shard(
                AppliedVotes(votes.competitor_a[:500], votes.competitor_b[:500], votes.outcome[:500], None),
                config, replicas,
            )  # fmt: skip
            marker.touch()
            os._exit(1)
        return elo_shards.apply_shard(votes, config, replicas, report)

    rng = np.random.default_rng(4)
    n, m = 5_000, 6
    a = rng.integers(0, m, n).astype(np.int32)
    b = ((a + rng.integers(1, m, n)) % m).astype(np.int32)
    outcome = rng.integers(1, 4, n).astype(np.int8)
    config = EloConfig(bootstrap_rounds=12, seed=2)
    board = Board(config)
    board.apply(a, b, outcome)
    votes = AppliedVotes(a, b, outcome, None)
    replicas = elo_shards.elo_replicas(cluster, votes, config, board.competitor_ids, shard=kill_once)
    assert marker.exists()  # the worker did die once
    assert np.array_equal(replicas, board.replicas)


def test_the_progress_bar_is_fed_from_the_shards(cluster, capsys):
    rng = np.random.default_rng(5)
    a = rng.integers(0, 5, 3_000).astype(np.int32)
    b = ((a + rng.integers(1, 5, 3_000)) % 5).astype(np.int32)
    outcome = rng.integers(1, 4, 3_000).astype(np.int8)
    config = EloConfig(bootstrap_rounds=8)
    board = Board(config)
    board.apply(a, b, outcome)
    elo_shards.elo_replicas(cluster, AppliedVotes(a, b, outcome, None), config, board.competitor_ids, shown=True)
    err = capsys.readouterr().err
    assert "elo replicas: 100%" in err and "6.00k/6.00k" in err  # 3,000 votes in each of 2 shards


@pytest.mark.parametrize(
    "query",
    [
        {"method": "elo"},
        {},
        {"style_control": True},
        {"ties": "davidson"},
        {"cluster": "voter"},
        {"cluster": "prompt", "category": "coding"},
    ],
    ids=["elo", "bt", "style", "davidson", "voter", "prompt-category"],
)
def test_the_workers_warm_up_runs_every_query_kind_through(query):
    from server.distributed import workers
    from server.offline.replay import offline_query

    # Raises where the tiny board lacks what the query reads: the warm-up would then load nothing.
    workers._replay_tiny(EloConfig(bootstrap_rounds=4), offline_query("default", **query), None, None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_cluster_is_a_clear_error_naming_the_address(vote_file):
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "replay", str(vote_file), "--ray", address],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"--ray {address}: no Ray cluster answers at {address}" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


def test_a_port_that_is_not_ray_is_refused_within_the_timeout():
    with socket.socket() as listener:  # accepts connections and never speaks gRPC
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(ClusterUnavailable, match=f"no Ray cluster answers at {address} within 1 s"):
            check_reachable(address, seconds=1.0)
        assert time.monotonic() - started < 10


def test_ray_is_never_imported_by_the_service_or_the_remote_commands():
    probe = (
        "import sys\nimport server.cli.serve, server.cli.remote, server.rpc.app, server.http.app\n"
        "print('ray' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
