"""The per-vote rows a style-controlled fit needs.

Bradley–Terry proper needs only the pair cells; style control has a
covariate per vote, so a board keeps each vote that carries style features:
its two slots, its outcome and the raw feature values (float64[2F]: side A's
F values, then side B's). About 9 + 16 F bytes a vote: 73 MB per million
votes with the four standard features.

Append-only, with capacity doubling: ``rows()`` hands out views of the first
n rows, which later appends never modify (growth copies into new arrays),
so a reader may keep them without a copy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.arrays import grown
from engine.text_arrays import decode_strings, encode_strings


class StyleRows:
    def __init__(self) -> None:
        self.names: list[str] = []  # the board's features, fixed by its first vote that carries any
        self._n = 0
        self._slot_a = np.zeros(0, dtype=np.int32)
        self._slot_b = np.zeros(0, dtype=np.int32)
        self._outcome = np.zeros(0, dtype=np.int8)
        self._values = np.zeros((0, 0), dtype=np.float64)
        # The votes' weights, kept from the first vote whose weight is not 1 (None until then: all 1).
        self._weight: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return self._n

    @property
    def nbytes(self) -> int:
        weight = 0 if self._weight is None else self._weight.nbytes
        return weight + sum(a.nbytes for a in (self._slot_a, self._slot_b, self._outcome, self._values))

    def append(
        self,
        slot_a,
        slot_b,
        outcome,
        names: list[str],
        values: NDArray[np.float64],
        weight: NDArray[np.float64] | None = None,
    ) -> None:
        if not self.names:
            self.names = list(names)
            self._values = np.zeros((0, 2 * len(names)))
        elif list(names) != self.names:
            raise ValueError(f"style features {names} differ from the board's {self.names}")
        n = slot_a.shape[0]
        end = self._n + n
        if end > self._slot_a.shape[0]:
            capacity = max(end, 2 * self._slot_a.shape[0], 1024)
            self._slot_a = grown(self._slot_a, capacity)
            self._slot_b = grown(self._slot_b, capacity)
            self._outcome = grown(self._outcome, capacity)
            self._values = grown(self._values, capacity)
            if self._weight is not None:
                self._weight = grown(self._weight, capacity, 1.0)
        if weight is not None and self._weight is None:
            self._weight = np.ones(self._slot_a.shape[0])
        if self._weight is not None:
            self._weight[self._n : end] = 1.0 if weight is None else weight
        self._slot_a[self._n : end] = slot_a
        self._slot_b[self._n : end] = slot_b
        self._outcome[self._n : end] = outcome
        self._values[self._n : end] = values
        self._n = end

    def rows(self) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int8], NDArray[np.float64]]:
        """(slot_a, slot_b, outcome, values[n, 2F]) of the rows so far: views, stable under appends."""
        n = self._n
        return self._slot_a[:n], self._slot_b[:n], self._outcome[:n], self._values[:n]

    def weights(self) -> NDArray[np.float64] | None:
        """float64[n], the rows' vote weights (a view, stable under appends), or None when all are 1."""
        return None if self._weight is None else self._weight[: self._n]

    def state(self) -> dict[str, np.ndarray]:
        slot_a, slot_b, outcome, values = self.rows()
        return {
            "style_names": encode_strings(self.names),
            "style_slot_a": slot_a.copy(),
            "style_slot_b": slot_b.copy(),
            "style_outcome": outcome.copy(),
            "style_values": values.copy(),
            **({} if self._weight is None else {"style_weight": self._weight[: self._n].copy()}),
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> StyleRows:
        rows = cls()
        names = decode_strings(state["style_names"]) if "style_names" in state else []
        if names:
            slot_a, slot_b, outcome = state["style_slot_a"], state["style_slot_b"], state["style_outcome"]
            rows.append(slot_a, slot_b, outcome, names, state["style_values"], state.get("style_weight"))
        return rows
