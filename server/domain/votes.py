"""A batch of votes in columnar form, and its validation.

Every entry point (row-form and columnar RPCs, vote files) produces a
``VoteBatch``; ``validate`` is the one check they all go through, and it
names the offending vote by its index in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.outcomes import Outcome, is_valid_outcome
from server.domain import names
from server.domain.errors import InvalidArgument
from server.domain.limits import DEFAULT_BOARD, Limits


@dataclass
class VoteBatch:
    """N votes on one board. Competitor names are interned per batch:
    ``model_a[i]`` indexes ``names``.

    ``timestamp`` may hold NaN for "not given" until ``stamp`` fills it in.
    ``tag_count[i]`` of the concatenated ``tags`` belong to vote i.
    ``vote_id`` may be empty for an offline replay that never needs ids;
    ``anony`` and ``language`` are read only by the replay filters.
    ``style[i]`` holds vote i's style features: side A's values for
    ``style_names``, then side B's (None: the batch carries none).
    """

    board: str
    vote_id: list[str]
    names: list[str]
    model_a: NDArray[np.int64]
    model_b: NDArray[np.int64]
    outcome: NDArray[np.int64]
    timestamp: NDArray[np.float64]
    voter_id: list[str] = field(default_factory=list)  # empty, or one per vote
    tag_count: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tags: list[str] = field(default_factory=list)
    anony: NDArray[np.bool_] | None = None  # None, or one per vote
    language: list[str] = field(default_factory=list)  # empty, or one per vote
    style_names: list[str] = field(default_factory=list)
    style: NDArray[np.float64] | None = None  # [N, 2F] when style_names is not empty
    weight: NDArray[np.float64] | None = None  # None (every vote weighs 1), or one per vote: finite, >= 0
    prompt_id: list[str] = field(default_factory=list)  # empty, or one per vote ("": no prompt)

    def __len__(self) -> int:
        return int(self.outcome.shape[0])

    def tags_of(self) -> list[list[str]]:
        """Per-vote tag lists."""
        if not self.tags:
            return [[] for _ in range(len(self))]
        ends = np.cumsum(self.tag_count)
        starts = ends - self.tag_count
        return [self.tags[s:e] for s, e in zip(starts.tolist(), ends.tolist())]

    def style_values(self) -> NDArray[np.float64]:
        """``style`` of a batch that names style features (``validate`` checks that it carries them)."""
        if self.style is None:
            raise ValueError(f"the batch names style features {self.style_names} but carries no values")
        return self.style

    def select(self, keep: NDArray[np.bool_]) -> VoteBatch:
        """The votes where ``keep`` is true, in order."""
        return self.take(np.flatnonzero(keep))

    def take(self, idx: NDArray[np.int64]) -> VoteBatch:
        """The votes at positions ``idx``, in that order."""
        pick = idx.tolist()
        tags: list[str] = []
        tag_count = np.zeros(0, dtype=np.int64)
        if self.tags:
            # the picked votes' tag positions in numpy (per-vote lists took seconds for a category view)
            tag_count = self.tag_count[idx]
            starts = (np.cumsum(self.tag_count) - self.tag_count)[idx]
            first = np.cumsum(tag_count) - tag_count  # where each picked vote's tags go
            position = np.repeat(starts - first, tag_count) + np.arange(int(tag_count.sum()))
            tags = np.asarray(self.tags, dtype=object)[position].tolist()
        return VoteBatch(
            board=self.board,
            vote_id=[self.vote_id[i] for i in pick] if self.vote_id else [],
            names=self.names,
            model_a=self.model_a[idx],
            model_b=self.model_b[idx],
            outcome=self.outcome[idx],
            timestamp=self.timestamp[idx],
            voter_id=[self.voter_id[i] for i in pick] if self.voter_id else [],
            tag_count=tag_count,
            tags=tags,
            anony=None if self.anony is None else self.anony[idx],
            language=[self.language[i] for i in pick] if self.language else [],
            style_names=self.style_names,
            style=None if self.style is None else self.style[idx],
            weight=None if self.weight is None else self.weight[idx],
            prompt_id=[self.prompt_id[i] for i in pick] if self.prompt_id else [],
        )

    def slice(self, start: int, stop: int) -> VoteBatch:
        """Votes [start, stop), in O(stop - start) (names are shared, not trimmed)."""
        tags: list[str] = []
        tag_count = np.zeros(0, dtype=np.int64)
        if self.tags:
            offsets = np.concatenate([[0], np.cumsum(self.tag_count)])
            tags = self.tags[int(offsets[start]) : int(offsets[stop])]
            tag_count = self.tag_count[start:stop]
        return VoteBatch(
            board=self.board,
            vote_id=self.vote_id[start:stop],
            names=self.names,
            model_a=self.model_a[start:stop],
            model_b=self.model_b[start:stop],
            outcome=self.outcome[start:stop],
            timestamp=self.timestamp[start:stop],
            voter_id=self.voter_id[start:stop],
            tag_count=tag_count,
            tags=tags,
            anony=None if self.anony is None else self.anony[start:stop],
            language=self.language[start:stop],
            style_names=self.style_names,
            style=None if self.style is None else self.style[start:stop],
            weight=None if self.weight is None else self.weight[start:stop],
            prompt_id=self.prompt_id[start:stop],
        )

    def stamp(self, now: float) -> None:
        """Give votes without a timestamp the time of receipt."""
        missing = np.isnan(self.timestamp)
        if missing.any():
            self.timestamp = np.where(missing, now, self.timestamp)


# A vote stands for at most this many: a finite but huge weight (1e300) would turn Elo's step, and a
# bootstrap draw of it, into inf and poison every rating of its board.
MAX_WEIGHT = 1e6


def valid_weights(weight: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Which weights a vote may carry: finite, from 0 (stored, out of every fit) to MAX_WEIGHT."""
    return np.isfinite(weight) & (weight >= 0) & (weight <= MAX_WEIGHT)


