"""End-to-end speed and memory of ``arena-ratings replay`` on a 10 M-vote Parquet file, and
LMArena's reference pipeline (FastChat 0.2.36 ``elo_analysis``) against the same command on 1 M votes.

    python benchmarks/bench_replay.py [--votes N] [--models M] [--repeats R] [--seed S]
        [--workdir DIR] [--ref-votes N] [--ref-models M] [--reference-rounds K]
        [--kernel-votes N] [--skip-references] [--skip-phases] [--skip-default-bootstrap]
        [--no-time-v] [--json PATH]

Sections:

1. Setup: a synthetic Parquet file of N votes (default 10 M) over M models (default 300):
   columns model_a, model_b (strings "model-000" ...), winner ('model_a' / 'model_b' /
   'tie' / 'tie (bothbad)'), tstamp (float, increasing). The votes come from
   ``bench_engine.synthetic_arena`` (seeded numpy Generator, strengths N(0, 1), uniform
   pairs a != b, ~10% ties, half of them both-bad); the strings are built and written by
   polars. Written to a temporary folder (or ``--workdir``); its size and the time to build
   and write it are reported (setup, not part of any target).
2. Warm-up: a tiny replay (5,000 votes) of each configuration, twice. numba caches compiled
   kernels on disk (cache=True); in a fresh checkout the first pass compiles them (10-20 s),
   and that cold start is reported separately. The second pass is the fixed cost of the
   command (interpreter start-up, imports, loading the cached kernels).
3. The WHOLE command ``arena-ratings replay FILE ... --format json`` as a subprocess, stdout
   sent to a file (stderr kept): wall clock (time.perf_counter around the child, so Python
   start-up, imports, reading, interning, the kernels and the output are all in it) and peak
   memory (max RSS of the child from ``/usr/bin/time -v``; without it, or with --no-time-v, a
   tiny Python launcher reads resource.getrusage(RUSAGE_CHILDREN).ru_maxrss after the child
   exits; neither inherits this process's RSS). Each command runs --repeats times (default 1;
   the median is reported). Targets (from the issue): BT with 1000-round bootstrap CIs
   (``--bootstrap 0``: no online-Elo replicas) <= 10 s; online Elo with B = 1000 incremental
   bootstrap replicas <= 30 s; online Elo point ratings (``--bootstrap 0``) <= 2 s; peak
   memory of each <= 4 GB (4e9 bytes). The BT command with the default ``--bootstrap 1000``
   (the board then also keeps the Elo replicas) is run once more, reported without a target.
   Each output is checked: total_votes == N and one row per model.
4. Kernel only: ``Board(EloConfig(bootstrap_rounds=1000), threads=T).apply`` on an int32
   prefix of the same votes (default 1 M; one call, after a warm-up), and the point kernel
   (B = 0) on all N votes. ns per replica update = time / (votes x B).
5. Where the time goes (in this process, kernels warmed first): interpreter start-up and the
   CLI's imports (subprocesses; the slowest top-level imports from ``python -X importtime``),
   reading the file (``server.votefile.iter_votes``, what replay streams through), and
   ``server.offline.replay_chunks`` on the chunks already read (interning, Board.apply,
   standings), for the point-Elo and BT commands. The rest of each whole-command time
   (kernel-cache loading, output, exit) is the remainder.
6. FastChat 0.2.36 (fastchat/serve/monitor/elo_analysis.py, loaded by
   ``bench_engine.load_compute_elo`` and ``references._fastchat_function``) on a separate
   synthetic file of 1 M votes over 100 models (``--ref-votes``, ``--ref-models``;
   ``compute_elo_mle_with_tie`` builds a dense 2N x M float64 matrix: 1.6 GB at 100 models,
   4.8 GB at 300). Timed as function calls on an in-memory pandas DataFrame (building it is
   not timed): ``compute_elo`` (online Elo), ``compute_elo_mle_with_tie`` (BT) and
   ``get_bootstrap_result(battles, func, K)`` for K rounds (default 3; numpy's global RNG
   seeded and restored), extrapolated to 1000 rounds (labelled EXTRAPOLATED). Side by side:
   the whole ``arena-ratings replay`` command on the same votes written as Parquet. Ratio =
   FastChat time / our time; ours include start-up and reading the file, FastChat's do not,
   so the ratios are conservative for us.

Missed targets are printed (MET / NOT MET), not fatal; the exit status is 1 only when a
replay command fails or its output does not cover the votes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shlex
import shutil
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

import numba  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.common import fmt_seconds, json_default, timed  # noqa: E402
from engine import Board, EloConfig  # noqa: E402

TARGET_BT = 10.0  # s, whole command: BT + 1000-round bootstrap CIs, --bootstrap 0
TARGET_ELO_BOOT = 30.0  # s, whole command: online Elo + B=1000 bootstrap replicas
TARGET_ELO = 2.0  # s, whole command: online Elo point ratings, --bootstrap 0
TARGET_RSS = 4e9  # bytes, peak memory of each of the three
WINNER_LABELS = ["", "model_a", "model_b", "tie", "tie (bothbad)"]  # by outcome code (bench_engine's)
TIME_BIN = "/usr/bin/time"
T0_STAMP = 1.7e9  # first tstamp of the synthetic files (Unix seconds)
WARM_VOTES, WARM_MODELS = 5_000, 12
LAUNCHER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[1:])\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "sys.stderr.write(f'\\nBENCH_RUSAGE {u.ru_maxrss} {u.ru_utime} {u.ru_stime}\\n')\n"
    "sys.exit(rc)\n"
)

# The commands: (key, label, replay flags, target seconds or None).
BT_BOOT = "--method bt --ci bootstrap --rounds 1000 --bootstrap 0"
BIG_RUNS = [
    ("bt_boot", "BT + 1000-round bootstrap CIs, no Elo replicas", BT_BOOT, TARGET_BT),
    ("elo_boot", "online Elo + B=1000 bootstrap replicas", "--method elo --bootstrap 1000", TARGET_ELO_BOOT),
    ("elo_point", "online Elo point ratings", "--method elo --bootstrap 0", TARGET_ELO),
    (
        "bt_boot_default",
        "BT + 1000-round bootstrap CIs, default --bootstrap 1000 (Elo replicas kept too)",
        "--method bt --ci bootstrap --rounds 1000",
        None,
    ),
]
REF_RUNS = [
    ("elo_point", "online Elo point ratings", "--method elo --bootstrap 0"),
    ("bt_fit", "BT fit, no CI", "--method bt --ci none --bootstrap 0"),
    ("bt_boot", "BT + 1000-round bootstrap CIs", BT_BOOT),
    ("elo_boot", "online Elo + 1000 bootstrap replicas", "--method elo --bootstrap 1000"),
]


# --------------------------------------------------------------------------- helpers


def fmt_s(seconds: float | None) -> str:
    return fmt_seconds(seconds, ms_digits=0)


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "n/a"
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    return f"{n / 1e6:.1f} MB" if n < 1e7 else f"{n / 1e6:.0f} MB"


def machine_line() -> str:
    processor = platform.processor() or platform.machine()
    try:
        load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "load average n/a"
    import polars as pl

    return (
        f"{os.cpu_count()} CPUs ({processor}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"polars {pl.__version__}; {load} at start"
    )


def cli_path() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "arena-ratings")
    return here if os.path.exists(here) else (shutil.which("arena-ratings") or "arena-ratings")


# --------------------------------------------------------------------------- data


def write_votes(path: str, n: int, m: int, seed: int) -> dict:
    """Write N synthetic votes over M models to ``path`` (Parquet); returns the int arrays and timings."""
    import polars as pl
    from bench_engine import model_names, synthetic_arena

    t0 = time.perf_counter()
    a, b, o, _ = synthetic_arena(n, m, seed)
    names = pl.Series("names", model_names(m).tolist(), dtype=pl.String)
    labels = pl.Series("labels", WINNER_LABELS, dtype=pl.String)
    rng = np.random.default_rng([seed, 1])  # its own stream for the timestamps
    tstamp = T0_STAMP + 0.5 * np.arange(n) + rng.uniform(0.0, 0.5, n)  # increasing, ~2 votes/s
    frame = pl.DataFrame(
        {
            "model_a": names.gather(a),
            "model_b": names.gather(b),
            "winner": labels.gather(o.astype(np.int64)),
            "tstamp": tstamp,
        }
    )
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    frame.write_parquet(path)
    t_write = time.perf_counter() - t1
    counts = np.bincount(o, minlength=5)[1:]
    del frame
    return {
        "a": a,
        "b": b,
        "o": o,
        "build_s": t_build,
        "write_s": t_write,
        "bytes": os.path.getsize(path),
        "outcomes": {WINNER_LABELS[i + 1]: int(c) for i, c in enumerate(counts)},
    }


# --------------------------------------------------------------------------- running the command


def run_command(cmd: list[str], stdout_path: str, cwd: str, use_time_v: bool) -> dict:
    """Run ``cmd`` with stdout to a file; wall clock, peak RSS, CPU time, exit status and its own stderr."""
    wrapped = [TIME_BIN, "-v", *cmd] if use_time_v else [sys.executable, "-c", LAUNCHER, *cmd]
    with open(stdout_path, "wb") as out:
        t0 = time.perf_counter()
        done = subprocess.run(wrapped, stdout=out, stderr=subprocess.PIPE, cwd=cwd)
        wall = time.perf_counter() - t0
    err = done.stderr.decode("utf-8", errors="replace")
    rss = user = system = None
    if use_time_v:
        cut = re.search(r"^(Command exited with non-zero status \d+|\tCommand being timed:)", err, re.M)
        own, report = (err[: cut.start()], err[cut.start() :]) if cut else (err, "")
        if m := re.search(r"Maximum resident set size \(kbytes\): (\d+)", report):
            rss = int(m.group(1)) * 1024
        if m := re.search(r"User time \(seconds\): ([\d.]+)", report):
            user = float(m.group(1))
        if m := re.search(r"System time \(seconds\): ([\d.]+)", report):
            system = float(m.group(1))
    else:
        m = re.search(r"\nBENCH_RUSAGE (\d+) ([\d.]+) ([\d.]+)\n", err)
        own = err[: m.start()] if m else err
        if m:
            rss = int(m.group(1)) * (1 if sys.platform == "darwin" else 1024)
            user, system = float(m.group(2)), float(m.group(3))
    return {
        "wall_s": wall,
        "peak_rss_bytes": rss,
        "cpu_s": (user or 0.0) + (system or 0.0) if user is not None else None,
        "returncode": done.returncode,
        "stderr": own.strip(),
    }


def check_output(stdout_path: str, n: int, m: int) -> tuple[bool, str]:
    """The replay's JSON output covers all N votes with one row per model."""
    try:
        with open(stdout_path, encoding="utf-8") as f:
            board = json.load(f)
    except (OSError, ValueError) as exc:
        return False, f"unreadable JSON output: {exc}"
    total, rows = board.get("total_votes"), len(board.get("rows", []))
    ok = total == n and rows == m
    return ok, f"total_votes {total}, {rows} rows, bootstrap_rounds {board.get('bootstrap_rounds')}"


