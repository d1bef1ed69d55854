"""The kernel warm-up ``serve`` runs before it reports SERVING.

Numba compiles a kernel on its first call, once per type signature: from its on-disk cache in
milliseconds, from scratch in seconds (a fresh install, another numba, an edited kernel). Without a
warm-up the first batch applied or leaderboard fitted pays that (12 s for the first BT query of a
fresh install). So the service runs a tiny real workload first, through the same functions its
applier, recovery and queries call (``BoardVersions.apply``, ``BoardViews.from_state``,
``copy_inputs`` and ``compute_standings``, ``pair_record``, SuggestPairs' ``view_basis`` and
``plan_pairs``), never the kernels themselves: every kernel then meets the argument types the real
paths give it, and a kernel added or changed behind those functions is warmed without a change
here. ``tests/test_warmup.py`` fails when a query kind still compiles after this ran.

With the cache warm it loads every kernel in a fraction of a second.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from engine import EloConfig, Interner
from engine._jit import compiles
from engine.fit import ConvergenceError
from engine.views import BoardViews
from server.domain.queries import LeaderboardQuery
from server.domain.suggestions import SuggestQuery
from server.service.compute import BTInputs, compute_standings
from server.service.config import ServiceConfig
from server.service.head_to_head import pair_record
from server.service.suggest import plan_pairs, view_basis
from server.service.versions import BoardVersions
from server.storage.store import LoggedBatch

log = logging.getLogger(__name__)

_BOARD = "warm-up"
_TAG = "tagged"
_FEATURES = ["tokens", "headers"]
# Enough competitors that the pair cells outgrow their first table (32 cells): growing it rehashes.
_MODELS = 12
_ELO = EloConfig(bootstrap_rounds=16)  # replicas: the online bootstrap kernel runs whatever the boards' settings
_ROUNDS = 8  # BT and style bootstrap rounds: the kernels are the same for 8 rounds as for 1000

# Every kind of standings a query can ask for (the anchored one: an anchor is only arithmetic after the fit,
# but it is a query kind of its own, so it stays covered if that changes).
QUERIES = (
    LeaderboardQuery(_BOARD, method="elo"),
    LeaderboardQuery(_BOARD, ci="none"),
    LeaderboardQuery(_BOARD, ci="sandwich"),
    LeaderboardQuery(_BOARD, ci="bootstrap", rounds=_ROUNDS),
    LeaderboardQuery(_BOARD, ci="sandwich", anchor_model="warm-up-0", anchor_rating=1200.0),
    LeaderboardQuery(_BOARD, ci="none", category=_TAG),
    LeaderboardQuery(_BOARD, ci="none", style_control=True),
    LeaderboardQuery(_BOARD, ci="sandwich", style_control=True),
    LeaderboardQuery(_BOARD, ci="bootstrap", rounds=_ROUNDS, style_control=True),
    # The tie models share their kernels (the model is an argument), so one of each CI covers both.
    LeaderboardQuery(_BOARD, ci="sandwich", ties="davidson"),
    LeaderboardQuery(_BOARD, ci="bootstrap", rounds=_ROUNDS, ties="rao-kupper"),
)

SUGGESTIONS = (
    SuggestQuery(_BOARD, objective="ci_width"),
    SuggestQuery(_BOARD, objective="top_k", k=3),
    SuggestQuery(_BOARD, objective="placement", model="warm-up-0"),
    SuggestQuery(_BOARD, objective="placement", model="new"),  # no votes yet
)


@dataclass(frozen=True)
class WarmUp:
    seconds: float
    compiled: bool  # something compiled from scratch (the cache was cold); False: all loaded from the cache


def warm_up(config: ServiceConfig) -> WarmUp:
    """Apply a few votes with tags and style features, restore them as a checkpoint would, and compute every
    kind of standings and a head-to-head with the service's settings. Returns how long it took."""
    started, compiled_before = time.perf_counter(), compiles()
    interner = Interner()
    versions = BoardVersions(config.threads())
    first, second = _batches(interner)
    versions.apply(first, _BOARD, _ELO)
    # A checkpoint's or a snapshot's load (recovery, --as-of) rebuilds the views from their arrays, then the
    # log after it is applied to the rebuilt views.
    versions.restore(_BOARD, first.board_id, BoardViews.from_state(versions.freeze(_BOARD).states))
    versions.apply(second, _BOARD, _ELO)
    warm: dict[tuple[bool, str], np.ndarray | None] = {}
    for query in QUERIES:
        key = (query.style_control, query.ties)  # the parameters a fit of this kind warm-starts from
        copied = versions.copy_inputs(query, interner)
        try:
            # Twice, the second warm-started from the first's parameters, as the service's next fit is.
            for _ in range(2):
                result, params = compute_standings(
                    query, copied.inputs, interner, config.bt, config.threads(), warm.get(key),
                    style_config=config.style,
                )  # fmt: skip
                if params is not None and not query.category:
                    warm[key] = params
        except ConvergenceError as exc:  # these settings cannot fit these votes; the kernels have run all the same
            log.debug("warm-up: %s", exc)
            continue
        if query.method == "bt" and query.ci == "none" and not query.style_control and not query.category:
            pair_record(versions, interner, result, "warm-up-0", "warm-up-1")
            assert isinstance(copied.inputs, BTInputs)
            basis = view_basis(result, copied.inputs, interner, config.bt)
            for suggest in SUGGESTIONS:
                plan_pairs(suggest, basis.fit, basis.slot_of.get(suggest.model))
    return WarmUp(time.perf_counter() - started, compiles() > compiled_before)


def _batches(interner: Interner) -> tuple[LoggedBatch, LoggedBatch]:
    """Two batches as the log holds them: every pair of competitors plays both ways (so every competitor wins
    and loses: each fit converges under any penalty), some votes tagged, all with style features."""
    rng = np.random.default_rng(0)
    ids = interner.intern_many(f"warm-up-{i}" for i in range(_MODELS))
    pairs = [(i, j) for i in range(_MODELS) for j in range(_MODELS) if i != j]
    model_a = ids[[i for i, _ in pairs]]
    model_b = ids[[j for _, j in pairs]]
    outcome = rng.integers(1, 5, len(pairs)).astype(np.int8)
    outcome[::3] = 1  # wins and losses for everyone, whatever the draw
    half = (_MODELS // 2) * (_MODELS - 1)
    batches = []
    for seq, part in enumerate((slice(0, half), slice(half, len(pairs)))):
        n = part.stop - part.start
        batches.append(LoggedBatch(
            first_seq=part.start + 1, last_seq=part.stop, board_id=1,
            model_a=model_a[part], model_b=model_b[part], outcome=outcome[part],
            timestamp=np.full(n, 1.7e9 + seq), vote_id=[f"w{seq}.{i}" for i in range(n)], voter_id=None,
            tags=[[_TAG] if i % 2 else [] for i in range(n)],
            style_names=_FEATURES, style=rng.gamma(4.0, 100.0, (n, 2 * len(_FEATURES))),
        ))  # fmt: skip
    return batches[0], batches[1]
