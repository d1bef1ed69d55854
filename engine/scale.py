"""The rating scale: the one place where BT parameters become rating points."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# The arena's rating scale (LMArena, FastChat): 400 points for a 10:1 odds ratio. A board may set its own.
from engine.config import ARENA_BASE, ARENA_SCALE  # re-exported


@dataclass(frozen=True)
class RatingScale:
    """rating = theta * scale / ln(base) + offset (400 / ln 10 = 173.7 points per unit of theta).

    Centred (the default, arena-rank's convention): theta has mean 0 over the
    board's competitors, so the mean rating is ``initial``. Anchored
    (FastChat's convention): a reference competitor's rating is fixed.
    """

    scale: float = ARENA_SCALE
    base: float = ARENA_BASE
    initial: float = 1000.0

    @property
    def points_per_theta(self) -> float:
        return self.scale / math.log(self.base)

    def ratings(
        self, theta: NDArray[np.float64], anchor_slot: int | None = None, anchor_rating: float = 1000.0
    ) -> NDArray[np.float64]:
        """theta: float64[..., M] -> ratings of the same shape (each row centred or anchored)."""
        if anchor_slot is None:
            centred = theta - theta.mean(axis=-1, keepdims=True)
            return centred * self.points_per_theta + self.initial
        return (theta - theta[..., anchor_slot : anchor_slot + 1]) * self.points_per_theta + anchor_rating


def win_probability(rating_a, rating_b, scale: float = ARENA_SCALE, base: float = ARENA_BASE):
    """P(a beats b) from ratings on a board's scale: 1 / (1 + base ** ((rating_b - rating_a) / scale)).

    Ratings are theta * scale / ln(base) + c, so this is the BT model's sigmoid(theta_a - theta_b), and
    Elo's expected score; scale=1, base=e takes theta itself. The one definition: head-to-head, the
    matrix, the heatmap and the exports all use it. Arrays broadcast; a float in, a float out. A huge
    gap gives exactly 0 or 1.
    """
    if not (scale > 0 and base > 1):
        raise ValueError(f"need scale > 0 and base > 1, got scale={scale}, base={base}")
    with np.errstate(over="ignore"):  # a huge gap overflows to inf, which correctly gives P = 0
        p = 1.0 / (1.0 + np.power(base, (np.asarray(rating_b, dtype=np.float64) - rating_a) / scale))
    return float(p) if np.ndim(p) == 0 else p
