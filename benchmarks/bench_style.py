"""Speed of the engine's style-controlled Bradley–Terry (contextual BT, ``engine.style``), against
LMArena's references (arena-rank 0.1.1 ``ContextualBradleyTerry``, measured; FastChat's
``compute_style_control``, quoted from ../shared/ANCHORS.md).

    python benchmarks/bench_style.py [--votes N] [--models M] [--rounds B] [--repeats R]
        [--threads T] [--seed S] [--reference-rounds K] [--skip-references]
        [--timeout SECONDS] [--json PATH]

as run for the issue:

    cd /work/main && timeout 1500 /work/venv/bin/python benchmarks/bench_style.py --json /tmp/bench_style.json

Data: ``tests.conftest.style_votes(N, M, seed, length_effect=0.4, n_features=4, tie_rate=0.1)``
(N = 1 M votes, M = 100 models, 4 features: tokens, headers, lists, bold; the outcome depends on
strength and on the token feature). Wall clock, time.perf_counter; our figures are medians of R
repeats after the numba kernels were warmed on a small table.

1. Ours, FastChat's settings (``StyleConfig()``: ridge 0.5 on every parameter): ``style_data``
   (the features' (a-b)/(a+b+1), standardised), ``fit`` (Newton), raw votes -> fit (both),
   ``sandwich_covariance``, and the B-round ``bootstrap`` (vote-level Poisson, T threads).
   Targets (from the issue): style-controlled fit <= 1 s (checked on raw votes -> fit),
   100-round bootstrap <= 30 s.
2. Ours, arena-rank's settings (``StyleConfig(penalty="coefficients", reweight=True)``: ridge 1.0
   on the coefficients only, per-vote mean loss, inverse-propensity weights): the same steps.
3. arena-rank ``ContextualBradleyTerry`` on the same votes: the pandas DataFrame (names, winner
   labels, the 4 raw (a-b)/(a+b+1) feature columns), ``ContextualPairDataset.from_pandas(...,
   reweighted=True)`` (standardises them), and two fits, each on a fresh model object (JAX
   traces and compiles the L-BFGS loop on every fit: that is part of every fit in practice).
   Its bootstrap (``compute_ratings_and_cis(ci_method="bootstrap")``) forks a multiprocessing
   pool, which can hang with JAX, so it is NOT called: K rounds of its own per-round function
   ``fit_single_bootstrap_sample`` (with the keys the library would use) are timed in-process and
   extrapolated to B rounds on 2 cores with perfect parallelism (EXTRAPOLATED, a lower bound: the
   pool's start-up and the pickling of the dataset into each of its B tasks are not counted).
   FastChat's style-control fit (8.2 s at 1 M votes, ANCHORS.md) is quoted, not re-run: its
   current repository is not installable here.
4. Ratios reference / ours, and agreement: our ratings and coefficients under arena-rank's
   settings against arena-rank's (both centred to mean 1000, rating = theta * 400/ln 10 + 1000,
   matched by name). Exit status 1 when the ratings differ by AGREEMENT_TOLERANCE points or more.

The whole run is bounded by --timeout (faulthandler dumps the stacks and exits); the JSON file is
rewritten after every section, so a run cut short still leaves what it measured.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import math
import os
import shlex
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import numpy as np  # noqa: E402

from benchmarks.common import fmt_seconds, json_default, machine_line, repeat, row, timed  # noqa: E402
from engine import style  # noqa: E402
from engine.scale import RatingScale  # noqa: E402
from tests.conftest import style_votes  # noqa: E402

FEATURES = ("tokens", "headers", "lists", "bold")
LENGTH_EFFECT = 0.4
TIE_RATE = 0.1
TARGET_FIT = 1.0  # s, style-controlled fit at 1 M votes
TARGET_BOOTSTRAP = 30.0  # s, 100-round bootstrap at 1 M votes
TARGET_ROUNDS = 100
FASTCHAT_STYLE_FIT_1M = 8.2  # s, ANCHORS.md: "FastChat current repository: style-control fit", 1 M votes
AGREEMENT_TOLERANCE = 0.5  # rating points, ours (arena-rank settings) vs arena-rank
ARENA_RANK_CORES = 2  # the extrapolation credits its pool perfect use of this many cores
WINNER_LABEL = np.array(["", "model_a", "model_b", "tie", "tie (bothbad)"], dtype=object)
SCALE = RatingScale()
CONFIGS = {
    "fastchat": ("FastChat's settings (`StyleConfig()`)", style.StyleConfig()),
    "arena_rank": (
        "arena-rank's settings (`StyleConfig(penalty='coefficients', reweight=True)`)",
        style.StyleConfig(penalty="coefficients", reweight=True),
    ),
}


# --------------------------------------------------------------------------- helpers


def fmt_s(seconds: float | None) -> str:
    return fmt_seconds(seconds, ms_digits=1)


def peak_rss_mb() -> float:
    """VmHWM of this process, MB (nan where /proc is absent)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return math.nan


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "?"


