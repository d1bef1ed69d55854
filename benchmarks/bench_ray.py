"""``replay --ray`` against the single-machine replay on this machine, the cost of each Ray task, and a
projection of the time on clusters of N nodes from those measured constants.

    python benchmarks/bench_ray.py [--votes V] [--models M] [--replicas B] [--rounds K] [--repeats R]
        [--cpus C] [--workdir DIR] [--json PATH] [--skip-cli] [--skip-tasks]

Defaults: V = 10 M votes over M = 300 models, B = 1000 Elo replicas, K = 1000 BT rounds, R = 3, C = 2.
The votes: ``benchmarks/make_arena_file.py`` (a synthetic LMArena-like Parquet file, seed 0), kept in
--workdir when given (and reused).

1. The CLI as a user runs it, each run a whole process (``python -m server.cli replay F --format json``,
   stdout to a file): ``--method elo --bootstrap B`` and ``--method bt --rounds K`` (bootstrap CIs), each
   on one machine and with ``--ray auto --ray-cpus C``. One untimed run of each first (numba's cache,
   the page cache), then single and Ray runs alternate, R times each; reported: medians and the ratio
   Ray / single (target <= 1.3). The outputs must agree (the JSON feed without its ``as_of`` key): Elo
   exactly, BT within 1e-6 rating points per number. The driver's serial part is measured the same way
   as ``--method elo --ci none`` and ``--method bt --ci none`` (read, filters, point pass, output).
2. Per task, in this process: ``ray.init(num_cpus=C)``, then the distributed replay's own pieces on the
   file: the driver's pass (``apply_chunks``, tapping the votes as ``replay_on`` does), ``ray.put`` of the
   vote columns, ``elo_shards.elo_replicas`` (one task per CPU), and the BT leaderboard with
   ``rounds.RayRounds`` (4 blocks per CPU). Each is called twice: the first call meets cold workers
   (imports, numba's cache), the second warm ones; the constants come from the warm call. From
   ``ray.timeline()`` (Ray 2.60's chrome-trace events: ``submit_task`` on the driver; on the workers the
   task's span ``task::_shard_task`` / ``task::_block_task`` holding ``task:deserialize_arguments``,
   ``task:execute`` and ``task:store_outputs``), per task kind: the number of tasks, execute seconds per
   task, and the overhead per task = deserialise + store + scheduling (start minus the moment it could
   start: its submission, or the end of the task whose CPU it took when it queued), plus the call's
   gather tail (its return minus the last task's end) spread over its tasks. Kernel rates per core:
   Elo, votes x replicas in the shard / execute seconds; BT, rounds in the block / execute seconds.
   Also the Elo floor: one shard of a single replica on this thread, the per-vote cost a shard pays
   whatever its number of replicas.
3. A projection for N nodes of C' cores (N = 1, 2, 4, 8, 16; C' = 2 and 16) at V = 10 M and 100 M:

       T(N) = T_serial(V) + T_ray + T_put(V) + V*B / (r_elo*N*C') + tasks * overhead_per_task / (N*C')  (Elo)
       T(N) = T_serial(V) + T_ray + K * t_round / (N*C') + tasks * overhead_per_task / (N*C')           (BT)

   with tasks = N*C' for Elo (one shard per CPU) and 4*N*C' for BT. T_serial(V) = the process's fixed
   cost (the ``--ci none`` command minus its pass) + the driver's pass per vote x V; T_ray = ``ray.init``
   and ``ray.shutdown`` of a local instance plus the new workers' start (their imports and numba cache
   loads: the first call minus the second; a run never reuses another's workers); T_put = ``ray.put`` per
   vote x V. Assumptions: the votes are shipped once per node through the object store, and the network
   is not modelled beyond what was measured on this one machine (a put, read locally); the driver's pass
   is serial and linear in V; a BT round costs O(cells), so t_round does not depend on V (same models).
   The 100 M rows are not materialised: every per-vote cost is scaled linearly from the measured V.
   A column "+floor" splits the Elo shard's time into a per-vote floor, paid by every shard whatever its
   replicas (every shard applies every vote), and the marginal cost of an update (1/r_elo less the floor
   spread over the measured shard's replicas): V*floor + V*B*marginal/(N*C') in place of V*B/(r_elo*N*C'),
   which matters when N*C' shards leave each only a few replicas. The model is checked
   against the measured ``--ray`` command at N = 1, C' = C.

Figures are printed and, with --json, written as JSON. Nothing is asserted but the outputs' agreement.
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


from benchmarks.common import json_default, machine_line, make_file  # noqa: E402

TARGET_RATIO = 1.3  # --ray auto / single machine, same command
BT_TOLERANCE = 1e-6  # rating points, per number of the feed
BLOCKS_PER_CPU = 4  # server.distributed.rounds.BLOCKS_PER_CPU
NODES = (1, 2, 4, 8, 16)
CORES = (2, 16)
PROJECTED_VOTES = (10_000_000, 100_000_000)


# --------------------------------------------------------------------------- files and processes


def run(argv: list[str], out_path: str) -> float:
    """Wall seconds of one child process, stdout to ``out_path``. Raises if it fails."""
    with open(out_path, "w") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        code = subprocess.call(argv, cwd=ROOT, stdout=out, stderr=err)
        seconds = time.perf_counter() - t0
        if code != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed ({code}): {err.read()[-2000:]}")
    return seconds


def command_argv(path: str, flags: list[str]) -> list[str]:
    return [sys.executable, "-m", "server.cli", "replay", path, "--format", "json", *flags]


def feed(path: str) -> dict:
    with open(path) as f:
        listed = json.load(f)
    listed.pop("as_of", None)
    return listed


def largest_gap(a, b, where: str = "") -> float:
    """The largest |a - b| over the numbers of two JSON values of the same shape; ValueError where
    anything else differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            raise ValueError(f"{where}: keys differ: {sorted(a.keys() ^ b.keys())}")
        return max((largest_gap(a[k], b[k], f"{where}.{k}") for k in a), default=0.0)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise ValueError(f"{where}: {len(a)} items against {len(b)}")
        return max((largest_gap(x, y, f"{where}[{i}]") for i, (x, y) in enumerate(zip(a, b))), default=0.0)
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return 0.0
        return abs(float(a) - float(b))
    if a != b:
        raise ValueError(f"{where}: {a!r} != {b!r}")
    return 0.0


