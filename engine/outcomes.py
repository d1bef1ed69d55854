"""Battle outcomes and the score each one gives side A."""

from __future__ import annotations

import enum

import numpy as np


class Outcome(enum.IntEnum):
    """Outcome codes; the values equal the wire enum's (tests/test_protos.py checks)."""

    A_WINS = 1
    B_WINS = 2
    TIE = 3
    TIE_BOTH_BAD = 4


# LMArena scores both kinds of tie as half a win for each side.
TIE_SCORE = 0.5
# Side A's score, indexed by outcome code. Index 0 is not an outcome; NaN
# there makes a kernel fed an unvalidated code visibly wrong, not a tie.
SCORE_A: np.ndarray = np.array([np.nan, 1.0, 0.0, TIE_SCORE, TIE_SCORE], dtype=np.float64)

# FastChat's `winner` labels.
WINNER_LABELS: dict[str, Outcome] = {
    "model_a": Outcome.A_WINS,
    "model_b": Outcome.B_WINS,
    "tie": Outcome.TIE,
    "tie (bothbad)": Outcome.TIE_BOTH_BAD,
}
# Also read in files: arena-human-preference data spells the both-bad tie so.
READ_LABELS: dict[str, Outcome] = {**WINNER_LABELS, "both_bad": Outcome.TIE_BOTH_BAD}


def is_valid_outcome(codes: np.ndarray) -> np.ndarray:
    """Elementwise: is each code one of the four outcomes?"""
    return (codes >= Outcome.A_WINS) & (codes <= Outcome.TIE_BOTH_BAD)


def is_tie(codes: np.ndarray) -> np.ndarray:
    """Elementwise: is each code a tie, of either kind?"""
    return (codes == Outcome.TIE) | (codes == Outcome.TIE_BOTH_BAD)
