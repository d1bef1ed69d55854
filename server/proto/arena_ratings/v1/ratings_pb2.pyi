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

class Anchor(_message.Message):
    __slots__ = ("model", "rating")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    model: str
    rating: float
    def __init__(self, model: _Optional[str] = ..., rating: _Optional[float] = ...) -> None: ...

class Vote(_message.Message):
    __slots__ = ("vote_id", "model_a", "model_b", "outcome", "timestamp", "voter_id", "tags")
    VOTE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_A_FIELD_NUMBER: _ClassVar[int]
    MODEL_B_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    VOTER_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    vote_id: str
    model_a: str
    model_b: str
    outcome: Outcome
    timestamp: float
    voter_id: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, vote_id: _Optional[str] = ..., model_a: _Optional[str] = ..., model_b: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., timestamp: _Optional[float] = ..., voter_id: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class VoteColumns(_message.Message):
    __slots__ = ("names", "model_a", "model_b", "outcome", "timestamp", "vote_id", "voter_id", "tag_count", "tags", "anony", "language")
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
    def __init__(self, names: _Optional[_Iterable[str]] = ..., model_a: _Optional[_Iterable[int]] = ..., model_b: _Optional[_Iterable[int]] = ..., outcome: _Optional[_Iterable[_Union[Outcome, str]]] = ..., timestamp: _Optional[_Iterable[float]] = ..., vote_id: _Optional[_Iterable[str]] = ..., voter_id: _Optional[_Iterable[str]] = ..., tag_count: _Optional[_Iterable[int]] = ..., tags: _Optional[_Iterable[str]] = ..., anony: _Optional[_Iterable[bool]] = ..., language: _Optional[_Iterable[str]] = ...) -> None: ...

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
    __slots__ = ("batch_id", "accepted", "duplicates", "first_seq", "last_seq", "duplicate_index")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_INDEX_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    accepted: int
    duplicates: int
    first_seq: int
    last_seq: int
    duplicate_index: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, batch_id: _Optional[int] = ..., accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., first_seq: _Optional[int] = ..., last_seq: _Optional[int] = ..., duplicate_index: _Optional[_Iterable[int]] = ...) -> None: ...

class LeaderboardRequest(_message.Message):
    __slots__ = ("board", "method", "min_seq", "ci", "rounds", "anchor")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQ_FIELD_NUMBER: _ClassVar[int]
    CI_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    board: str
    method: Method
    min_seq: int
    ci: CIMethod
    rounds: int
    anchor: Anchor
    def __init__(self, board: _Optional[str] = ..., method: _Optional[_Union[Method, str]] = ..., min_seq: _Optional[int] = ..., ci: _Optional[_Union[CIMethod, str]] = ..., rounds: _Optional[int] = ..., anchor: _Optional[_Union[Anchor, _Mapping]] = ...) -> None: ...

class LeaderboardRow(_message.Message):
    __slots__ = ("rank", "rank_ub", "model", "rating", "rating_lower", "rating_upper", "votes", "wins", "losses", "ties", "ties_both_bad", "component")
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
    def __init__(self, rank: _Optional[int] = ..., rank_ub: _Optional[int] = ..., model: _Optional[str] = ..., rating: _Optional[float] = ..., rating_lower: _Optional[float] = ..., rating_upper: _Optional[float] = ..., votes: _Optional[int] = ..., wins: _Optional[int] = ..., losses: _Optional[int] = ..., ties: _Optional[int] = ..., ties_both_bad: _Optional[int] = ..., component: _Optional[int] = ...) -> None: ...

class Leaderboard(_message.Message):
    __slots__ = ("board", "method", "as_of_seq", "total_votes", "rows", "bootstrap_rounds", "ci", "anchor", "log_likelihood")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQ_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VOTES_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    CI_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    LOG_LIKELIHOOD_FIELD_NUMBER: _ClassVar[int]
    board: str
    method: Method
    as_of_seq: int
    total_votes: int
    rows: _containers.RepeatedCompositeFieldContainer[LeaderboardRow]
    bootstrap_rounds: int
    ci: CIMethod
    anchor: Anchor
    log_likelihood: float
    def __init__(self, board: _Optional[str] = ..., method: _Optional[_Union[Method, str]] = ..., as_of_seq: _Optional[int] = ..., total_votes: _Optional[int] = ..., rows: _Optional[_Iterable[_Union[LeaderboardRow, _Mapping]]] = ..., bootstrap_rounds: _Optional[int] = ..., ci: _Optional[_Union[CIMethod, str]] = ..., anchor: _Optional[_Union[Anchor, _Mapping]] = ..., log_likelihood: _Optional[float] = ...) -> None: ...

class ReplayFilters(_message.Message):
    __slots__ = ("anony_only", "exclude_models", "languages", "since", "until", "drop_ties", "tags", "dedupe", "daily_cap")
    ANONY_ONLY_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_MODELS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    DROP_TIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    DEDUPE_FIELD_NUMBER: _ClassVar[int]
    DAILY_CAP_FIELD_NUMBER: _ClassVar[int]
    anony_only: bool
    exclude_models: _containers.RepeatedScalarFieldContainer[str]
    languages: _containers.RepeatedScalarFieldContainer[str]
    since: float
    until: float
    drop_ties: bool
    tags: _containers.RepeatedScalarFieldContainer[str]
    dedupe: bool
    daily_cap: int
    def __init__(self, anony_only: _Optional[bool] = ..., exclude_models: _Optional[_Iterable[str]] = ..., languages: _Optional[_Iterable[str]] = ..., since: _Optional[float] = ..., until: _Optional[float] = ..., drop_ties: _Optional[bool] = ..., tags: _Optional[_Iterable[str]] = ..., dedupe: _Optional[bool] = ..., daily_cap: _Optional[int] = ...) -> None: ...

class ReplayChunk(_message.Message):
    __slots__ = ("board", "filters", "columns")
    BOARD_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    board: str
    filters: ReplayFilters
    columns: VoteColumns
    def __init__(self, board: _Optional[str] = ..., filters: _Optional[_Union[ReplayFilters, _Mapping]] = ..., columns: _Optional[_Union[VoteColumns, _Mapping]] = ...) -> None: ...

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
