"""Lists of strings inside .npz state files, stored exactly.

NumPy's fixed-width string arrays (``dtype=np.str_``) drop trailing NUL
characters, so a name like ``"cat\\x00"`` would come back as ``"cat"`` and
``"\\x00"`` as ``""`` (which once turned a category view into its board).
Names are therefore stored as the UTF-8 bytes of a JSON array (uint8),
which round-trips every string, and still needs no pickle to read.
"""

from __future__ import annotations

import json

import numpy as np
from numpy.typing import NDArray


def encode_strings(values: list[str]) -> NDArray[np.uint8]:
    """``values`` as a uint8 array that ``decode_strings`` turns back into the same list."""
    return np.frombuffer(json.dumps(list(values), ensure_ascii=True).encode("ascii"), dtype=np.uint8).copy()


def decode_strings(array: np.ndarray) -> list[str]:
    """The list ``encode_strings`` stored."""
    values = json.loads(np.asarray(array, dtype=np.uint8).tobytes().decode("ascii"))
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError("a string list in the state file is not a JSON array of strings")
    return values