def _check_name(value: str, field_name: str, limit: int) -> None:
    if not value:
        raise InvalidArgument(field_name, "must not be empty")
    if len(value) > limit:
        raise InvalidArgument(field_name, f"is {len(value)} characters, the limit is {limit}")


def validate(batch: VoteBatch, limits: Limits, require_vote_ids: bool = True) -> None:
    """Raise InvalidArgument for the first problem found; return if the batch is sound.

    Names, tags, voter ids and style feature names are checked by the one rule
    of server.domain.names and replaced by their NFC form in place.

    ``timestamp`` NaN means "not given" (the server stamps it); +-inf is an error.
    """
    names.check_board(batch.board, limits.max_board_length)
    n = len(batch)
    if require_vote_ids and len(batch.vote_id) != n:
        raise InvalidArgument("columns.vote_id", f"has {len(batch.vote_id)} values for {n} votes")
    if n == 0:
        raise InvalidArgument("votes", "the batch is empty")
    if n > limits.max_batch_votes:
        raise InvalidArgument("votes", f"{n} votes in one batch, the limit is {limits.max_batch_votes}")
    for column, values in (
        ("model_a", batch.model_a),
        ("model_b", batch.model_b),
        ("outcome", batch.outcome),
        ("timestamp", batch.timestamp),
    ):
        if len(values) != n:
            raise InvalidArgument(f"columns.{column}", f"has {len(values)} values for {n} votes")
    for column, texts in (
        ("vote_id", batch.vote_id),
        ("voter_id", batch.voter_id),
        ("language", batch.language),
        ("prompt_id", batch.prompt_id),
    ):
        if texts and len(texts) != n:
            raise InvalidArgument(f"columns.{column}", f"has {len(texts)} values for {n} votes")
    if batch.weight is not None and len(batch.weight) != n:
        raise InvalidArgument("columns.weight", f"has {len(batch.weight)} values for {n} votes")
    if batch.anony is not None and len(batch.anony) != n:
        raise InvalidArgument("columns.anony", f"has {len(batch.anony)} values for {n} votes")
    if batch.tags or len(batch.tag_count):
        if len(batch.tag_count) != n:
            raise InvalidArgument("columns.tag_count", f"has {len(batch.tag_count)} values for {n} votes")
        if int(batch.tag_count.sum()) != len(batch.tags):
            raise InvalidArgument(
                "columns.tags", f"has {len(batch.tags)} tags, tag_count sums to {batch.tag_count.sum()}"
            )

    n_names = len(batch.names)
    for side, index in (("model_a", batch.model_a), ("model_b", batch.model_b)):
        bad = np.flatnonzero((index < 0) | (index >= n_names))
        if bad.size:
            i = int(bad[0])
            raise InvalidArgument(f"votes[{i}].{side}", f"name index {index[i]} out of range ({n_names} names)")
    batch.names = [names.normalized(name) for name in batch.names]
    name_problem = [names.name_problem(name, limits.max_name_length) for name in batch.names]
    if any(name_problem):
        bad_name = np.array([p is not None for p in name_problem])
        for side, index in (("model_a", batch.model_a), ("model_b", batch.model_b)):
            bad = np.flatnonzero(bad_name[index])
            if bad.size:
                i = int(bad[0])
                raise InvalidArgument(f"votes[{i}].{side}", name_problem[index[i]])
    # Compare names, not indices: a batch may list one name twice.
    listed = np.asarray(batch.names, dtype=object)
    same = np.flatnonzero(listed[batch.model_a] == listed[batch.model_b])
    if same.size:
        i = int(same[0])
        raise InvalidArgument(f"votes[{i}].model_b", f"equals model_a ({batch.names[batch.model_a[i]]!r})")
    bad = np.flatnonzero(~is_valid_outcome(batch.outcome))
    if bad.size:
        i = int(bad[0])
        allowed = ", ".join(o.name for o in Outcome)
        raise InvalidArgument(f"votes[{i}].outcome", f"{int(batch.outcome[i])} is not an outcome ({allowed})")
    bad = np.flatnonzero(np.isinf(batch.timestamp))
    if bad.size:
        i = int(bad[0])
        raise InvalidArgument(f"votes[{i}].timestamp", f"{batch.timestamp[i]} is not a finite number")
    for i, vote_id in enumerate(batch.vote_id):
        _check_name(vote_id, f"votes[{i}].vote_id", limits.max_name_length)
    if batch.voter_id:  # "" means no voter
        batch.voter_id = [
            names.checked(voter, f"votes[{i}].voter_id", limits.max_name_length) if voter else voter
            for i, voter in enumerate(batch.voter_id)
        ]
    if batch.prompt_id:  # "" means no prompt
        batch.prompt_id = [
            names.checked(prompt, f"votes[{i}].prompt_id", limits.max_name_length) if prompt else prompt
            for i, prompt in enumerate(batch.prompt_id)
        ]
    if batch.weight is not None:
        bad = np.flatnonzero(~valid_weights(batch.weight))
        if bad.size:
            i = int(bad[0])
            raise InvalidArgument(f"votes[{i}].weight", f"{batch.weight[i]} is not a number from 0 to {MAX_WEIGHT:g}")
    if batch.tags:
        too_many = np.flatnonzero(batch.tag_count > limits.max_tags_per_vote)
        if too_many.size:
            i = int(too_many[0])
            raise InvalidArgument(
                f"votes[{i}].tags", f"{batch.tag_count[i]} tags, the limit is {limits.max_tags_per_vote}"
            )
        batch.tags = [
            names.checked(tag, f"votes[{i}].tags[{j}]", limits.max_name_length)
            for i, tags in enumerate(batch.tags_of())
            for j, tag in enumerate(tags)
        ]
    _validate_style(batch, limits)