def bench_command(cli, path, flags, n, m, repeats, workdir, use_time_v, tag) -> dict:
    cmd = [cli, "replay", path, *shlex.split(flags), "--format", "json"]
    out_path = os.path.join(workdir, f"out-{tag}.json")
    runs = []
    for _ in range(repeats):
        run = run_command(cmd, out_path, workdir, use_time_v)
        run["ok"], run["check"] = (False, f"exit status {run['returncode']}")
        if run["returncode"] == 0:
            run["ok"], run["check"] = check_output(out_path, n, m)
        runs.append(run)
        rss = fmt_bytes(run["peak_rss_bytes"])
        print(f"  {shlex.join(cmd[1:])}: {run['wall_s']:.2f} s, peak RSS {rss}, {run['check']}", flush=True)
        if not run["ok"]:
            print(f"  stderr: {run['stderr'][-2000:]}", flush=True)
    walls = [r["wall_s"] for r in runs]
    rsss = [r["peak_rss_bytes"] for r in runs if r["peak_rss_bytes"] is not None]
    cpus = [r["cpu_s"] for r in runs if r["cpu_s"] is not None]
    return {
        "command": shlex.join(cmd) + f" > {out_path}",
        "times_s": walls,
        "median_s": statistics.median(walls),
        "peak_rss_bytes": max(rsss) if rsss else None,
        "cpu_s": statistics.median(cpus) if cpus else None,
        "ok": all(r["ok"] for r in runs),
        "check": runs[-1]["check"],
        "stderr": runs[-1]["stderr"],
    }


