"""Pieces the benchmark scripts share."""

from __future__ import annotations

import gc
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numba
import numpy as np

from server.proto.arena_ratings.v1 import ratings_pb2 as pb


def columnar_batch(
    rng: np.random.Generator, n: int, first_id: int, models: int, prefix: str = "bench-"
) -> pb.VoteBatch:
    """n random votes over ``models`` competitors in the columnar wire form, ids prefix+first_id.."""
    a = rng.integers(0, models, n)
    b = (a + rng.integers(1, models, n)) % models
    return pb.VoteBatch(
        columns=pb.VoteColumns(
            names=[f"model-{i:03d}" for i in range(models)],
            model_a=a.tolist(),
            model_b=b.tolist(),
            outcome=rng.integers(1, 5, n).tolist(),
            timestamp=(1.7e9 + np.arange(n, dtype=np.float64)).tolist(),
            vote_id=[f"{prefix}{first_id + i}" for i in range(n)],
        )
    )


def json_default(value):
    """json.dump's ``default`` for numpy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def timed(fn):
    """(result, seconds) of one call, after a gc pass."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def repeat(fn, repeats: int):
    """(last result, [seconds of each call])."""
    times, out = [], None
    for _ in range(repeats):
        out, t = timed(fn)
        times.append(t)
    return out, times


def machine_line() -> str:
    processor = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} CPUs ({processor}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}"
    )


def row(what: str, times: list[float], target: float | None = None, **extra) -> dict:
    median = statistics.median(times)
    out = {"what": what, "times_s": times, "median_s": median, "target_s": target, **extra}
    if target is not None:
        out["met"] = median <= target
    return out


def fmt_seconds(seconds: float | None, ms_digits: int = 2) -> str:
    """A duration for a report: µs, ms (with ``ms_digits`` decimals) or s."""
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.{ms_digits}f} ms"
    return f"{seconds:.2f} s"


def fmt_s(seconds: float | None) -> str:
    return fmt_seconds(seconds)


def peak_rss_mb() -> float:
    """This process's peak resident set size, MB.

    Linux: VmHWM of /proc/self/status, the high-water mark of this process image. Not
    ru_maxrss: Linux carries that across fork and execve, so a child started by a big parent
    reports at least the parent's peak. Elsewhere: ru_maxrss (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024.0


def make_file(path: str, votes: int, models: int) -> None:
    """A synthetic vote file from ``make_arena_file.py`` (seed 0) at ``path``, unless one is there already."""
    if os.path.exists(path):
        return
    t0 = time.perf_counter()
    here = os.path.dirname(os.path.abspath(__file__))
    argv = [sys.executable, os.path.join(here, "make_arena_file.py"), path, "--votes", str(votes)]
    subprocess.run([*argv, "--models", str(models), "--seed", "0"], cwd=os.path.dirname(here), check=True)
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)