def print_rows(rows: list[dict]) -> None:
    print("| what | median | runs | target |")
    print("| --- | ---: | ---: | --- |")
    for r in rows:
        target = ""
        if r["target_s"] is not None:
            target = f"{'MET' if r['met'] else 'NOT MET'} (<= {fmt_s(r['target_s'])})"
        print(f"| {r['what']} | {fmt_s(r['median_s'])} | {len(r['times_s'])} | {target} |")


def write_json(path: str | None, result: dict) -> None:
    if not path:
        return
    tmp = f"{path}.partial"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, default=json_default)
        f.write("\n")
    os.replace(tmp, path)


def model_names(m: int) -> np.ndarray:
    return np.array([f"model-{i:03d}" for i in range(m)], dtype=object)


# --------------------------------------------------------------------------- ours


def warm_up(threads: int) -> float:
    """Compile (or load from numba's cache) every kernel the timed runs use, on a small table."""
    t0 = time.perf_counter()
    a, b, o, values, _ = style_votes(5_000, 12, 12345, LENGTH_EFFECT, len(FEATURES), TIE_RATE)
    for _, config in CONFIGS.values():
        data = style.style_data(a, b, o, values, 12, config)
        full = style.fit(data, config)
        style.sandwich_covariance(data, config, full)
        style.bootstrap(data, config, full, rounds=4, seed=0, threads=threads)
    return time.perf_counter() - t0


def bench_ours(args, key: str, a, b, o, values) -> tuple[list[dict], dict]:
    label, config = CONFIGS[key]
    m, reps, rounds, threads = args.models, args.repeats, args.rounds, args.threads
    checked = key == "fastchat" and args.votes == 1_000_000 and m == 100  # the issue's targets are for this
    rows = []

    data, data_times = repeat(lambda: style.style_data(a, b, o, values, m, config), reps)
    full, fit_times = repeat(lambda: style.fit(data, config), reps)
    _, raw_times = repeat(lambda: style.fit(style.style_data(a, b, o, values, m, config), config), reps)
    _, cov_times = repeat(lambda: style.sandwich_covariance(data, config, full), reps)
    samples, boot_times = repeat(
        lambda: style.bootstrap(data, config, full, rounds=rounds, seed=args.seed, threads=threads), reps
    )
    boot_target = TARGET_BOOTSTRAP if checked and rounds == TARGET_ROUNDS else None
    rows.append(row("`style.style_data` (features -> standardised covariates)", data_times, key="style_data"))
    rows.append(row("`style.fit` (Newton)", fit_times, key="fit", iterations=full.iterations))
    rows.append(
        row(
            "raw votes -> fit (`style_data` + `fit`)",
            raw_times,
            TARGET_FIT if checked else None,
            key="raw_fit",
        )
    )
    rows.append(row("`style.sandwich_covariance`", cov_times, key="sandwich"))
    rows.append(row(f"`style.bootstrap({rounds} rounds, threads={threads})`", boot_times, boot_target, key="bootstrap"))
    total = [r + bt for r, bt in zip(raw_times, boot_times)]
    rows.append(row(f"raw votes -> fit + {rounds}-round bootstrap (sum of the two)", total, key="raw_fit_bootstrap"))

    sd = np.sqrt(np.maximum(np.diag(style.sandwich_covariance(data, config, full)), 0.0))
    ratings = SCALE.ratings(samples[:, :m])
    lo, hi = np.percentile(ratings, [2.5, 97.5], axis=0)
    info = {
        "label": label,
        "config": {f: getattr(config, f) for f in ("penalty", "strength", "both_bad", "reweight", "tol")},
        "iterations": full.iterations,
        "log_likelihood": full.log_likelihood,
        "beta": full.beta,
        "beta_sandwich_sd": sd[m:],
        "beta_bootstrap_sd": samples[:, m:].std(axis=0),
        "rating_sandwich_half_width_median": float(np.median(1.959964 * sd[:m] * SCALE.points_per_theta)),
        "rating_bootstrap_half_width_median": float(np.median((hi - lo) / 2)),
        "ratings": SCALE.ratings(full.theta),
    }
    return rows, info


