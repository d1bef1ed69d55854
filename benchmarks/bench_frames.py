"""The notebook API (server.frames) against evalica (Rust, in-process) and arena-rank (JAX), from the
same DataFrame of votes, in one process, as a data scientist would call them.

    python benchmarks/bench_frames.py [--votes N] [--models M] [--repeats R] [--seed S] [--json PATH]
        [--skip-arena-rank]

The votes: N (default 1 M) over M models (default 100) drawn from a Bradley–Terry model with seeded
strengths (``references.synthetic_votes``: ~10 % ties), as a polars DataFrame with model_a, model_b,
winner and tstamp; evalica and arena-rank get the same votes as pandas columns (their input;
converting is not timed, mapping the winner labels to evalica's ``Winner`` is, since a user must).
Every call runs once untimed (compiles, JAX traces), then the contenders alternate, --repeats times
each (default 5); medians are compared:

- BT point fit: ``leaderboard(df, ci="none")`` vs ``evalica.bradley_terry`` vs arena-rank's
  ``BradleyTerry.fit`` (target: ours >= 5x faster than evalica);
- Elo point ratings: ``leaderboard(df, method="elo", ci="none")`` vs ``evalica.elo``
  (target >= 5x);
- BT with 1000-round bootstrap CIs: ``leaderboard(df)`` (the default) vs evalica's single point fit
  (target: less time).

The ratings are checked to agree (BT with evalica's after centring, to its tolerance) before any
time is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from benchmarks.common import json_default, machine_line  # noqa: E402
from server.frames import leaderboard  # noqa: E402


def votes_frame(n: int, m: int, seed: int) -> pl.DataFrame:
    import references as refs

    a, b, winner = refs.synthetic_votes(n, m, seed)
    return pl.DataFrame({"model_a": a, "model_b": b, "winner": winner, "tstamp": 1.7e9 + np.arange(n, dtype=float)})


def alternate(contenders: dict, repeats: int) -> dict[str, list[float]]:
    """Each contender once untimed, then all in turn ``repeats`` times: seconds by name."""
    for call in contenders.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, call in contenders.items():
            t0 = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json")
    parser.add_argument("--skip-arena-rank", action="store_true")
    args = parser.parse_args(argv)
    import evalica

    print(machine_line(), f"evalica {evalica.__version__}", flush=True)
    df = votes_frame(args.votes, args.models, args.seed)
    pdf = df.to_pandas()
    to_evalica = {"model_a": evalica.Winner.X, "model_b": evalica.Winner.Y}

    def evalica_winners():
        return pdf["winner"].map(lambda w: to_evalica.get(w, evalica.Winner.Draw))

    def evalica_bt():
        return evalica.bradley_terry(pdf["model_a"], pdf["model_b"], evalica_winners())

    def evalica_elo():
        return evalica.elo(pdf["model_a"], pdf["model_b"], evalica_winners())

    # Agreement first: the same BT scores up to evalica's tolerance (1e-6 in its scores' own units).
    ours = leaderboard(df, ci="none")
    theirs = evalica_bt().scores
    theirs = 400 / np.log(10) * np.log(theirs / np.exp(np.log(theirs).mean())) + 1000
    gap = max(abs(r - theirs[m]) for m, r in zip(ours["model"], ours["rating"]))
    print(f"BT agreement with evalica: max |difference| {gap:.4f} rating points", flush=True)

    contenders = {
        "ours: BT point fit": lambda: leaderboard(df, ci="none"),
        "evalica: BT point fit": evalica_bt,
        "ours: Elo point ratings": lambda: leaderboard(df, method="elo", ci="none"),
        "evalica: Elo point ratings": evalica_elo,
        "ours: BT + 1000-round bootstrap CIs": lambda: leaderboard(df),
    }
    if not args.skip_arena_rank:
        import references as refs

        a, b, w = pdf["model_a"].to_numpy(), pdf["model_b"].to_numpy(), pdf["winner"].to_numpy()
        contenders["arena-rank: BT point fit"] = lambda: refs.arena_rank_bt(a, b, w)
    times = alternate(contenders, args.repeats)
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"  {name:<40} median {median[name]:7.3f} s   [{min(t):.3f}-{max(t):.3f}]", flush=True)

    def over(theirs: str, ours: str) -> float:
        return median[theirs] / median[ours]

    checks = [
        ("BT point fit, evalica / ours", over("evalica: BT point fit", "ours: BT point fit"), 5.0),
        ("Elo point ratings, evalica / ours", over("evalica: Elo point ratings", "ours: Elo point ratings"), 5.0),
        (
            "evalica's BT point fit / our BT with 1000-round CIs",
            over("evalica: BT point fit", "ours: BT + 1000-round bootstrap CIs"),
            1.0,
        ),
    ]
    if "arena-rank: BT point fit" in median:
        checks.append(("BT point fit, arena-rank / ours", over("arena-rank: BT point fit", "ours: BT point fit"), 1.0))
    for label, ratio, target in checks:
        print(f"{label:<52} {ratio:6.1f}x  {'MET' if ratio >= target else 'NOT MET'} (>= {target:g}x)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            result = {"machine": machine_line(), "votes": args.votes, "models": args.models, "times": times,
                      "ratios": {label: ratio for label, ratio, _ in checks}, "bt_agreement_points": gap}  # fmt: skip
            json.dump(result, f, indent=2, default=json_default)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
