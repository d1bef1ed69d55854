"""``arena-ratings bench`` report: the samples aggregated per call type, as JSON or a text table."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np

from server.client.bench.options import Options
from server.client.bench.workers import ABANDONED, OK, Sample, Schedule, Worker

HISTOGRAM_EDGES_MS = 0.1 * 10.0 ** (np.arange(26) / 5.0)  # 0.1 ms .. 10 s, five buckets per decade
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


@dataclass
class Latency:
    """Milliseconds, over the successful calls."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, seconds: np.ndarray) -> Latency | None:
        if len(seconds) == 0:
            return None
        ms = seconds * 1e3
        p50, p90, p99, p999 = np.percentile(ms, PERCENTILES).tolist()
        return cls(p50, p90, p99, p999, float(ms.max()), float(ms.mean()))


@dataclass
class CallStats:
    name: str
    calls: int  # completed calls, failed or not
    ok: int
    calls_per_s: float
    errors: dict[str, int]  # by gRPC status code name
    latency: Latency | None  # None when no call succeeded
    votes_sent: int = 0  # submit: votes in the successful calls
    votes_accepted: int = 0
    votes_duplicate: int = 0
    votes_per_s: float = 0.0  # accepted votes per second


@dataclass
class Bucket:
    lower_ms: float
    upper_ms: float | None  # None: no upper bound
    count: int


@dataclass
class Warmup:
    """The discarded warm-up calls (the server still stored their votes)."""

    seconds: float
    calls: int
    errors: dict[str, int]  # by gRPC status code name
    votes_accepted: int


@dataclass
class Report:
    mode: str  # "open" or "closed"
    run_id: str
    options: dict
    measured_s: float  # the measured window (shorter than --duration when interrupted)
    elapsed_s: float  # wall time of the whole run, warm-up and drain included
    calls: list[CallStats]  # per call type, in --mix order
    total: CallStats
    histogram: list[Bucket]  # latencies of every successful measured call
    warmup: Warmup
    unsent: int = 0  # open loop: calls scheduled in the window but never sent (the generator fell behind)
    max_send_lag_ms: float = 0.0  # open loop: how far behind schedule a send was, at worst
    abandoned: int = 0  # calls in flight at the end, cancelled by the tool
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)


class _Columns(NamedTuple):
    kind: np.ndarray
    start: np.ndarray
    latency: np.ndarray
    lag: np.ndarray
    code: np.ndarray
    accepted: np.ndarray
    duplicates: np.ndarray


def _columns(samples: list[Sample]) -> _Columns:
    if not samples:
        empty = np.zeros(0)
        return _Columns(empty.astype(int), empty, empty, empty, np.zeros(0, dtype=object), empty.astype(int),
                        empty.astype(int))  # fmt: skip
    kind, start, latency, lag, code, accepted, duplicates = zip(*samples)
    return _Columns(
        np.array(kind, dtype=np.int64), np.array(start), np.array(latency), np.array(lag),
        np.array(code, dtype=object), np.array(accepted, dtype=np.int64), np.array(duplicates, dtype=np.int64),
    )  # fmt: skip


def call_stats(name: str, cols: _Columns, mask: np.ndarray, seconds: float, votes_per_call: int) -> CallStats:
    codes = cols.code[mask]
    ok = codes == OK
    errors = Counter(str(c) for c in codes[~ok])
    accepted = int(cols.accepted[mask].sum())
    return CallStats(
        name=name,
        calls=int(mask.sum()),
        ok=int(ok.sum()),
        calls_per_s=float(mask.sum()) / seconds,
        errors=dict(errors.most_common()),
        latency=Latency.of(cols.latency[mask][ok]),
        votes_sent=int(ok.sum()) * votes_per_call,
        votes_accepted=accepted,
        votes_duplicate=int(cols.duplicates[mask].sum()),
        votes_per_s=accepted / seconds,
    )


def histogram(latency_s: np.ndarray) -> list[Bucket]:
    """Counts over log-spaced buckets 0.1 ms .. 10 s, with an underflow and an overflow bucket."""
    edges = np.concatenate([[0.0], HISTOGRAM_EDGES_MS, [np.inf]])
    counts, _ = np.histogram(latency_s * 1e3, bins=edges)
    return [
        Bucket(float(lo), None if math.isinf(hi) else float(hi), int(n))
        for lo, hi, n in zip(edges[:-1], edges[1:], counts)
    ]


