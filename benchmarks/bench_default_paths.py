"""The commands users run, with their default flags, on a file with all of an arena's columns, against
what they cannot avoid costing: reading the columns they need, and their kernels.

    python benchmarks/bench_default_paths.py [--votes N] [--models M] [--ref-votes N] [--repeats R]
        [--fastchat-rounds K] [--workdir DIR] [--json PATH] [--skip-fastchat] [--skip-bounds]

Sections:

1. Files: ``benchmarks/make_arena_file.py`` writes a Parquet file of N votes (default 10 M) over M
   models (default 300) with the columns of LMArena's clean_battle / arena-human-preference data
   (model_a, model_b, winner, tstamp, judge, language, tags, anony, question_id, conv_metadata), and
   one of --ref-votes (default 1 M) for section 3. Kept in --workdir when given (and reused).
2. Each default command as a whole process (``python -m server.cli replay FILE ...``, stdout to a
   file), against a BASELINE process (this script's ``baseline`` mode, same interpreter start-up):
   it reads the columns the command needs with polars (model_a, model_b, winner, tstamp), turns the
   names into codes (pl.Enum) and the winner into outcome codes, then runs the engine's kernels
   alone on those arrays: for BT, cell counting, the fit and (with CIs) 1000 bootstrap rounds over
   both cores; for Elo, the point kernel and the B = 1000 replica kernel split over both cores. The
   commands: ``replay F --method bt``, ``replay F --method elo``, ``replay F --method bt --ci none``.
   The two processes alternate, --repeats times each (default 3); reported: medians and the ratio
   command / baseline (target <= 1.3), the baseline's own split (read, kernels), and the command's
   peak memory (the child's max RSS from the kernel's accounting, os.wait4).
3. LMArena's pipeline: FastChat 0.2.36 ``compute_elo`` on the --ref-votes file's votes (an
   in-memory pandas frame; building it is not timed), called --fastchat-rounds times (default 3),
   extrapolated to ``compute_elo`` + 100 bootstrap rounds (``get_bootstrap_result`` calls
   ``compute_elo`` once per round on a resample); against the whole ``replay F --method elo``
   command (online Elo with its default 1000 replicas) on the same votes. Target ratio >= 50.
4. What bounds the replica kernel: variants of ``engine.elo.elo_bootstrap_kernel`` on one core,
   B = 1000, the first 200 k votes: the kernel as shipped; with every weight 1 (no draw); with
   the exp replaced by a rational function (no exp); with neither; and bare memory traffic (each
   vote adds a constant to its two replica rows). ns per replica update each, so the share of
   the draw, the exp and the memory traffic can be read off.

Nothing is asserted: figures are printed (and written as JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import numpy as np  # noqa: E402

from benchmarks.common import json_default, machine_line, make_file  # noqa: E402

TARGET_RATIO = 1.3  # command / (read + kernels)
TARGET_FASTCHAT = 50.0  # FastChat compute_elo + 100 rounds / our whole Elo command with 1000 replicas
COMMANDS = [
    ("bt", "replay F --method bt", ["--method", "bt"]),
    ("elo", "replay F --method elo", ["--method", "elo"]),
    ("bt-none", "replay F --method bt --ci none", ["--method", "bt", "--ci", "none"]),
]
LABELS = {"model_a": 1, "model_b": 2, "tie": 3, "tie (bothbad)": 4, "both_bad": 4}


# --------------------------------------------------------------------------- the baseline process


def baseline(what: str, path: str) -> dict:
    """Read what the command needs with polars, then its kernels alone; the phases' seconds."""
    import polars as pl

    from engine import bt
    from engine.cells import PairCells
    from engine.config import BTConfig, EloConfig
    from engine.elo import elo_bootstrap_kernel, elo_kernel, log_base_over_scale
    from engine.outcomes import SCORE_A
    from engine.threads import run_split

    threads = os.cpu_count() or 1
    t0 = time.perf_counter()
    frame = pl.scan_parquet(path).select("model_a", "model_b", "winner", "tstamp").collect()
    names = pl.concat([frame["model_a"], frame["model_b"]]).unique(maintain_order=True)
    enum = pl.Enum(names)
    a = frame["model_a"].cast(enum).to_physical().to_numpy().astype(np.int32)
    b = frame["model_b"].cast(enum).to_physical().to_numpy().astype(np.int32)
    outcome = frame["winner"].replace_strict(LABELS, return_dtype=pl.Int8).to_numpy()
    newest = frame["tstamp"].max()
    t1 = time.perf_counter()
    m = len(names)
    if what == "elo":
        config = EloConfig()
        ratings = np.full(m, config.initial)
        counts = np.zeros((m, 4), dtype=np.int64)
        scale = log_base_over_scale(config)
        elo_kernel(ratings, counts, a, b, outcome, np.ones(a.shape[0]), SCORE_A, config.k, scale)
        replicas = np.full((m, config.bootstrap_rounds), config.initial)
        delta = np.empty(config.bootstrap_rounds)
        ordinals = np.arange(a.shape[0], dtype=np.uint64)
        head = (
            replicas,
            a,
            b,
            outcome,
            np.ones(a.shape[0]),
            ordinals,
            SCORE_A,
            np.uint64(config.seed),
            config.k,
            scale,
            0,  # replica_base: the board's replicas from the first
        )
        run_split(elo_bootstrap_kernel, (0, config.bootstrap_rounds), threads, head, (delta,))
    else:
        cells = PairCells()
        cells.add(a, b, outcome)
        table = cells.table(m)
        config = BTConfig()
        full = bt.fit(table, config)
        if what == "bt":
            bt.bootstrap(table, config, full, 1000, 0, threads)
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "kernels_s": t2 - t1, "votes": int(a.shape[0]), "models": m, "newest": newest}


