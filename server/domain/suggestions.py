"""SuggestPairs: what a client asks (which objective, how many pairs) and what it gets (pairs with weights)."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.errors import InvalidArgument

OBJECTIVES = ("top_k", "ci_width", "placement")  # engine.suggest's, as the wire's enum orders them
DEFAULT_OBJECTIVE = "ci_width"
DEFAULT_PAIRS = 10
MAX_PAIRS = 200
DEFAULT_TOP_K = 10
MAX_TOP_K = 100
DEFAULT_HORIZON = 1000
MAX_HORIZON = 10_000_000


@dataclass(frozen=True)
class SuggestQuery:
    board: str
    category: str = ""
    n: int = DEFAULT_PAIRS  # at most this many pairs
    objective: str = DEFAULT_OBJECTIVE  # one of OBJECTIVES
    k: int = DEFAULT_TOP_K  # top_k: how many top competitors to order
    model: str = ""  # placement: the competitor to place
    horizon: int = DEFAULT_HORIZON  # votes the weights plan for

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise InvalidArgument("objective", f"{self.objective!r} is not an objective ({', '.join(OBJECTIVES)})")
        if not 1 <= self.n <= MAX_PAIRS:
            raise InvalidArgument("n", f"{self.n}: between 1 and {MAX_PAIRS} pairs (0: {DEFAULT_PAIRS})")
        if not 1 <= self.k <= MAX_TOP_K:
            raise InvalidArgument("k", f"{self.k}: between 1 and {MAX_TOP_K} (0: {DEFAULT_TOP_K})")
        if not 1 <= self.horizon <= MAX_HORIZON:
            raise InvalidArgument(
                "horizon", f"{self.horizon}: between 1 and {MAX_HORIZON} votes (0: {DEFAULT_HORIZON})"
            )
        if (self.objective == "placement") != bool(self.model):
            if self.model:
                raise InvalidArgument("model", "names the competitor to place: PLACEMENT only")
            raise InvalidArgument("model", "PLACEMENT needs the competitor to place")


@dataclass(frozen=True)
class SuggestedPair:
    model_a: str
    model_b: str
    weight: float  # the share of the next votes; a suggestion's weights sum to 1


@dataclass(frozen=True)
class PairSuggestions:
    board: str
    category: str
    objective: str
    pairs: list[SuggestedPair]  # largest weight first
    as_of_seq: int  # the fit covers the view's votes up to here