# --------------------------------------------------------------------------- arena-rank


def bench_arena_rank(args, a, b, o, values, names) -> dict:
    import jax
    import pandas as pd
    from arena_rank.models import contextual_bradley_terry as cbt
    from arena_rank.models.contextual_bradley_terry import ContextualBradleyTerry
    from arena_rank.utils.data_utils import ContextualPairDataset

    f = len(FEATURES)
    cols = list(FEATURES)

    def frame():
        diff = (values[:, :f] - values[:, f:]) / (values[:, :f] + values[:, f:] + 1.0)
        df = pd.DataFrame({"model_a": names[a], "model_b": names[b], "winner": WINNER_LABEL[o]})
        for k, col in enumerate(cols):
            df[col] = diff[:, k]
        return df

    df, t_frame = timed(frame)
    dataset, t_dataset = timed(lambda: ContextualPairDataset.from_pandas(df, feature_cols=cols, reweighted=True))
    print(f"arena-rank: DataFrame {t_frame:.2f} s, ContextualPairDataset {t_dataset:.2f} s", flush=True)

    def fit():
        model = ContextualBradleyTerry(n_competitors=len(dataset.competitors), n_features=f)
        model.fit(dataset)
        jax.block_until_ready(model.params)
        return model

    fit_times = []
    model = None
    for i in range(2):
        model, t = timed(fit)
        fit_times.append(t)
        print(f"arena-rank: fit {i + 1} (fresh model) {t:.2f} s", flush=True)

    k = args.reference_rounds
    keys = jax.random.split(jax.random.PRNGKey(42), args.rounds)  # compute_ratings_and_cis's keys
    round_times = []
    for i in range(k):
        _, t = timed(lambda i=i: jax.block_until_ready(cbt.fit_single_bootstrap_sample(keys[i], model, dataset)))
        round_times.append(t)
        print(f"arena-rank: bootstrap round {i + 1} (in-process) {t:.2f} s", flush=True)
    per_round = statistics.mean(round_times)
    boot_extrapolated = args.rounds * per_round / ARENA_RANK_CORES

    theta = np.asarray(model.params["ratings"])
    ratings = (theta - theta.mean()) * SCALE.points_per_theta + SCALE.initial
    return {
        "version": _version("arena-rank"),
        "jax": _version("jax"),
        "frame_s": t_frame,
        "dataset_s": t_dataset,
        "fit_times_s": fit_times,
        "fit_first_s": fit_times[0],
        "fit_second_s": fit_times[1],
        "bootstrap_rounds_measured": k,
        "bootstrap_round_times_s": round_times,
        "bootstrap_per_round_s": per_round,
        "bootstrap_extrapolated_rounds": args.rounds,
        "bootstrap_extrapolated_cores": ARENA_RANK_CORES,
        "bootstrap_extrapolated_s": boot_extrapolated,
        "fit_plus_bootstrap_extrapolated_s": fit_times[1] + boot_extrapolated,
        "competitors": list(dataset.competitors),
        "ratings": ratings,
        "coeffs": np.asarray(model.params["coeffs"]),
    }


