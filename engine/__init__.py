"""Pure rating computation: arrays in, arrays out. No gRPC, sockets or SQL here.

The names below load on first use, so the numpy-only modules (``engine.scale``, ``engine.outcomes``)
can be imported, e.g. by the exports and the client, without importing numba or compiling a kernel.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.board import Board
    from engine.elo import EloConfig
    from engine.interning import Interner
    from engine.outcomes import Outcome
    from engine.standings import Standings

_HOMES = {
    "Board": "engine.board",
    "EloConfig": "engine.elo",
    "Interner": "engine.interning",
    "Outcome": "engine.outcomes",
    "Standings": "engine.standings",
}

__all__ = ["Board", "EloConfig", "Interner", "Outcome", "Standings"]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
