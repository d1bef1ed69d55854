"""The rating scale: the one place where BT parameters become rating points."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class RatingScale:
    """rating = theta * scale / ln(base) + offset (400 / ln 10 = 173.7 points per unit of theta).

    Centred (the default, arena-rank's convention): theta has mean 0 over the
    board's competitors, so the mean rating is ``initial``. Anchored
    (FastChat's convention): a reference competitor's rating is fixed.
    """

    scale: float = 400.0
    base: float = 10.0
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