def agreement(ar: dict, ours: dict, names) -> dict:
    """Max |rating diff| (points, matched by name) and max |coefficient diff|."""
    ours_by_name = dict(zip(names.tolist(), np.asarray(ours["ratings"]).tolist()))
    diffs = {n: abs(float(r) - ours_by_name[n]) for n, r in zip(ar["competitors"], np.asarray(ar["ratings"]))}
    worst = max(diffs, key=diffs.get)
    coeff_diff = np.abs(np.asarray(ar["coeffs"]) - np.asarray(ours["beta"]))
    return {
        "models_matched": len(diffs),
        "max_abs_rating_diff": diffs[worst],
        "worst_model": worst,
        "tolerance": AGREEMENT_TOLERANCE,
        "ok": diffs[worst] < AGREEMENT_TOLERANCE and len(diffs) == len(ours_by_name),
        "max_abs_coeff_diff": float(coeff_diff.max()),
        "coeff_diff": coeff_diff,
        "coeffs_ours": np.asarray(ours["beta"]),
        "coeffs_arena_rank": np.asarray(ar["coeffs"]),
    }


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=1_000_000, help="N synthetic votes (default 1,000,000)")
    parser.add_argument("--models", type=int, default=100, help="M models (default 100)")
    parser.add_argument("--rounds", type=int, default=100, help="bootstrap rounds (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each of our timings (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="our bootstrap threads (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the votes and our bootstrap (default 0)")
    parser.add_argument(
        "--reference-rounds",
        type=int,
        default=2,
        help="arena-rank bootstrap rounds actually run, then extrapolated to --rounds (default 2)",
    )
    parser.add_argument("--skip-references", action="store_true", help="do not run arena-rank")
    parser.add_argument(
        "--timeout", type=float, default=1200.0, help="hard limit on the whole run, seconds (default 1200)"
    )
    parser.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.votes < 1 or args.models < 2 or args.rounds < 1 or args.repeats < 1 or args.reference_rounds < 1:
        parser.error("--votes, --rounds, --repeats, --reference-rounds must be >= 1 and --models >= 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.timeout > 0:
        faulthandler.dump_traceback_later(args.timeout, exit=True)  # numba / JAX calls ignore signals

    t_start = time.perf_counter()
    command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    machine = machine_line()
    n, m = args.votes, args.models
    result: dict = {
        "command": command,
        "machine": machine,
        "params": {k: v for k, v in vars(args).items() if k != "json"},
        "status": "running",
    }
    print(
        f"# arena-ratings style-control benchmark: {n:,} votes, {m} models, {len(FEATURES)} features, "
        f"{args.rounds} bootstrap rounds, {args.threads} threads, seed {args.seed}"
    )
    print()
    t_warm = warm_up(args.threads)
    result["warm_up_s"] = t_warm
    print(f"warm-up (numba compile or cache load): {t_warm:.2f} s", flush=True)

    (a, b, o, values, _), t_gen = timed(
        lambda: style_votes(n, m, args.seed, LENGTH_EFFECT, len(FEATURES), tie_rate=TIE_RATE)
    )
    names = model_names(m)
    counts = np.bincount(o, minlength=5)[1:]
    votes_line = (
        f"style_votes({n:,}, {m}, seed={args.seed}, length_effect={LENGTH_EFFECT}, n_features={len(FEATURES)}, "
        f"tie_rate={TIE_RATE}) in {t_gen:.2f} s: A wins {counts[0]:,}, B wins {counts[1]:,}, ties {counts[2]:,}, "
        f"both-bad ties {counts[3]:,}"
    )
    print(votes_line, flush=True)
    result["votes"] = {"line": votes_line, "generate_s": t_gen, "outcome_counts": counts}

    ours = {}
    for key in CONFIGS:
        rows, info = bench_ours(args, key, a, b, o, values)
        ours[key] = {"rows": rows, **info}
        result["ours"] = ours
        write_json(args.json, result)
        print(f"ours, {key} settings: done", flush=True)

    ar = None
    result["arena_rank"] = {"status": "skipped", "note": "--skip-references given"}
    if not args.skip_references:
        try:
            import arena_rank  # noqa: F401
        except ImportError as e:
            result["arena_rank"] = {"status": "skipped", "note": f"arena-rank not importable: {e}"}
        else:
            ar = bench_arena_rank(args, a, b, o, values, names)
            ar["status"] = "ran"
            ar["agreement"] = agreement(ar, ours["arena_rank"], names)
            result["arena_rank"] = ar
            write_json(args.json, result)
    total = time.perf_counter() - t_start

    # ----------------------------------------------------------------- report
    def row_of(key: str, name: str) -> dict:
        return next(r for r in ours[key]["rows"] if r["key"] == name)

    for i, key in enumerate(CONFIGS, start=1):
        info = ours[key]
        print()
        print(f"## {i}. Ours, {info['label']}: {n:,} votes, {m} models")
        print()
        print_rows(info["rows"])
        print()
        beta = ", ".join(f"{name} {v:+.4f}" for name, v in zip(FEATURES, info["beta"]))
        print(
            f"{info['iterations']} Newton iterations; beta (logit per sd): {beta}; median 95% half-width: "
            f"sandwich {info['rating_sandwich_half_width_median']:.2f}, "
            f"bootstrap {info['rating_bootstrap_half_width_median']:.2f} points"
        )

    print()
    print(f"## 3. References, same {n:,} votes")
    print()
    ref_rows = [("FastChat current repository, style-control fit (1 M votes)", FASTCHAT_STYLE_FIT_1M, "QUOTED")]
    if ar is None:
        print(f"arena-rank: {result['arena_rank']['note']}")
        print()
    else:
        k, big, cores = ar["bootstrap_rounds_measured"], ar["bootstrap_extrapolated_rounds"], ARENA_RANK_CORES
        ref_rows += [
            ("arena-rank: pandas DataFrame (names, labels, 4 feature columns)", ar["frame_s"], "measured"),
            ("arena-rank: `ContextualPairDataset.from_pandas(reweighted=True)`", ar["dataset_s"], "measured"),
            ("arena-rank: `ContextualBradleyTerry.fit`, first (fresh model)", ar["fit_first_s"], "measured"),
            ("arena-rank: `ContextualBradleyTerry.fit`, second (fresh model)", ar["fit_second_s"], "measured"),
            (
                f"arena-rank: bootstrap, per round (`fit_single_bootstrap_sample`, in-process, mean of {k})",
                ar["bootstrap_per_round_s"],
                "measured",
            ),
            (
                f"arena-rank: bootstrap, **{big} rounds**, {cores} cores",
                ar["bootstrap_extrapolated_s"],
                f"EXTRAPOLATED: {big} x per round / {cores} (perfect pool; start-up, pickling not counted)",
            ),
        ]
    print("| reference step | time | how |")
    print("| --- | ---: | --- |")
    for what, seconds, how in ref_rows:
        print(f"| {what} | {fmt_s(seconds)} | {how} |")
    print()
    print(
        "FastChat: ANCHORS.md, 'FastChat current repository: style-control fit', 1 M votes, M = 100, on a machine "
        "like this one (not re-run: not installable here); no style-control bootstrap figure is quoted there."
    )

    print()
    print("## 4. Ratios reference / ours (> 1: ours faster)")
    print()
    ratios = []
    if n == 1_000_000 and m == 100:  # the quoted figure's size
        fc_raw = row_of("fastchat", "raw_fit")["median_s"]
        ratios.append(("style fit, raw votes -> fit", "FastChat (QUOTED)", FASTCHAT_STYLE_FIT_1M, "FastChat's", fc_raw))
    if ar is not None:
        ar_raw = row_of("arena_rank", "raw_fit")["median_s"]
        ar_fit = row_of("arena_rank", "fit")["median_s"]
        ar_boot = row_of("arena_rank", "bootstrap")["median_s"]
        ar_both = row_of("arena_rank", "raw_fit_bootstrap")["median_s"]
        build = ar["frame_s"] + ar["dataset_s"]
        ratios += [
            ("style fit, fit alone", "arena-rank, first fit", ar["fit_first_s"], "arena-rank's", ar_fit),
            ("style fit, fit alone", "arena-rank, second fit", ar["fit_second_s"], "arena-rank's", ar_fit),
            (
                "style fit, raw votes -> fit",
                "arena-rank (DataFrame + dataset + second fit)",
                build + ar["fit_second_s"],
                "arena-rank's",
                ar_raw,
            ),
            (
                f"{args.rounds}-round bootstrap alone",
                "arena-rank (EXTRAPOLATED)",
                ar["bootstrap_extrapolated_s"],
                "arena-rank's",
                ar_boot,
            ),
            (
                f"raw votes -> fit + {args.rounds}-round bootstrap",
                "arena-rank (EXTRAPOLATED)",
                build + ar["fit_plus_bootstrap_extrapolated_s"],
                "arena-rank's",
                ar_both,
            ),
        ]
    print("| step | reference | reference time | ours (settings) | ours time | ratio |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for step, ref, ref_s, settings, ours_s in ratios:
        print(f"| {step} | {ref} | {fmt_s(ref_s)} | {settings} | {fmt_s(ours_s)} | {ref_s / ours_s:.1f}x |")
    result["ratios"] = [
        {"step": s, "reference": r, "reference_s": rs, "ours_settings": st, "ours_s": os_, "ratio": rs / os_}
        for s, r, rs, st, os_ in ratios
    ]

    exit_status = 0
    if ar is not None:
        ag = ar["agreement"]
        print()
        print("## Agreement: ours (arena-rank's settings) vs arena-rank `ContextualBradleyTerry`")
        print()
        print(
            f"ratings ({ag['models_matched']} models matched by name, both centred to mean 1000): max |diff| "
            f"{ag['max_abs_rating_diff']:.4f} points (worst {ag['worst_model']}) -> "
            f"{'OK' if ag['ok'] else 'FAIL'} (< {AGREEMENT_TOLERANCE})"
        )
        print(f"coefficients: max |diff| {ag['max_abs_coeff_diff']:.2e}")
        print()
        print("| feature | ours | arena-rank | abs diff |")
        print("| --- | ---: | ---: | ---: |")
        for name, x, y, d in zip(FEATURES, ag["coeffs_ours"], ag["coeffs_arena_rank"], ag["coeff_diff"]):
            print(f"| {name} | {x:+.6f} | {y:+.6f} | {d:.2e} |")
        print()
        print(f"arena-rank {ar['version']} (jax {ar['jax']}).")
        exit_status = 0 if ag["ok"] else 1

    print()
    print("## Targets")
    print()
    targets = [r for r in ours["fastchat"]["rows"] if r["target_s"] is not None]
    for r in targets:
        print(
            f"- {r['what']}: {fmt_s(r['median_s'])} -> {'MET' if r['met'] else 'NOT MET'} (<= {fmt_s(r['target_s'])})"
        )
    if not targets:
        print(f"- not checked: the targets are for 1,000,000 votes, 100 models, {TARGET_ROUNDS} rounds")
    print()
    rss = peak_rss_mb()
    print(f"total benchmark time: {total:.1f} s (warm-up {t_warm:.2f} s); peak RSS {rss:,.0f} MB")
    print(f"our timings: medians of {args.repeats}; references: single runs")
    print(f"machine: {machine}")
    print(f"command: {command}")

    result.update(
        {
            "status": "done",
            "total_s": total,
            "peak_rss_mb": rss,
            "targets": [{k: r[k] for k in ("what", "median_s", "target_s", "met")} for r in targets],
            "fastchat_quoted": {"style_fit_1m_s": FASTCHAT_STYLE_FIT_1M, "source": "../shared/ANCHORS.md"},
        }
    )
    if args.json:
        write_json(args.json, result)
        print(f"wrote {args.json}")
    faulthandler.cancel_dump_traceback_later()
    return exit_status


if __name__ == "__main__":
    sys.exit(main())
