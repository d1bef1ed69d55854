from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    A_WINS: _ClassVar[Outcome]
    B_WINS: _ClassVar[Outcome]
    TIE: _ClassVar[Outcome]
    TIE_BOTH_BAD: _ClassVar[Outcome]

class Method(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METHOD_UNSPECIFIED: _ClassVar[Method]
    ELO: _ClassVar[Method]
    BT: _ClassVar[Method]

class CIMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CI_UNSPECIFIED: _ClassVar[CIMethod]
    BOOTSTRAP: _ClassVar[CIMethod]
    SANDWICH: _ClassVar[CIMethod]
    CI_NONE: _ClassVar[CIMethod]

class BTTies(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIES_UNSPECIFIED: _ClassVar[BTTies]
    HALF: _ClassVar[BTTies]
    DAVIDSON: _ClassVar[BTTies]
    RAO_KUPPER: _ClassVar[BTTies]

class Cluster(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLUSTER_UNSPECIFIED: _ClassVar[Cluster]
    CLUSTER_NONE: _ClassVar[Cluster]
    CLUSTER_VOTER: _ClassVar[Cluster]
    CLUSTER_PROMPT: _ClassVar[Cluster]

class CompetitorStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[CompetitorStatus]
    ACTIVE: _ClassVar[CompetitorStatus]
    DEPRECATED: _ClassVar[CompetitorStatus]
    UNAVAILABLE: _ClassVar[CompetitorStatus]

class SuggestObjective(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBJECTIVE_UNSPECIFIED: _ClassVar[SuggestObjective]
    TOP_K: _ClassVar[SuggestObjective]
    CI_WIDTH: _ClassVar[SuggestObjective]
    PLACEMENT: _ClassVar[SuggestObjective]
OUTCOME_UNSPECIFIED: Outcome
A_WINS: Outcome
B_WINS: Outcome
TIE: Outcome
TIE_BOTH_BAD: Outcome
METHOD_UNSPECIFIED: Method
ELO: Method
BT: Method
CI_UNSPECIFIED: CIMethod
BOOTSTRAP: CIMethod
SANDWICH: CIMethod
CI_NONE: CIMethod
TIES_UNSPECIFIED: BTTies
HALF: BTTies
DAVIDSON: BTTies
RAO_KUPPER: BTTies
CLUSTER_UNSPECIFIED: Cluster
CLUSTER_NONE: Cluster
CLUSTER_VOTER: Cluster
CLUSTER_PROMPT: Cluster
STATUS_UNSPECIFIED: CompetitorStatus
ACTIVE: CompetitorStatus
DEPRECATED: CompetitorStatus
UNAVAILABLE: CompetitorStatus
OBJECTIVE_UNSPECIFIED: SuggestObjective
TOP_K: SuggestObjective
CI_WIDTH: SuggestObjective
PLACEMENT: SuggestObjective

class Anchor(_message.Message):
    __slots__ = ("model", "rating")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    model: str
    rating: float
    def __init__(self, model: _Optional[str] = ..., rating: _Optional[float] = ...) -> None: ...

class Vote(_message.Message):
    __slots__ = ("vote_id", "model_a", "model_b", "outcome", "timestamp", "voter_id", "tags", "style_a", "style_b", "weight", "prompt_id")
    class StyleAEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class StyleBEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    VOTE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_A_FIELD_NUMBER: _ClassVar[int]
    MODEL_B_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    VOTER_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    STYLE_A_FIELD_NUMBER: _ClassVar[int]
    STYLE_B_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_ID_FIELD_NUMBER: _ClassVar[int]
    vote_id: str
    model_a: str
    model_b: str
    outcome: Outcome
    timestamp: float
    voter_id: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    style_a: _containers.ScalarMap[str, float]
    style_b: _containers.ScalarMap[str, float]
    weight: float
    prompt_id: str
    def __init__(self, vote_id: _Optional[str] = ..., model_a: _Optional[str] = ..., model_b: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., timestamp: _Optional[float] = ..., voter_id: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., style_a: _Optional[_Mapping[str, float]] = ..., style_b: _Optional[_Mapping[str, float]] = ..., weight: _Optional[float] = ..., prompt_id: _Optional[str] = ...) -> None: ...

class VoteColumns(_message.Message):
    __slots__ = ("names", "model_a", "model_b", "outcome", "timestamp", "vote_id", "voter_id", "tag_count", "tags", "anony", "language", "style_features", "style_a", "style_b", "weight", "prompt_id")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    MODEL_A_FIELD_NUMBER: _ClassVar[int]
    MODEL_B_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    VOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VOTER_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_COUNT_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ANONY_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    STYLE_FEATURES_FIELD_NUMBER: _ClassVar[int]
    STYLE_A_FIELD_NUMBER: _ClassVar[int]
    STYLE_B_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_ID_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    model_a: _containers.RepeatedScalarFieldContainer[int]
    model_b: _containers.RepeatedScalarFieldContainer[int]
    outcome: _containers.RepeatedScalarFieldContainer[Outcome]
    timestamp: _containers.RepeatedScalarFieldContainer[float]
    vote_id: _containers.RepeatedScalarFieldContainer[str]
    voter_id: _containers.RepeatedScalarFieldContainer[str]
    tag_count: _containers.RepeatedScalarFieldContainer[int]
    tags: _containers.RepeatedScalarFieldContainer[str]
    anony: _containers.RepeatedScalarFieldContainer[bool]
    language: _containers.RepeatedScalarFieldContainer[str]
    style_features: _containers.RepeatedScalarFieldContainer[str]
    style_a: _containers.RepeatedScalarFieldContainer[float]
    style_b: _containers.RepeatedScalarFieldContainer[float]
    weight: _containers.RepeatedScalarFieldContainer[float]
    prompt_id: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ..., model_a: _Optional[_Iterable[int]] = ..., model_b: _Optional[_Iterable[int]] = ..., outcome: _Optional[_Iterable[_Union[Outcome, str]]] = ..., timestamp: _Optional[_Iterable[float]] = ..., vote_id: _Optional[_Iterable[str]] = ..., voter_id: _Optional[_Iterable[str]] = ..., tag_count: _Optional[_Iterable[int]] = ..., tags: _Optional[_Iterable[str]] = ..., anony: _Optional[_Iterable[bool]] = ..., language: _Optional[_Iterable[str]] = ..., style_features: _Optional[_Iterable[str]] = ..., style_a: _Optional[_Iterable[float]] = ..., style_b: _Optional[_Iterable[float]] = ..., weight: _Optional[_Iterable[float]] = ..., prompt_id: _Optional[_Iterable[str]] = ...) -> None: ...

class VoteBatch(_message.Message):
    __slots__ = ("board", "votes", "columns", "batch_id")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    board: str
    votes: _containers.RepeatedCompositeFieldContainer[Vote]
    columns: VoteColumns
    batch_id: int
    def __init__(self, board: _Optional[str] = ..., votes: _Optional[_Iterable[_Union[Vote, _Mapping]]] = ..., columns: _Optional[_Union[VoteColumns, _Mapping]] = ..., batch_id: _Optional[int] = ...) -> None: ...

class VoteAck(_message.Message):
    __slots__ = ("batch_id", "accepted", "duplicates", "first_seq", "last_seq", "duplicate_index", "board_created")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_INDEX_FIELD_NUMBER: _ClassVar[int]
    BOARD_CREATED_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    accepted: int
    duplicates: int
    first_seq: int
    last_seq: int
    duplicate_index: _containers.RepeatedScalarFieldContainer[int]
    board_created: bool
    def __init__(self, batch_id: _Optional[int] = ..., accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., first_seq: _Optional[int] = ..., last_seq: _Optional[int] = ..., duplicate_index: _Optional[_Iterable[int]] = ..., board_created: _Optional[bool] = ...) -> None: ...

class LeaderboardRequest(_message.Message):
    __slots__ = ("board", "method", "min_seq", "ci", "rounds", "anchor", "category", "filters", "compare_to", "as_of", "gap_ranks", "style_control", "limit", "offset", "ties", "cluster")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQ_FIELD_NUMBER: _ClassVar[int]
    CI_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    COMPARE_TO_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    GAP_RANKS_FIELD_NUMBER: _ClassVar[int]
    STYLE_CONTROL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    TIES_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    board: str
    method: Method
    min_seq: int
    ci: CIMethod
    rounds: int
    anchor: Anchor
    category: str
    filters: RowFilters
    compare_to: SnapshotRef
    as_of: SnapshotRef
    gap_ranks: _containers.RepeatedScalarFieldContainer[int]
    style_control: bool
    limit: int
    offset: int
    ties: BTTies
    cluster: Cluster
    def __init__(self, board: _Optional[str] = ..., method: _Optional[_Union[Method, str]] = ..., min_seq: _Optional[int] = ..., ci: _Optional[_Union[CIMethod, str]] = ..., rounds: _Optional[int] = ..., anchor: _Optional[_Union[Anchor, _Mapping]] = ..., category: _Optional[str] = ..., filters: _Optional[_Union[RowFilters, _Mapping]] = ..., compare_to: _Optional[_Union[SnapshotRef, _Mapping]] = ..., as_of: _Optional[_Union[SnapshotRef, _Mapping]] = ..., gap_ranks: _Optional[_Iterable[int]] = ..., style_control: _Optional[bool] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., ties: _Optional[_Union[BTTies, str]] = ..., cluster: _Optional[_Union[Cluster, str]] = ...) -> None: ...

class RowFilters(_message.Message):
    __slots__ = ("statuses", "open_weights_only", "licenses", "organizations", "min_votes", "include_unlisted")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    OPEN_WEIGHTS_ONLY_FIELD_NUMBER: _ClassVar[int]
    LICENSES_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    MIN_VOTES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_UNLISTED_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[CompetitorStatus]
    open_weights_only: bool
    licenses: _containers.RepeatedScalarFieldContainer[str]
    organizations: _containers.RepeatedScalarFieldContainer[str]
    min_votes: int
    include_unlisted: bool
    def __init__(self, statuses: _Optional[_Iterable[_Union[CompetitorStatus, str]]] = ..., open_weights_only: _Optional[bool] = ..., licenses: _Optional[_Iterable[str]] = ..., organizations: _Optional[_Iterable[str]] = ..., min_votes: _Optional[int] = ..., include_unlisted: _Optional[bool] = ...) -> None: ...

class SnapshotRef(_message.Message):
    __slots__ = ("name", "time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    time: float
    def __init__(self, name: _Optional[str] = ..., time: _Optional[float] = ...) -> None: ...

class LeaderboardRow(_message.Message):
    __slots__ = ("rank", "rank_ub", "model", "rating", "rating_lower", "rating_upper", "votes", "wins", "losses", "ties", "ties_both_bad", "component", "preliminary", "competitor", "rank_delta", "rating_delta", "style_rank_delta", "regularized")
    RANK_FIELD_NUMBER: _ClassVar[int]
    RANK_UB_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    RATING_LOWER_FIELD_NUMBER: _ClassVar[int]
    RATING_UPPER_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    WINS_FIELD_NUMBER: _ClassVar[int]
    LOSSES_FIELD_NUMBER: _ClassVar[int]
    TIES_FIELD_NUMBER: _ClassVar[int]
    TIES_BOTH_BAD_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    PRELIMINARY_FIELD_NUMBER: _ClassVar[int]
    COMPETITOR_FIELD_NUMBER: _ClassVar[int]
    RANK_DELTA_FIELD_NUMBER: _ClassVar[int]
    RATING_DELTA_FIELD_NUMBER: _ClassVar[int]
    STYLE_RANK_DELTA_FIELD_NUMBER: _ClassVar[int]
    REGULARIZED_FIELD_NUMBER: _ClassVar[int]
    rank: int
    rank_ub: int
    model: str
    rating: float
    rating_lower: float
    rating_upper: float
    votes: int
    wins: int
    losses: int
    ties: int
    ties_both_bad: int
    component: int
    preliminary: bool
    competitor: Competitor
    rank_delta: int
    rating_delta: float
    style_rank_delta: int
    regularized: bool
    def __init__(self, rank: _Optional[int] = ..., rank_ub: _Optional[int] = ..., model: _Optional[str] = ..., rating: _Optional[float] = ..., rating_lower: _Optional[float] = ..., rating_upper: _Optional[float] = ..., votes: _Optional[int] = ..., wins: _Optional[int] = ..., losses: _Optional[int] = ..., ties: _Optional[int] = ..., ties_both_bad: _Optional[int] = ..., component: _Optional[int] = ..., preliminary: _Optional[bool] = ..., competitor: _Optional[_Union[Competitor, _Mapping]] = ..., rank_delta: _Optional[int] = ..., rating_delta: _Optional[float] = ..., style_rank_delta: _Optional[int] = ..., regularized: _Optional[bool] = ...) -> None: ...

class StyleCoefficient(_message.Message):
    __slots__ = ("name", "value", "lower", "upper")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    lower: float
    upper: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., lower: _Optional[float] = ..., upper: _Optional[float] = ...) -> None: ...

class RatingGap(_message.Message):
    __slots__ = ("rank", "gap")
    RANK_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    rank: int
    gap: float
    def __init__(self, rank: _Optional[int] = ..., gap: _Optional[float] = ...) -> None: ...

class LeaderboardSummary(_message.Message):
    __slots__ = ("models_listed", "models_hidden", "preliminary", "total_votes", "gaps", "tied_with_leader")
    MODELS_LISTED_FIELD_NUMBER: _ClassVar[int]
    MODELS_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    PRELIMINARY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VOTES_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    TIED_WITH_LEADER_FIELD_NUMBER: _ClassVar[int]
    models_listed: int
    models_hidden: int
    preliminary: int
    total_votes: int
    gaps: _containers.RepeatedCompositeFieldContainer[RatingGap]
    tied_with_leader: int
    def __init__(self, models_listed: _Optional[int] = ..., models_hidden: _Optional[int] = ..., preliminary: _Optional[int] = ..., total_votes: _Optional[int] = ..., gaps: _Optional[_Iterable[_Union[RatingGap, _Mapping]]] = ..., tied_with_leader: _Optional[int] = ...) -> None: ...

class Leaderboard(_message.Message):
    __slots__ = ("board", "method", "as_of_seq", "total_votes", "rows", "bootstrap_rounds", "ci", "anchor", "log_likelihood", "category", "summary", "compared_to", "as_of", "style_control", "style_coefficients", "style_votes", "total_rows", "scale", "base", "as_of_time", "tie_model", "tie_parameter", "tie_parameter_lower", "tie_parameter_upper", "aic", "compared_view_empty", "cluster")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQ_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VOTES_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    CI_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    LOG_LIKELIHOOD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    COMPARED_TO_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    STYLE_CONTROL_FIELD_NUMBER: _ClassVar[int]
    STYLE_COEFFICIENTS_FIELD_NUMBER: _ClassVar[int]
    STYLE_VOTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    TIE_MODEL_FIELD_NUMBER: _ClassVar[int]
    TIE_PARAMETER_FIELD_NUMBER: _ClassVar[int]
    TIE_PARAMETER_LOWER_FIELD_NUMBER: _ClassVar[int]
    TIE_PARAMETER_UPPER_FIELD_NUMBER: _ClassVar[int]
    AIC_FIELD_NUMBER: _ClassVar[int]
    COMPARED_VIEW_EMPTY_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    board: str
    method: Method
    as_of_seq: int
    total_votes: int
    rows: _containers.RepeatedCompositeFieldContainer[LeaderboardRow]
    bootstrap_rounds: int
    ci: CIMethod
    anchor: Anchor
    log_likelihood: float
    category: str
    summary: LeaderboardSummary
    compared_to: Snapshot
    as_of: Snapshot
    style_control: bool
    style_coefficients: _containers.RepeatedCompositeFieldContainer[StyleCoefficient]
    style_votes: int
    total_rows: int
    scale: float
    base: float
    as_of_time: float
    tie_model: str
    tie_parameter: float
    tie_parameter_lower: float
    tie_parameter_upper: float
    aic: float
    compared_view_empty: bool
    cluster: Cluster
    def __init__(self, board: _Optional[str] = ..., method: _Optional[_Union[Method, str]] = ..., as_of_seq: _Optional[int] = ..., total_votes: _Optional[int] = ..., rows: _Optional[_Iterable[_Union[LeaderboardRow, _Mapping]]] = ..., bootstrap_rounds: _Optional[int] = ..., ci: _Optional[_Union[CIMethod, str]] = ..., anchor: _Optional[_Union[Anchor, _Mapping]] = ..., log_likelihood: _Optional[float] = ..., category: _Optional[str] = ..., summary: _Optional[_Union[LeaderboardSummary, _Mapping]] = ..., compared_to: _Optional[_Union[Snapshot, _Mapping]] = ..., as_of: _Optional[_Union[Snapshot, _Mapping]] = ..., style_control: _Optional[bool] = ..., style_coefficients: _Optional[_Iterable[_Union[StyleCoefficient, _Mapping]]] = ..., style_votes: _Optional[int] = ..., total_rows: _Optional[int] = ..., scale: _Optional[float] = ..., base: _Optional[float] = ..., as_of_time: _Optional[float] = ..., tie_model: _Optional[str] = ..., tie_parameter: _Optional[float] = ..., tie_parameter_lower: _Optional[float] = ..., tie_parameter_upper: _Optional[float] = ..., aic: _Optional[float] = ..., compared_view_empty: _Optional[bool] = ..., cluster: _Optional[_Union[Cluster, str]] = ...) -> None: ...

class ReplayFilters(_message.Message):
    __slots__ = ("anony_only", "exclude_models", "languages", "since", "until", "drop_ties", "tags", "dedupe", "daily_cap", "exclude_voters")
    ANONY_ONLY_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_MODELS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    DROP_TIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    DEDUPE_FIELD_NUMBER: _ClassVar[int]
    DAILY_CAP_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_VOTERS_FIELD_NUMBER: _ClassVar[int]
    anony_only: bool
    exclude_models: _containers.RepeatedScalarFieldContainer[str]
    languages: _containers.RepeatedScalarFieldContainer[str]
    since: float
    until: float
    drop_ties: bool
    tags: _containers.RepeatedScalarFieldContainer[str]
    dedupe: bool
    daily_cap: int
    exclude_voters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, anony_only: _Optional[bool] = ..., exclude_models: _Optional[_Iterable[str]] = ..., languages: _Optional[_Iterable[str]] = ..., since: _Optional[float] = ..., until: _Optional[float] = ..., drop_ties: _Optional[bool] = ..., tags: _Optional[_Iterable[str]] = ..., dedupe: _Optional[bool] = ..., daily_cap: _Optional[int] = ..., exclude_voters: _Optional[_Iterable[str]] = ...) -> None: ...

class ReplayChunk(_message.Message):
    __slots__ = ("board", "filters", "columns", "commit")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    board: str
    filters: ReplayFilters
    columns: VoteColumns
    commit: bool
    def __init__(self, board: _Optional[str] = ..., filters: _Optional[_Union[ReplayFilters, _Mapping]] = ..., columns: _Optional[_Union[VoteColumns, _Mapping]] = ..., commit: _Optional[bool] = ...) -> None: ...

class ReplaySummary(_message.Message):
    __slots__ = ("board", "received", "applied", "removed", "first_seq", "last_seq", "as_of_seq")
    class RemovedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    BOARD_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQ_FIELD_NUMBER: _ClassVar[int]
    board: str
    received: int
    applied: int
    removed: _containers.ScalarMap[str, int]
    first_seq: int
    last_seq: int
    as_of_seq: int
    def __init__(self, board: _Optional[str] = ..., received: _Optional[int] = ..., applied: _Optional[int] = ..., removed: _Optional[_Mapping[str, int]] = ..., first_seq: _Optional[int] = ..., last_seq: _Optional[int] = ..., as_of_seq: _Optional[int] = ...) -> None: ...

class HeadToHeadRequest(_message.Message):
    __slots__ = ("board", "model_a", "model_b", "min_seq")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    MODEL_A_FIELD_NUMBER: _ClassVar[int]
    MODEL_B_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQ_FIELD_NUMBER: _ClassVar[int]
    board: str
    model_a: str
    model_b: str
    min_seq: int
    def __init__(self, board: _Optional[str] = ..., model_a: _Optional[str] = ..., model_b: _Optional[str] = ..., min_seq: _Optional[int] = ...) -> None: ...

class HeadToHead(_message.Message):
    __slots__ = ("board", "model_a", "model_b", "votes", "wins_a", "wins_b", "ties", "ties_both_bad", "empirical_win_rate", "predicted_win_probability", "as_of_seq")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    MODEL_A_FIELD_NUMBER: _ClassVar[int]
    MODEL_B_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    WINS_A_FIELD_NUMBER: _ClassVar[int]
    WINS_B_FIELD_NUMBER: _ClassVar[int]
    TIES_FIELD_NUMBER: _ClassVar[int]
    TIES_BOTH_BAD_FIELD_NUMBER: _ClassVar[int]
    EMPIRICAL_WIN_RATE_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_WIN_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQ_FIELD_NUMBER: _ClassVar[int]
    board: str
    model_a: str
    model_b: str
    votes: int
    wins_a: int
    wins_b: int
    ties: int
    ties_both_bad: int
    empirical_win_rate: float
    predicted_win_probability: float
    as_of_seq: int
    def __init__(self, board: _Optional[str] = ..., model_a: _Optional[str] = ..., model_b: _Optional[str] = ..., votes: _Optional[int] = ..., wins_a: _Optional[int] = ..., wins_b: _Optional[int] = ..., ties: _Optional[int] = ..., ties_both_bad: _Optional[int] = ..., empirical_win_rate: _Optional[float] = ..., predicted_win_probability: _Optional[float] = ..., as_of_seq: _Optional[int] = ...) -> None: ...

class Competitor(_message.Message):
    __slots__ = ("name", "display_name", "organization", "license", "open_weights", "status", "links")
    class LinksEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    OPEN_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    organization: str
    license: str
    open_weights: bool
    status: CompetitorStatus
    links: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., organization: _Optional[str] = ..., license: _Optional[str] = ..., open_weights: _Optional[bool] = ..., status: _Optional[_Union[CompetitorStatus, str]] = ..., links: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UpsertCompetitorsRequest(_message.Message):
    __slots__ = ("competitors",)
    COMPETITORS_FIELD_NUMBER: _ClassVar[int]
    competitors: _containers.RepeatedCompositeFieldContainer[Competitor]
    def __init__(self, competitors: _Optional[_Iterable[_Union[Competitor, _Mapping]]] = ...) -> None: ...

class UpsertCompetitorsResponse(_message.Message):
    __slots__ = ("created", "updated")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    created: int
    updated: int
    def __init__(self, created: _Optional[int] = ..., updated: _Optional[int] = ...) -> None: ...

class ListCompetitorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CompetitorList(_message.Message):
    __slots__ = ("competitors",)
    COMPETITORS_FIELD_NUMBER: _ClassVar[int]
    competitors: _containers.RepeatedCompositeFieldContainer[Competitor]
    def __init__(self, competitors: _Optional[_Iterable[_Union[Competitor, _Mapping]]] = ...) -> None: ...

class ListBoardsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CategoryInfo(_message.Message):
    __slots__ = ("name", "votes", "competitors", "style_votes", "clusters")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    COMPETITORS_FIELD_NUMBER: _ClassVar[int]
    STYLE_VOTES_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    votes: int
    competitors: int
    style_votes: int
    clusters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., votes: _Optional[int] = ..., competitors: _Optional[int] = ..., style_votes: _Optional[int] = ..., clusters: _Optional[_Iterable[str]] = ...) -> None: ...

class BoardInfo(_message.Message):
    __slots__ = ("name", "votes", "competitors", "last_seq", "categories", "snapshots", "preliminary_votes", "listed_min_votes", "memory", "failure", "display_name", "style_votes", "clusters", "weighted")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    COMPETITORS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    PRELIMINARY_VOTES_FIELD_NUMBER: _ClassVar[int]
    LISTED_MIN_VOTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STYLE_VOTES_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_FIELD_NUMBER: _ClassVar[int]
    name: str
    votes: int
    competitors: int
    last_seq: int
    categories: _containers.RepeatedCompositeFieldContainer[CategoryInfo]
    snapshots: int
    preliminary_votes: int
    listed_min_votes: int
    memory: Memory
    failure: str
    display_name: str
    style_votes: int
    clusters: _containers.RepeatedScalarFieldContainer[str]
    weighted: bool
    def __init__(self, name: _Optional[str] = ..., votes: _Optional[int] = ..., competitors: _Optional[int] = ..., last_seq: _Optional[int] = ..., categories: _Optional[_Iterable[_Union[CategoryInfo, _Mapping]]] = ..., snapshots: _Optional[int] = ..., preliminary_votes: _Optional[int] = ..., listed_min_votes: _Optional[int] = ..., memory: _Optional[_Union[Memory, _Mapping]] = ..., failure: _Optional[str] = ..., display_name: _Optional[str] = ..., style_votes: _Optional[int] = ..., clusters: _Optional[_Iterable[str]] = ..., weighted: _Optional[bool] = ...) -> None: ...

class Memory(_message.Message):
    __slots__ = ("replica_bytes", "cell_bytes", "style_bytes", "total_bytes")
    REPLICA_BYTES_FIELD_NUMBER: _ClassVar[int]
    CELL_BYTES_FIELD_NUMBER: _ClassVar[int]
    STYLE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    replica_bytes: int
    cell_bytes: int
    style_bytes: int
    total_bytes: int
    def __init__(self, replica_bytes: _Optional[int] = ..., cell_bytes: _Optional[int] = ..., style_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class BoardList(_message.Message):
    __slots__ = ("boards", "memory_budget_bytes", "memory_used_bytes")
    BOARDS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    boards: _containers.RepeatedCompositeFieldContainer[BoardInfo]
    memory_budget_bytes: int
    memory_used_bytes: int
    def __init__(self, boards: _Optional[_Iterable[_Union[BoardInfo, _Mapping]]] = ..., memory_budget_bytes: _Optional[int] = ..., memory_used_bytes: _Optional[int] = ...) -> None: ...

class CreateSnapshotRequest(_message.Message):
    __slots__ = ("board", "name")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    board: str
    name: str
    def __init__(self, board: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("board", "name", "seq", "created", "votes", "scheduled")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    board: str
    name: str
    seq: int
    created: float
    votes: int
    scheduled: bool
    def __init__(self, board: _Optional[str] = ..., name: _Optional[str] = ..., seq: _Optional[int] = ..., created: _Optional[float] = ..., votes: _Optional[int] = ..., scheduled: _Optional[bool] = ...) -> None: ...

class DeleteBoardRequest(_message.Message):
    __slots__ = ("board",)
    BOARD_FIELD_NUMBER: _ClassVar[int]
    board: str
    def __init__(self, board: _Optional[str] = ...) -> None: ...

class DeletedBoard(_message.Message):
    __slots__ = ("board", "votes", "snapshots")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    board: str
    votes: int
    snapshots: int
    def __init__(self, board: _Optional[str] = ..., votes: _Optional[int] = ..., snapshots: _Optional[int] = ...) -> None: ...

class ListSnapshotsRequest(_message.Message):
    __slots__ = ("board",)
    BOARD_FIELD_NUMBER: _ClassVar[int]
    board: str
    def __init__(self, board: _Optional[str] = ...) -> None: ...

class SnapshotList(_message.Message):
    __slots__ = ("snapshots",)
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[Snapshot]
    def __init__(self, snapshots: _Optional[_Iterable[_Union[Snapshot, _Mapping]]] = ...) -> None: ...

class HeadToHeadMatrixRequest(_message.Message):
    __slots__ = ("leaderboard", "top_k")
    LEADERBOARD_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    leaderboard: LeaderboardRequest
    top_k: int
    def __init__(self, leaderboard: _Optional[_Union[LeaderboardRequest, _Mapping]] = ..., top_k: _Optional[int] = ...) -> None: ...

class HeadToHeadMatrix(_message.Message):
    __slots__ = ("board", "category", "models", "battles", "empirical_win_rate", "predicted_win_probability", "as_of_seq")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    BATTLES_FIELD_NUMBER: _ClassVar[int]
    EMPIRICAL_WIN_RATE_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_WIN_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQ_FIELD_NUMBER: _ClassVar[int]
    board: str
    category: str
    models: _containers.RepeatedScalarFieldContainer[str]
    battles: _containers.RepeatedScalarFieldContainer[int]
    empirical_win_rate: _containers.RepeatedScalarFieldContainer[float]
    predicted_win_probability: _containers.RepeatedScalarFieldContainer[float]
    as_of_seq: int
    def __init__(self, board: _Optional[str] = ..., category: _Optional[str] = ..., models: _Optional[_Iterable[str]] = ..., battles: _Optional[_Iterable[int]] = ..., empirical_win_rate: _Optional[_Iterable[float]] = ..., predicted_win_probability: _Optional[_Iterable[float]] = ..., as_of_seq: _Optional[int] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("leaderboard", "top_k", "min_interval_seconds")
    LEADERBOARD_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    MIN_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    leaderboard: LeaderboardRequest
    top_k: int
    min_interval_seconds: float
    def __init__(self, leaderboard: _Optional[_Union[LeaderboardRequest, _Mapping]] = ..., top_k: _Optional[int] = ..., min_interval_seconds: _Optional[float] = ...) -> None: ...

class RankingBallot(_message.Message):
    __slots__ = ("board", "ballot_id", "ranking", "timestamp", "voter_id", "tags")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    BALLOT_ID_FIELD_NUMBER: _ClassVar[int]
    RANKING_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    VOTER_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    board: str
    ballot_id: str
    ranking: _containers.RepeatedCompositeFieldContainer[RankedCompetitor]
    timestamp: float
    voter_id: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, board: _Optional[str] = ..., ballot_id: _Optional[str] = ..., ranking: _Optional[_Iterable[_Union[RankedCompetitor, _Mapping]]] = ..., timestamp: _Optional[float] = ..., voter_id: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class RankedCompetitor(_message.Message):
    __slots__ = ("model", "place")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    model: str
    place: int
    def __init__(self, model: _Optional[str] = ..., place: _Optional[int] = ...) -> None: ...

class AuditRequest(_message.Message):
    __slots__ = ("board", "category", "min_seq", "alpha", "min_pair_votes", "max_cycles", "voter_alpha", "voter_beta")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQ_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    MIN_PAIR_VOTES_FIELD_NUMBER: _ClassVar[int]
    MAX_CYCLES_FIELD_NUMBER: _ClassVar[int]
    VOTER_ALPHA_FIELD_NUMBER: _ClassVar[int]
    VOTER_BETA_FIELD_NUMBER: _ClassVar[int]
    board: str
    category: str
    min_seq: int
    alpha: float
    min_pair_votes: int
    max_cycles: int
    voter_alpha: float
    voter_beta: float
    def __init__(self, board: _Optional[str] = ..., category: _Optional[str] = ..., min_seq: _Optional[int] = ..., alpha: _Optional[float] = ..., min_pair_votes: _Optional[int] = ..., max_cycles: _Optional[int] = ..., voter_alpha: _Optional[float] = ..., voter_beta: _Optional[float] = ...) -> None: ...

class PositionBias(_message.Message):
    __slots__ = ("decisive_votes", "wins_a", "ties", "win_rate_a", "lower", "upper", "flagged")
    DECISIVE_VOTES_FIELD_NUMBER: _ClassVar[int]
    WINS_A_FIELD_NUMBER: _ClassVar[int]
    TIES_FIELD_NUMBER: _ClassVar[int]
    WIN_RATE_A_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    decisive_votes: int
    wins_a: int
    ties: int
    win_rate_a: float
    lower: float
    upper: float
    flagged: bool
    def __init__(self, decisive_votes: _Optional[int] = ..., wins_a: _Optional[int] = ..., ties: _Optional[int] = ..., win_rate_a: _Optional[float] = ..., lower: _Optional[float] = ..., upper: _Optional[float] = ..., flagged: _Optional[bool] = ...) -> None: ...

class Cycle(_message.Message):
    __slots__ = ("models", "win_rates", "votes", "p_value")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    WIN_RATES_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    win_rates: _containers.RepeatedScalarFieldContainer[float]
    votes: _containers.RepeatedScalarFieldContainer[int]
    p_value: float
    def __init__(self, models: _Optional[_Iterable[str]] = ..., win_rates: _Optional[_Iterable[float]] = ..., votes: _Optional[_Iterable[int]] = ..., p_value: _Optional[float] = ...) -> None: ...

class Intransitivity(_message.Message):
    __slots__ = ("pairs_tested", "triads_tested", "edge_level", "cycles", "top")
    PAIRS_TESTED_FIELD_NUMBER: _ClassVar[int]
    TRIADS_TESTED_FIELD_NUMBER: _ClassVar[int]
    EDGE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    pairs_tested: int
    triads_tested: int
    edge_level: float
    cycles: int
    top: _containers.RepeatedCompositeFieldContainer[Cycle]
    def __init__(self, pairs_tested: _Optional[int] = ..., triads_tested: _Optional[int] = ..., edge_level: _Optional[float] = ..., cycles: _Optional[int] = ..., top: _Optional[_Iterable[_Union[Cycle, _Mapping]]] = ...) -> None: ...

class ModelTies(_message.Message):
    __slots__ = ("model", "votes", "ties", "ties_both_bad", "tie_rate", "both_bad_rate")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    TIES_FIELD_NUMBER: _ClassVar[int]
    TIES_BOTH_BAD_FIELD_NUMBER: _ClassVar[int]
    TIE_RATE_FIELD_NUMBER: _ClassVar[int]
    BOTH_BAD_RATE_FIELD_NUMBER: _ClassVar[int]
    model: str
    votes: int
    ties: int
    ties_both_bad: int
    tie_rate: float
    both_bad_rate: float
    def __init__(self, model: _Optional[str] = ..., votes: _Optional[int] = ..., ties: _Optional[int] = ..., ties_both_bad: _Optional[int] = ..., tie_rate: _Optional[float] = ..., both_bad_rate: _Optional[float] = ...) -> None: ...

class FlaggedVoter(_message.Message):
    __slots__ = ("voter_id", "statistic", "votes", "votes_tested")
    VOTER_ID_FIELD_NUMBER: _ClassVar[int]
    STATISTIC_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    VOTES_TESTED_FIELD_NUMBER: _ClassVar[int]
    voter_id: str
    statistic: float
    votes: int
    votes_tested: int
    def __init__(self, voter_id: _Optional[str] = ..., statistic: _Optional[float] = ..., votes: _Optional[int] = ..., votes_tested: _Optional[int] = ...) -> None: ...

class VoterAudit(_message.Message):
    __slots__ = ("voters", "votes_without_voter", "upper_threshold", "lower_threshold", "flagged", "cleared", "undecided", "flagged_voters")
    VOTERS_FIELD_NUMBER: _ClassVar[int]
    VOTES_WITHOUT_VOTER_FIELD_NUMBER: _ClassVar[int]
    UPPER_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    LOWER_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    CLEARED_FIELD_NUMBER: _ClassVar[int]
    UNDECIDED_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_VOTERS_FIELD_NUMBER: _ClassVar[int]
    voters: int
    votes_without_voter: int
    upper_threshold: float
    lower_threshold: float
    flagged: int
    cleared: int
    undecided: int
    flagged_voters: _containers.RepeatedCompositeFieldContainer[FlaggedVoter]
    def __init__(self, voters: _Optional[int] = ..., votes_without_voter: _Optional[int] = ..., upper_threshold: _Optional[float] = ..., lower_threshold: _Optional[float] = ..., flagged: _Optional[int] = ..., cleared: _Optional[int] = ..., undecided: _Optional[int] = ..., flagged_voters: _Optional[_Iterable[_Union[FlaggedVoter, _Mapping]]] = ...) -> None: ...

class Audit(_message.Message):
    __slots__ = ("board", "category", "as_of_seq", "votes", "alpha", "voter_alpha", "voter_beta", "min_pair_votes", "position_bias", "intransitivity", "ties", "voters")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQ_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    VOTER_ALPHA_FIELD_NUMBER: _ClassVar[int]
    VOTER_BETA_FIELD_NUMBER: _ClassVar[int]
    MIN_PAIR_VOTES_FIELD_NUMBER: _ClassVar[int]
    POSITION_BIAS_FIELD_NUMBER: _ClassVar[int]
    INTRANSITIVITY_FIELD_NUMBER: _ClassVar[int]
    TIES_FIELD_NUMBER: _ClassVar[int]
    VOTERS_FIELD_NUMBER: _ClassVar[int]
    board: str
    category: str
    as_of_seq: int
    votes: int
    alpha: float
    voter_alpha: float
    voter_beta: float
    min_pair_votes: int
    position_bias: PositionBias
    intransitivity: Intransitivity
    ties: _containers.RepeatedCompositeFieldContainer[ModelTies]
    voters: VoterAudit
    def __init__(self, board: _Optional[str] = ..., category: _Optional[str] = ..., as_of_seq: _Optional[int] = ..., votes: _Optional[int] = ..., alpha: _Optional[float] = ..., voter_alpha: _Optional[float] = ..., voter_beta: _Optional[float] = ..., min_pair_votes: _Optional[int] = ..., position_bias: _Optional[_Union[PositionBias, _Mapping]] = ..., intransitivity: _Optional[_Union[Intransitivity, _Mapping]] = ..., ties: _Optional[_Iterable[_Union[ModelTies, _Mapping]]] = ..., voters: _Optional[_Union[VoterAudit, _Mapping]] = ...) -> None: ...

class SuggestPairsRequest(_message.Message):
    __slots__ = ("board", "category", "n", "objective", "k", "model", "horizon")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    board: str
    category: str
    n: int
    objective: SuggestObjective
    k: int
    model: str
    horizon: int
    def __init__(self, board: _Optional[str] = ..., category: _Optional[str] = ..., n: _Optional[int] = ..., objective: _Optional[_Union[SuggestObjective, str]] = ..., k: _Optional[int] = ..., model: _Optional[str] = ..., horizon: _Optional[int] = ...) -> None: ...

class SuggestedPair(_message.Message):
    __slots__ = ("model_a", "model_b", "weight")
    MODEL_A_FIELD_NUMBER: _ClassVar[int]
    MODEL_B_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    model_a: str
    model_b: str
    weight: float
    def __init__(self, model_a: _Optional[str] = ..., model_b: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class SuggestPairsResponse(_message.Message):
    __slots__ = ("pairs", "board", "category", "objective", "as_of_seq")
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    BOARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQ_FIELD_NUMBER: _ClassVar[int]
    pairs: _containers.RepeatedCompositeFieldContainer[SuggestedPair]
    board: str
    category: str
    objective: SuggestObjective
    as_of_seq: int
    def __init__(self, pairs: _Optional[_Iterable[_Union[SuggestedPair, _Mapping]]] = ..., board: _Optional[str] = ..., category: _Optional[str] = ..., objective: _Optional[_Union[SuggestObjective, str]] = ..., as_of_seq: _Optional[int] = ...) -> None: ...