def warm_up(cli, workdir, seed, use_time_v) -> dict:
    """Run the tiny replay of every configuration twice: pass 1 may compile, pass 2 is warm."""
    path = os.path.join(workdir, "warm.parquet")
    write_votes(path, WARM_VOTES, WARM_MODELS, seed + 12345)
    flags = [r[2] for r in BIG_RUNS] + [r[2] for r in REF_RUNS]
    flags = list(dict.fromkeys(flags))  # unique, in order
    passes = []
    for p in range(2):
        times = {}
        for i, f in enumerate(flags):
            run = bench_command(cli, path, f, WARM_VOTES, WARM_MODELS, 1, workdir, use_time_v, f"warm{p}-{i}")
            times[f] = run["median_s"]
        passes.append(times)
    return {"flags": flags, "pass1_s": passes[0], "pass2_s": passes[1], "path": path}


# --------------------------------------------------------------------------- kernel only


def bench_kernels(a, b, o, kernel_votes, bootstrap, threads, repeats) -> dict:
    k = min(kernel_votes, a.shape[0])
    small = slice(0, 20_000)
    Board(EloConfig(bootstrap_rounds=0), threads=threads).apply(a[small], b[small], o[small])  # warm
    Board(EloConfig(bootstrap_rounds=bootstrap), threads=threads).apply(a[small], b[small], o[small])
    boot_times, point_times = [], []
    for _ in range(repeats):
        board = Board(EloConfig(bootstrap_rounds=bootstrap), threads=threads)
        boot_times.append(timed(lambda board=board: board.apply(a[:k], b[:k], o[:k]))[1])
        board = None
        point = Board(EloConfig(bootstrap_rounds=0), threads=threads)
        point_times.append(timed(lambda point=point: point.apply(a, b, o))[1])
    boot_s = statistics.median(boot_times)
    return {
        "votes": k,
        "bootstrap": bootstrap,
        "threads": threads,
        "bootstrap_times_s": boot_times,
        "bootstrap_s": boot_s,
        "ns_per_replica_update": boot_s / (k * bootstrap) * 1e9 if bootstrap else None,
        "bootstrap_all_votes_extrapolated_s": boot_s * a.shape[0] / k,
        "point_votes": int(a.shape[0]),
        "point_times_s": point_times,
        "point_s": statistics.median(point_times),
    }


