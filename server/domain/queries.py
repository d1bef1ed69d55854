"""What a client asks the service for: a leaderboard view, and how to list it."""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import CI_METHODS, METHODS, TIE_MODELS
from server.domain.errors import InvalidArgument
from server.domain.listing import DEFAULT_GAP_RANKS, RowFilters

DEFAULT_BT_ROUNDS = 1000


@dataclass(frozen=True)
class LeaderboardQuery:
    board: str
    method: str = "bt"  # "bt" or "elo"
    ci: str = "bootstrap"  # "bootstrap", "sandwich" or "none" (the last two: BT only)
    rounds: int = 0  # BT bootstrap rounds; 0: DEFAULT_BT_ROUNDS
    anchor_model: str | None = None  # BT only
    anchor_rating: float = 1000.0
    category: str = ""  # a category view of the board; "": every vote
    style_control: bool = False  # BT with the votes' style features as covariates (engine.style)
    ties: str = "half"  # BT's tie model (engine.config.TIE_MODELS): "half", "davidson" or "rao-kupper"
    cluster: str = "none"  # BT bootstrap: "none" (votes), "voter" or "prompt" (engine.clusters)

    def cache_key(self) -> tuple:
        return (
            self.category, self.method, self.ci, self.rounds, self.anchor_model, self.anchor_rating, self.style_control,
            self.ties,
            self.cluster,
        )  # fmt: skip


class QueryRuleError(InvalidArgument):
    """A leaderboard query that breaks a rule: ``field`` and the message in the wire's words (the
    service's INVALID_ARGUMENT), ``options`` the same rule in the command line's (its option names)."""

    def __init__(self, field: str, message: str, options: str) -> None:
        super().__init__(field, message)
        self.options = options


_BT_OPTIONS = (
    "--rounds, --anchor and --ci sandwich apply to --method bt; Elo's CI is its online bootstrap (--bootstrap B)"
)


CLUSTERS = ("none", "voter", "prompt")


def check_query(
    method: str, ci: str, rounds: int = 0, anchored: bool = False, style_control: bool = False, ties: str = "half",
    cluster: str = "none",
) -> None:
    """The rules a leaderboard query's options obey together, for the service (``convert.query_from_pb``)
    and the command line's offline replay alike; raises QueryRuleError."""
    if cluster not in CLUSTERS:
        raise QueryRuleError(
            "cluster", f"{cluster!r} is not a cluster ({', '.join(CLUSTERS)})", f"--cluster {cluster!r}?"
        )
    if cluster != "none" and (method != "bt" or ci != "bootstrap" or style_control or ties != "half"):
        raise QueryRuleError(
            "cluster",
            "a clustered CI is BT's count-space bootstrap (method BT, ci BOOTSTRAP, ties HALF, no style control); "
            "ELO's online replicas weigh single votes as they arrive, and cannot be regrouped by cluster afterwards",
            "--cluster applies to --method bt with --ci bootstrap and --bt-ties half, without --style-control",
        )
    if method not in METHODS:
        raise QueryRuleError("method", f"{method!r} is not a method ({', '.join(METHODS)})", f"--method {method!r}?")
    if ci not in CI_METHODS:
        raise QueryRuleError("ci", f"{ci!r} is not a CI method ({', '.join(CI_METHODS)})", f"--ci {ci!r}?")
    if ties not in TIE_MODELS:
        raise QueryRuleError("ties", f"{ties!r} is not a tie model ({', '.join(TIE_MODELS)})", f"--bt-ties {ties!r}?")
    if ties != "half" and method == "elo":
        raise QueryRuleError(
            "ties", "a tie model other than HALF is BT's; ELO scores a tie half a win",
            "--bt-ties applies to --method bt",
        )
    if ties != "half" and style_control:
        raise QueryRuleError(
            "ties",
            "style control fits ties as half a win each; DAVIDSON and RAO_KUPPER are not with style control",
            "--bt-ties davidson / rao-kupper are not with --style-control",
        )
    if style_control and (method == "elo" or anchored):
        raise QueryRuleError(
            "method" if method == "elo" else "anchor",
            "style control is a BT fit, centred on the mean; not with ELO or an anchor",
            "--style-control is a BT fit centred on the mean: not with --method elo or --anchor",
        )
    if method == "elo":
        if ci == "sandwich":
            raise QueryRuleError(
                "ci", "ELO's CI is the board's online bootstrap (or CI_NONE); SANDWICH is BT's", _BT_OPTIONS
            )
        if rounds or anchored:
            raise QueryRuleError(
                "rounds" if rounds else "anchor", "applies to BT; ELO's replicas are fixed per board", _BT_OPTIONS
            )


@dataclass(frozen=True)
class SnapshotRef:
    """A snapshot by name, or the board's newest one created at or before ``time``."""

    name: str | None = None
    time: float | None = None


@dataclass(frozen=True)
class ListingQuery:
    """A leaderboard as published: the standings of ``query``, listed through ``filters``."""

    query: LeaderboardQuery
    filters: RowFilters = RowFilters()
    compare_to: SnapshotRef | None = None
    as_of: SnapshotRef | None = None
    gap_ranks: tuple[int, ...] = DEFAULT_GAP_RANKS
