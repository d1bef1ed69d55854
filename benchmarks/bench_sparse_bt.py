"""Bradley–Terry on a huge sparse board: one cold point fit vs 1000 warm-started bootstrap rounds.

The shape of the ATP tennis history (941 k matches, 34 k players, many small components and long
chains of rarely-meeting players, ~10^6 cells), generated (the ATP data are not in the shared data):
players ordered by strength, power-law activity, opponents mostly near in that order (chains), a
share of small groups apart. Target: 1000 rounds in <= 10x one cold point fit, in one run. Also our
point fit against evalica's Bradley–Terry (dense in the number of players), run in a subprocess
under a memory limit and a timeout.

    PYTHONPATH=. python benchmarks/bench_sparse_bt.py [--players 34000] [--votes 941000] [--rounds 1000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time

import numpy as np

from benchmarks.common import peak_rss_mb, timed
from engine import bt
from engine.cells import CellTable


def atp_shaped(players: int, votes: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(slot_a, slot_b, outcome) of a sparse tennis-like board; outcome 1 = a won, 2 = b won."""
    rng = np.random.default_rng(seed)
    strength = np.sort(rng.normal(0, 1.5, players))[::-1].copy()  # slot order = strength order
    activity = rng.pareto(1.2, players) + 0.05  # a few play thousands of matches, most a handful
    apart = rng.random(players) < 0.03  # small groups that never meet the main tour (~3% of players)
    main = np.flatnonzero(~apart)
    p = activity[main] / activity[main].sum()
    a = main[rng.choice(main.shape[0], votes, p=p)]
    position = np.searchsorted(main, a)
    # Opponents near in strength: a chain of rarely-meeting players along the order.
    offset = rng.geometric(0.02, votes) * rng.choice([-1, 1], votes)
    b = main[np.clip(position + offset, 0, main.shape[0] - 1)]
    keep = a != b
    a, b = a[keep], b[keep]
    groups = np.flatnonzero(apart)
    ga = groups[rng.integers(0, groups.shape[0], groups.shape[0] * 3)]
    gb = groups[np.clip(np.searchsorted(groups, ga) + rng.integers(1, 4, ga.shape[0]), 0, groups.shape[0] - 1)]
    keep = ga != gb
    a, b = np.r_[a, ga[keep]], np.r_[b, gb[keep]]
    won = rng.random(a.shape[0]) < 1 / (1 + np.exp(strength[b] - strength[a]))
    return a.astype(np.int32), b.astype(np.int32), np.where(won, 1, 2).astype(np.int8)


def _evalica_child(a, b, outcome, players, limit_bytes, queue) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    try:
        import evalica

        winners = [evalica.Winner.X if o == 1 else evalica.Winner.Y for o in outcome.tolist()]
        t0 = time.perf_counter()
        result = evalica.bradley_terry(a, b, winners, win_weight=1.0, tie_weight=0.5)
        seconds = time.perf_counter() - t0
        queue.put({"seconds": seconds, "rss_mb": peak_rss_mb(), "scores": np.log(np.asarray(result.scores))})
    except MemoryError:
        queue.put({"error": f"over {limit_bytes / 2**30:.0f} GB"})
    except Exception as exc:  # noqa: BLE001 - whatever the reference raises is the finding
        queue.put({"error": f"{type(exc).__name__}: {exc}"[:200]})


def evalica_fit(a, b, outcome, players: int, timeout: float, limit_gb: float) -> dict:
    """evalica's BT in a spawned child under RLIMIT_AS and a timeout; its time, peak RSS or why not."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_evalica_child, args=(a, b, outcome, players, int(limit_gb * 2**30), queue))
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return {"error": f"did not finish in {timeout:g} s"}
    return queue.get() if not queue.empty() else {"error": f"exited with {child.exitcode} (limit {limit_gb:g} GB)"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=34_000)
    parser.add_argument("--votes", type=int, default=941_000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--evalica-timeout", type=float, default=600.0)
    parser.add_argument("--evalica-memory-gb", type=float, default=8.0)
    parser.add_argument("--skip-evalica", action="store_true")
    args = parser.parse_args(argv)

    a, b, outcome = atp_shaped(args.players, args.votes, args.seed)
    table = CellTable.from_votes(args.players, a, b, outcome)
    config = bt.BTConfig()
    small = CellTable.from_votes(50, a[a < 50] % 50, b[a < 50] % 50, outcome[a < 50])
    bt.bootstrap(small, config, bt.fit(small, config), 2, 0)  # compile outside the timings
    fit, fit_s = timed(lambda: bt.fit(table, config))
    _, rounds_s = timed(lambda: bt.bootstrap(table, config, fit, args.rounds, args.seed, args.threads))
    report = {
        "players": args.players, "votes": int(a.shape[0]), "cells": table.n_cells,
        "components": int(table.components().max()) + 1, "regularized": int(fit.regularized.sum()),
        "cold_fit_s": round(fit_s, 3), "fit_iterations": fit.iterations,
        f"bootstrap_{args.rounds}_rounds_s": round(rounds_s, 3), "threads": args.threads,
        "rounds_over_fit": round(rounds_s / fit_s, 2), "target": "<= 10", "ours_peak_rss_mb": round(peak_rss_mb()),
    }  # fmt: skip
    if not args.skip_evalica:
        theirs = evalica_fit(a, b, outcome, args.players, args.evalica_timeout, args.evalica_memory_gb)
        scores = theirs.pop("scores", None)
        if scores is not None:
            report["evalica_over_ours_time"] = round(theirs["seconds"] / fit_s, 2)
        report["evalica"] = theirs
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
