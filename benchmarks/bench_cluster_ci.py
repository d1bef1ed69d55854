"""Coverage of Bradley–Terry 95% bootstrap intervals when voters have tastes of their own: the vote-level
bootstrap against the voter-clustered one (issue 15, part 2), on simulated boards with a known truth.

    python benchmarks/bench_cluster_ci.py [--boards 200] [--models 8] [--voters 100] [--votes-per-voter 40]
        [--tau 0.6] [--rounds 400] [--seed 0] [--threads T] [--json PATH]

Each board draws fresh voters. Voter v has a random effect u[v, m] ~ N(0, tau^2) on every model m and
casts ``votes-per-voter`` votes on uniformly drawn pairs: P(a beats b) = sigmoid(theta_a - theta_b +
u[v, a] - u[v, b]), no ties. The fixed strengths theta are drawn once (N(0, 0.5^2)). The estimand of
the BT fit over an unbounded voter population is not theta itself: averaging the sigmoid over the
voters' effects attenuates it. The truth is therefore the BT fit to the *expected* cells: for each pair,
P(a beats b) = E[sigmoid(d + z)], z ~ N(0, 2 tau^2) (Gauss–Hermite, 64 nodes), times a common count.
Ratings are compared on theta's own scale, centred (sum zero), as the engine reports them.

For every board both 95% percentile intervals (``rounds`` rounds each) are computed on the same fit;
coverage is the share of (board, model) intervals that contain the truth. Votes of one voter are
correlated, so the vote-level bootstrap, which resamples them independently, is too narrow; the
clustered one resamples whole voters (engine.clusters) and should cover ~95%.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import EloConfig, bt  # noqa: E402
from engine.board import Board, Keeps  # noqa: E402
from engine.cells import CellTable  # noqa: E402
from engine.clusters import cluster_keys  # noqa: E402
from engine.config import BTConfig  # noqa: E402


def truth(theta: np.ndarray, tau: float) -> np.ndarray:
    """The population BT parameters (centred) of voters with N(0, tau^2) per-model effects, uniform pairs."""
    m = theta.shape[0]
    nodes, weights = np.polynomial.hermite_e.hermegauss(64)  # E[f(z)], z ~ N(0, 1) = sum w f(x) / sqrt(2 pi)
    weights = weights / weights.sum()
    lo, hi = np.triu_indices(m, 1)
    d = theta[lo] - theta[hi]
    p = (1.0 / (1.0 + np.exp(-(d[:, None] + np.sqrt(2.0) * tau * nodes[None, :])))) @ weights
    scale = 1e6  # expected counts of a very large board: only the ratios matter
    counts = np.zeros((lo.shape[0], 4))
    counts[:, 0], counts[:, 1] = scale * p, scale * (1 - p)
    table = CellTable(m, lo.astype(np.int32), hi.astype(np.int32), counts.astype(np.int64), counts)
    fitted = bt.fit(table, BTConfig(tol=1e-12)).theta
    return fitted - fitted.mean()


def simulate_board(rng, theta, voters, per_voter, tau):
    """(slot_a, slot_b, outcome, voter ids) of one board."""
    m = theta.shape[0]
    n = voters * per_voter
    effect = rng.normal(0.0, tau, (voters, m))
    voter = np.repeat(np.arange(voters), per_voter)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    logit = theta[a] - theta[b] + effect[voter, a] - effect[voter, b]
    a_wins = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    outcome = np.where(a_wins, 1, 2).astype(np.int8)
    return a.astype(np.int32), b.astype(np.int32), outcome, [f"v{v}" for v in voter]


def coverage(
    boards: int = 200,
    models: int = 8,
    voters: int = 100,
    per_voter: int = 40,
    tau: float = 0.6,
    rounds: int = 400,
    seed: int = 0,
    threads: int = 1,
) -> dict:
    """Coverage of the truth by the vote-level and the voter-clustered 95% intervals over ``boards`` boards."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.5, models)
    target = truth(theta, tau)
    config = BTConfig()
    covered = {"none": 0, "voter": 0}
    width = {"none": [], "voter": []}
    for k in range(boards):
        a, b, outcome, voter = simulate_board(rng, theta, voters, per_voter, tau)
        board = Board(EloConfig(bootstrap_rounds=0), threads=threads, keeps=Keeps(style=False, clusters=("voter",)))
        board.apply(a, b, outcome, clusters={"voter": cluster_keys(voter)})
        table = board.cell_table()
        order = board.competitor_ids  # slot -> model
        full = bt.fit(table, config)
        for kind, clusters in (("none", None), ("voter", board.cluster_table("voter"))):
            thetas = bt.bootstrap(table, config, full, rounds, seed=k, threads=threads, clusters=clusters)
            thetas = thetas - thetas.mean(axis=1, keepdims=True)
            lower, upper = np.percentile(thetas, [2.5, 97.5], axis=0)
            true = target[order]
            covered[kind] += int(((lower <= true) & (true <= upper)).sum())
            width[kind].append(float(np.mean(upper - lower)))
    intervals = boards * models
    return {
        "boards": boards,
        "models": models,
        "voters": voters,
        "votes_per_voter": per_voter,
        "tau": tau,
        "rounds": rounds,
        "coverage_votes": covered["none"] / intervals,
        "coverage_voter_clusters": covered["voter"] / intervals,
        "mean_width_votes": float(np.mean(width["none"])),
        "mean_width_voter_clusters": float(np.mean(width["voter"])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=200)
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--voters", type=int, default=100)
    parser.add_argument("--votes-per-voter", type=int, default=40)
    parser.add_argument("--tau", type=float, default=0.6)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = coverage(
        args.boards, args.models, args.voters, args.votes_per_voter, args.tau, args.rounds, args.seed, args.threads
    )
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(f"{'bootstrap':<22} {'coverage of the truth':>22} {'mean 95% width (theta)':>24}")
    print(f"{'vote-level':<22} {result['coverage_votes']:>22.3f} {result['mean_width_votes']:>24.3f}")
    clustered = (result["coverage_voter_clusters"], result["mean_width_voter_clusters"])
    print(f"{'voter clusters':<22} {clustered[0]:>22.3f} {clustered[1]:>24.3f}")
    print(
        f"{result['boards']} boards x {result['models']} models, {result['voters']} voters x "
        f"{result['votes_per_voter']} votes, tau {result['tau']}, {result['rounds']} rounds, {result['seconds']} s"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
