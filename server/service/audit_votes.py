"""A live view's votes read back from the vote log for an audit (server.domain.audit).

The engine keeps pair counts, not votes, and no voter ids; the log keeps every vote. The live version's
batches are read up to the board's last applied seq on the store's own read connection (WAL readers do
not block the writer), with no service lock held: O(votes of the board) time and memory per audit.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from engine import Interner
from server.domain.audit import AuditVotes
from server.domain.errors import NotFound
from server.storage.store import LoggedBatch


def view_votes(batches: Iterable[LoggedBatch], interner: Interner, category: str) -> AuditVotes:
    """The votes of ``batches`` (one board version's, in seq order), only those tagged ``category`` when given;
    competitor ids are the log's, named by ``interner``."""
    model_a, model_b, outcome = [], [], []
    voters: list[str] = []
    for batch in batches:
        keep = np.ones(len(batch.outcome), dtype=bool)
        if category:
            tags = batch.tags or [[] for _ in range(len(batch.outcome))]
            keep = np.array([category in vote_tags for vote_tags in tags], dtype=bool)
        model_a.append(batch.model_a[keep])
        model_b.append(batch.model_b[keep])
        outcome.append(batch.outcome[keep])
        ids = batch.voter_id if batch.voter_id is not None else [""] * len(batch.outcome)
        voters.extend(v for v, k in zip(ids, keep.tolist()) if k)
    if not outcome or not sum(len(o) for o in outcome):
        raise NotFound("the view has no votes in the log")
    return AuditVotes(
        interner.names,
        np.concatenate(model_a).astype(np.int64),
        np.concatenate(model_b).astype(np.int64),
        np.concatenate(outcome).astype(np.int64),
        voters,
    )