# --------------------------------------------------------------------------- phases


def importtime_top(code: str, k: int = 8) -> list[tuple[str, float]]:
    """The k slowest packages (cumulative seconds, first import) of ``python -X importtime -c code``.

    Root packages (names without a dot) at any depth, e.g. numba, polars, grpc, plus the
    project's own modules (server.*, engine.*) at the top level.
    """
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    seen: dict[str, float] = {}
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if not m:
            continue
        name, top_level = m.group(4), not m.group(3)
        if "." not in name or (top_level and name.split(".")[0] in ("server", "engine")):
            seen[name] = max(seen.get(name, 0.0), int(m.group(2)) / 1e6)
    seen = {n: s for n, s in seen.items() if n not in ("server", "engine", "site", "encodings")}
    return sorted(seen.items(), key=lambda t: -t[1])[:k]


def bench_phases(path: str, warm_path: str, threads_note: int) -> dict:
    from server.cli import local
    from server.cli import options as cli
    from server.cli.main import _parser
    from server.files.votefile import ReadOptions, iter_votes
    from server.offline.replay import replay_chunks

    out: dict = {"threads": threads_note}
    code = "import server.cli.main, server.offline.replay, server.files.votefile, server.files.export"

    def wall(argv):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        return time.perf_counter() - t0

    out["python_startup_s"] = statistics.median(wall([sys.executable, "-c", "pass"]) for _ in range(3))
    out["cli_imports_s"] = statistics.median(wall([sys.executable, "-c", code]) for _ in range(3))
    out["importtime_top"] = importtime_top(code)

    options = ReadOptions(vote_ids=False)  # what replay reads with (no --dedupe)

    def replay(chunks, flags):
        args = _parser().parse_args(["replay", path, *shlex.split(flags)])
        query = local.leaderboard_query(args)
        return replay_chunks(chunks, cli.elo_config(args), query, cli.bt_config(args), cli.vote_filters(args))

    warm_chunks = list(iter_votes([warm_path], options=options))
    chunks, out["read_s"] = timed(lambda: list(iter_votes([path], options=options)))
    out["chunks"] = len(chunks)
    out["replay_chunks_s"] = {}
    for key, _, flags, _ in BIG_RUNS[:3]:
        if key == "elo_boot":
            continue  # ~the kernel-only extrapolation; too slow to run again here
        replay(warm_chunks, flags)  # load this process's kernels first
        _, out["replay_chunks_s"][key] = timed(lambda flags=flags: replay(chunks, flags))
    return out


# --------------------------------------------------------------------------- FastChat