def cli_section(path: str, replicas: int, rounds: int, repeats: int, cpus: int, workdir: str) -> dict:
    ray_flags = ["--ray", "auto", "--ray-cpus", str(cpus)]
    commands = {
        "elo": ["--method", "elo", "--bootstrap", str(replicas)],
        "bt": ["--method", "bt", "--rounds", str(rounds)],
    }
    serial = {"elo": ["--method", "elo", "--ci", "none"], "bt": ["--method", "bt", "--ci", "none"]}
    out: dict = {}
    for key, flags in commands.items():
        single_out, ray_out = (os.path.join(workdir, f"out-{key}-{which}.json") for which in ("single", "ray"))
        serial_out = os.path.join(workdir, f"out-{key}-serial.json")
        for argv, target in ((flags, single_out), ([*flags, *ray_flags], ray_out), (serial[key], serial_out)):
            run(command_argv(path, argv), target)  # warm: numba's cache, the page cache
        single, ray, none = [], [], []
        for _ in range(repeats):
            single.append(run(command_argv(path, flags), single_out))
            ray.append(run(command_argv(path, [*flags, *ray_flags]), ray_out))
            none.append(run(command_argv(path, serial[key]), serial_out))
        a, b = feed(single_out), feed(ray_out)
        if key == "elo":
            same, gap = a == b, 0.0 if a == b else largest_gap(a, b)
        else:
            gap = largest_gap(a, b)
            same = gap <= BT_TOLERANCE
        ratio = statistics.median(ray) / statistics.median(single)
        label = f"replay F {' '.join(flags)}"
        out[key] = {
            "command": label,
            "single_s": single,
            "ray_s": ray,
            "serial_s": none,
            "serial_command": f"replay F {' '.join(serial[key])}",
            "ratio": ratio,
            "pair_ratios": [r / s for r, s in zip(ray, single)],
            "met": ratio <= TARGET_RATIO,
            "outputs_agree": same,
            "largest_gap": gap,
            "total_votes": a["total_votes"],
        }
        print(
            f"{label:<40} single {statistics.median(single):7.2f} s   --ray auto --ray-cpus {cpus} "
            f"{statistics.median(ray):7.2f} s   ratio {ratio:.2f} {'MET' if ratio <= TARGET_RATIO else 'NOT MET'} "
            f"(<= {TARGET_RATIO})   serial part ({' '.join(serial[key])}) {statistics.median(none):.2f} s   "
            f"outputs {'agree' if same else 'DIFFER'} (largest gap {gap:.2g})",
            flush=True,
        )
    return out


