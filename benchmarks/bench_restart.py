"""Start-up and shutdown of the service: how long a restart takes per million votes since the
last checkpoint, with a checkpoint, and with many category views.

    python benchmarks/bench_restart.py [--votes 1000000] [--bootstrap 1000] [--views 1000]

Builds data directories in-process with RatingsService (the same code `serve` runs), then
times opening them (recovery: load the newest checkpoint, replay the log after it on every
core) and closing them (apply the backlog, write the checkpoint):
- log only: N votes, no checkpoint (what a crash before the first checkpoint leaves);
- checkpoint + tail: the same N votes checkpointed, then N/2 more votes in the log;
- views: one board whose votes carry one of --views tags (so --views + 1 views).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import EloConfig  # noqa: E402
from server.domain.votes import VoteBatch  # noqa: E402
from server.service.core import RatingsService, ServiceConfig  # noqa: E402

BATCH = 1000
MODELS = 100


def _batches(n: int, first: int, tags: int, seed: int):
    rng = np.random.default_rng(seed)
    names = [f"model-{i:03d}" for i in range(MODELS)]
    for start in range(0, n, BATCH):
        k = min(BATCH, n - start)
        a = rng.integers(0, MODELS, k)
        batch = VoteBatch(
            board="default",
            vote_id=[f"v{first + start + i}" for i in range(k)],
            names=names,
            model_a=a,
            model_b=(a + rng.integers(1, MODELS, k)) % MODELS,
            outcome=rng.integers(1, 5, k),
            timestamp=np.full(k, 1.7e9),
        )
        if tags:
            batch.tag_count = np.ones(k, dtype=np.int64)
            batch.tags = [f"t{int(t)}" for t in rng.integers(0, tags, k)]
        yield batch


def _fill(data: Path, config: ServiceConfig, n: int, first: int = 0, tags: int = 0) -> float:
    """Ingest n votes; returns how long the close took (applying the backlog, the checkpoint)."""
    service = RatingsService(data, config)
    for batch in _batches(n, first, tags, seed=first + 1):
        service.submit(batch)
    started = time.perf_counter()
    service.close()
    return round(time.perf_counter() - started, 2)


def _open_close(data: Path, config: ServiceConfig) -> dict:
    """Recovery time, and the close after it (a checkpoint when the log had votes past the last one)."""
    started = time.perf_counter()
    service = RatingsService(data, config)
    opened = time.perf_counter() - started
    started = time.perf_counter()
    service.close()
    return {"open_s": round(opened, 2), "close_s": round(time.perf_counter() - started, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--views", type=int, default=1000)
    args = parser.parse_args()
    elo = EloConfig(bootstrap_rounds=args.bootstrap)
    # No checkpoint while filling: the restart replays everything.
    config = ServiceConfig(default_elo=elo, snapshot_every_seconds=0, checkpoint_every_votes=1 << 62,
                           checkpoint_every_seconds=1e9)  # fmt: skip
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "log-only"
        _fill(data, config, args.votes)
        shutil.rmtree(data / "checkpoints")  # as after a crash before the first checkpoint
        run = _open_close(data, config)
        run["s_per_million_votes"] = round(run["open_s"] / (args.votes / 1e6), 2)
        results["log only"] = run

        tail = args.votes // 2
        (at_n,) = (data / "checkpoints").glob("*.npz")  # the close above checkpointed the N votes
        saved = Path(tmp) / at_n.name
        shutil.copy(at_n, saved)
        _fill(data, config, tail, first=args.votes)  # N/2 more votes in the log ...
        shutil.rmtree(data / "checkpoints")
        (data / "checkpoints").mkdir()
        shutil.copy(saved, at_n)  # ... after the checkpoint at N
        results[f"checkpoint at {args.votes} + {tail} in the log"] = _open_close(data, config)

        views = Path(tmp) / "views"
        closing = _fill(views, config, max(args.views * 20, 20_000), tags=args.views)
        results[f"{args.views + 1} views"] = {"close_s (checkpoint)": closing, **_open_close(views, config)}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