# --------------------------------------------------------------------------- running processes


def run(argv: list[str], out_path: str, peaks: list[float] | None = None) -> float:
    """Wall seconds of one child process (stdout to ``out_path``); its peak RSS (bytes) appended to
    ``peaks``, from the kernel's accounting of that child alone (os.wait4). Raises if it fails."""
    with open(out_path, "w") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        child = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed ({child.returncode}): {err.read()[-2000:]}")
    if peaks is not None:
        peaks.append(usage.ru_maxrss * 1024.0)  # Linux reports kilobytes
    return seconds


def command_argv(path: str, flags: list[str]) -> list[str]:
    return [sys.executable, "-m", "server.cli", "replay", path, "--format", "json", *flags]


def baseline_argv(what: str, path: str) -> list[str]:
    return [sys.executable, os.path.join(HERE, "bench_default_paths.py"), "baseline", what, path]


def compare(path: str, repeats: int, workdir: str) -> list[dict]:
    rows = []
    for key, label, flags in COMMANDS:
        ours, base, split, peaks = [], [], [], []
        out = os.path.join(workdir, f"out-{key}.json")
        run(command_argv(path, flags), out)  # warm: numba's cache, the page cache
        for _ in range(repeats):
            ours.append(run(command_argv(path, flags), out, peaks))
            base.append(run(baseline_argv(key, path), out + ".base"))
            with open(out + ".base") as f:
                split.append(json.load(f))
        with open(out) as f:
            listed = json.load(f)
        row = {
            "key": key,
            "command": label,
            "command_s": ours,
            "baseline_s": base,
            "ratio": statistics.median(ours) / statistics.median(base),
            "pair_ratios": [o / b for o, b in zip(ours, base)],
            "baseline_read_s": statistics.median(s["read_s"] for s in split),
            "baseline_kernels_s": statistics.median(s["kernels_s"] for s in split),
            "total_votes": listed["total_votes"],
            "peak_rss_bytes": max(peaks),
        }
        row["met"] = row["ratio"] <= TARGET_RATIO
        rows.append(row)
        print(
            f"{label:<34} {statistics.median(ours):7.2f} s   read + kernels {statistics.median(base):7.2f} s "
            f"(read {row['baseline_read_s']:.2f}, kernels {row['baseline_kernels_s']:.2f})   "
            f"ratio {row['ratio']:.2f} [{min(row['pair_ratios']):.2f}-{max(row['pair_ratios']):.2f}] "
            f"{'MET' if row['met'] else 'NOT MET'} (<= {TARGET_RATIO}); peak memory {max(peaks) / 1e6:.0f} MB",
            flush=True,
        )
    return rows


# --------------------------------------------------------------------------- FastChat


def fastchat(path: str, rounds: int, repeats: int, workdir: str) -> dict:
    import polars as pl
    from bench_engine import fastchat_kwargs, load_compute_elo

    from engine.config import EloConfig

    compute_elo, how = load_compute_elo()
    if compute_elo is None:
        return {"skipped": how}
    battles = pl.read_parquet(path, columns=["model_a", "model_b", "winner"]).to_pandas()
    kwargs = fastchat_kwargs(compute_elo, EloConfig())
    calls = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        compute_elo(battles, **kwargs)
        calls.append(time.perf_counter() - t0)
    del battles
    per_call = statistics.median(calls)
    theirs = 101 * per_call  # the point fit and 100 bootstrap rounds, each one compute_elo on n votes
    out = os.path.join(workdir, "out-fastchat.json")
    flags = ["--method", "elo"]
    run(command_argv(path, flags), out)
    ours = [run(command_argv(path, flags), out) for _ in range(repeats)]
    ratio = theirs / statistics.median(ours)
    print(
        f"FastChat compute_elo: {per_call:.2f} s a call ({rounds} calls) -> + 100 rounds {theirs:.0f} s "
        f"(EXTRAPOLATED); replay F --method elo (1000 replicas): {statistics.median(ours):.2f} s; "
        f"ratio {ratio:.0f} {'MET' if ratio >= TARGET_FASTCHAT else 'NOT MET'} (>= {TARGET_FASTCHAT:g})",
        flush=True,
    )
    return {"loaded_by": how, "compute_elo_s": calls, "extrapolated_s": theirs, "ours_s": ours, "ratio": ratio}


# --------------------------------------------------------------------------- the replica kernel's bounds