# --------------------------------------------------------------------------- tasks, from ray.timeline()


def task_figures(events: list[dict], kind: str, since_us: float, until_us: float) -> dict:
    """The tasks of ``kind`` (its timeline category, ``task::_shard_task``) that started in the window."""
    spans = sorted(
        (e for e in events if e.get("cat") == kind and e["ph"] == "X" and since_us <= e["ts"] <= until_us),
        key=lambda e: e["ts"],
    )
    submits = sorted(e["ts"] for e in events if e.get("name") == "submit_task" and since_us <= e["ts"] <= until_us)
    parts = {"task:deserialize_arguments": {}, "task:execute": {}, "task:store_outputs": {}}
    for e in events:
        if e.get("name") in parts and since_us <= e["ts"] <= until_us:
            parts[e["name"]][(e["tid"], e["ts"])] = e["dur"]

    def part(span: dict, name: str) -> float:
        end = span["ts"] + span["dur"]
        inside = [d for (tid, ts), d in parts[name].items() if tid == span["tid"] and span["ts"] <= ts <= end]
        return sum(inside) / 1e6

    # A batch's tasks are submitted within milliseconds: the first submission stands for all of them.
    submitted = submits[0] if submits else spans[0]["ts"]
    ends = sorted(s["ts"] + s["dur"] for s in spans)
    tasks = []
    for span in spans:
        freed = [end for end in ends if end <= span["ts"]]  # a queued task starts when a CPU is freed
        ready = max([submitted, *freed])
        execute = part(span, "task:execute")
        tasks.append(
            {
                "start_s": (span["ts"] - submitted) / 1e6,
                "span_s": span["dur"] / 1e6,
                "execute_s": execute,
                "deserialize_s": part(span, "task:deserialize_arguments"),
                "store_s": part(span, "task:store_outputs"),
                "scheduling_s": (span["ts"] - ready) / 1e6,
                "overhead_s": (span["ts"] + span["dur"] - ready) / 1e6 - execute,
            }
        )
    tail = (until_us - ends[-1]) / 1e6 if ends else 0.0
    return {
        "tasks": len(tasks),
        "per_task": tasks,
        "execute_s": statistics.median(t["execute_s"] for t in tasks),
        "deserialize_s": statistics.median(t["deserialize_s"] for t in tasks),
        "store_s": statistics.median(t["store_s"] for t in tasks),
        "scheduling_s": statistics.median(t["scheduling_s"] for t in tasks),
        "gather_tail_s": tail,
        "overhead_per_task_s": statistics.mean(t["overhead_s"] for t in tasks) + tail / max(1, len(tasks)),
    }


def now_us() -> float:
    return time.time() * 1e6