def build_report(options: Options, run_id: str, workers: list[Worker], schedule: Schedule, stopped_at: float,
                 elapsed: float, interrupted: bool) -> Report:  # fmt: skip
    """Aggregate every worker's samples; warm-up and abandoned calls are reported apart."""
    cols = _columns([s for w in workers for s in w.samples])
    abandoned = cols.code == ABANDONED
    warm = (cols.start < schedule.warm_end) & ~abandoned
    measured = (cols.start >= schedule.warm_end) & ~abandoned
    seconds = max(min(stopped_at, schedule.end) - schedule.warm_end, 1e-9)
    names = [name for name, _ in options.mix]
    votes_of = {"submit": options.batch_size}
    per_call = [
        call_stats(n, cols, measured & (cols.kind == i), seconds, votes_of.get(n, 0)) for i, n in enumerate(names)
    ]
    total = call_stats("total", cols, measured, seconds, 0)
    total.votes_sent = sum(c.votes_sent for c in per_call)
    ok_latency = cols.latency[measured & (cols.code == OK)]
    report = Report(
        mode="closed" if options.rate is None else "open",
        run_id=run_id,
        options=options.describe(),
        measured_s=seconds,
        elapsed_s=elapsed,
        calls=per_call,
        total=total,
        histogram=histogram(ok_latency),
        warmup=Warmup(
            seconds=options.warmup,
            calls=int(warm.sum()),
            errors=dict(Counter(str(c) for c in cols.code[warm & (cols.code != OK)]).most_common()),
            votes_accepted=int(cols.accepted[warm].sum()),
        ),
        unsent=sum(w.unsent for w in workers),
        max_send_lag_ms=float(cols.lag[measured].max() * 1e3) if measured.any() else 0.0,
        abandoned=int(abandoned.sum()),
        interrupted=interrupted,
    )
    report.notes = _notes(report, options)
    return report


def _notes(report: Report, options: Options) -> list[str]:
    notes = []
    if report.interrupted:
        notes.append(f"interrupted: {report.measured_s:.1f} s of the {options.duration:g} s were measured")
    if report.unsent:
        notes.append(
            f"the load fell behind: {report.unsent} scheduled calls were never sent; "
            f"raise --concurrency (a rate R at latency L needs more than R x L workers) or lower --rate"
        )
    if report.abandoned:
        notes.append(f"{report.abandoned} calls were still in flight at the end and were cancelled")
    if report.total.calls == 0:
        notes.append("no call completed in the measured window")
    written = report.total.votes_accepted + report.warmup.votes_accepted
    if written and options.board_force and not options.own_board:
        notes.append(
            f"{written} random votes were written into board {options.board!r}, beside its own (--board-force)"
        )
    elif written:
        notes.append(
            f"{written} random votes were written into board {options.board!r}: "
            f"`arena-ratings boards delete {options.board} --yes` removes it"
        )
    return notes


# ------------------------------------------------------------------ output


def to_json(report: Report) -> str:
    return json.dumps(asdict(report), indent=2)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_table(report: Report) -> str:
    """The report as text: a summary table, errors, and the latency histogram."""
    o = report.options
    mix = ",".join(f"{k}={v:g}" for k, v in o["mix"].items())
    load = f"open loop at {o['rate']:g} calls/s" if report.mode == "open" else "closed loop"
    read_only = " (read-only)" if o.get("read_only") else ""
    lines = [
        f"bench {o['target']} board {o['board']}{read_only}: {load}, concurrency {o['concurrency']}, mix {mix}, "
        f"batch {o['batch_size']} votes over {o['models']} models",
        f"measured {report.measured_s:.1f} s after {o['warmup_s']:g} s of warm-up ({report.warmup.calls} calls "
        f"discarded); run id {report.run_id}",
        "",
    ]
    header = ("call", "calls", "ok", "calls/s", "votes/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors")
    rows: list[tuple[str, ...]] = [header]
    for stats in [*report.calls, report.total]:
        lat = stats.latency
        rows.append((
            stats.name, str(stats.calls), str(stats.ok), f"{stats.calls_per_s:.1f}",
            f"{stats.votes_per_s:.0f}" if stats.votes_accepted or stats.name == "submit" else "-",
            *(_ms(getattr(lat, f, None) if lat else None) for f in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")),
            str(sum(stats.errors.values())),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append(
            "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        )
    errors = [(s.name, code, n) for s in report.calls for code, n in s.errors.items()]
    if errors:
        lines += ["", "errors:"] + [f"  {name}: {code} x {n}" for name, code, n in errors]
    if report.mode == "open":
        lines += ["", f"worst send lag behind schedule {report.max_send_lag_ms:.2f} ms; unsent calls {report.unsent}"]
    lines += ["", "latency histogram (successful calls, ms):", *_histogram_lines(report.histogram)]
    if report.notes:
        lines += ["", *(f"note: {note}" for note in report.notes)]
    return "\n".join(lines)


def _histogram_lines(buckets: list[Bucket], width: int = 40) -> list[str]:
    counts = [b.count for b in buckets]
    total = sum(counts)
    if total == 0:
        return ["  (no successful calls)"]
    first = next(i for i, n in enumerate(counts) if n)
    last = max(i for i, n in enumerate(counts) if n)
    peak = max(counts)
    lines, cumulative = [], 0
    for bucket in buckets[first : last + 1]:
        cumulative += bucket.count
        upper = "inf" if bucket.upper_ms is None else f"{bucket.upper_ms:.3g}"
        bar = "#" * round(width * bucket.count / peak)
        share = 100 * cumulative / total
        lines.append(f"  {bucket.lower_ms:>8.3g} .. {upper:<8} {bar:<{width}} {bucket.count:>8}  {share:6.2f}%")
    return lines