def bench_fastchat(path, a, b, o, m, k, seed, cli, workdir, repeats, use_time_v) -> dict:
    import references as refs
    from bench_engine import load_compute_elo, model_names

    names = model_names(m)
    labels = np.array(WINNER_LABELS, dtype=object)
    n = a.shape[0]
    out: dict = {"votes": n, "models": m, "reference_rounds": k, "notes": []}
    compute_elo, how = load_compute_elo()
    try:
        mle = refs._fastchat_mle()
        get_bootstrap_result = refs._fastchat_function("get_bootstrap_result")
    except ImportError as e:
        mle = get_bootstrap_result = None
        out["notes"].append(f"FastChat BT skipped: {e}")
    if compute_elo is None:
        out["notes"].append(f"FastChat compute_elo skipped: {how}")
    out["loaded_by"] = how
    battles, out["dataframe_build_s"] = timed(lambda: refs._battles(names[a], names[b], labels[o]))
    fc: dict = {}

    def bootstrap(func):
        state = np.random.get_state()
        try:
            np.random.seed(seed)
            return timed(lambda: get_bootstrap_result(battles, func, num_round=k))[1]
        finally:
            np.random.set_state(state)

    if compute_elo is not None:
        _, fc["compute_elo_s"] = timed(lambda: compute_elo(battles))
        print(f"FastChat compute_elo: {fc['compute_elo_s']:.2f} s", flush=True)
        if get_bootstrap_result is not None:
            fc["elo_bootstrap_s"] = bootstrap(compute_elo)
            fc["elo_bootstrap_per_round_s"] = fc["elo_bootstrap_s"] / k
            fc["elo_plus_1000_extrapolated_s"] = fc["compute_elo_s"] + 1000 * fc["elo_bootstrap_per_round_s"]
            print(f"FastChat get_bootstrap_result(compute_elo, {k}): {fc['elo_bootstrap_s']:.2f} s", flush=True)
    if mle is not None:
        small = battles.iloc[:20_000]
        mle(small)  # imports sklearn (untimed)
        _, fc["bt_fit_s"] = timed(lambda: mle(battles))
        print(f"FastChat compute_elo_mle_with_tie: {fc['bt_fit_s']:.2f} s", flush=True)
        fc["bt_bootstrap_s"] = bootstrap(mle)
        fc["bt_bootstrap_per_round_s"] = fc["bt_bootstrap_s"] / k
        fc["bt_plus_1000_extrapolated_s"] = fc["bt_fit_s"] + 1000 * fc["bt_bootstrap_per_round_s"]
        print(f"FastChat get_bootstrap_result(compute_elo_mle_with_tie, {k}): {fc['bt_bootstrap_s']:.2f} s", flush=True)
    battles = None  # free FastChat's frame before our commands run
    gc.collect()
    out["fastchat"] = fc

    ours = {}
    for key, _, flags in REF_RUNS:
        ours[key] = bench_command(cli, path, flags, n, m, repeats, workdir, use_time_v, f"ref-{key}")
    out["ours"] = ours

    rows = []

    def pair(what, theirs_label, theirs_s, ours_key, extrapolated):
        if theirs_s is None:
            return
        mine = ours[ours_key]["median_s"]
        rows.append(
            {
                "what": what,
                "fastchat": theirs_label,
                "fastchat_s": theirs_s,
                "extrapolated": extrapolated,
                "ours_key": ours_key,
                "ours": next(f for k2, _, f in REF_RUNS if k2 == ours_key),
                "ours_s": mine,
                "ratio": theirs_s / mine,
            }
        )

    pair("online Elo point ratings", "`compute_elo`", fc.get("compute_elo_s"), "elo_point", False)
    pair("BT fit", "`compute_elo_mle_with_tie`", fc.get("bt_fit_s"), "bt_fit", False)
    pair(
        "BT + 1000-round bootstrap CIs",
        f"fit + 1000 x `get_bootstrap_result(.., compute_elo_mle_with_tie)` round ({k} run)",
        fc.get("bt_plus_1000_extrapolated_s"),
        "bt_boot",
        True,
    )
    pair(
        "online Elo + 1000 bootstrap",
        f"`compute_elo` + 1000 x `get_bootstrap_result(.., compute_elo)` round ({k} run)",
        fc.get("elo_plus_1000_extrapolated_s"),
        "elo_boot",
        True,
    )
    out["rows"] = rows
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--votes", type=int, default=10_000_000, help="N votes in the big file (default 10,000,000)")
    p.add_argument("--models", type=int, default=300, help="M models in the big file (default 300)")
    p.add_argument("--repeats", type=int, default=1, help="runs of each command (default 1; median reported)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic votes and FastChat's RNG (default 0)")
    p.add_argument(
        "--workdir", default=None, help="folder for the vote files and outputs (kept)\n(default: a temp dir)"
    )
    p.add_argument("--ref-votes", type=int, default=1_000_000, help="votes of the FastChat comparison (default 1 M)")
    p.add_argument("--ref-models", type=int, default=100, help="models of the FastChat comparison (default 100)")
    p.add_argument(
        "--reference-rounds",
        type=int,
        default=3,
        help="FastChat bootstrap rounds run (default 3),\nextrapolated to 1000",
    )
    p.add_argument("--kernel-votes", type=int, default=1_000_000, help="votes of the kernel-only B=1000 timing")
    p.add_argument("--threads", type=int, default=2, help="Board threads of the kernel-only timing (default 2)")
    p.add_argument("--skip-references", action="store_true", help="skip the FastChat comparison")
    p.add_argument("--skip-phases", action="store_true", help="skip the where-the-time-goes section")
    p.add_argument(
        "--skip-default-bootstrap", action="store_true", help="skip the BT run with the default --bootstrap 1000"
    )
    p.add_argument("--no-time-v", action="store_true", help="measure peak RSS with the Python launcher, not time -v")
    p.add_argument("--cli", default=None, help="the arena-ratings executable (default: next to this Python)")
    p.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON here")
    args = p.parse_args(argv)
    if min(args.votes, args.repeats, args.ref_votes, args.reference_rounds, args.kernel_votes, args.threads) < 1:
        p.error("counts must be positive")
    if args.models < 2 or args.ref_models < 2:
        p.error("need at least 2 models")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    machine = machine_line()
    cli = args.cli or cli_path()
    use_time_v = not args.no_time_v and os.access(TIME_BIN, os.X_OK)
    rss_how = f"{TIME_BIN} -v (Maximum resident set size)" if use_time_v else "launcher: getrusage(RUSAGE_CHILDREN)"
    n, m = args.votes, args.models
    print(f"# arena-ratings replay benchmark: {n:,} votes, {m} models, seed {args.seed}, repeats {args.repeats}")
    print(flush=True)

    tmp = None
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        workdir = os.path.abspath(args.workdir)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_replay_")
        workdir = tmp.name
    try:
        result = run(args, cli, workdir, use_time_v)
    finally:
        if tmp is not None:
            tmp.cleanup()
    total = time.perf_counter() - t_start
    report(args, result, machine, command, cli, rss_how, total, workdir if args.workdir else "(temporary, removed)")
    if args.json:
        payload = {"command": command, "machine": machine, "cli": cli, "peak_rss_by": rss_how, "total_s": total,
                   "params": {k: v for k, v in vars(args).items() if k != "json"}, **result}  # fmt: skip
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2, default=json_default)
            f.write("\n")
        print(f"wrote {args.json}")
    failed = [r for r in result["big"].values() if not r["ok"]]
    if result.get("references", {}).get("ours"):
        failed += [r for r in result["references"]["ours"].values() if not r["ok"]]
    return 1 if failed else 0