def tasks_section(path: str, replicas: int, rounds: int, cpus: int) -> dict:
    import ray

    from engine import EloConfig
    from server.distributed import elo_shards
    from server.distributed.cluster import Cluster
    from server.distributed.replay import joined
    from server.distributed.rounds import RayRounds
    from server.domain.filters import VoteFilters
    from server.files.votefile import ReadOptions, ReadReport, iter_votes
    from server.offline.replay import apply_chunks, board_for, leaderboard_of, offline_query, read_fields

    def chunks(query):
        options = ReadOptions(vote_ids=False, fields=read_fields(query, VoteFilters()))
        return iter_votes([path], "default", options, ReadReport())

    out: dict = {}
    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, configure_logging=False)
    out["ray_init_s"] = time.perf_counter() - t0
    try:
        cluster = Cluster("auto", cpus)
        config = EloConfig(bootstrap_rounds=replicas)

        # Elo: the driver's pass, tapping the votes as replay_on does, then the shards.
        query = offline_query("default", method="elo", ci="bootstrap")
        for _ in range(2):  # the first loads the kernels from numba's cache
            applied: list = []
            board = board_for(query, config, replicas=range(0))
            t0 = time.perf_counter()
            replayed = apply_chunks(chunks(query), board, query, tap=applied.append)
            out["driver_pass_s"] = time.perf_counter() - t0
        votes = joined(applied)
        applied.clear()
        n = int(votes.outcome.shape[0])
        out["votes"] = n
        out["replicas"] = replicas
        out["vote_bytes"] = sum(x.nbytes for x in (votes.competitor_a, votes.competitor_b, votes.outcome))
        ray.put(votes)  # the first put also maps the store's memory
        puts = []
        for _ in range(5):
            t0 = time.perf_counter()
            ref = ray.put(votes)
            puts.append(time.perf_counter() - t0)
            del ref
        out["put_s"] = statistics.median(puts)
        # The floor: a shard of one replica, on this thread (warm first), the per-vote cost of any shard.
        elo_shards.apply_shard(votes, config, range(0, 1))
        t0 = time.perf_counter()
        elo_shards.apply_shard(votes, config, range(0, 1))
        out["elo_floor_per_vote_s"] = (time.perf_counter() - t0) / n
        elo_windows = []  # (since, until) in the timeline's clock (Unix microseconds), wall seconds
        for _ in range(2):
            since = now_us()
            t0 = time.perf_counter()
            columns = elo_shards.elo_replicas(cluster, votes, board.config, board.competitor_ids)
            elo_windows.append((since, now_us(), time.perf_counter() - t0))
        board.install_replicas(columns)
        t0 = time.perf_counter()
        leaderboard_of(replayed, query)
        out["elo_percentiles_s"] = time.perf_counter() - t0
        out["elo"] = {}
        # Tasks run one to a core: updates (every vote x every replica) over the tasks' execute seconds.
        del replayed, board, columns

        # BT: the driver's pass (pair cells), then the leaderboard with the rounds as Ray tasks.
        query = offline_query("default", method="bt", ci="bootstrap", rounds=rounds)
        for _ in range(2):  # the first loads the kernels from numba's cache
            t0 = time.perf_counter()
            replayed = apply_chunks(chunks(query), board_for(query, config), query)
            out["bt_driver_pass_s"] = time.perf_counter() - t0
        bt_windows = []
        for _ in range(2):
            since = now_us()
            t0 = time.perf_counter()
            leaderboard_of(replayed, query, runner=RayRounds(cluster))
            bt_windows.append((since, now_us(), time.perf_counter() - t0))
        # The workers report their task events to the GCS about once a second: wait for the last ones.
        time.sleep(3.0)
        events = ray.timeline()
        for key, kind, windows, rate in (
            ("elo", "task::_shard_task", elo_windows, lambda busy: n * replicas / busy),
            ("bt", "task::_block_task", bt_windows, lambda busy: rounds / busy),
        ):
            calls = []
            for since, until, wall in windows:
                figures = task_figures(events, kind, since, until)
                figures["wall_s"] = wall
                calls.append(figures)
            # Tasks run one to a core: the work (every vote x every replica; every round) over the execute seconds.
            busy = sum(t["execute_s"] for t in calls[-1]["per_task"])
            out[key] = {"cold": calls[0], "warm": calls[-1], "per_s_per_core": rate(busy)}
    finally:
        t0 = time.perf_counter()
        ray.shutdown()
        out["ray_shutdown_s"] = time.perf_counter() - t0
    e, b = out["elo"], out["bt"]
    print(
        f"ray.init (local, {cpus} CPUs) {out['ray_init_s']:.2f} s; driver pass {out['driver_pass_s']:.2f} s "
        f"({out['driver_pass_s'] / out['votes'] * 1e9:.0f} ns/vote, Elo) / {out['bt_driver_pass_s']:.2f} s (BT); "
        f"ray.put of the vote columns ({out['vote_bytes'] / 1e6:.0f} MB) {out['put_s'] * 1e3:.1f} ms; "
        f"Elo percentiles and listing {out['elo_percentiles_s']:.2f} s; ray.shutdown {out['ray_shutdown_s']:.2f} s",
        flush=True,
    )
    for label, kind in (("Elo shards", e), ("BT blocks", b)):
        for when in ("cold", "warm"):
            f = kind[when]
            print(
                f"  {label} ({when}): {f['tasks']} tasks, call {f['wall_s']:.2f} s; per task: execute "
                f"{f['execute_s']:.3f} s, deserialise {f['deserialize_s'] * 1e3:.1f} ms, store "
                f"{f['store_s'] * 1e3:.1f} ms, scheduling {f['scheduling_s'] * 1e3:.1f} ms; gather tail "
                f"{f['gather_tail_s'] * 1e3:.1f} ms; overhead per task {f['overhead_per_task_s'] * 1e3:.1f} ms",
                flush=True,
            )
    print(
        f"  kernel rates per core: Elo {e['per_s_per_core'] / 1e6:.0f} M vote-replica updates/s "
        f"({1e9 / e['per_s_per_core']:.2f} ns each; a shard's floor {out['elo_floor_per_vote_s'] * 1e9:.0f} "
        f"ns/vote whatever its replicas); BT {b['per_s_per_core']:.1f} rounds/s",
        flush=True,
    )
    return out


