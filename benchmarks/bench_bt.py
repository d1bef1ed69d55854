"""Speed of the engine's Bradley–Terry (BT) leaderboards, against LMArena's references
(FastChat 0.2.36 ``compute_elo_mle_with_tie`` and arena-rank 0.1.1 ``BradleyTerry``).

    python benchmarks/bench_bt.py [--votes N] [--models M] [--rounds B] [--repeats R]
        [--threads T] [--seed S] [--skip-references] [--reference-rounds K]
        [--arena-rank-jobs J] [--skip-scaling] [--scaling-votes LIST] [--scaling-rounds B]
        [--tennis PATH] [--tennis-rounds B] [--skip-tennis] [--json PATH]

Sections (wall clock, time.perf_counter; engine figures are medians of R repeats
after the numba kernels were warmed on a small table):

1. Engine on N synthetic votes (default 1 M) over M models (default 100), from
   ``bench_engine.synthetic_arena`` (seeded default_rng: strengths N(0, 1), uniform
   pairs a != b, ~10% ties, half of them both-bad). The live cells are built as
   the service builds them: ``Board.apply`` in 1000-vote batches, then
   ``board.cell_table()``. Timed: the fit from those cells (cold, and warm-started
   from the previous fit after 1000 more votes), the fit from raw votes
   (``CellTable.from_votes`` + ``bt.fit``), B-round bootstrap CIs and sandwich CIs.
   Targets (from the issue): fit from live cells <= 10 ms, from raw votes
   <= 100 ms, 1000-round bootstrap CIs <= 1 s, sandwich CIs <= 20 ms.
2. The references on the same votes (benchmarks/references.py, each called as its
   authors call it, from model-name / winner-label arrays; every reference time
   includes building its pandas DataFrame, printed separately). Their bootstraps
   are run for K rounds only (default 3) and extrapolated to 1000 rounds: the
   extrapolations are labelled as such. Ratings are compared with ours
   (default prior, and prior=1e-6 ~ the plain MLE that arena-rank computes).
3. Bootstrap time against N: the same B-round bootstrap on 100 k, 1 M and 10 M
   votes over M models, each aggregated into cells first (cost is O(cells) per
   round, and the cells do not grow with N once every pair has met).
4. The WTA tennis data (593 k matches, 24 k players; /work/shared/data), run in a
   child process (``--tennis-only``) so that its peak RSS (VmHWM) is its own:
   aggregation, fit, bootstrap CIs, and the sandwich's refusal above 4000 competitors.

Missed speed targets are reported, not fatal. Exit status 1 only when the ratings
disagree with arena-rank's plain MLE (prior=1e-6 fit, tolerance 0.05 points).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import numpy as np  # noqa: E402

from benchmarks.common import fmt_s, json_default, machine_line, peak_rss_mb, repeat, row, timed  # noqa: E402
from engine import Board, EloConfig, bt  # noqa: E402
from engine.cells import CellTable  # noqa: E402
from engine.scale import RatingScale  # noqa: E402
from engine.standings import CI_PERCENTILES  # noqa: E402

BATCH = 1000  # votes per Board.apply() call, like the live service
EXTRA_VOTES = 1000  # votes added between the previous fit and the warm-started one
TARGET_FIT_LIVE = 0.010  # s, BT fit from the live cells
TARGET_FIT_RAW = 0.100  # s, BT fit from raw votes, aggregation included
TARGET_BOOTSTRAP = 1.0  # s, 1000-round bootstrap CIs
TARGET_SANDWICH = 0.020  # s, sandwich CIs
MLE_TOLERANCE = 0.05  # rating points, our prior=1e-6 fit vs arena-rank's MLE
FLAT_RATIO = 1.5  # "flat in N": 10M / 100k bootstrap time within [1/1.5, 1.5]
TENNIS = "/work/shared/data/tennis_wta_singles.parquet"
TENNIS_MARKER = "BENCH_BT_TENNIS_JSON "
OUTCOME_OF_LABEL = {"model_a": 1, "model_b": 2, "tie": 3, "tie (bothbad)": 4}
SCALE = RatingScale()


# --------------------------------------------------------------------------- helpers


def verdict(seconds: float, target: float) -> str:
    return f"{'MET' if seconds <= target else 'NOT MET'} (<= {fmt_s(target)})"


def percentile_ci(thetas: np.ndarray):
    """The percentile step of bt.standings: 2.5 / 97.5 percentiles of the centred replicate ratings."""
    return np.percentile(SCALE.ratings(thetas), CI_PERCENTILES, axis=0)


def per_competitor_counts(m: int, a, b, o) -> np.ndarray:
    """int64[m, 4] of (wins, losses, ties, both-bad ties), by competitor id (what Board.counts keeps)."""
    counts = np.zeros((m, 4), dtype=np.int64)
    counts[:, 0] = np.bincount(a[o == 1], minlength=m) + np.bincount(b[o == 2], minlength=m)
    counts[:, 1] = np.bincount(a[o == 2], minlength=m) + np.bincount(b[o == 1], minlength=m)
    for k, code in ((2, 3), (3, 4)):
        counts[:, k] = np.bincount(a[o == code], minlength=m) + np.bincount(b[o == code], minlength=m)
    return counts


def warm_up(threads: int) -> float:
    """Compile (or load from numba's cache) every kernel the timed runs use, on a small table."""
    from bench_engine import synthetic_arena

    t0 = time.perf_counter()
    a, b, o, _ = synthetic_arena(5_000, 12, 12345)
    board = Board(EloConfig(bootstrap_rounds=0), threads=threads)
    for s in range(0, a.shape[0], BATCH):
        board.apply(a[s : s + BATCH], b[s : s + BATCH], o[s : s + BATCH])
    table = board.cell_table()
    table.components()
    config = bt.BTConfig()
    full = bt.fit(table, config)
    bt.fit(table, config, theta0=full.theta)
    bt.fit(table, bt.BTConfig(step="newton"))
    raw = CellTable.from_votes(12, a, b, o)
    bt.fit(raw, config)
    percentile_ci(bt.bootstrap(table, config, full, rounds=4, seed=0, threads=threads))
    bt.bootstrap(table, config, full, rounds=1, seed=0, threads=1)
    bt.sandwich_covariance(table, config, full.theta)
    for ci in ("bootstrap", "sandwich"):
        bt.standings(
            table,
            board.counts.copy(),
            board.competitor_ids.copy(),
            config,
            bt.BTQuery(ci=ci, rounds=4, seed=0),
            threads=threads,
        )
    return time.perf_counter() - t0


def print_rows(rows: list[dict]) -> None:
    print("| what | median | runs | target |")
    print("| --- | ---: | ---: | --- |")
    for r in rows:
        target = verdict(r["median_s"], r["target_s"]) if r["target_s"] is not None else ""
        print(f"| {r['what']} | {fmt_s(r['median_s'])} | {len(r['times_s'])} | {target} |")


# --------------------------------------------------------------------------- section 1: engine


def bench_engine_1m(args, a, b, o, a_extra, b_extra, o_extra):
    m, threads, rounds, reps = args.models, args.threads, args.rounds, args.repeats
    config = bt.BTConfig()
    rows = []

    # The live cells, built as the service builds them.
    def ingest():
        board = Board(EloConfig(bootstrap_rounds=0), threads=threads)
        for s in range(0, a.shape[0], BATCH):
            board.apply(a[s : s + BATCH], b[s : s + BATCH], o[s : s + BATCH])
        return board

    board, t_ingest = timed(ingest)
    live, copy_times = repeat(board.cell_table, reps)
    ids, counts = board.competitor_ids.copy(), board.counts.copy()
    cold, cold_times = repeat(lambda: bt.fit(live, config), reps)
    board.apply(a_extra, b_extra, o_extra)
    live_after = board.cell_table()
    warm, warm_times = repeat(lambda: bt.fit(live_after, config, theta0=cold.theta), reps)
    cold_after = bt.fit(live_after, config)
    rows.append(row("`board.cell_table()`: copy of the live cells (what a query reads)", copy_times))
    rows.append(
        row(
            "`bt.fit(live_table)`, cold (theta = 0)",
            cold_times,
            TARGET_FIT_LIVE,
            key="fit_live_cold",
            iterations=cold.iterations,
        )
    )
    rows.append(
        row(
            f"`bt.fit(live_table, theta0=previous fit)`, warm, after {EXTRA_VOTES:,} more votes",
            warm_times,
            TARGET_FIT_LIVE,
            key="fit_live_warm",
            iterations=warm.iterations,
        )
    )

    # From raw votes (ids are 0..M-1, i.e. already interned).
    raw_table, agg_times = repeat(lambda: CellTable.from_votes(m, a, b, o), reps)
    raw_fit, raw_times = repeat(lambda: bt.fit(CellTable.from_votes(m, a, b, o), config), reps)
    rows.append(row("`CellTable.from_votes` (aggregation alone)", agg_times))
    rows.append(
        row(
            "`CellTable.from_votes` + `bt.fit` (BT from raw votes)",
            raw_times,
            TARGET_FIT_RAW,
            key="fit_raw",
            iterations=raw_fit.iterations,
        )
    )

    # Bootstrap CIs from the live cells.
    full = cold
    _, boot_times = repeat(lambda: percentile_ci(bt.bootstrap(live, config, full, rounds, args.seed, threads)), reps)
    query_boot = bt.BTQuery(ci="bootstrap", rounds=rounds, seed=args.seed)
    (boot_standings, _), boot_st_times = repeat(
        lambda: bt.standings(live, counts, ids, config, query_boot, threads=threads), reps
    )
    boot_target = TARGET_BOOTSTRAP if rounds == 1000 else None
    rows.append(
        row(
            f"`bt.bootstrap({rounds} rounds, threads={threads})` + percentile step",
            boot_times,
            boot_target,
            key="bootstrap",
        )
    )
    rows.append(
        row(
            f"`bt.standings(BTQuery(ci='bootstrap', rounds={rounds}))`, whole call (cold fit + bootstrap)",
            boot_st_times,
            boot_target,
            key="standings_bootstrap",
        )
    )

    # Sandwich CIs.
    _, cov_times = repeat(lambda: bt.sandwich_covariance(live, config, full.theta), reps)
    query_sw = bt.BTQuery(ci="sandwich")
    (sw_standings, _), sw_times = repeat(
        lambda: bt.standings(live, counts, ids, config, query_sw, threads=threads), reps
    )
    rows.append(row("`bt.sandwich_covariance` alone", cov_times, TARGET_SANDWICH, key="sandwich_covariance"))
    rows.append(
        row(
            "`bt.standings(BTQuery(ci='sandwich'))`, whole call (cold fit + sandwich)",
            sw_times,
            TARGET_SANDWICH,
            key="standings_sandwich",
        )
    )

    # From raw votes to CIs (what the references do: they start from the votes), for the ratios.
    counts_by_id = per_competitor_counts(m, a, b, o)
    ids_by_id = np.arange(m, dtype=np.int32)

    def raw_to(query):
        return lambda: bt.standings(
            CellTable.from_votes(m, a, b, o), counts_by_id, ids_by_id, config, query, threads=threads
        )

    (raw_sw, _), raw_sw_times = repeat(raw_to(query_sw), reps)
    _, raw_boot_times = repeat(raw_to(query_boot), reps)
    rows.append(
        row("raw votes -> sandwich CIs (`from_votes` + `standings(ci='sandwich')`)", raw_sw_times, key="raw_sandwich")
    )
    rows.append(
        row(
            f"raw votes -> bootstrap CIs (`from_votes` + `standings(ci='bootstrap', rounds={rounds})`)",
            raw_boot_times,
            key="raw_bootstrap",
        )
    )

    # Consistency: the live path (slot order) and the raw path (id order) fit the same votes.
    live_by_id = np.empty(m)
    live_by_id[ids] = SCALE.ratings(cold.theta)
    same_fit = float(np.abs(live_by_id - SCALE.ratings(raw_fit.theta)).max())
    warm_vs_cold = float(np.abs(SCALE.ratings(warm.theta) - SCALE.ratings(cold_after.theta)).max())

    def half_widths(st):
        out = np.full(m, np.nan)
        out[st.competitor_ids] = (st.rating_upper - st.rating_lower) / 2
        return out

    info = {
        "ingest_s": t_ingest,
        "ingest_note": f"Board.apply of {a.shape[0]:,} votes in {BATCH}-vote batches (bootstrap_rounds=0)",
        "cells": live.n_cells,
        "competitors": live.n_competitors,
        "components": int(live.components().max()) + 1,
        "fit_iterations_cold": cold.iterations,
        "fit_iterations_warm": warm.iterations,
        "max_abs_diff_live_vs_raw_fit": same_fit,
        "max_abs_diff_warm_vs_cold_fit": warm_vs_cold,
        "bootstrap_half_width_median": float(np.median(half_widths(boot_standings))),
        "sandwich_half_width_median": float(np.median(half_widths(sw_standings))),
    }
    return rows, info, raw_fit, raw_sw


# --------------------------------------------------------------------------- section 2: references


def bench_references(args, a, b, o, names, ours_fit, ours_sandwich, our_rows):
    """Time FastChat's and arena-rank's BT on the same votes; compare ratings. Returns a dict."""
    import references as refs
    from bench_engine import WINNER_LABEL

    m, k, big = args.models, args.reference_rounds, args.rounds  # big: the rounds our CIs use
    model_a, model_b, winner = names[a], names[b], WINNER_LABEL[o]
    small = slice(0, 20_000)
    out: dict = {"reference_rounds": k, "notes": [], "rows": [], "ratios": [], "agreement": []}

    _, t_frame = timed(lambda: refs._battles(model_a, model_b, winner))
    out["dataframe_build_s"] = t_frame

    ours = {str(names[i]): float(r) for i, r in enumerate(SCALE.ratings(ours_fit.theta))}
    mle_fit = bt.fit(CellTable.from_votes(m, a, b, o), bt.BTConfig(prior=1e-6))
    ours_mle = {str(names[i]): float(r) for i, r in enumerate(SCALE.ratings(mle_fit.theta))}
    ours_hw = {
        str(names[i]): float(u - lo) / 2
        for i, lo, u in zip(ours_sandwich.competitor_ids, ours_sandwich.rating_lower, ours_sandwich.rating_upper)
    }

    def max_diff(theirs: dict, mine: dict) -> tuple[float, str]:
        common = sorted(set(theirs) & set(mine))
        diffs = np.array([abs(theirs[n] - mine[n]) for n in common])
        worst = int(diffs.argmax())
        return float(diffs[worst]), common[worst]

    our = {r["key"]: r["median_s"] for r in our_rows if "key" in r}
    ours_raw_fit, ours_live_fit = our["fit_raw"], our["fit_live_cold"]
    ours_raw_sw, ours_live_sw = our["raw_sandwich"], our["standings_sandwich"]
    ours_raw_boot, ours_live_boot = our["raw_bootstrap"], our["standings_bootstrap"]

    def ratio(what, ref_name, ref_s, ours_raw, ours_live, note=""):
        out["ratios"].append(
            {
                "what": what,
                "reference": ref_name,
                "reference_s": ref_s,
                "ours_raw_s": ours_raw,
                "ours_live_s": ours_live,
                "ratio_vs_raw": ref_s / ours_raw,
                "ratio_vs_live": ref_s / ours_live,
                "note": note,
            }
        )

    # ----------------------------------------------------------- arena-rank
    try:
        import arena_rank  # noqa: F401
        import jax

        refs._arena_rank()
        out["arena_rank"] = {"version": _version("arena-rank"), "jax": jax.__version__}
    except Exception as e:  # ImportError, or a broken install (e.g. jax failing at import)
        out["notes"].append(f"arena-rank skipped: {type(e).__name__}: {e}")
    else:
        print("arena-rank: warm-up (JAX import and compilation, untimed)...", flush=True)
        refs.arena_rank_bt(model_a[small], model_b[small], winner[small])
        refs.arena_rank_bt(model_a, model_b, winner)  # the 1 M-vote shapes' first compilation
        ar_fit, t_fit = repeat(lambda: refs.arena_rank_bt(model_a, model_b, winner), args.reference_repeats)
        t_fit = statistics.median(t_fit)
        print(f"arena-rank BradleyTerry fit: {t_fit:.2f} s", flush=True)
        (ar_sw, ar_lo, ar_hi), t_sw = timed(lambda: refs.arena_rank_sandwich(model_a, model_b, winner))
        print(f"arena-rank fit + sandwich: {t_sw:.2f} s", flush=True)
        jobs = args.arena_rank_jobs
        _, t_boot = timed(lambda: refs.arena_rank_bootstrap(model_a, model_b, winner, rounds=k, seed=42, n_jobs=jobs))
        print(f"arena-rank fit + bootstrap ({k} rounds, n_jobs={jobs}): {t_boot:.2f} s", flush=True)
        per_round = max(t_boot - t_fit, 0.0) / k
        if jobs == 0:  # one process: extrapolate with ideal parallelism over as many workers as our threads
            divide = args.threads
            how = "in-process (n_jobs=0: the library's computation, same numbers, without its process pool)"
            per_round_label = "arena-rank bootstrap, per round (1 process)"
            extrapolation = f"EXTRAPOLATED: fit + {big} x per round / {divide} (ideal {divide}-way parallelism)"
        else:  # the pool's wall time per round, its start-up amortised over k rounds
            divide = 1
            how = f"spawn pool, n_jobs={jobs}; its start-up, amortised over {k} rounds, is in the per-round figure"
            per_round_label = f"arena-rank bootstrap, wall time per round (pool, n_jobs={jobs})"
            extrapolation = f"EXTRAPOLATED: fit + {big} x per round (overestimate: includes pool start-up)"
        extrapolated = t_fit + big * per_round / divide
        out["arena_rank"].update(
            {
                "fit_s": t_fit,
                "fit_plus_sandwich_s": t_sw,
                "fit_plus_bootstrap_s": t_boot,
                "bootstrap_rounds": k,
                "bootstrap_jobs": jobs,
                "bootstrap_per_round_s": per_round,
                "bootstrap_how": how,
                "bootstrap_extrapolated_rounds": big,
                "bootstrap_extrapolated_s": extrapolated,
                "extrapolation_divisor": divide,
            }
        )
        out["rows"] += [
            ("arena-rank `BradleyTerry` fit (`PairDataset.from_pandas` + L-BFGS)", t_fit, "measured"),
            ("arena-rank fit + sandwich CIs (`compute_ratings_and_cis(ci_method='sandwich')`)", t_sw, "measured"),
            (f"arena-rank fit + bootstrap, {k} rounds, n_jobs={jobs}", t_boot, "measured"),
            (per_round_label, per_round, f"(measured - fit) / {k}"),
            (f"arena-rank fit + bootstrap, **{big} rounds**", extrapolated, extrapolation),
        ]
        ratio("BT fit", "arena-rank", t_fit, ours_raw_fit, ours_live_fit)
        ratio("fit + sandwich CIs", "arena-rank", t_sw, ours_raw_sw, ours_live_sw)
        ratio(
            f"fit + {big}-round bootstrap CIs",
            "arena-rank",
            extrapolated,
            ours_raw_boot,
            ours_live_boot,
            "reference EXTRAPOLATED from a few rounds",
        )
        d, worst = max_diff(ar_fit, ours)
        out["agreement"].append(
            {
                "what": "ours (default: the MLE where it exists) vs arena-rank MLE",
                "max_abs_diff": d,
                "worst": worst,
                "tolerance": None,
            }
        )
        d, worst = max_diff(ar_fit, ours_mle)
        out["agreement"].append(
            {
                "what": "ours (prior = 1e-6) vs arena-rank MLE",
                "max_abs_diff": d,
                "worst": worst,
                "tolerance": MLE_TOLERANCE,
                "ok": d < MLE_TOLERANCE,
            }
        )
        ar_hw = {n: (ar_hi[n] - ar_lo[n]) / 2 for n in ar_sw}
        d, worst = max_diff(ar_hw, ours_hw)
        out["agreement"].append(
            {
                "what": "sandwich 95% CI half-width: ours (default) vs arena-rank (ridge 1e-5 N)",
                "max_abs_diff": d,
                "worst": worst,
                "tolerance": None,
                "median_half_width": float(np.median(list(ar_hw.values()))),
            }
        )

    # ----------------------------------------------------------- FastChat
    try:
        refs._fastchat_mle()
        refs._fastchat_function("get_bootstrap_result")
        out["fastchat"] = {"version": _version("fschat"), "scikit_learn": _version("scikit-learn")}
    except Exception as e:  # ImportError, or a broken install (e.g. jax failing at import)
        out["notes"].append(f"FastChat skipped: {type(e).__name__}: {e}")
    else:
        refs.fastchat_bt(model_a[small], model_b[small], winner[small])  # warm-up (imports)
        fc_fit, t_fit = repeat(lambda: refs.fastchat_bt(model_a, model_b, winner), args.reference_repeats)
        t_fit = statistics.median(t_fit)
        print(f"FastChat compute_elo_mle_with_tie: {t_fit:.2f} s", flush=True)
        _, t_boot = timed(lambda: refs.fastchat_bt_bootstrap(model_a, model_b, winner, rounds=k, seed=args.seed))
        print(f"FastChat fit + bootstrap ({k} rounds): {t_boot:.2f} s", flush=True)
        per_round = max(t_boot - t_fit, 0.0) / k
        extrapolated = t_fit + big * per_round
        out["fastchat"].update(
            {
                "fit_s": t_fit,
                "fit_plus_bootstrap_s": t_boot,
                "bootstrap_rounds": k,
                "bootstrap_per_round_s": per_round,
                "bootstrap_extrapolated_rounds": big,
                "bootstrap_extrapolated_s": extrapolated,
            }
        )
        out["rows"] += [
            ("FastChat `compute_elo_mle_with_tie` (sklearn LogisticRegression)", t_fit, "measured"),
            (f"FastChat fit + `get_bootstrap_result`, {k} rounds", t_boot, "measured"),
            ("FastChat bootstrap, per round (sequential, 1 process)", per_round, f"(measured - fit) / {k}"),
            (
                f"FastChat fit + bootstrap, **{big} rounds**",
                extrapolated,
                f"EXTRAPOLATED: fit + {big} x per round (sequential, as FastChat runs it)",
            ),
        ]
        ratio("BT fit", "FastChat", t_fit, ours_raw_fit, ours_live_fit)
        ratio(
            f"fit + {big}-round bootstrap CIs",
            "FastChat",
            extrapolated,
            ours_raw_boot,
            ours_live_boot,
            "reference EXTRAPOLATED from a few rounds",
        )
        fc = refs.recentre({str(n): float(v) for n, v in fc_fit.items()})
        d, worst = max_diff(fc, ours)
        out["agreement"].append(
            {
                "what": "ours (default) vs FastChat, recentred to mean 1000 (L2 C=1, tol 1e-4)",
                "max_abs_diff": d,
                "worst": worst,
                "tolerance": None,
            }
        )
        d, worst = max_diff(fc, ours_mle)
        out["agreement"].append(
            {
                "what": "ours (prior 1e-6) vs FastChat, recentred to mean 1000",
                "max_abs_diff": d,
                "worst": worst,
                "tolerance": None,
            }
        )
    return out


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "?"


# --------------------------------------------------------------------------- section 3: N


def bench_scaling(args):
    return [scaling_point(args, n) for n in args.scaling_votes]


def scaling_point(args, n: int) -> dict:
    from bench_engine import synthetic_arena

    config = bt.BTConfig()
    (a, b, o, _), t_gen = timed(lambda: synthetic_arena(n, args.models, args.seed))
    table, t_agg = timed(lambda: CellTable.from_votes(args.models, a, b, o))
    full, t_fit = timed(lambda: bt.fit(table, config))

    def ci():
        return percentile_ci(bt.bootstrap(table, config, full, args.scaling_rounds, args.seed, args.threads))

    _, times = repeat(ci, args.scaling_repeats)
    print(f"N = {n:,}: generated in {t_gen:.2f} s, bootstrap {[round(t, 3) for t in times]} s", flush=True)
    return {
        "votes": n,
        "generate_s": t_gen,
        "aggregate_s": t_agg,
        "cells": table.n_cells,
        "fit_s": t_fit,
        "fit_iterations": full.iterations,
        "bootstrap_times_s": times,
        "bootstrap_median_s": statistics.median(times),
    }


# --------------------------------------------------------------------------- section 4: tennis


def tennis_child(args) -> int:
    """Runs in its own process (--tennis-only); prints one JSON line (TENNIS_MARKER + json)."""
    import pandas as pd

    out: dict = {"path": args.tennis, "rounds": args.tennis_rounds, "threads": args.threads}
    rss = {"after module imports": peak_rss_mb()}
    out["warm_up_s"] = warm_up(args.threads)
    rss["after JIT warm-up"] = peak_rss_mb()

    df, t_load = timed(lambda: pd.read_parquet(args.tennis, columns=["model_a", "model_b", "winner"]))
    out["rows_read"] = len(df)
    self_play = (df["model_a"] == df["model_b"]).to_numpy()
    out["self_play_dropped"] = int(self_play.sum())
    df = df[~self_play]
    labels = df["winner"].astype(str).to_numpy()
    unknown = sorted(set(np.unique(labels)) - set(OUTCOME_OF_LABEL))
    if unknown:
        raise ValueError(f"unknown winner labels in {args.tennis}: {unknown[:5]}")
    out["winner_counts"] = {str(k): int(v) for k, v in df["winner"].value_counts().items()}

    def intern():
        codes, players = pd.factorize(pd.concat([df["model_a"], df["model_b"]], ignore_index=True))
        n = len(df)
        outcome = np.zeros(n, dtype=np.int8)
        for label, code in OUTCOME_OF_LABEL.items():
            outcome[labels == label] = code
        return codes[:n].astype(np.int32), codes[n:].astype(np.int32), outcome, len(players)

    (a, b, o, m), t_intern = timed(intern)
    rss["after loading + interning"] = peak_rss_mb()
    out.update({"votes": int(a.shape[0]), "competitors": m, "load_s": t_load, "intern_s": t_intern})

    config = bt.BTConfig()
    table, agg_times = repeat(lambda: CellTable.from_votes(m, a, b, o), args.repeats)
    rss["after aggregation"] = peak_rss_mb()
    components = table.components()
    sizes = np.bincount(components)
    out.update(
        {
            "cells": table.n_cells,
            "components": int(sizes.shape[0]),
            "largest_component": int(sizes[0]),
            "table_mb": (table.cell_lo.nbytes + table.cell_hi.nbytes + table.counts.nbytes) / 2**20,
        }
    )
    full, fit_times = repeat(lambda: bt.fit(table, config), args.repeats)
    rss["after fit"] = peak_rss_mb()
    out.update({"fit_iterations": full.iterations, "auto_switch": bt.AUTO_SWITCH})
    (lower, upper), t_boot = timed(
        lambda: percentile_ci(bt.bootstrap(table, config, full, args.tennis_rounds, args.seed, args.threads))
    )
    rss["after bootstrap CIs (end)"] = peak_rss_mb()
    half = (upper - lower) / 2
    try:
        bt.sandwich_covariance(table, config, full.theta)
        out["sandwich"] = "computed (not refused)"
    except ValueError as e:
        out["sandwich"] = f"ValueError: {e}"
    out.update(
        {
            "aggregate_times_s": agg_times,
            "aggregate_median_s": statistics.median(agg_times),
            "fit_times_s": fit_times,
            "fit_median_s": statistics.median(fit_times),
            "bootstrap_s": t_boot,
            "bootstrap_per_round_s": t_boot / args.tennis_rounds,
            "bootstrap_1000_extrapolated_s": 1000 * t_boot / args.tennis_rounds,
            "half_width_median": float(np.median(half)),
            "rss_mb": rss,
            "peak_rss_mb": peak_rss_mb(),
            "bootstrap_output_mb": args.tennis_rounds * m * 8 / 2**20,
        }
    )
    print(TENNIS_MARKER + json.dumps(out), flush=True)
    return 0


def bench_tennis(args) -> dict:
    if not os.path.exists(args.tennis):
        return {"status": "skipped", "note": f"{args.tennis} is absent"}
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--tennis-only",
        "--tennis",
        args.tennis,
        "--tennis-rounds",
        str(args.tennis_rounds),
        "--threads",
        str(args.threads),
        "--seed",
        str(args.seed),
        "--repeats",
        str(args.tennis_repeats),
    ]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    lines = [line for line in done.stdout.splitlines() if line.startswith(TENNIS_MARKER)]
    if done.returncode != 0 or not lines:
        return {"status": "failed", "note": f"child exited {done.returncode}: {done.stderr.strip()[-2000:]}"}
    out = json.loads(lines[-1][len(TENNIS_MARKER) :])
    out.update({"status": "ran", "child_wall_s": wall, "child_command": shlex.join(command)})
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--votes", type=int, default=1_000_000, help="N synthetic votes (default 1,000,000)")
    parser.add_argument("--models", type=int, default=100, help="M models (default 100)")
    parser.add_argument("--rounds", type=int, default=1000, help="bootstrap rounds of our CIs (default 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of each engine timing (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="bootstrap threads (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic votes and bootstraps (default 0)")
    parser.add_argument("--skip-references", action="store_true", help="do not run FastChat / arena-rank")
    parser.add_argument(
        "--reference-rounds",
        type=int,
        default=3,
        help="bootstrap rounds actually run per reference (default 3),\nextrapolated to 1000",
    )
    parser.add_argument("--reference-repeats", type=int, default=1, help="repeats of each reference fit (default 1)")
    parser.add_argument(
        "--arena-rank-jobs",
        type=int,
        default=0,
        help="arena-rank bootstrap n_jobs (default 0: in-process, no pool\nstart-up in the per-round "
        "time; >0: its spawn pool)",
    )
    parser.add_argument("--skip-scaling", action="store_true", help="skip the bootstrap-vs-N section")
    parser.add_argument(
        "--scaling-votes",
        default="100000,1000000,10000000",
        help="comma-separated N of the bootstrap-vs-N section\n(default 100000,1000000,10000000)",
    )
    parser.add_argument("--scaling-rounds", type=int, default=1000, help="bootstrap rounds there (default 1000)")
    parser.add_argument("--scaling-repeats", type=int, default=3, help="repeats there (default 3)")
    parser.add_argument("--tennis", default=TENNIS, help=f"WTA parquet (default {TENNIS})")
    parser.add_argument("--tennis-rounds", type=int, default=100, help="bootstrap rounds on tennis (default 100)")
    parser.add_argument("--tennis-repeats", type=int, default=3, help="repeats of tennis aggregation / fit (default 3)")
    parser.add_argument("--skip-tennis", action="store_true", help="skip the tennis section")
    parser.add_argument("--tennis-only", action="store_true", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    try:
        args.scaling_votes = [int(x) for x in str(args.scaling_votes).split(",") if x.strip()]
    except ValueError:
        parser.error("--scaling-votes must be comma-separated integers")
    if (
        args.votes < 1
        or args.models < 2
        or args.rounds < 1
        or args.repeats < 1
        or args.threads < 1
        or args.reference_rounds < 1
        or args.reference_repeats < 1
        or args.scaling_rounds < 1
        or args.scaling_repeats < 1
        or args.tennis_rounds < 1
        or args.tennis_repeats < 1
        or any(n < 1 for n in args.scaling_votes)
    ):
        parser.error("counts must be positive (--models >= 2)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.tennis_only:
        return tennis_child(args)

    from bench_engine import model_names, synthetic_arena

    t_start = time.perf_counter()
    command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    machine = machine_line()
    n, m = args.votes, args.models
    print(
        f"# arena-ratings Bradley–Terry benchmark: {n:,} votes, {m} models, {args.rounds} bootstrap rounds, "
        f"{args.threads} threads, seed {args.seed}"
    )
    print()
    t_warm = warm_up(args.threads)
    print(f"warm-up (numba compile or cache load): {t_warm:.2f} s", flush=True)

    (a_all, b_all, o_all, _), t_gen = timed(lambda: synthetic_arena(n + EXTRA_VOTES, m, args.seed))
    a, b, o = a_all[:n], b_all[:n], o_all[:n]
    a_extra, b_extra, o_extra = a_all[n:], b_all[n:], o_all[n:]
    names = model_names(m)
    votes = np.bincount(o, minlength=5)[1:]
    print(
        f"synthetic votes ({t_gen:.2f} s): A wins {votes[0]:,}, B wins {votes[1]:,}, ties {votes[2]:,}, "
        f"both-bad ties {votes[3]:,}; +{EXTRA_VOTES:,} more for the warm start",
        flush=True,
    )

    engine_rows, engine_info, raw_fit, raw_sandwich = bench_engine_1m(args, a, b, o, a_extra, b_extra, o_extra)
    print("engine section done", flush=True)

    references = {"status": "skipped", "note": "--skip-references given"}
    if not args.skip_references:
        references = bench_references(args, a, b, o, names, raw_fit, raw_sandwich, engine_rows)
        references["status"] = "ran"

    scaling = [] if args.skip_scaling else bench_scaling(args)
    tennis = {"status": "skipped", "note": "--skip-tennis given"} if args.skip_tennis else None
    if tennis is None:
        print(f"tennis: running the child process ({args.tennis_rounds} bootstrap rounds)...", flush=True)
        tennis = bench_tennis(args)
    total = time.perf_counter() - t_start

    # ----------------------------------------------------------------- report
    print()
    print(
        f"## 1. Engine BT on {n:,} synthetic votes, {m} models ({engine_info['cells']:,} cells, "
        f"{engine_info['components']} component)"
    )
    print()
    print_rows(engine_rows)
    print()
    print(f"live cells: {engine_info['ingest_note']}: {engine_info['ingest_s']:.2f} s (untimed setup)")
    print(
        f"fit iterations: cold {engine_info['fit_iterations_cold']}, warm {engine_info['fit_iterations_warm']}; "
        f"live-cells fit vs raw-votes fit max |diff| = {engine_info['max_abs_diff_live_vs_raw_fit']:.1e} points; "
        f"warm vs cold fit after the extra votes: {engine_info['max_abs_diff_warm_vs_cold_fit']:.1e} points"
    )
    print(
        f"median 95% CI half-width: bootstrap {engine_info['bootstrap_half_width_median']:.2f}, "
        f"sandwich {engine_info['sandwich_half_width_median']:.2f} points"
    )
    print(f"medians of {args.repeats} repeats; bootstrap threads = {args.threads}")

    print()
    print(f"## 2. References on the same {n:,} votes")
    print()
    if references["status"] != "ran":
        print(f"skipped: {references['note']}")
    else:
        for note in references["notes"]:
            print(f"NOTE: {note}")
        if references["rows"]:
            print("| reference | time | how |")
            print("| --- | ---: | --- |")
            for what, seconds, how in references["rows"]:
                print(f"| {what} | {fmt_s(seconds)} | {how} |")
            print()
            print("| what | reference | reference time | ours from raw votes | ratio | ours from live cells | ratio |")
            print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
            for r in references["ratios"]:
                star = " (extrapolated)" if r["note"] else ""
                print(
                    f"| {r['what']} | {r['reference']}{star} | {fmt_s(r['reference_s'])} | {fmt_s(r['ours_raw_s'])} "
                    f"| {r['ratio_vs_raw']:,.0f}x | {fmt_s(r['ours_live_s'])} | {r['ratio_vs_live']:,.0f}x |"
                )
            print()
            print(
                "ratio = reference time / our time (higher: ours faster). 'ours from raw votes' includes "
                "CellTable.from_votes; 'from live cells' is the bt.fit / bt.standings call on the Board's cells."
            )
            print(
                f"every reference time includes building its pandas DataFrame from the name/label arrays "
                f"(~{fmt_s(references['dataframe_build_s'])}, references._battles)."
            )
            if "arena_rank" in references and "bootstrap_how" in references["arena_rank"]:
                ar = references["arena_rank"]
                print(
                    f"arena-rank {ar['version']} (jax {ar['jax']}): bootstrap {ar['bootstrap_how']}; "
                    "untimed warm-up fits on 20 k and on all votes first."
                )
            if "fastchat" in references and "fit_s" in references["fastchat"]:
                fc = references["fastchat"]
                print(f"FastChat {fc['version']} (scikit-learn {fc['scikit_learn']}).")
            print(
                f"reference fits: median of {args.reference_repeats}; reference bootstraps: "
                f"{args.reference_rounds} rounds run, {args.rounds} EXTRAPOLATED."
            )
        if references["agreement"]:
            print()
            print("| ratings compared (max over models) | max abs diff (points) | worst model | check |")
            print("| --- | ---: | --- | --- |")
            for r in references["agreement"]:
                check = "" if r["tolerance"] is None else (f"{'OK' if r['ok'] else 'FAIL'} (< {r['tolerance']:g})")
                print(f"| {r['what']} | {r['max_abs_diff']:.4f} | {r['worst']} | {check} |")

    if scaling:
        print()
        rounds_note = "" if args.scaling_rounds == 1000 else " (reduced from 1000 to save time)"
        print(
            f"## 3. Bootstrap time vs N: {args.scaling_rounds} rounds{rounds_note}, {m} models, {args.threads} threads"
        )
        print()
        print("| votes | cells | generate | aggregate | fit (iterations) | bootstrap + percentiles (median) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in scaling:
            print(
                f"| {r['votes']:,} | {r['cells']:,} | {fmt_s(r['generate_s'])} | {fmt_s(r['aggregate_s'])} | "
                f"{fmt_s(r['fit_s'])} ({r['fit_iterations']}) | {fmt_s(r['bootstrap_median_s'])} |"
            )
        print()
        first, last = scaling[0], scaling[-1]
        flat_ratio = last["bootstrap_median_s"] / first["bootstrap_median_s"]
        flat = 1 / FLAT_RATIO <= flat_ratio <= FLAT_RATIO
        print(
            f"bootstrap {last['votes']:,} / {first['votes']:,} votes: {flat_ratio:.2f}x "
            f"({last['votes'] / first['votes']:,.0f}x the votes) -> {'FLAT' if flat else 'NOT FLAT'} "
            f"(within {1 / FLAT_RATIO:.2f}-{FLAT_RATIO:.2f}x); medians of {args.scaling_repeats}; "
            "generate and aggregate: one run each"
        )

    print()
    print("## 4. WTA tennis singles")
    print()
    if tennis["status"] != "ran":
        print(f"{tennis['status']}: {tennis['note']}")
    else:
        t = tennis
        print(
            f"{t['path']}: {t['rows_read']:,} rows; dropped {t['self_play_dropped']} with model_a == model_b; "
            f"{t['votes']:,} votes, {t['competitors']:,} players, winners {t['winner_counts']}"
        )
        print()
        print("| step | time | detail |")
        print("| --- | ---: | --- |")
        print(f"| read parquet (3 columns) | {fmt_s(t['load_s'])} | |")
        print(f"| intern names (pd.factorize) + outcome codes | {fmt_s(t['intern_s'])} | |")
        print(
            f"| `CellTable.from_votes` (aggregation) | {fmt_s(t['aggregate_median_s'])} | {t['cells']:,} cells "
            f"({t['table_mb']:.1f} MB); {t['components']} connected components, largest {t['largest_component']:,} |"
        )
        print(
            f"| `bt.fit` | {fmt_s(t['fit_median_s'])} | {t['fit_iterations']} iterations (auto: Newman, Newton-CG "
            f"after {t['auto_switch']}) |"
        )
        print(
            f"| bootstrap CIs, {t['rounds']} rounds "
            f"+ percentiles | {fmt_s(t['bootstrap_s'])} | {fmt_s(t['bootstrap_per_round_s'])} per round, "
            f"{t['threads']} threads; 1000 rounds EXTRAPOLATED: {fmt_s(t['bootstrap_1000_extrapolated_s'])}; "
            f"median half-width {t['half_width_median']:.1f} points |"
        )
        print(
            f"| aggregation + fit + bootstrap CIs | "
            f"{fmt_s(t['aggregate_median_s'] + t['fit_median_s'] + t['bootstrap_s'])} | |"
        )
        print(
            f"| peak RSS of the child process (VmHWM) | {t['peak_rss_mb']:,.0f} MB | "
            + "; ".join(f"{k}: {v:,.0f} MB" for k, v in t["rss_mb"].items())
            + " |"
        )
        print()
        print(f"sandwich CIs: {t['sandwich']}")
        print(
            f"aggregation / fit: medians of {args.tennis_repeats}; bootstrap: one run. Child process: "
            f"{t['child_wall_s']:.1f} s wall, including its imports and JIT warm-up ({t['warm_up_s']:.2f} s)"
        )

    # ----------------------------------------------------------------- targets
    print()
    print("## Targets")
    print()
    targets = [(r["what"], r["median_s"], r["target_s"], r["met"]) for r in engine_rows if r["target_s"] is not None]
    for what, seconds, target, met in targets:
        print(f"- {what}: {fmt_s(seconds)} -> {'MET' if met else 'NOT MET'} (target <= {fmt_s(target)})")
    if args.rounds != 1000:
        print(f"- bootstrap target (1000 rounds <= 1 s): not checked (--rounds {args.rounds})")
    mle_check = next((r for r in references.get("agreement", []) if r["tolerance"] is not None), None)
    if mle_check is not None:
        print(
            f"- {mle_check['what']}: max |diff| {mle_check['max_abs_diff']:.4f} points -> "
            f"{'OK' if mle_check['ok'] else 'FAIL'} (< {MLE_TOLERANCE})"
        )
    print()
    print(f"total benchmark time: {total:.1f} s (warm-up {t_warm:.2f} s)")
    print(f"machine: {machine}")
    print(f"command: {command}")

    if args.json:
        result = {
            "command": command,
            "machine": machine,
            "params": {k: v for k, v in vars(args).items() if k not in ("json", "tennis_only")},
            "warm_up_s": t_warm,
            "total_s": total,
            "engine": {"rows": engine_rows, **engine_info},
            "references": references,
            "scaling": scaling,
            "tennis": tennis,
            "targets": [{"target": w, "median_s": s, "target_s": t, "met": met} for w, s, t, met in targets],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, default=json_default)
            f.write("\n")
        print(f"wrote {args.json}")
    return 1 if mle_check is not None and not mle_check["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