def run(args, cli, workdir, use_time_v) -> dict:
    n, m = args.votes, args.models
    result: dict = {}
    path = os.path.join(workdir, f"votes-{n}x{m}.parquet")
    data = write_votes(path, n, m, args.seed)
    result["data"] = {k: v for k, v in data.items() if k not in ("a", "b", "o")} | {"path": path}
    print(
        f"wrote {path}: {fmt_bytes(data['bytes'])} (build {data['build_s']:.2f} s, write {data['write_s']:.2f} s); "
        f"{data['outcomes']}",
        flush=True,
    )
    a, b, o = data["a"], data["b"], data["o"]
    del data

    print("warm-up: tiny replays, two passes", flush=True)
    result["warm_up"] = warm_up(cli, workdir, args.seed, use_time_v)

    print(f"whole commands on {n:,} votes", flush=True)
    big = {}
    for key, _, flags, _ in BIG_RUNS:
        if key == "bt_boot_default" and args.skip_default_bootstrap:
            continue
        big[key] = bench_command(cli, path, flags, n, m, args.repeats, workdir, use_time_v, key)
    result["big"] = big

    print("kernel only", flush=True)
    result["kernels"] = bench_kernels(a, b, o, args.kernel_votes, 1000, args.threads, args.repeats)
    del a, b, o
    gc.collect()

    if not args.skip_phases:
        print("phases (in process)", flush=True)
        result["phases"] = bench_phases(path, result["warm_up"]["path"], os.cpu_count() or 1)

    if not args.skip_references:
        print(f"FastChat comparison on {args.ref_votes:,} votes, {args.ref_models} models", flush=True)
        ref_path = os.path.join(workdir, f"votes-{args.ref_votes}x{args.ref_models}.parquet")
        ref = write_votes(ref_path, args.ref_votes, args.ref_models, args.seed)
        result["references"] = bench_fastchat(
            ref_path, ref["a"], ref["b"], ref["o"], args.ref_models, args.reference_rounds, args.seed,
            cli, workdir, args.repeats, use_time_v,
        )  # fmt: skip
        result["references"]["path"] = ref_path
        result["references"]["file_bytes"] = ref["bytes"]
    return result