# --------------------------------------------------------------------------- the projection


def constants(cli: dict | None, tasks: dict, cpus: int) -> dict:
    """The model's constants from the measurements (per-vote costs per vote of the measured file)."""
    n = tasks["votes"]
    c: dict = {"measured_votes": n, "cpus": cpus}
    for key, pass_key in (("elo", "driver_pass_s"), ("bt", "bt_driver_pass_s")):
        per_vote = tasks[pass_key] / n
        fixed = statistics.median(cli[key]["serial_s"]) - tasks[pass_key] if cli else 0.0
        c[key] = {"serial_fixed_s": max(0.0, fixed), "serial_per_vote_s": per_vote}
    e, b = tasks["elo"], tasks["bt"]
    # Each run's workers are new: they import the project (the Elo call's cold deserialise) and load their
    # kernels from numba's cache (each call's cold minus warm; the BT call came after the Elo one's imports).
    elo_cold = max(0.0, e["cold"]["wall_s"] - e["warm"]["wall_s"])
    bt_cold = max(0.0, b["cold"]["wall_s"] - b["warm"]["wall_s"]) + e["cold"]["deserialize_s"]
    ray_fixed = tasks["ray_init_s"] + tasks["ray_shutdown_s"]
    c["put_per_vote_s"] = tasks["put_s"] / n
    c["elo"].update(
        updates_per_s_per_core=e["per_s_per_core"],
        overhead_per_task_s=e["warm"]["overhead_per_task_s"],
        floor_per_vote_s=tasks["elo_floor_per_vote_s"],
        percentiles_s=tasks["elo_percentiles_s"],
        measured_shard_replicas=tasks["replicas"] / e["warm"]["tasks"],
        ray_start_s=ray_fixed + elo_cold,
        cold_workers_s=elo_cold,
    )
    c["bt"].update(
        round_s=1.0 / b["per_s_per_core"],
        overhead_per_task_s=b["warm"]["overhead_per_task_s"],
        ray_start_s=ray_fixed + bt_cold,
        cold_workers_s=bt_cold,
    )
    return c


def projected(c: dict, method: str, votes: int, replicas: int, rounds: int, nodes: int, cores: int) -> dict:
    k = c[method]
    cpus = nodes * cores
    serial = k["serial_fixed_s"] + k["serial_per_vote_s"] * votes
    if method == "elo":
        tasks = cpus
        parallel = votes * replicas / (k["updates_per_s_per_core"] * cpus)
        put = c["put_per_vote_s"] * votes
        extra = k["percentiles_s"]
    else:
        tasks = BLOCKS_PER_CPU * cpus
        parallel = rounds * k["round_s"] / cpus
        put, extra = 0.0, 0.0
    overhead = tasks * k["overhead_per_task_s"] / cpus
    total = serial + k["ray_start_s"] + put + parallel + overhead
    row = {
        "method": method, "votes": votes, "nodes": nodes, "cores": cores, "serial_s": serial,
        "ray_start_s": k["ray_start_s"], "put_s": put, "parallel_s": parallel, "overhead_s": overhead, "total_s": total,
    }  # fmt: skip
    if method == "elo":
        # The measured rate includes the floor at the measured shard size: keep only the marginal cost per update.
        per_update = max(0.0, 1.0 / k["updates_per_s_per_core"] - k["floor_per_vote_s"] / k["measured_shard_replicas"])
        floored = votes * k["floor_per_vote_s"] + votes * replicas * per_update / cpus
        row["total_with_floor_s"] = total - parallel + floored
        row["percentiles_s"] = extra  # measured, not in the formula: at the measured V, B
    return row


