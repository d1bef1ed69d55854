"""Competitor names <-> dense int32 ids."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from engine._jit import kernel


class Interner:
    """Assigns ids 0, 1, 2, ... to names in order of first sight.

    Ids are stable as long as names are interned in the same order; the server
    persists them, so they are stable across restarts.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names: list[str] = []
        self._ids: dict[str, int] = {}
        for name in names:
            self.intern(name)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: str) -> bool:
        return name in self._ids

    def intern(self, name: str) -> int:
        found = self._ids.get(name)
        if found is None:
            found = len(self._names)
            self._ids[name] = found
            self._names.append(name)
        return found

    def intern_many(self, names: Iterable[str]) -> np.ndarray:
        """ids: int32[N] for the names, interning the new ones in order."""
        return np.fromiter((self.intern(n) for n in names), dtype=np.int32)

    def id_of(self, name: str) -> int | None:
        return self._ids.get(name)

    def name(self, competitor_id: int) -> str:
        return self._names[competitor_id]

    @property
    def names(self) -> list[str]:
        return list(self._names)


@kernel
def assign_slots_kernel(
    slot_of: np.ndarray,
    n_slots: int,
    competitor_a: np.ndarray,
    competitor_b: np.ndarray,
    slot_a: np.ndarray,
    slot_b: np.ndarray,
    new_ids: np.ndarray,
) -> int:
    """Map competitor ids to dense slots, giving unseen ids the next slots.

    New ids get slots in order of first appearance (a before b within a
    vote), so the slots do not depend on how votes were batched. ``slot_of``
    (int32[max id + 1], -1 = unseen) is updated in place; the ids that were
    new are written to ``new_ids`` in slot order. Returns the new slot count.
    """
    first = n_slots
    for i in range(competitor_a.shape[0]):
        for side in range(2):
            c = competitor_a[i] if side == 0 else competitor_b[i]
            s = slot_of[c]
            if s < 0:
                s = n_slots
                slot_of[c] = s
                new_ids[s - first] = c
                n_slots += 1
            if side == 0:
                slot_a[i] = s
            else:
                slot_b[i] = s
    return n_slots