MAX_STYLE_FEATURES = 16


def _validate_style(batch: VoteBatch, limits: Limits) -> None:
    if not batch.style_names:
        if batch.style is not None and batch.style.size:
            raise InvalidArgument("columns.style_features", "style values without feature names")
        return
    if len(batch.style_names) > MAX_STYLE_FEATURES:
        raise InvalidArgument(
            "columns.style_features", f"{len(batch.style_names)} features, the limit is {MAX_STYLE_FEATURES}"
        )
    features = batch.style_names = [
        names.checked(name, f"columns.style_features[{k}]", limits.max_name_length)
        for k, name in enumerate(batch.style_names)
    ]
    if len(set(features)) != len(features):
        raise InvalidArgument("columns.style_features", "a feature is named twice")
    f, n = len(features), len(batch)
    if batch.style is None or batch.style.shape != (n, 2 * f):
        got = 0 if batch.style is None else batch.style.size // 2
        raise InvalidArgument("columns.style_a", f"has {got} values for {n} votes x {f} features")
    bad = np.argwhere(~np.isfinite(batch.style) | (batch.style < 0))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        side, k = ("style_a", j) if j < f else ("style_b", j - f)
        raise InvalidArgument(f"votes[{i}].{side}[{features[k]!r}]", f"{batch.style[i, j]} is not a finite number >= 0")


def resolve_board(board: str) -> str:
    return board or DEFAULT_BOARD
