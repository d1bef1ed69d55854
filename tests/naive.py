"""Slow, obviously correct twins of the engine kernels, in plain Python."""

from __future__ import annotations

import math

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
    """B Poisson-weighted online Elo runs; vote i has weight bootstrap_weight(seed, i, r) in run r."""
    runs = [dict() for _ in range(n_replicas)]
    for i, (model_a, model_b, outcome) in enumerate(battles):
        for r, rating in enumerate(runs):
            ra = rating.setdefault(model_a, initial)
            rb = rating.setdefault(model_b, initial)
            ea = 1 / (1 + math.exp((rb - ra) * math.log(base) / scale))
            delta = k * bootstrap_weight(seed, i, r) * (SCORE[outcome] - ea)
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


# ------------------------------------------------------------------ kernels' twins
#
# Each twin below is written from the definition in the kernel's docstring, not
# from its code: dicts, lists and Python ints instead of arrays, hash tables and
# uint64 wrap-around. tests/test_kernels_naive.py compares them on random inputs.

MASK64 = 2**64 - 1
GOLDEN64 = 0x9E3779B97F4A7C15


def mix64(x: int) -> int:
    """SplitMix64's finaliser on a Python int, every product masked to 64 bits."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def poisson1_by_inversion(h: int, cap: int = 13) -> int:
    """Poisson(1) by inversion of the hash h, read as the uniform u = h / 2**64:
    the smallest k with u < P(X <= k), at most ``cap``.

    h is compared with P(X <= k) * 2**64 exactly (Python compares an int with a
    float exactly), so no bit of the hash is rounded away.
    """
    p = math.exp(-1.0)  # P(X = 0)
    cdf = p
    k = 0
    while k < cap and h >= cdf * 2.0**64:
        k += 1
        p /= k  # P(X = k) = P(X = k - 1) / k for lambda = 1
        cdf += p
    return k


def bootstrap_weight(seed: int, ordinal: int, replica: int) -> int:
    """Vote ``ordinal``'s Poisson(1) weight in replica ``replica``: the key mix64(mix64(seed) ^ ordinal),
    then mix64(key + (replica + 1) * golden) by inversion. (Before ENGINE_STATE_VERSION 2 the engine
    skipped that last mix64, and the replicas of one vote were strongly correlated.)"""
    key = mix64(mix64(seed) ^ ordinal)
    return poisson1_by_inversion(mix64((key + (replica + 1) * GOLDEN64) & MASK64))


def uniform01(h: int) -> float:
    """The top 53 bits of h as a float in [0, 1): exact, (h >> 11) < 2**53."""
    return (h >> 11) / 2**53


def poisson_draw(lam: float, key: int) -> int:
    """Poisson(lam) from the counter stream ``key``: uniforms u_j = uniform01(mix64(key + j * golden)), j = 1, 2, ...

    lam < 10: inversion, the smallest k with u_1 <= P(X <= k) (k < 1000).
    lam >= 10: Hörmann's PTRS ("The transformed rejection method for generating
    Poisson random variables", 1993, algorithm PTRS), consuming (u, v) pairs.
    """
    if lam <= 0:
        return 0
    j = 0

    def next_uniform() -> float:
        nonlocal j
        j += 1
        return uniform01(mix64((key + j * GOLDEN64) & MASK64))

    if lam < 10:
        u = next_uniform()
        p = math.exp(-lam)
        cdf = p
        k = 0
        while u > cdf and k < 1000:
            k += 1
            p *= lam / k
            cdf += p
        return k
    b = 0.931 + 2.53 * math.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = next_uniform() - 0.5
        v = next_uniform()
        u_s = 0.5 - abs(u)
        k = math.floor((2 * a / u_s + b) * u + lam + 0.43)
        if u_s >= 0.07 and v <= v_r:
            return k
        if k < 0 or (u_s < 0.013 and v > u_s):
            continue
        if math.log(v) + math.log(inv_alpha) - math.log(a / (u_s * u_s) + b) <= -lam + k * math.log(lam) - math.lgamma(
            k + 1
        ):
            return k


def count_cells(votes) -> dict[tuple[int, int], list[int]]:
    """(slot_a, slot_b, outcome) votes -> {(lo, hi): [wins of lo, wins of hi, ties, both-bad ties]},
    pairs in order of their first vote."""
    cells: dict[tuple[int, int], list[int]] = {}
    for a, b, outcome in votes:
        lo, hi = min(a, b), max(a, b)
        cell = cells.setdefault((lo, hi), [0, 0, 0, 0])
        if outcome == 3:
            cell[2] += 1
        elif outcome == 4:
            cell[3] += 1
        else:
            winner = a if outcome == 1 else b
            cell[0 if winner == lo else 1] += 1
    return cells


def pair_counts(cells: dict[tuple[int, int], list[int]], a: int, b: int) -> list[int]:
    """(wins of a, wins of b, ties, both-bad ties) from a count_cells table; zeros if they never met."""
    lo_wins, hi_wins, ties, both_bad = cells.get((min(a, b), max(a, b)), [0, 0, 0, 0])
    return [lo_wins, hi_wins, ties, both_bad] if a < b else [hi_wins, lo_wins, ties, both_bad]


def components(n: int, pairs) -> tuple[list[int], list[int]]:
    """Connected components of slots 0..n-1 joined by ``pairs``, by breadth-first search.

    Returns (smallest, label): smallest[i] is the smallest slot in i's component;
    label[i] numbers the components by size, largest first, ties broken by the
    smaller smallest slot.
    """
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for x, y in pairs:
        neighbours[x].append(y)
        neighbours[y].append(x)
    smallest: list[int | None] = [None] * n
    groups: list[list[int]] = []
    for start in range(n):  # ascending: the first unseen slot is the smallest of its component
        if smallest[start] is not None:
            continue
        smallest[start] = start
        members, frontier = [start], [start]
        while frontier:
            nxt = []
            for x in frontier:
                for y in neighbours[x]:
                    if smallest[y] is None:
                        smallest[y] = start
                        members.append(y)
                        nxt.append(y)
            frontier = nxt
        groups.append(members)
    label = [0] * n
    for rank, members in enumerate(sorted(groups, key=lambda g: (-len(g), min(g)))):
        for x in members:
            label[x] = rank
    return smallest, label


def assign_slots(known: dict[int, int], votes) -> tuple[dict[int, int], list[int], list[int], list[int]]:
    """Give each unseen competitor id the next slot, in order of first appearance (a before b in a vote).

    known: {id: slot} with slots 0..len(known)-1. Returns ({id: slot} after the votes,
    the new ids in slot order, slot of each vote's a, slot of each vote's b).
    """
    slot_of = dict(known)
    new_ids: list[int] = []
    slot_a: list[int] = []
    slot_b: list[int] = []
    for a, b in votes:
        for competitor, column in ((a, slot_a), (b, slot_b)):
            if competitor not in slot_of:
                slot_of[competitor] = len(slot_of)
                new_ids.append(competitor)
            column.append(slot_of[competitor])
    return slot_of, new_ids, slot_a, slot_b


def cholesky_solve(a, b) -> tuple[list[list[float]], list[float]] | None:
    """Solve a x = b for symmetric positive-definite a by the textbook a = L L^T.

    Returns (L, x), or None when a is not positive definite (a pivot <= 0).
    """
    n = len(a)
    lower = [[0.0] * n for _ in range(n)]
    for i in range(n):  # row by row (Cholesky–Banachiewicz)
        for j in range(i + 1):
            s = a[i][j]
            for k in range(j):
                s -= lower[i][k] * lower[j][k]
            if i == j:
                if s <= 0.0:
                    return None
                lower[i][i] = math.sqrt(s)
            else:
                lower[i][j] = s / lower[j][j]
    y = [0.0] * n  # L y = b
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= lower[i][k] * y[k]
        y[i] = s / lower[i][i]
    x = [0.0] * n  # L^T x = y
    for i in reversed(range(n)):
        s = y[i]
        for k in range(i + 1, n):
            s -= lower[k][i] * x[k]
        x[i] = s / lower[i][i]
    return lower, x


def mle_exists(n: int, cells: dict[tuple[int, int], list[float]]) -> list[bool]:
    """Per slot: does its component have a Bradley–Terry maximum-likelihood estimate? By every cut.

    ``cells``: {(lo, hi): [wins of lo, wins of hi]} as the likelihood sees them (ties already split).
    The likelihood of a component has a finite maximum iff no group of its members S, with the rest
    T non-empty, is undefeated against T (Ford 1957): each side must have won or tied a vote against
    the other. This tries every subset S (2^size; small boards only). A slot alone has no estimate.
    """
    _, label = components(n, list(cells))
    exists = []
    for i in range(n):
        members = [j for j in range(n) if label[j] == label[i]]
        ok = len(members) >= 2
        for mask in range(1, 2 ** len(members) - 1):
            side = {members[k] for k in range(len(members)) if mask >> k & 1}
            beat_out = any(
                (lo in side) != (hi in side) and (w[0] > 0 if lo in side else w[1] > 0) for (lo, hi), w in cells.items()
            )
            if not beat_out:
                ok = False
                break
        exists.append(ok)
    return exists