def bounds(path: str, n_votes: int = 200_000, replicas: int = 1000) -> list[dict]:
    import numba
    import polars as pl

    from engine.config import EloConfig
    from engine.counter_rng import GOLDEN, mix64, poisson1_weight, vote_key
    from engine.elo import elo_bootstrap_kernel, exp_by_squaring, log_base_over_scale
    from engine.outcomes import SCORE_A

    frame = pl.read_parquet(path, columns=["model_a", "model_b", "winner"], n_rows=n_votes)
    enum = pl.Enum(pl.concat([frame["model_a"], frame["model_b"]]).unique(maintain_order=True))
    a = frame["model_a"].cast(enum).to_physical().to_numpy().astype(np.int32)
    b = frame["model_b"].cast(enum).to_physical().to_numpy().astype(np.int32)
    o = frame["winner"].replace_strict(LABELS, return_dtype=pl.Int8).to_numpy()
    m = len(enum.categories)
    config = EloConfig()
    scale = log_base_over_scale(config)
    ordinals = np.arange(a.shape[0], dtype=np.uint64)

    # The shipped kernel's loop with one part switched off each; same flags as engine._jit.
    def variant(draw: bool, exp: bool, arithmetic: bool):
        @numba.njit(nogil=True, error_model="numpy")
        def kernel(rep, slot_a, slot_b, outcome, ordinal, score_a, seed, k, lbs, start, stop, delta):
            for i in range(slot_a.shape[0]):
                ra = rep[slot_a[i]]
                rb = rep[slot_b[i]]
                sa = score_a[outcome[i]]
                key = vote_key(seed, np.uint64(ordinal[i]))
                for r in range(start, stop):
                    w = poisson1_weight(mix64(key + np.uint64(r + 1) * GOLDEN)) if draw else 1.0
                    if not arithmetic:
                        delta[r] = w
                        continue
                    x = (rb[r] - ra[r]) * lbs
                    e = exp_by_squaring(x) if exp else 1.0 + x + 0.5 * x * x
                    delta[r] = k * w * (sa - 1.0 / (1.0 + e))
                for r in range(start, stop):
                    ra[r] += delta[r]
                    rb[r] -= delta[r]

        return kernel

    ones = np.ones(a.shape[0])

    def shipped(rep, slot_a, slot_b, outcome, ordinal, score_a, seed, k, lbs, *rest):
        elo_bootstrap_kernel(rep, slot_a, slot_b, outcome, ones, ordinal, score_a, seed, k, lbs, 0, *rest)

    kernels = [
        ("as shipped (draw, exp, update)", shipped),
        ("no draw (every weight 1)", variant(False, True, True)),
        ("no exp (a polynomial instead)", variant(True, False, True)),
        ("neither draw nor exp", variant(False, False, True)),
        ("memory traffic only (add to two rows)", variant(False, False, False)),
    ]
    rows = []
    for label, kernel in kernels:
        times = []
        for _ in range(4):  # the first compiles
            rep = np.full((m, replicas), config.initial)
            delta = np.empty(replicas)
            t0 = time.perf_counter()
            kernel(rep, a, b, o, ordinals, SCORE_A, np.uint64(0), config.k, scale, 0, replicas, delta)
            times.append(time.perf_counter() - t0)
        seconds = statistics.median(times[1:])
        ns = seconds / (a.shape[0] * replicas) * 1e9
        rows.append({"variant": label, "seconds": seconds, "ns_per_update": ns})
        print(f"  {label:<40} {ns:6.3f} ns per replica update (one core)", flush=True)
    return rows


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["baseline"]:
        print(json.dumps(baseline(argv[1], argv[2]), default=json_default))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--ref-votes", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fastchat-rounds", type=int, default=3)
    parser.add_argument("--workdir")
    parser.add_argument("--json")
    parser.add_argument("--skip-fastchat", action="store_true")
    parser.add_argument("--skip-bounds", action="store_true")
    args = parser.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-default-paths-")
    os.makedirs(workdir, exist_ok=True)
    print(machine_line(), flush=True)
    big = os.path.join(workdir, f"arena-{args.votes}-{args.models}.parquet")
    make_file(big, args.votes, args.models)
    result: dict = {"machine": machine_line(), "votes": args.votes, "models": args.models}
    print(f"\n== default commands on {args.votes:,} votes x {args.models} models, all columns ==", flush=True)
    result["commands"] = compare(big, args.repeats, workdir)
    if not args.skip_fastchat or not args.skip_bounds:
        ref = os.path.join(workdir, f"arena-{args.ref_votes}-100.parquet")
        make_file(ref, args.ref_votes, 100)
        if not args.skip_fastchat:
            print(f"\n== FastChat compute_elo vs replay --method elo on {args.ref_votes:,} votes ==", flush=True)
            result["fastchat"] = fastchat(ref, args.fastchat_rounds, args.repeats, workdir)
        if not args.skip_bounds:
            print("\n== what bounds the replica kernel (B = 1000, 200 k votes) ==", flush=True)
            result["bounds"] = bounds(ref)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=json_default)
    return 0 if all(math.isfinite(r["ratio"]) for r in result["commands"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
