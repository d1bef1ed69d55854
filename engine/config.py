"""The engine's settings and the names of its methods: plain dataclasses, no numpy or numba.

A client or the command line can read the defaults (``EloConfig().k``) and the names (``CI_METHODS``)
without compiling a kernel. ``engine.elo``, ``engine.bt`` and ``engine.style`` re-export their config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

METHODS = ("bt", "elo")  # Bradley–Terry (the default), online Elo
CI_METHODS = ("bootstrap", "sandwich", "none")  # the BT intervals; Elo's is always its online bootstrap
# BT's tie models: "half" a win each (LMArena's, engine.bt), or fitted with a tie parameter (engine.ties)
TIE_MODELS = ("half", "davidson", "rao-kupper")

# BT iteration steps, as the kernels number them: "auto" runs Newman's and switches to Newton-CG (engine.bt).
STEPS = {"newman": 0, "mm": 1, "newton": 2, "auto": 3}
ARENA_SCALE = 400.0  # LMArena's rating scale and base: P(a beats b) = 1 / (1 + 10 ** ((r_b - r_a) / 400))
ARENA_BASE = 10.0
BOTH_BAD = {"tie": 0.5, "ignore": 0.0}  # what a both-bad tie scores each side, or dropped

PENALTIES = ("all", "coefficients")  # style control's ridge (engine.style)
DEFAULT_STRENGTH = {"all": 0.5, "coefficients": 1.0}


def check_settings(owner: str, tol: float, bootstrap_tol: float, max_iter: int) -> None:
    """The stopping rules a fit's config carries: positive, or a fit could never stop or never start."""
    if not (tol > 0 and bootstrap_tol > 0 and max_iter > 0):
        raise ValueError(f"{owner}.tol, bootstrap_tol and max_iter must be positive")


@dataclass(frozen=True)
class EloConfig:
    """Per-board online Elo settings."""

    k: float = 4.0
    base: float = ARENA_BASE
    scale: float = ARENA_SCALE
    initial: float = 1000.0
    bootstrap_rounds: int = 1000  # B replicas; 0 disables the CI
    seed: int = 0  # board seed of the bootstrap weights

    def __post_init__(self) -> None:
        for name in ("k", "base", "scale", "initial"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"EloConfig.{name} must be finite, got {value!r}")
        if self.k <= 0 or self.scale <= 0 or self.base <= 1:
            raise ValueError(f"EloConfig needs k > 0, scale > 0 and base > 1, got {self}")
        if self.bootstrap_rounds < 0:
            raise ValueError(f"EloConfig.bootstrap_rounds must be >= 0, got {self.bootstrap_rounds}")
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"EloConfig.seed must be in [0, 2**64), got {self.seed}")
        # Floats, whatever was given: a board config's JSON {"k": 32} holds an int, and numba compiles a kernel
        # anew for each argument type, so that board's first vote would compile the Elo kernels again.
        for name in ("k", "base", "scale", "initial"):
            object.__setattr__(self, name, float(getattr(self, name)))


@dataclass(frozen=True)
class BTConfig:
    both_bad: str = "tie"  # "tie": half a win each (LMArena); "ignore": dropped
    # Virtual ties per competitor against theta = 0 (see engine.bt's doc). None: the plain MLE where it
    # exists, one virtual tie only for the competitors of components where it does not; a number: that
    # many for every competitor.
    prior: float | None = None
    reweight: bool = False  # weight each vote by 1 / max(pair count, 50) (arena-rank's option)
    step: str = "auto"  # "newman" (Newman 2023), "mm" (Zermelo / Hunter), "newton" (Newton-CG), or "auto"
    tol: float = 1e-10  # on the max change of centred theta per iteration
    bootstrap_tol: float = 1e-7  # per bootstrap round: 1.7e-5 rating points, far below any CI
    max_iter: int = 100_000

    def __post_init__(self) -> None:
        if self.both_bad not in BOTH_BAD:
            raise ValueError(f"BTConfig.both_bad must be one of {sorted(BOTH_BAD)}, got {self.both_bad!r}")
        if self.step not in STEPS:
            raise ValueError(f"BTConfig.step must be one of {sorted(STEPS)}, got {self.step!r}")
        if self.prior is not None and not (self.prior > 0 and math.isfinite(self.prior)):
            raise ValueError(f"BTConfig.prior must be a positive number (it keeps ratings finite), got {self.prior}")
        check_settings("BTConfig", self.tol, self.bootstrap_tol, self.max_iter)


@dataclass(frozen=True)
class StyleConfig:
    penalty: str = "all"
    strength: float | None = None  # None: DEFAULT_STRENGTH[penalty]
    both_bad: str = "tie"  # "tie" (0.5) or "ignore" (weight 0)
    reweight: bool = False  # arena-rank's inverse-propensity weights: 1 / max(pair count, 50), mean 1
    tol: float = 1e-10  # Newton stops when no parameter moves more than this (theta units)
    bootstrap_tol: float = 1e-7
    max_iter: int = 100

    def __post_init__(self) -> None:
        if self.penalty not in PENALTIES:
            raise ValueError(f"penalty must be one of {PENALTIES}, got {self.penalty!r}")
        if self.both_bad not in ("tie", "ignore"):
            raise ValueError(f"both_bad must be 'tie' or 'ignore', got {self.both_bad!r}")
        if self.strength is not None and not (math.isfinite(self.strength) and self.strength >= 0):
            raise ValueError(f"strength must be a finite number >= 0, got {self.strength}")
        check_settings("StyleConfig", self.tol, self.bootstrap_tol, self.max_iter)

    @property
    def effective_strength(self) -> float:
        return DEFAULT_STRENGTH[self.penalty] if self.strength is None else self.strength