def report(args, result, machine, command, cli, rss_how, total, workdir) -> None:
    n, m = args.votes, args.models
    big, kern, warm = result["big"], result["kernels"], result["warm_up"]
    data = result["data"]
    print()
    print(f"## 1. Setup: {n:,} synthetic votes, {m} models")
    print()
    print(
        f"Parquet file {fmt_bytes(data['bytes'])} ({data['bytes'] / n:.2f} bytes/vote); built in "
        f"{data['build_s']:.2f} s, written in {data['write_s']:.2f} s (setup, untimed by the targets). "
        f"Outcomes: {data['outcomes']}. Folder: {workdir}"
    )

    print()
    print(f"## 2. Warm-up: tiny replay ({WARM_VOTES:,} votes, {WARM_MODELS} models), whole command")
    print()
    print("| replay flags | pass 1 | pass 2 |")
    print("| --- | ---: | ---: |")
    for f in warm["flags"]:
        print(f"| `{f}` | {fmt_s(warm['pass1_s'][f])} | {fmt_s(warm['pass2_s'][f])} |")
    p1, p2 = sum(warm["pass1_s"].values()), sum(warm["pass2_s"].values())
    print()
    cold = p1 - p2
    if cold > max(1.0, 0.25 * p2):
        slowest = max(warm["flags"], key=lambda f: warm["pass1_s"][f] - warm["pass2_s"][f])
        print(
            f"COLD START seen: pass 1 took {p1:.1f} s vs {p2:.1f} s warm in all, i.e. {cold:.1f} s of numba "
            f"compilation into its on-disk cache (most in the first `{slowest}`); the timed runs below are warm"
        )
    else:
        print(f"no cold start seen (numba cache already warm): pass 1 {p1:.1f} s, pass 2 {p2:.1f} s in all")
    print(f"fixed cost of one warm command (tiny file): {fmt_s(min(warm['pass2_s'].values()))} to "
          f"{fmt_s(max(warm['pass2_s'].values()))}")  # fmt: skip

    print()
    print(f"## 3. Whole command `arena-ratings replay FILE ... --format json > out.json` on {n:,} votes")
    print()
    print("| what | replay flags | wall (median) | runs | CPU user+sys | peak RSS | target | output |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
    for key, what, flags, target in BIG_RUNS:
        if key not in big:
            continue
        r = big[key]
        tgt = "" if target is None else f"{'MET' if r['median_s'] <= target else 'NOT MET'} (<= {target:g} s)"
        cpu = fmt_s(r["cpu_s"])
        print(
            f"| {what} | `{flags}` | {fmt_s(r['median_s'])} | {len(r['times_s'])} | {cpu} | "
            f"{fmt_bytes(r['peak_rss_bytes'])} | {tgt} | {'OK' if r['ok'] else 'FAIL'}: {r['check']} |"
        )
    print()
    print(f"peak RSS by {rss_how}; CPU > wall means the engine's threads ran in parallel.")
    print("commands:")
    for r in big.values():
        print(f"  {r['command']}")
    if "elo_boot" in big:
        per = big["elo_boot"]["median_s"] / (n * 1000) * 1e9
        print(f"online Elo B=1000, whole command: {per:.2f} ns per replica update (wall / ({n:,} x 1000); upper bound)")
    stderr_line = next((r["stderr"] for r in big.values() if r["stderr"]), "")
    if stderr_line:
        print(f"the command's stderr (last run): {stderr_line.splitlines()[-1][:300]}")

    print()
    print("## 4. Kernel only (this process, warmed)")
    print()
    print("| what | votes | time | per vote | per replica update |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        f"| `Board(EloConfig(bootstrap_rounds=1000), threads={kern['threads']}).apply(a, b, o)`, one call | "
        f"{kern['votes']:,} | {fmt_s(kern['bootstrap_s'])} | {kern['bootstrap_s'] / kern['votes'] * 1e9:,.0f} ns | "
        f"{kern['ns_per_replica_update']:.2f} ns |"
    )
    print(
        f"| same, all {kern['point_votes']:,} votes (EXTRAPOLATED x{kern['point_votes'] / kern['votes']:g}) | "
        f"{kern['point_votes']:,} | {fmt_s(kern['bootstrap_all_votes_extrapolated_s'])} | | |"
    )
    print(
        f"| `Board(EloConfig(bootstrap_rounds=0)).apply(a, b, o)` (point kernel) | {kern['point_votes']:,} | "
        f"{fmt_s(kern['point_s'])} | {kern['point_s'] / kern['point_votes'] * 1e9:.1f} ns | |"
    )

    ph = result.get("phases")
    if ph:
        print()
        print(f"## 5. Where the time goes ({n:,} votes; in-process phases, kernels warmed)")
        print()
        imports = ph["cli_imports_s"]
        read = ph["read_s"]
        rc = ph["replay_chunks_s"]
        print("| phase | elo point | BT + 1000-round bootstrap | online Elo + B=1000 |")
        print("| --- | ---: | ---: | ---: |")
        boot_apply = kern["bootstrap_all_votes_extrapolated_s"]
        cols = {
            "elo_point": (big.get("elo_point"), rc.get("elo_point")),
            "bt_boot": (big.get("bt_boot"), rc.get("bt_boot")),
            "elo_boot": (big.get("elo_boot"), boot_apply),
        }
        line = lambda label, vals: print(f"| {label} | " + " | ".join(vals) + " |")  # noqa: E731
        line("Python start-up + the CLI's imports (`python -c 'import server.cli.main, ...'`)", [fmt_s(imports)] * 3)
        line(f"read + check + per-chunk interning (`iter_votes`, {ph['chunks']} chunks)", [fmt_s(read)] * 3)
        line(
            "`replay_chunks` on the chunks read (intern, `Board.apply`, standings); Elo B=1000: kernel EXTRAPOLATED",
            [fmt_s(v) for _, v in cols.values()],
        )
        line(
            "remainder (kernel-cache load, JSON output, exit)",
            [fmt_s(big_r["median_s"] - imports - read - v) if big_r else "n/a" for big_r, v in cols.values()],
        )
        line("whole command (section 3)", [fmt_s(big_r["median_s"]) if big_r else "n/a" for big_r, _ in cols.values()])
        print()
        print(
            f"bare `python -c pass`: {fmt_s(ph['python_startup_s'])}; slowest imports (cumulative, "
            "`-X importtime`): " + ", ".join(f"{name} {fmt_s(s)}" for name, s in ph["importtime_top"])
        )
        if "elo_point" in rc and "bt_boot" in rc:
            print(
                f"BT standings (fit + 1000-round bootstrap) ~ replay_chunks(BT) - replay_chunks(Elo point) = "
                f"{fmt_s(rc['bt_boot'] - rc['elo_point'])}; point kernel alone on all votes: {fmt_s(kern['point_s'])}"
            )

    ref = result.get("references")
    if ref:
        fc = ref["fastchat"]
        k = ref["reference_rounds"]
        print()
        print(f"## 6. FastChat 0.2.36 vs `arena-ratings replay`: {ref['votes']:,} votes, {ref['models']} models")
        print()
        print(
            f"Separate synthetic file (same generator, seed {args.seed}), {fmt_bytes(ref['file_bytes'])} Parquet; "
            f"FastChat's pandas DataFrame built in {fmt_s(ref['dataframe_build_s'])} (untimed)."
        )
        for note in ref["notes"]:
            print(f"NOTE: {note}")
        print()
        print("| FastChat function call (in-memory DataFrame) | time | how |")
        print("| --- | ---: | --- |")
        rows = [
            ("`compute_elo` (online Elo)", fc.get("compute_elo_s"), "measured"),
            (f"`get_bootstrap_result(battles, compute_elo, {k})`", fc.get("elo_bootstrap_s"), "measured"),
            ("  per round", fc.get("elo_bootstrap_per_round_s"), f"measured / {k}"),
            ("`compute_elo` + 1000 rounds", fc.get("elo_plus_1000_extrapolated_s"), "EXTRAPOLATED"),
            ("`compute_elo_mle_with_tie` (BT)", fc.get("bt_fit_s"), "measured"),
            (f"`get_bootstrap_result(battles, compute_elo_mle_with_tie, {k})`", fc.get("bt_bootstrap_s"), "measured"),
            ("  per round", fc.get("bt_bootstrap_per_round_s"), f"measured / {k}"),
            ("`compute_elo_mle_with_tie` + 1000 rounds", fc.get("bt_plus_1000_extrapolated_s"), "EXTRAPOLATED"),
        ]
        for what, s, how in rows:
            if s is not None:
                print(f"| {what} | {fmt_s(s)} | {how} |")
        print()
        print(
            "| output | FastChat | FastChat time | ours: whole `arena-ratings replay` | our wall | peak RSS | ratio |"
        )
        print("| --- | --- | ---: | --- | ---: | ---: | ---: |")
        for r in ref["rows"]:
            rss = fmt_bytes(ref["ours"][r["ours_key"]]["peak_rss_bytes"])
            star = " EXTRAPOLATED" if r["extrapolated"] else ""
            print(
                f"| {r['what']} | {r['fastchat']} | {fmt_s(r['fastchat_s'])}{star} | `{r['ours']}` | "
                f"{fmt_s(r['ours_s'])} | {rss} | {r['ratio']:,.1f}x |"
            )
        print()
        print(
            "ratio = FastChat time / our time (higher: ours faster). Ours are whole-command wall times (Python "
            "start-up, imports, reading the Parquet file, output); FastChat's are function calls on a DataFrame "
            "already in memory, so the ratios are conservative for us. FastChat's Elo bootstrap resamples the "
            "battles and replays online Elo per round; ours keeps B=1000 online replicas while the votes are "
            "applied (a different estimator of the same CI)."
        )
        print(f"FastChat loaded by: {ref['loaded_by']}")
        for r in ref["ours"].values():
            print(f"  {r['command']}")

    print()
    print("## Targets")
    print()
    for key, what, flags, target in BIG_RUNS:
        if target is None or key not in big:
            continue
        r = big[key]
        print(f"- {what} (`{flags}`): {fmt_s(r['median_s'])} -> {'MET' if r['median_s'] <= target else 'NOT MET'} "
              f"(<= {target:g} s)")  # fmt: skip
    for key, what, _, target in BIG_RUNS:
        if target is None or key not in big:
            continue
        rss = big[key]["peak_rss_bytes"]
        verdict = "n/a" if rss is None else ("MET" if rss <= TARGET_RSS else "NOT MET")
        print(f"- peak memory, {what}: {fmt_bytes(rss)} -> {verdict} (<= {TARGET_RSS / 1e9:g} GB)")
    print()
    print(f"total benchmark time: {total:.1f} s")
    print(f"machine: {machine}")
    print(f"CLI: {cli}")
    print(f"command: {command}")


if __name__ == "__main__":
    sys.exit(main())
