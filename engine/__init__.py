"""Pure rating computation: arrays in, arrays out. No gRPC, sockets or SQL here.

The names below are loaded on first use, so ``import engine.config`` (settings) or
``engine.outcomes`` does not compile numba kernels: a client or the command line's
remote commands never pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from engine.config import EloConfig

if TYPE_CHECKING:
    from engine.board import Board
    from engine.interning import Interner
    from engine.outcomes import Outcome
    from engine.standings import Standings

_LAZY = {"Board": "engine.board", "Interner": "engine.interning", "Outcome": "engine.outcomes",
         "Standings": "engine.standings"}  # fmt: skip

__all__ = ["Board", "EloConfig", "Interner", "Outcome", "Standings"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
