"""LMArena's vote filters for replays, applied chunk by chunk.

Each filter is a flag of ``arena-ratings replay`` and of the ReplayVotes
RPC. They run in the order of ``FILTER_ORDER``; a vote removed by one filter
is counted against that filter only, so the summary's counts add up:
read = skipped bad rows + sum(removed) + applied.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from engine.outcomes import is_tie
from server.domain.errors import InvalidArgument
from server.domain.votes import VoteBatch

FILTER_ORDER = (
    "anony", "exclude_models", "exclude_voters", "language", "time_window", "drop_ties", "tags", "dedupe", "daily_cap",
)  # fmt: skip
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class VoteFilters:
    anony_only: bool = False  # keep anonymous battles only (LMArena's leaderboard does)
    exclude_models: frozenset[str] = frozenset()  # drop votes involving any of these
    languages: frozenset[str] = frozenset()  # keep votes in these languages (empty: all)
    since: float | None = None  # keep votes with since <= tstamp < until (Unix seconds)
    until: float | None = None
    drop_ties: bool = False  # drop both kinds of tie
    tags: frozenset[str] = frozenset()  # keep votes carrying at least one of these tags (empty: all)
    dedupe: bool = False  # keep the first vote of each vote_id
    daily_cap: int = 0  # keep each judge's first N votes per UTC day (0: no cap); votes without a judge are not capped
    exclude_voters: frozenset[str] = frozenset()  # drop these judges' votes (e.g. an audit's flagged voters)


def needed_fields(
    filters: VoteFilters, category: bool, style_control: bool, sort_by_time: bool = False
) -> frozenset[str]:
    """The optional vote-file columns a replay with these filters and this query reads
    (``server.files.votefile.ReadOptions.fields``): reading a column costs time even when nothing
    uses it (tags and voter ids are most of a 10 M-vote file's reading time).

    ``tstamp`` is always read (the output's as_of_time, and ``sort_by_time`` sorts by it);
    ``category``: a category view (its votes are the ones carrying the tag); ``style_control``:
    the style features ("style").
    """
    wanted = {"tstamp"}
    if category or filters.tags:
        wanted.add("tags")
    if filters.daily_cap or filters.exclude_voters:
        wanted.add("judge")
    if filters.languages:
        wanted.add("language")
    if filters.anony_only:
        wanted.add("anony")
    if filters.dedupe:
        wanted.add("vote_id")
    if style_control:
        wanted.add("style")
    return frozenset(wanted)


@dataclass
class FilterRun:
    """Filters applied across the chunks of one replay (dedupe and the daily cap keep state)."""

    filters: VoteFilters
    removed: Counter = field(default_factory=Counter)
    kept: int = 0
    _seen_ids: set[str] = field(default_factory=set)
    _per_judge_day: Counter = field(default_factory=Counter)

    def apply(self, batch: VoteBatch) -> VoteBatch:
        f = self.filters
        keep = np.ones(len(batch), dtype=bool)

        def drop(name: str, remove: np.ndarray) -> None:
            newly = keep & remove
            self.removed[name] += int(newly.sum())
            keep[newly] = False

        if f.anony_only:
            drop("anony", ~_column(batch.anony, "anony", "--anony-only"))
        if f.exclude_models:
            excluded = np.array([n in f.exclude_models for n in batch.names], dtype=bool)
            drop("exclude_models", excluded[batch.model_a] | excluded[batch.model_b])
        if f.exclude_voters:
            judges = _column(batch.voter_id or None, "judge", "--exclude-voters")
            drop("exclude_voters", np.isin(np.asarray(judges, dtype=object), list(f.exclude_voters)))
        if f.languages:
            language = np.asarray(_column(batch.language or None, "language", "--language"), dtype=object)
            drop("language", ~np.isin(language, list(f.languages)))
        if f.since is not None or f.until is not None:
            t = batch.timestamp
            if np.isnan(t).any():
                raise InvalidArgument("tstamp", "the time-window filter needs a tstamp on every vote")
            since = f.since if f.since is not None else -np.inf
            until = f.until if f.until is not None else np.inf
            inside = (t >= since) & (t < until)
            drop("time_window", ~inside)
        if f.drop_ties:
            drop("drop_ties", is_tie(batch.outcome))
        if f.tags:
            _column(batch.tags or None, "tags", "--tag")
            # per tag, then summed per vote: no Python list per vote
            hit = np.isin(np.asarray(batch.tags, dtype=object), list(f.tags))
            owner = np.repeat(np.arange(len(batch)), batch.tag_count)
            drop("tags", np.bincount(owner[hit], minlength=len(batch)) == 0)
        if f.dedupe:
            ids = _column(batch.vote_id or None, "vote_id", "--dedupe")
            duplicate = np.zeros(len(batch), dtype=bool)
            for i in np.flatnonzero(keep).tolist():
                duplicate[i] = ids[i] in self._seen_ids
                self._seen_ids.add(ids[i])
            drop("dedupe", duplicate)
        if f.daily_cap:
            judges = _column(batch.voter_id or None, "judge", "--daily-cap")
            if np.isnan(batch.timestamp).any():
                raise InvalidArgument("tstamp", "the daily cap needs a tstamp on every vote")
            days = np.floor(batch.timestamp / SECONDS_PER_DAY).astype(np.int64).tolist()
            over = np.zeros(len(batch), dtype=bool)
            for i in np.flatnonzero(keep).tolist():
                if judges[i]:
                    key = (judges[i], days[i])
                    self._per_judge_day[key] += 1
                    over[i] = self._per_judge_day[key] > f.daily_cap
            drop("daily_cap", over)
        self.kept += int(keep.sum())
        return batch if keep.all() else batch.select(keep)

    def summary(self) -> dict[str, int]:
        return {name: self.removed.get(name, 0) for name in FILTER_ORDER}


def _column(values, name: str, flag: str):
    if values is None:
        raise InvalidArgument(name, f"{flag} needs a {name!r} column in the votes")
    return values
