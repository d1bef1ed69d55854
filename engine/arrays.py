"""Array helpers shared by the engine's growable stores."""

from __future__ import annotations

import numpy as np


def grown(array: np.ndarray, capacity: int, fill: float = 0) -> np.ndarray:
    """A copy of ``array`` with ``capacity`` rows: its rows first, then rows of ``fill``."""
    out = np.full((capacity, *array.shape[1:]), fill, dtype=array.dtype)
    out[: array.shape[0]] = array
    return out
