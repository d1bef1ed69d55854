"""SuggestPairs in simulation: votes needed by uniform pairing against the suggested pairs, and the latency.

A board of 100 models with known BT strengths (ratings drawn from N(1000, 150) points; the top 12
spaced 25 points apart so that the top-10 order is settled in a feasible number of votes). Every run
starts with the same 2,000 uniform votes, then draws votes 1,000 at a time: uniformly over the
pairs, or from SuggestPairs' weights (re-queried before each 1,000, ``horizon`` 1,000), outcomes from
the true strengths. After each 1,000 votes: the BT fit and its inverse Fisher covariance, as the
service computes them (``server.service.suggest.plan_pairs`` is the path the RPC takes from a query
to the engine's plans; the fit and covariance are engine.bt.fit and engine.suggest.covariance, what
the service's cached fit and covariance are).

Targets:
- CI_WIDTH: votes until every 95% CI half-width (1.96 sd from the inverse Fisher information) is <= 10 points;
- TOP_K (k = 10): votes until the top-10 order is correct with probability >= 0.9, estimated from the
  fit's uncertainty: the share of draws theta ~ N(fit, Cov) whose top 10 are the fit's top 10 in order
  (Cov: the inverse Fisher information of the votes so far). Whether the fit's top-10 order then is the
  true one is counted over the seeds (a check that a policy does not stop on a confident wrong order);
- bias: at the suggested run's stopping point, the uniform run's fit at the same number of votes and
  the suggested one's against the truth: mean absolute error, mean signed error of the true top 10 and
  bottom 10, and the 95% CIs' coverage of the truth.
Each figure is the mean over ``--seeds`` runs. Then the latency of one SuggestPairs plan per objective
on a cached fit of 200 models (medians after a warm-up).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_suggest.py [--seeds 3] [--n 50]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from engine import bt, suggest
from engine.cells import PairCells
from server.domain.suggestions import SuggestQuery
from server.service.suggest import plan_pairs

MODELS = 100
POINTS = 400 / math.log(10)  # rating points per unit of theta
BURN_IN = 2000
EVERY = 1000
K = 10
CI_TARGET = 10.0  # points, 95% half-width
TOP_K_TARGET = 0.9
DRAWS = 2000  # normal draws per probability estimate


def truth(seed: int) -> np.ndarray:
    """True theta, best first: 12 models 25 points apart at the top, the rest N(1000, 150) below them."""
    rng = np.random.default_rng(seed)
    top = 1400 - 25 * np.arange(12)
    rest = np.sort(rng.normal(1000, 150, MODELS - 12))[::-1]
    rest = np.minimum(rest, top[-1] - 25 - 50 * rng.random(len(rest)))
    ratings = np.concatenate([top, np.sort(rest)[::-1]])
    return (ratings - ratings.mean()) / POINTS


def draw(rng, strength, a, b, cells: PairCells) -> None:
    swap = rng.random(len(a)) < 0.5  # which side shows first does not matter to BT; both happen
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    p = 1 / (1 + np.exp(strength[b] - strength[a]))
    outcome = np.where(rng.random(len(a)) < p, 1, 2).astype(np.int8)
    cells.add(a.astype(np.int32), b.astype(np.int32), outcome)


def uniform_pairs(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    a = rng.integers(0, MODELS, n)
    return a, (a + rng.integers(1, MODELS, n)) % MODELS


def top_k_probability(rng, centre: np.ndarray, cov: np.ndarray) -> float:
    """P(the top K of theta ~ N(centre, cov) are the top K of ``centre``, in order)."""
    order = np.argsort(-centre)[: K + 1]
    sd = np.sqrt(
        np.maximum(cov[order[:-1], order[:-1]] + cov[order[1:], order[1:]] - 2 * cov[order[:-1], order[1:]], 0)
    )
    bound = 0.5 * math.erfc(-np.min((centre[order[:-1]] - centre[order[1:]]) / np.maximum(sd, 1e-300)) / math.sqrt(2))
    if bound < TOP_K_TARGET:  # no draws needed: P(every adjacent pair right) <= P(the worst one right)
        return bound
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.maximum(values, 0.0))
    samples = centre + rng.standard_normal((DRAWS, MODELS)) @ root.T
    want = np.argsort(-centre)[:K]
    got = np.argsort(-samples, axis=1)[:, :K]
    return float(np.mean(np.all(got == want, axis=1)))


def run(policy: str, target: str, seed: int, n_pairs: int, max_votes: int) -> dict:
    """Votes until ``target`` ("ci_width", "top_k") is met under ``policy`` ("uniform", "suggest")."""
    strength = truth(seed)
    rng = np.random.default_rng(seed + 1)
    check_rng = np.random.default_rng(seed + 2)
    cells = PairCells()
    draw(rng, strength, *uniform_pairs(np.random.default_rng(seed + 3), BURN_IN), cells)  # the same in every run
    config = bt.BTConfig()
    theta = None
    votes = BURN_IN
    history: dict[int, np.ndarray] = {}
    query = SuggestQuery("sim", n=n_pairs, objective=target, k=K, horizon=EVERY)
    plan_seconds = []
    while True:
        table = cells.table(MODELS)
        theta = bt.fit(table, config, theta).theta
        theta = theta - theta.mean()
        cov = suggest.covariance(table, config, theta)
        history[votes] = theta.copy()
        sd = np.sqrt(np.maximum(np.diag(cov), 0))
        if target == "ci_width":
            met = 1.96 * sd.max() * POINTS <= CI_TARGET
        else:
            met = top_k_probability(check_rng, theta, cov) >= TOP_K_TARGET
        if met or votes >= max_votes:
            covered = np.mean(np.abs(theta - strength) <= 1.96 * sd)
            right = bool(np.all(np.argsort(-theta)[:K] == np.argsort(-strength)[:K]))
            return {"votes": votes, "met": met, "history": history, "coverage": covered, "plan_ms": plan_seconds,
                    "right": right}  # fmt: skip
        if policy == "uniform":
            a, b = uniform_pairs(rng, EVERY)
        else:
            basis = suggest.Basis.of(theta, cov)  # what the service keeps per view
            started = time.perf_counter()
            plan = plan_pairs(query, basis)
            plan_seconds.append((time.perf_counter() - started) * 1e3)
            chosen = rng.choice(len(plan.weight), EVERY, p=plan.weight)
            a, b = plan.slot_a[chosen], plan.slot_b[chosen]
        draw(rng, strength, a, b, cells)
        votes += EVERY


def errors(theta: np.ndarray, strength: np.ndarray) -> tuple[float, float, float]:
    """(mean |error|, mean signed error of the true top 10, of the true bottom 10), in points."""
    error = (theta - strength) * POINTS
    order = np.argsort(-strength)
    return float(np.mean(np.abs(error))), float(np.mean(error[order[:10]])), float(np.mean(error[order[-10:]]))


def simulate(seeds: int, n_pairs: int, max_votes: int) -> None:
    print(f"simulation: {MODELS} models, {BURN_IN} uniform votes first, then {EVERY} at a time; "
          f"SuggestPairs n={n_pairs}, horizon={EVERY}; mean of {seeds} seeds")  # fmt: skip
    header = f"{'target':<34} {'uniform':>9} {'suggested':>10} {'fewer':>7}"
    print(header)
    print("-" * len(header))
    bias_rows = []
    for target, label in (("ci_width", f"every CI half-width <= {CI_TARGET:g} pts"),
                          ("top_k", f"P(top-{K} order right) >= {TOP_K_TARGET}")):  # fmt: skip
        uniform_votes, suggested_votes, plan_ms, right = [], [], [], [0, 0]
        for seed in range(seeds):
            uniform = run("uniform", target, seed, n_pairs, max_votes)
            suggested = run("suggest", target, seed, n_pairs, max_votes)
            uniform_votes.append(uniform["votes"])
            suggested_votes.append(suggested["votes"])
            plan_ms += suggested["plan_ms"]
            right[0] += uniform["right"]
            right[1] += suggested["right"]
            if not (uniform["met"] and suggested["met"]):
                print(f"  seed {seed}: the vote budget {max_votes} ran out before the target")
            stop = suggested["votes"]
            strength = truth(seed)
            if target == "ci_width":  # both fits at the same number of votes
                bias_rows.append((errors(uniform["history"][stop], strength), errors(suggested["history"][stop],
                                  strength), uniform["coverage"], suggested["coverage"]))  # fmt: skip
        u, s = statistics.mean(uniform_votes), statistics.mean(suggested_votes)
        note = f"plan {statistics.median(plan_ms):.2f} ms median"
        if target == "top_k":
            note += f"; top-{K} order right at the stop: uniform {right[0]}/{seeds}, suggested {right[1]}/{seeds}"
        print(f"{label:<34} {u:>9,.0f} {s:>10,.0f} {1 - s / u:>7.0%}   ({note})")
    print()
    print("bias, CI_WIDTH runs, both fits at the suggested run's stopping point (points; mean over seeds):")
    print(f"{'pairing':<10} {'mean |err|':>10} {'top-10 err':>10} {'bottom-10 err':>13} {'CI coverage*':>12}")
    for i, name in enumerate(("uniform", "suggested")):
        mae = statistics.mean(row[i][0] for row in bias_rows)
        top = statistics.mean(row[i][1] for row in bias_rows)
        bottom = statistics.mean(row[i][2] for row in bias_rows)
        coverage = statistics.mean(row[2 + i] for row in bias_rows)
        print(f"{name:<10} {mae:>10.2f} {top:>+10.2f} {bottom:>+13.2f} {coverage:>12.0%}")
    print("* share of true ratings inside the 95% CIs, each run at its own stopping point")


def latency(models: int = 200, repeats: int = 20) -> None:
    """One plan per objective on a cached fit (theta and covariance) of ``models`` models, default n."""
    rng = np.random.default_rng(7)
    strength = rng.normal(0, 1, models)
    cells = PairCells()
    a = rng.integers(0, models, 200_000)
    b = (a + rng.integers(1, models, len(a))) % models
    draw(rng, strength, a, b, cells)
    table = cells.table(models)
    config = bt.BTConfig()
    theta = bt.fit(table, config).theta
    theta -= theta.mean()
    covariance_ms = []
    for _ in range(5):  # the first one includes compiling (or loading) the kernel
        started = time.perf_counter()
        basis = suggest.Basis.of(theta, suggest.covariance(table, config, theta))
        covariance_ms.append((time.perf_counter() - started) * 1e3)
    cov_ms = statistics.median(covariance_ms[1:])
    print()
    print(f"latency on a cached fit of {models} models (median of {repeats}, after a warm-up); "
          f"the covariance and its square, computed once per view change: {cov_ms:.1f} ms (median of 4)")  # fmt: skip
    for objective, extra in (("ci_width", {}), ("top_k", {"k": 10}), ("placement", {"model": "m"})):
        query = SuggestQuery("bench", objective=objective, **extra)  # type: ignore[arg-type]
        plan_pairs(query, basis, 3)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            plan_pairs(query, basis, 3)
            times.append((time.perf_counter() - started) * 1e3)
        print(f"  {objective:<10} n={query.n}: {statistics.median(times):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="runs per target and pairing (default %(default)s)")
    parser.add_argument("--n", type=int, default=50, help="pairs per SuggestPairs query (default %(default)s)")
    parser.add_argument("--max-votes", type=int, default=2_000_000, help="budget per run (default %(default)s)")
    args = parser.parse_args()
    started = time.perf_counter()
    simulate(args.seeds, args.n, args.max_votes)
    latency()
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
