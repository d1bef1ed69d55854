"""Speed of reading a vote file (``server.files.votefile.iter_votes``) against a bare polars read.

    python benchmarks/bench_read.py [--votes N] [--models M] [--seed S] [--format parquet|csv|jsonl]
        [--file PATH] [--workdir DIR] [--repeats R] [--json PATH]

Data: ``benchmarks/make_arena_file.py`` (N = 10 M votes over M = 300 models, LMArena's columns:
model_a, model_b, winner, tstamp, judge, language, tags, anony, question_id, conv_metadata), written
once to --workdir (default: a temporary folder) unless --file names an existing one. Wall clock,
time.perf_counter after a gc pass; each figure is the median of R runs (default 3) after a warm-up
read of the same file. CPU: time.process_time (every thread of the process) per run, the mean of the
R runs: on a shared machine it moves less than the wall clock.

1. Bare read: ``pl.scan_parquet(F).select(["model_a", "model_b", "winner", "tstamp"]).collect()``
   (scan_csv / scan_ndjson for the other formats): what polars needs for the columns a default
   replay uses.
2. Bare read + Enum interning: 1, then the distinct names of both sides and both columns cast to
   one ``pl.Enum`` of them (to physical codes): the least a reader handing int codes to the
   engine does.
3. ``iter_votes`` with the fields of a default replay (``needed_fields(VoteFilters(), False,
   False)``: tstamp only; ``vote_ids=False``): reading, the checks of every row (names, labels,
   tstamp), interning, numpy arrays for the engine. Target: <= 1.3 x figure 2.
4. ``iter_votes`` reading every column (``fields=None``; tags, judge, language, anony and the
   style features from conv_metadata too), for comparison.

Times are printed, not asserted (MET / NOT MET for the ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import polars as pl  # noqa: E402

from benchmarks import make_arena_file  # noqa: E402
from benchmarks.common import fmt_s, json_default, machine_line, repeat, row, timed  # noqa: E402
from server.domain.filters import VoteFilters, needed_fields  # noqa: E402
from server.files.votefile import ReadOptions, iter_votes  # noqa: E402

COLUMNS = ["model_a", "model_b", "winner", "tstamp"]
TARGET_RATIO = 1.3  # iter_votes (default replay fields) / (bare read + Enum interning)
SCANS = {"parquet": pl.scan_parquet, "csv": pl.scan_csv, "jsonl": pl.scan_ndjson}


def bare(path: Path, scan) -> int:
    return scan(path).select(COLUMNS).collect().height


def bare_enum(path: Path, scan) -> int:
    frame = scan(path).select(COLUMNS).collect()
    names = pl.concat([frame["model_a"], frame["model_b"]]).unique(maintain_order=True)
    codes = frame.select(pl.col("model_a", "model_b").cast(pl.Enum(names)).to_physical())
    return codes.height


def ours(path: Path, fields: frozenset[str] | None) -> int:
    return sum(len(chunk) for chunk in iter_votes(path, options=ReadOptions(vote_ids=False, fields=fields)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=sorted(SCANS), default="parquet")
    parser.add_argument("--file", type=Path, help="an existing file to read (else one is generated)")
    parser.add_argument("--workdir", type=Path, help="where the generated file is written (default: a temp dir)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    print(f"# reading vote files\n{machine_line()}, polars {pl.__version__}\n")
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / f"arena.{args.format}"
            _, seconds = timed(lambda: make_arena_file.write(path, args.votes, args.models, args.seed))
            print(f"setup: {path.name}, {args.votes:,} votes over {args.models} models, "
                  f"{path.stat().st_size / 1e6:.0f} MB, written in {fmt_s(seconds)}")  # fmt: skip
        scan = SCANS[path.suffix.lstrip(".")]
        replay_fields = needed_fields(VoteFilters(), category=False, style_control=False)
        ours(path, replay_fields)  # warm-up: the page cache, polars' thread pool
        runs = [
            ("bare", "bare polars read of model_a, model_b, winner, tstamp", lambda: bare(path, scan)),
            ("bare_enum", "bare read + Enum interning of the names", lambda: bare_enum(path, scan)),
            ("replay_fields", f"iter_votes, a default replay's fields {sorted(replay_fields)}",
             lambda: ours(path, replay_fields)),
            ("all_fields", "iter_votes, every column (fields=None)", lambda: ours(path, None)),
        ]  # fmt: skip
        results = {}
        print(f"{'':<70} {'wall':>9} {'CPU':>9}")
        for key, label, fn in runs:
            cpu = time.process_time()
            n, times = repeat(fn, args.repeats)
            cpu_s = (time.process_time() - cpu) / args.repeats  # all threads: steadier on a shared machine
            results[key] = row(label, times, votes=n, cpu_s=cpu_s)
            print(f"{label:<70} {fmt_s(results[key]['median_s']):>9} {fmt_s(cpu_s):>9}   "
                  f"(runs: {', '.join(fmt_s(t) for t in times)})")  # fmt: skip
    base, enum = results["bare"]["median_s"], results["bare_enum"]["median_s"]
    replay, every = results["replay_fields"]["median_s"], results["all_fields"]["median_s"]
    ratio = replay / enum
    cpu_ratio = results["replay_fields"]["cpu_s"] / results["bare_enum"]["cpu_s"]
    print(f"\niter_votes (replay fields) / bare read:                {replay / base:5.2f}x")
    print(f"iter_votes (replay fields) / bare read + Enum interning: {ratio:5.2f}x wall, {cpu_ratio:5.2f}x CPU;"
          f" target <= {TARGET_RATIO}x (wall): {'MET' if ratio <= TARGET_RATIO else 'NOT MET'}")  # fmt: skip
    print(f"iter_votes, every column / replay fields:               {every / replay:5.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "ratio": ratio}, indent=2, default=json_default))
    return 0


if __name__ == "__main__":
    sys.exit(main())
