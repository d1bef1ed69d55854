"""What the service answers: acks, standings, head-to-head records, board listings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from engine import Standings
from engine.memory import ViewMemory
from engine.style import Coefficient
from server.domain.listing_config import ListingConfig


@dataclass(frozen=True)
class Ack:
    accepted: int
    duplicates: int
    first_seq: int  # 0 when nothing was accepted
    last_seq: int
    duplicate_index: list[int]
    board_created: bool = False  # this batch created its board (a typo in a board name shows here)


class Upserted(NamedTuple):
    """UpsertCompetitors: how many names were new and how many had metadata already."""

    created: int
    updated: int


@dataclass(frozen=True)
class BoardStandings:
    board: str
    standings: Standings
    models: list[str]  # row-aligned with standings
    method: str = "elo"
    ci: str = "bootstrap"
    anchor: tuple[str, float] | None = None
    log_likelihood: float = 0.0
    style_control: bool = False
    style_coefficients: tuple[Coefficient, ...] = ()  # with style_control
    style_votes: int = 0  # votes in the style-controlled fit
    scale: float = 400.0  # the board's rating scale and base (engine.scale.win_probability)
    base: float = 10.0
    as_of_time: float | None = None  # Unix seconds of the newest vote covered (None: no vote had a time)
    tie_model: str = ""  # BT: "half", "davidson" or "rao-kupper" (engine.config.TIE_MODELS); "": Elo
    tie_parameter: float = 0.0  # Davidson's nu or Rao–Kupper's theta; 0 for "half"
    tie_parameter_lower: float = 0.0  # its 95% interval (equal to it without a CI)
    tie_parameter_upper: float = 0.0
    aic: float = 0.0  # BT: 2 k - 2 log_likelihood, k the free parameters
    cluster: str = "none"  # the bootstrap's clusters: "none" (votes), "voter" or "prompt"


@dataclass(frozen=True)
class HeadToHead:
    board: str
    model_a: str
    model_b: str
    counts: tuple[int, int, int, int]  # wins of a, wins of b, ties, both-bad ties
    predicted_win_probability: float
    as_of_seq: int


@dataclass(frozen=True)
class HeadToHeadMatrix:
    board: str
    category: str
    models: list[str]  # best first
    battles: np.ndarray  # int64[k, k]
    empirical_win_rate: np.ndarray  # float64[k, k]; NaN where two models never met
    predicted_win_probability: np.ndarray  # float64[k, k]
    as_of_seq: int


@dataclass(frozen=True)
class CategoryInfo:
    name: str
    votes: int
    competitors: int
    style_votes: int = 0  # votes carrying style features
    clusters: tuple[str, ...] = ()  # the id kinds its votes carry: the clustered CIs the view gives


@dataclass(frozen=True)
class BoardInfo:
    name: str
    votes: int
    competitors: int
    last_seq: int
    categories: list[CategoryInfo]
    snapshots: int
    thresholds: ListingConfig
    memory: ViewMemory = ViewMemory()  # bytes the views hold now (engine.memory)
    failure: str = ""  # non-empty: the board could not be rebuilt at start-up
    display_name: str = ""  # the board's title for people (its board config); empty: the name
    style_votes: int = 0  # votes carrying style features
    clusters: tuple[str, ...] = ()  # the id kinds its votes carry ("voter", "prompt"): the clustered CIs it gives
    weighted: bool = False  # some vote carried a weight other than 1


@dataclass(frozen=True)
class BoardList:
    boards: list[BoardInfo]
    memory_budget_bytes: int
    memory_used_bytes: int  # as the budget counts it: an upper bound of what the boards hold


@dataclass(frozen=True)
class DeletedBoard:
    """DeleteBoard: the board retired, the votes it held, and its snapshots (kept, readable by name)."""

    board: str
    votes: int
    snapshots: int


@dataclass(frozen=True)
class ReplayResult:
    board: str
    received: int
    applied: int
    removed: dict[str, int]  # by filter
    first_seq: int
    last_seq: int
    as_of_seq: int  # queries from this seq on see the new version
