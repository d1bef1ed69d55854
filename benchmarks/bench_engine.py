"""Throughput of the engine's online Elo, with and without the B-replica bootstrap,
against LMArena's reference, FastChat's ``compute_elo``.

    python benchmarks/bench_engine.py [--votes N] [--models M] [--bootstrap B]
        [--repeats R] [--seed S] [--skip-fastchat] [--json PATH]

What is timed (wall clock, time.perf_counter):

- online Elo, board: a fresh ``Board(EloConfig(bootstrap_rounds=0))`` and one
  ``board.apply(a, b, outcome)`` call over all N votes (validation, slot
  interning and the Bradley–Terry pair cells the board also keeps included);
- online Elo, kernel: ``elo_kernel`` alone on the same votes (ratings and counts
  only), what the online Elo update itself costs;
- online Elo + bootstrap: a fresh ``Board(EloConfig(bootstrap_rounds=B))``
  fed 1000-vote batches, as the live service does. When all N votes would take
  longer than ``--bootstrap-budget`` seconds per repeat (estimated from a pilot
  run), a prefix of the votes (at least 200k) is timed instead; the output says so;
- FastChat ``compute_elo`` on the same votes as a pandas DataFrame (building
  the DataFrame is not timed), ``--fastchat-repeats`` times (default 1: it is slow).

Each engine figure is the median of R repeats, each on a fresh board, after the
numba kernels were warmed on a small slice. The point ratings are checked
against compute_elo's (max abs difference <= 1e-6); the exit status is 1 when
they disagree, 0 otherwise (missed throughput targets are printed, not fatal).

The reference is installed by benchmarks/install_references.sh.
"""

from __future__ import annotations

import argparse
import ast
import gc
import importlib.util
import inspect
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections import defaultdict

import numba
import numpy as np

from engine import Board, EloConfig
from engine.elo import elo_kernel, log_base_over_scale
from engine.outcomes import SCORE_A

BATCH = 1000  # votes per apply() call in the bootstrap run, like the live service
MIN_BOOTSTRAP_PREFIX = 200_000
TARGET_POINT = 50e6  # votes/s, online Elo without bootstrap
TARGET_BOOTSTRAP = 250e3  # votes/s, online Elo with B = 1000 bootstrap replicas
TOLERANCE = 1e-6  # max abs rating difference vs FastChat
WINNER_LABEL = np.array(["", "model_a", "model_b", "tie", "tie (bothbad)"], dtype=object)  # by outcome code


# --------------------------------------------------------------------------- data


def synthetic_arena(n_votes: int, n_models: int, seed: int):
    """N votes over M models with strengths ~ N(0, 1) logits.

    Pairs are uniform over ordered pairs with a != b. ~10% of votes are ties
    (half TIE=3, half TIE_BOTH_BAD=4); otherwise A wins (1) with the
    Bradley-Terry probability sigmoid(s_a - s_b), else B wins (2).
    """
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, n_models)
    a = rng.integers(0, n_models, n_votes)
    b = rng.integers(0, n_models - 1, n_votes)
    b += b >= a  # uniform over the other M - 1 models
    p_a = 1.0 / (1.0 + np.exp(strength[b] - strength[a]))
    tie = rng.random(n_votes) < 0.10
    both_bad = rng.random(n_votes) < 0.5
    a_wins = rng.random(n_votes) < p_a
    outcome = np.where(tie, np.where(both_bad, 4, 3), np.where(a_wins, 1, 2)).astype(np.int8)
    return a.astype(np.int32), b.astype(np.int32), outcome, strength


def model_names(n_models: int) -> np.ndarray:
    width = max(3, len(str(n_models - 1)))
    return np.array([f"model-{i:0{width}d}" for i in range(n_models)], dtype=object)


# --------------------------------------------------------------------------- engine


def apply_batched(board: Board, a, b, o, n: int) -> None:
    for s in range(0, n, BATCH):
        board.apply(a[s : s + BATCH], b[s : s + BATCH], o[s : s + BATCH])


