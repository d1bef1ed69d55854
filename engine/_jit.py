"""The one place that owns numba compile flags.

Every kernel is compiled with:
- ``cache=True`` so a restarted server does not pay the compile again;
- ``nogil=True`` because gRPC worker threads call kernels, and the bootstrap
  kernel is split across threads by replica range;
- ``error_model="numpy"``: the default "python" model checks every division
  for zero, which blocks vectorisation of the replica loop;
- no ``fastmath``: it moved bootstrap ratings by up to 13 points in the
  prototype (ANCHORS.md), and replays must be bit-identical.
"""

from __future__ import annotations

import numba

kernel = numba.njit(cache=True, nogil=True, error_model="numpy")
