"""Slow, obviously correct twins of the engine kernels, in plain Python."""

from __future__ import annotations

import math

import numpy as np

from engine.counter_rng import poisson1_weights

SCORE = {1: 1.0, 2: 0.0, 3: 0.5, 4: 0.5}


def lmarena_elo(battles, k=4.0, scale=400.0, base=10.0, initial=1000.0) -> dict[str, float]:
    """FastChat's ``compute_elo`` loop, verbatim in spirit: (model_a, model_b, outcome) rows in order."""
    rating: dict[str, float] = {}
    for model_a, model_b, outcome in battles:
        ra = rating.setdefault(model_a, initial)
        rb = rating.setdefault(model_b, initial)
        ea = 1 / (1 + base ** ((rb - ra) / scale))
        eb = 1 / (1 + base ** ((ra - rb) / scale))
        sa = SCORE[outcome]
        rating[model_a] = ra + k * (sa - ea)
        rating[model_b] = rb + k * (1 - sa - eb)
    return rating


def bootstrap_replicas(battles, n_replicas, seed, k=4.0, scale=400.0, base=10.0, initial=1000.0):
    """B Poisson-weighted online Elo runs; vote i has weight poisson1_weights(seed, [i], B)[0, r] in run r."""
    weights = poisson1_weights(seed, np.arange(len(battles)), n_replicas)
    runs = [dict() for _ in range(n_replicas)]
    for i, (model_a, model_b, outcome) in enumerate(battles):
        for r, rating in enumerate(runs):
            ra = rating.setdefault(model_a, initial)
            rb = rating.setdefault(model_b, initial)
            ea = 1 / (1 + math.exp((rb - ra) * math.log(base) / scale))
            delta = k * weights[i, r] * (SCORE[outcome] - ea)
            rating[model_a] = ra + delta
            rating[model_b] = rb - delta
    return runs


def rank_ub(lower, upper) -> list[int]:
    return [1 + sum(1 for lo in lower if lo > up) for up in upper]


def splitmix64(state: int) -> int:
    """The reference SplitMix64 step: (next state's output) for a given state."""
    mask = 2**64 - 1
    z = (state + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)