def warm_up(a, b, o, bootstrap: int, threads: int | None) -> None:
    """Compile (or load from numba's cache) every kernel the timed runs use."""
    n = min(a.shape[0], 2 * BATCH)
    Board(EloConfig(bootstrap_rounds=0), threads=threads).apply(a[:n], b[:n], o[:n])
    if bootstrap:
        board = Board(EloConfig(bootstrap_rounds=bootstrap), threads=threads)
        apply_batched(board, a, b, o, n)  # the path (threaded or not) the timed run takes
        board.apply(a[:10], b[:10], o[:10])  # and the single-threaded one
        board.elo_standings()


def timed(fn) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_kernel(a, b, o, m: int, repeats: int) -> list[float]:
    config = EloConfig(bootstrap_rounds=0)
    slope = log_base_over_scale(config)

    def run(n: int) -> None:
        ratings = np.full(m, config.initial)
        counts = np.zeros((m, 4), dtype=np.int64)
        elo_kernel(ratings, counts, a[:n], b[:n], o[:n], np.ones(n), SCORE_A, config.k, slope)

    run(10)  # these argument types may not be compiled yet
    return [timed(lambda: run(a.shape[0])) for _ in range(repeats)]


def bench_point(a, b, o, repeats: int, threads: int | None):
    times, board = [], None
    for _ in range(repeats):
        board = Board(EloConfig(bootstrap_rounds=0), threads=threads)
        times.append(timed(lambda board=board: board.apply(a, b, o)))
    return times, board


def bootstrap_prefix(a, b, o, bootstrap: int, threads: int | None, budget: float, forced: int | None):
    """How many votes to time with the bootstrap on, and why."""
    n = a.shape[0]
    if forced is not None:
        return min(n, forced), "set by --bootstrap-votes"
    pilot = min(n, 20 * BATCH)
    board = Board(EloConfig(bootstrap_rounds=bootstrap), threads=threads)
    rate = pilot / timed(lambda: apply_batched(board, a, b, o, pilot))
    if n / rate <= budget:
        return n, "all votes"
    prefix = max(MIN_BOOTSTRAP_PREFIX, int(budget * rate) // BATCH * BATCH)
    if prefix >= n:
        return n, "all votes"
    return prefix, (
        f"prefix: all {n:,} votes would take ~{n / rate:.0f} s per repeat (pilot), over --bootstrap-budget {budget:g} s"
    )


def bench_bootstrap(a, b, o, n: int, bootstrap: int, repeats: int, threads: int | None):
    times, board = [], None
    for _ in range(repeats):
        board = Board(EloConfig(bootstrap_rounds=bootstrap), threads=threads)
        times.append(timed(lambda board=board: apply_batched(board, a, b, o, n)))
    return times, board


# --------------------------------------------------------------------------- FastChat


def load_compute_elo():
    """FastChat 0.2.36's compute_elo, and how it was loaded; (None, reason) if unavailable.

    A plain import of fastchat.serve.monitor.elo_analysis needs torch and
    transformers (through fastchat.model's __init__), which
    install_references.sh does not install. Without them the function's own
    source is compiled from the installed file, with the one name it uses
    from the module (collections.defaultdict).
    """
    try:
        from fastchat.serve.monitor.elo_analysis import compute_elo

        return compute_elo, "import fastchat.serve.monitor.elo_analysis"
    except ImportError as import_error:
        why_not = f"{type(import_error).__name__}: {import_error}"
    try:
        spec = importlib.util.find_spec("fastchat.serve.monitor.elo_analysis")
    except ImportError:
        spec = None
    if spec is None or not spec.origin:
        return None, f"fastchat is not installed ({why_not}); run benchmarks/install_references.sh"
    with open(spec.origin, encoding="utf-8") as f:
        source = f.read()
    tree = ast.parse(source, filename=spec.origin)
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "compute_elo"]
    if not defs:
        return None, f"no compute_elo in {spec.origin}"
    namespace = {"defaultdict": defaultdict, "__name__": "fastchat.serve.monitor.elo_analysis"}
    exec(compile(ast.Module(body=defs, type_ignores=[]), spec.origin, "exec"), namespace)
    return namespace["compute_elo"], f"source of compute_elo from {spec.origin} (plain import failed: {why_not})"