def projection(c: dict, replicas: int, rounds: int) -> list[dict]:
    rows = []
    for method in ("elo", "bt"):
        what = f"{replicas} replicas" if method == "elo" else f"{rounds} rounds"
        for votes in PROJECTED_VOTES:
            scaled = "" if votes <= c["measured_votes"] else f" (per-vote costs scaled from {c['measured_votes']:,})"
            print(f"\n{method.upper()}, {votes / 1e6:g} M votes, {what}{scaled}", flush=True)
            header = f"  {'nodes':>5} " + "".join(f"{f'{cores} cores':>14}" for cores in CORES)
            if method == "elo":
                header += "".join(f"{f'{cores} c. +floor':>14}" for cores in CORES)
            print(header + "   (serial + ray start + put | parallel + overhead, at 16 cores)", flush=True)
            for nodes in NODES:
                cells = [projected(c, method, votes, replicas, rounds, nodes, cores) for cores in CORES]
                rows.extend(cells)
                line = f"  {nodes:>5} " + "".join(f"{r['total_s']:>12.1f} s" for r in cells)
                if method == "elo":
                    line += "".join(f"{r['total_with_floor_s']:>12.1f} s" for r in cells)
                last = cells[-1]
                line += (
                    f"   ({last['serial_s'] + last['ray_start_s'] + last['put_s']:.1f} | "
                    f"{last['parallel_s']:.1f} + {last['overhead_s']:.2f})"
                )
                print(line, flush=True)
    return rows


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--replicas", type=int, default=1000, help="Elo bootstrap replicas (--bootstrap)")
    parser.add_argument("--rounds", type=int, default=1000, help="BT bootstrap rounds (--rounds)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=2, help="--ray-cpus, and the in-process instance's CPUs")
    parser.add_argument("--workdir")
    parser.add_argument("--json")
    parser.add_argument("--skip-cli", action="store_true", help="no whole-process runs (the projection's serial "
                        "fixed cost is then 0)")  # fmt: skip
    args = parser.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-ray-")
    os.makedirs(workdir, exist_ok=True)
    print(machine_line(), flush=True)
    path = os.path.join(workdir, f"arena-{args.votes}-{args.models}.parquet")
    make_file(path, args.votes, args.models)
    result: dict = {
        "machine": machine_line(), "votes": args.votes, "models": args.models, "replicas": args.replicas,
        "rounds": args.rounds, "cpus": args.cpus,
    }  # fmt: skip
    cli = None
    if not args.skip_cli:
        print(
            f"\n== the CLI, single machine vs --ray auto --ray-cpus {args.cpus} ({args.votes:,} votes) ==", flush=True
        )
        cli = result["cli"] = cli_section(path, args.replicas, args.rounds, args.repeats, args.cpus, workdir)
    print(f"\n== Ray tasks, in this process (ray.init(num_cpus={args.cpus})) ==", flush=True)
    tasks = result["tasks"] = tasks_section(path, args.replicas, args.rounds, args.cpus)
    c = result["constants"] = constants(cli, tasks, args.cpus)
    print("\n== projection: T(N) on N nodes of C cores (seconds) ==", flush=True)
    result["projection"] = projection(c, args.replicas, args.rounds)
    if cli:
        check = {}
        for method in ("elo", "bt"):
            model = projected(c, method, tasks["votes"], args.replicas, args.rounds, 1, args.cpus)["total_s"]
            measured = statistics.median(cli[method]["ray_s"])
            check[method] = {"model_s": model, "measured_s": measured}
            print(f"model check, {method} at 1 node of {args.cpus} cores, {tasks['votes']:,} votes: "
                  f"model {model:.2f} s, measured --ray {measured:.2f} s", flush=True)  # fmt: skip
        result["model_check"] = check
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=json_default)
    agree = all(row["outputs_agree"] for row in cli.values()) if cli else True
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
