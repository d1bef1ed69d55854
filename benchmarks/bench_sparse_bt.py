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
    """(slot_a, slot_b, outcome) of a sparse tennis-like board; outcome 1 = a won, 2 = b won.

    Two populations, as in the ATP history: the tour (about half the players, power-law activity,
    opponents mostly near in strength: long chains of rarely-meeting players) and satellite
    players in small regional groups (3-40 players, a handful of matches each) of whom about half
    link to the weak end of the tour by one or two matches and the rest never meet it: many small
    components.
    """
    rng = np.random.default_rng(seed)
    strength = np.sort(rng.normal(0, 1.5, players))[::-1].copy()  # slot order = strength order
    n_tour = players // 2
    tour = np.arange(n_tour)
    # Satellite groups: consecutive slots after the tour, sizes 3..40 (most small).
    sizes = np.minimum(3 + rng.geometric(0.12, players), 40)
    ends = np.minimum(n_tour + np.cumsum(sizes), players)
    starts = np.r_[n_tour, ends[:-1]]
    keep = starts < ends
    starts, ends = starts[keep], ends[keep]
    # Each satellite player plays ~2-8 matches within the group (near slots, as in the tour).
    sat_a, sat_b = [], []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        n = e - s
        k = int(rng.integers(1, 5) * n)
        ga = rng.integers(s, e, k)
        gb = s + (ga - s + rng.integers(1, n, k)) % n if n > 1 else ga
        sat_a.append(ga)
        sat_b.append(gb)
        if rng.random() < 0.5:  # a weak link: one or two matches against the tour's weakest third
            links = int(rng.integers(1, 3))
            sat_a.append(rng.integers(s, e, links))
            sat_b.append(rng.integers(2 * n_tour // 3, n_tour, links))
    sa, sb = np.concatenate(sat_a), np.concatenate(sat_b)
    activity = rng.pareto(1.2, n_tour) + 0.05  # a few play thousands of matches, most a handful
    n_main = max(votes - sa.shape[0], 0)
    a = tour[rng.choice(n_tour, n_main, p=activity / activity.sum())]
    # Opponents near in strength: a chain of rarely-meeting players along the order.
    offset = rng.geometric(0.0015, n_main) * rng.choice([-1, 1], n_main)
    b = np.clip(a + offset, 0, n_tour - 1)
    a, b = np.r_[a, sa], np.r_[b, sb]
    keep = a != b
    a, b = a[keep], b[keep]
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


WTA = "/work/shared/data/tennis_wta_singles.parquet"


def wta_board(path: str) -> CellTable:
    """The WTA singles history (a real board of the same kind: 24 k players, 593 k matches) as a cell table."""
    import polars as pl

    frame = pl.read_parquet(path, columns=["model_a", "model_b", "winner"])
    names = pl.concat([frame["model_a"], frame["model_b"]]).unique().sort()
    slots = pl.DataFrame({"name": names, "slot": np.arange(len(names), dtype=np.int32)})
    a = frame.join(slots, left_on="model_a", right_on="name", how="left", maintain_order="left")["slot"].to_numpy()
    b = frame.join(slots, left_on="model_b", right_on="name", how="left", maintain_order="left")["slot"].to_numpy()
    outcome = frame["winner"].replace_strict({"model_a": 1, "model_b": 2, "tie": 3}, default=4).to_numpy()
    return CellTable.from_votes(len(names), a, b, outcome.astype(np.int8))


def fit_and_rounds(table: CellTable, rounds: int, seed: int, threads: int) -> dict:
    """One cold point fit and ``rounds`` bootstrap rounds of the same board, timed in the same run."""
    config = bt.BTConfig()
    fit, fit_s = timed(lambda: bt.fit(table, config))
    _, rounds_s = timed(lambda: bt.bootstrap(table, config, fit, rounds, seed, threads))
    return {
        "players": table.n_competitors, "cells": table.n_cells, "components": int(table.components().max()) + 1,
        "regularized": int(fit.regularized.sum()), "cold_fit_s": round(fit_s, 3), "fit_iterations": fit.iterations,
        f"bootstrap_{rounds}_rounds_s": round(rounds_s, 3), "ms_per_round": round(1000 * rounds_s / rounds, 1),
        "rounds_over_fit": round(rounds_s / fit_s, 2),
    }  # fmt: skip


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
    parser.add_argument("--wta", default=WTA, help=f"WTA parquet, also measured if present (default {WTA})")
    args = parser.parse_args(argv)

    a, b, outcome = atp_shaped(args.players, args.votes, args.seed)
    table = CellTable.from_votes(args.players, a, b, outcome)
    config = bt.BTConfig()
    small = CellTable.from_votes(50, a[a < 50] % 50, b[a < 50] % 50, outcome[a < 50])
    bt.bootstrap(small, config, bt.fit(small, config), 2, 0)  # compile outside the timings
    report: dict = {"votes": int(a.shape[0]), "threads": args.threads, "target": "rounds_over_fit <= 10"}
    report.update(fit_and_rounds(table, args.rounds, args.seed, args.threads))
    fit_s = report["cold_fit_s"]
    report["ours_peak_rss_mb"] = round(peak_rss_mb())  # the fit's and the rounds' (out: rounds x players)
    if not args.skip_evalica:
        theirs = evalica_fit(a, b, outcome, args.players, args.evalica_timeout, args.evalica_memory_gb)
        scores = theirs.pop("scores", None)
        if scores is not None:
            report["evalica_over_ours_time"] = round(theirs["seconds"] / fit_s, 2)
        report["evalica"] = theirs
    if os.path.exists(args.wta):
        report["wta"] = fit_and_rounds(wta_board(args.wta), args.rounds, args.seed, args.threads)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
