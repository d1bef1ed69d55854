"""The one place that owns numba compile flags.

Every kernel is compiled with:
- ``cache=True`` so a restarted server does not pay the compile again;
- ``nogil=True`` because gRPC worker threads call kernels, and the bootstrap
  kernel is split across threads by replica range;
- ``error_model="numpy"``: the default "python" model checks every division
  for zero, which blocks vectorisation of the replica loop;
- no ``fastmath``: it moved bootstrap ratings by up to 13 points in the
  prototype (ANCHORS.md), and replays must be bit-identical.

Kernels compile on their first call: from numba's on-disk cache when it holds them (milliseconds), else
from scratch (seconds, during which a first query or command seems to hang). ``when_compiling`` lets a
program say so, once, as the first compile from scratch begins (numba's "numba:compile" event, which
it sends only after a cache miss).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numba
from numba.core import event

_njit = numba.njit(cache=True, nogil=True, error_model="numpy")
_kernels: dict[int, Any] = {}  # id() -> dispatcher, of every kernel


def kernel(function: Callable[..., Any]) -> Any:
    """``function`` as a kernel: compiled with the flags above on its first call."""
    compiled = _njit(function)
    _kernels[id(compiled)] = compiled
    return compiled


def signatures() -> dict[str, frozenset[tuple]]:
    """Each kernel (by module and name) with the argument types it holds compiled code for in this process
    (compiled, or loaded from the cache). A call with types outside its set compiles, or loads, anew."""
    return {
        f"{d.py_func.__module__}.{d.__name__}": frozenset(tuple(s) for s in d.signatures) for d in _kernels.values()
    }


class _FirstCompile(event.Listener):
    """Says it once per process, when one of our kernels starts compiling from scratch; counts those compiles."""

    def __init__(self) -> None:
        self.say: Callable[[], None] | None = None
        self.compiles = 0  # compiles from scratch of our kernels seen since registration
        self._lock = threading.Lock()
        self._said = False

    def on_start(self, happened: event.Event) -> None:
        if id(happened.data.get("dispatcher")) not in _kernels:
            return
        with self._lock:
            self.compiles += 1
            if self._said or self.say is None:
                return
            self._said = True
        self.say()

    def on_end(self, happened: event.Event) -> None:
        pass


_first_compile: _FirstCompile | None = None
_registering = threading.Lock()


def _listener() -> _FirstCompile:
    global _first_compile
    with _registering:
        if _first_compile is None:
            _first_compile = _FirstCompile()
            event.register("numba:compile", _first_compile)
        return _first_compile


def when_compiling(say: Callable[[], None]) -> None:
    """Call ``say()`` once in this process, as the first kernel starts compiling from scratch (numba's
    cache held nothing that fits it: a fresh install, another numba, an edited kernel). A later call
    replaces ``say`` (one message per process, from whoever asked last)."""
    _listener().say = say


def compiles() -> int:
    """How many times one of our kernels has started compiling from scratch in this process since the first
    call of this or ``when_compiling`` (numba sends no event for a load from its cache, so a warm cache counts
    nothing). The difference over a stretch of work says whether it compiled."""
    return _listener().compiles