def fastchat_version() -> str:
    try:
        from importlib.metadata import version

        return version("fschat")
    except Exception:
        return "?"


def fastchat_kwargs(compute_elo, config: EloConfig) -> dict:
    """Pass the engine's constants under FastChat's names, where the signature has them."""
    params = inspect.signature(compute_elo).parameters
    wanted = {"K": config.k, "SCALE": config.scale, "BASE": config.base, "INIT_RATING": config.initial}
    kwargs = {}
    for name, value in wanted.items():
        if name in params:
            default = params[name].default
            # Keep FastChat's own default object (e.g. int 10) when it is equal.
            kwargs[name] = default if default is not inspect.Parameter.empty and default == value else value
    return kwargs


def battles_frame(a, b, o, names):
    import pandas as pd

    return pd.DataFrame({"model_a": names[a], "model_b": names[b], "winner": WINNER_LABEL[o]})


# --------------------------------------------------------------------------- report


def fmt_rate(rate: float) -> str:
    if rate >= 1e6:
        return f"{rate / 1e6:,.2f} M"
    if rate >= 1e3:
        return f"{rate / 1e3:,.1f} k"
    return f"{rate:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--votes", type=int, default=1_000_000, help="N votes (default 1,000,000)")
    parser.add_argument("--models", type=int, default=100, help="M models (default 100)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="B bootstrap replicas (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="R repeats of each engine timing (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic arena (default 0)")
    parser.add_argument("--skip-fastchat", action="store_true", help="do not time FastChat's compute_elo")
    parser.add_argument("--fastchat-repeats", type=int, default=1, help="repeats of compute_elo (default 1)")
    parser.add_argument(
        "--bootstrap-budget",
        type=float,
        default=60.0,
        help="seconds per repeat of the bootstrap run; beyond it a prefix\n(>= 200k votes) is timed (default 60)",
    )
    parser.add_argument(
        "--bootstrap-votes", type=int, default=None, help="time exactly this many votes with the bootstrap"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="Board threads (default os.cpu_count(), as the service)"
    )
    parser.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.votes < 1 or args.models < 2 or args.bootstrap < 0 or args.repeats < 1 or args.fastchat_repeats < 1:
        parser.error("need --votes >= 1, --models >= 2, --bootstrap >= 0, --repeats >= 1, --fastchat-repeats >= 1")

    command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    threads = args.threads if args.threads is not None else (os.cpu_count() or 1)
    processor = platform.processor() or platform.machine()
    machine = (
        f"{os.cpu_count()} CPUs ({processor}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}"
    )
    n, m, B = args.votes, args.models, args.bootstrap
    print(f"# arena-ratings engine benchmark: {n:,} votes, {m} models, B={B}, seed={args.seed}")
    print()

    a, b, o, _ = synthetic_arena(n, m, args.seed)
    names = model_names(m)
    counts = np.bincount(o, minlength=5)[1:]
    print(
        f"votes: A wins {counts[0]:,}, B wins {counts[1]:,}, ties {counts[2]:,}, both-bad ties {counts[3]:,}",
        flush=True,
    )

    t_warm = timed(lambda: warm_up(a, b, o, B, threads))
    print(f"warm-up (numba compile or cache load): {t_warm:.2f} s", flush=True)

    rows = []
    point_times, point_board = bench_point(a, b, o, args.repeats, threads)
    point_s = statistics.median(point_times)
    rows.append(
        {
            "what": "online Elo, board (B=0, one apply(): Elo + BT pair cells)",
            "key": "online_elo",
            "votes": n,
            "times_s": point_times,
            "median_s": point_s,
            "votes_per_s": n / point_s,
        }
    )
    print(f"online Elo, board: {[round(t, 4) for t in point_times]} s", flush=True)
    kernel_times = bench_kernel(a, b, o, m, args.repeats)
    kernel_s = statistics.median(kernel_times)
    rows.append(
        {
            "what": "online Elo, kernel alone (elo_kernel: ratings and counts)",
            "key": "online_elo_kernel",
            "votes": n,
            "times_s": kernel_times,
            "median_s": kernel_s,
            "votes_per_s": n / kernel_s,
        }
    )
    print(f"online Elo, kernel: {[round(t, 4) for t in kernel_times]} s", flush=True)

    boot_note = None
    boot_board = None
    if B:
        n_boot, boot_note = bootstrap_prefix(a, b, o, B, threads, args.bootstrap_budget, args.bootstrap_votes)
        boot_times, boot_board = bench_bootstrap(a, b, o, n_boot, B, args.repeats, threads)
        boot_s = statistics.median(boot_times)
        rows.append(
            {
                "what": f"online Elo + bootstrap B={B} ({BATCH}-vote batches, {threads} threads)",
                "key": "online_elo_bootstrap",
                "votes": n_boot,
                "votes_note": boot_note,
                "times_s": boot_times,
                "median_s": boot_s,
                "votes_per_s": n_boot / boot_s,
            }
        )
        print(
            f"online Elo + bootstrap ({n_boot:,} votes, {boot_note}): {[round(t, 3) for t in boot_times]} s", flush=True
        )

    # Batched application must give bit-identical point ratings to one call.
    batched_identical = None
    if boot_board is not None:
        check = Board(EloConfig(bootstrap_rounds=0), threads=threads)
        check.apply(a[: boot_board.n_votes], b[: boot_board.n_votes], o[: boot_board.n_votes])
        batched_identical = bool(
            np.array_equal(check.competitor_ids, boot_board.competitor_ids)
            and np.array_equal(check.ratings, boot_board.ratings)
        )

    fastchat = {"status": "skipped"}
    fc_rate = None
    if args.skip_fastchat:
        fastchat["note"] = "--skip-fastchat given"
    else:
        compute_elo, how = load_compute_elo()
        if compute_elo is None:
            fastchat["note"] = how
        else:
            config = point_board.config
            kwargs = fastchat_kwargs(compute_elo, config)
            signature = f"compute_elo{inspect.signature(compute_elo)}"
            t0 = time.perf_counter()
            battles = battles_frame(a, b, o, names)
            t_frame = time.perf_counter() - t0
            fc_times, fc_ratings = [], None
            for _ in range(args.fastchat_repeats):
                gc.collect()
                t0 = time.perf_counter()
                fc_ratings = compute_elo(battles, **kwargs)
                fc_times.append(time.perf_counter() - t0)
                print(f"FastChat compute_elo: {fc_times[-1]:.2f} s", flush=True)
            fc_s = statistics.median(fc_times)
            fc_rate = n / fc_s
            standings = point_board.elo_standings()
            ours = {names[i]: float(r) for i, r in zip(standings.competitor_ids, standings.rating, strict=True)}
            theirs = {str(k): float(v) for k, v in dict(fc_ratings).items()}
            same_models = set(ours) == set(theirs)
            common = sorted(set(ours) & set(theirs))
            diffs = np.array([abs(ours[k] - theirs[k]) for k in common])
            max_diff = float(diffs.max()) if diffs.size else float("nan")
            worst = common[int(diffs.argmax())] if diffs.size else None
            fastchat = {
                "status": "ran",
                "version": fastchat_version(),
                "loaded_by": how,
                "signature": signature,
                "kwargs": kwargs,
                "pandas": sys.modules["pandas"].__version__,
                "dataframe_build_s": t_frame,
                "same_models": same_models,
                "max_abs_rating_diff": max_diff,
                "worst_model": worst,
                "agrees": bool(same_models and max_diff <= TOLERANCE),
            }
            rows.append(
                {
                    "what": "FastChat compute_elo (pandas DataFrame)",
                    "key": "fastchat_compute_elo",
                    "votes": n,
                    "times_s": fc_times,
                    "median_s": fc_s,
                    "votes_per_s": fc_rate,
                }
            )

    for row in rows:
        row["ratio_vs_fastchat"] = row["votes_per_s"] / fc_rate if fc_rate else None

    # ----------------------------------------------------------------- output
    print()
    print("| what | votes | median time (s) | votes/s | ratio vs FastChat compute_elo |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        votes = f"{row['votes']:,}" + (" (prefix)" if row["votes"] < n else "")
        ratio = f"{row['ratio_vs_fastchat']:,.1f}x" if row["ratio_vs_fastchat"] else "n/a"
        print(f"| {row['what']} | {votes} | {row['median_s']:.4f} | {fmt_rate(row['votes_per_s'])} | {ratio} |")
    print()
    fc_runs = args.fastchat_repeats if fc_rate else 0
    print(f"repeats: engine median of {args.repeats} (fresh board each), FastChat median of {fc_runs}")
    print("ratio = votes/s divided by FastChat compute_elo's votes/s (higher is faster); compute_elo has no bootstrap")
    if boot_note and boot_note != "all votes":
        print(f"bootstrap row: {boot_note}")
    print(f"machine: {machine}")
    print(f"command: {command}")
    print()

    if fastchat["status"] == "ran":
        print(f"FastChat {fastchat['version']}: {fastchat['signature']}, called with {fastchat['kwargs']}")
        print(f"  loaded by: {fastchat['loaded_by']}")
        verdict = "AGREE" if fastchat["agrees"] else "DISAGREE"
        print(
            f"ratings vs FastChat: max |diff| = {fastchat['max_abs_rating_diff']:.3e} "
            f"over {len(ours)} models (tolerance {TOLERANCE:g}; same model set: {same_models}) -> {verdict}"
        )
    else:
        print(f"FastChat compute_elo skipped: {fastchat['note']}")
    if batched_identical is not None:
        print(f"bootstrap board's point ratings == one-call board's on the same votes (bitwise): {batched_identical}")

    targets = []
    for row in rows[:2]:  # the board's apply() (with BT cells) and the Elo kernel alone, both reported
        rate = row["votes_per_s"]
        targets.append((f"online Elo >= 50 M votes/s, {row['what']}", rate >= TARGET_POINT, rate))
    boot_row = next((r for r in rows if r["key"] == "online_elo_bootstrap"), None)
    if boot_row is not None and B == 1000:
        targets.append(
            (
                "online Elo with B=1000 bootstrap >= 250 k votes/s",
                boot_row["votes_per_s"] >= TARGET_BOOTSTRAP,
                boot_row["votes_per_s"],
            )
        )
    else:
        print(f"target 'online Elo with B=1000 bootstrap >= 250 k votes/s': not checked (B={B})")
    for name, met, rate in targets:
        print(f"target {name}: {'MET' if met else 'NOT MET'} ({fmt_rate(rate)} votes/s)")

    if args.json:
        result = {
            "command": command,
            "machine": {
                "cpu_count": os.cpu_count(),
                "processor": processor,
                "platform": platform.platform(),
                "python": platform.python_version(),
                "numpy": np.__version__,
                "numba": numba.__version__,
            },
            "params": {
                "votes": n,
                "models": m,
                "bootstrap": B,
                "repeats": args.repeats,
                "fastchat_repeats": args.fastchat_repeats,
                "seed": args.seed,
                "threads": threads,
                "batch": BATCH,
            },
            "warm_up_s": t_warm,
            "rows": rows,
            "fastchat": fastchat,
            "bootstrap_batched_identical_to_one_call": batched_identical,
            "targets": [{"target": t, "met": met, "votes_per_s": rate} for t, met, rate in targets],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")
    # A missed throughput target is a finding, not a failure; wrong ratings are.
    return 1 if fastchat["status"] == "ran" and not fastchat["agrees"] else 0


if __name__ == "__main__":
    sys.exit(main())
