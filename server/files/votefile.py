"""Vote files -> VoteBatch chunks.

Formats (by extension): Parquet, CSV, JSON Lines (``.jsonl``/``.ndjson``)
and FastChat's ``clean_battle`` JSON (``.json``: one JSON array of
objects). Columns: ``model_a``, ``model_b``, ``winner`` (``model_a``,
``model_b``, ``tie``, ``tie (bothbad)``, or ``both_bad``), and optional
``tstamp`` (Unix seconds), ``vote_id``, ``judge`` (the voter), ``anony``,
``language`` and ``tags`` (a list of strings or one comma-separated
string), ``weight`` (a number >= 0; null or absent: 1) and ``prompt_id``
(FastChat's ``question_id`` is read as it when the file has no
``prompt_id``; arena-human-preference files map ``id`` or
``evaluation_session_id`` with ``--col prompt_id=id``). Style features
(server.style): FastChat's ``conv_metadata`` (``sum_assistant_a_tokens``, ``header_count_a`` as h1..h6 counts,
``list_count_a`` as ordered/unordered, ``bold_count_a``, and the same for
b; a struct, or a JSON string in CSV), read as the features tokens,
headers, lists and bold (nested counts summed); or flat column pairs
``style_a_<name>``, ``style_b_<name>`` for any named feature.
``--col ours=theirs`` maps differently named columns; winner/loser
files (columns ``winner`` and ``loser`` holding names) are read with
``winner_loser=True``: side A is the winner.

Parquet, CSV and JSON Lines stream through polars in chunks, so files
larger than memory can be replayed; a JSON array is read whole. Only the
columns ``ReadOptions.fields`` asks for are read (and checked): the scans
push the projection down, and a JSON array is decoded with the schema of
those fields only. Names, labels, voters and languages are interned as
categorical ids in the scan, so per-row work is numpy on integer arrays.
Rows are votes in file order; row numbers in messages count data rows
from 1 across all chunks of a file.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from engine.outcomes import READ_LABELS
from server.domain import names
from server.domain.limits import DEFAULT_BOARD, Limits
from server.domain.names import BOARD_NAME
from server.domain.votes import MAX_WEIGHT, VoteBatch, valid_weights

OPTIONAL = ("tstamp", "vote_id", "judge", "anony", "language", "tags", "conv_metadata", "weight", "prompt_id")
# Read as prompt_id when the file has no prompt_id column and --col does not map one: FastChat's name.
PROMPT_ALIASES = ("question_id",)
STYLE_PREFIXES = ("style_a_", "style_b_")
# FastChat's conv_metadata fields (side a; b likewise) behind each style feature
CONV_METADATA = {
    "tokens": "sum_assistant_{}_tokens",
    "headers": "header_count_{}",
    "lists": "list_count_{}",
    "bold": "bold_count_{}",
}
DEFAULT_CHUNK = 1_000_000


class VoteFileError(ValueError):
    """A vote file that cannot be read; the message names the file, and the row where there is one."""


@dataclass(frozen=True)
class ReadOptions:
    columns: dict[str, str] = field(default_factory=dict)  # our column name -> the file's
    winner_loser: bool = False  # the file has `winner` and `loser` name columns
    on_bad_row: str = "error"  # or "skip": drop bad rows and count them
    chunk_size: int = DEFAULT_CHUNK
    vote_ids: bool = True  # derive ids for rows without one (needed to submit; not to replay offline)
    # The optional columns to read (names from OPTIONAL, and "style" for the style features); None:
    # every one the file has. A replay reads only what its query and filters use.
    fields: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.on_bad_row not in ("error", "skip"):
            raise ValueError(f"on_bad_row must be 'error' or 'skip', got {self.on_bad_row!r}")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        unknown = sorted((self.fields or frozenset()) - {*OPTIONAL, "style"})
        if unknown:
            raise ValueError(f"fields {unknown} are not optional columns ({', '.join((*OPTIONAL, 'style'))})")


@dataclass
class ReadReport:
    """What reading skipped, by reason (only with on_bad_row='skip')."""

    rows: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def iter_votes(
    paths: str | Path | Sequence[str | Path],
    board: str = DEFAULT_BOARD,
    options: ReadOptions | None = None,
    report: ReadReport | None = None,
) -> Iterator[VoteBatch]:
    """Chunks of votes from one or more files, in order. Bad rows raise VoteFileError (or are skipped)."""
    options = options or ReadOptions()
    report = report if report is not None else ReadReport()
    if not BOARD_NAME.fullmatch(board):
        raise VoteFileError(f"{board!r} is not a board name (letters, digits, '_', '.', '-')")
    for path in vote_paths(paths):
        yield from _batches(path, _frames(path, options), board, options, report)


def vote_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files ``paths`` name, in the order votes are applied: a directory (a dataset written as many
    files, e.g. Parquet parts) stands for its vote files, sorted by name, skipping hidden ones and
    markers such as ``_SUCCESS``."""
    files: list[Path] = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        path = Path(path)
        if not path.is_dir():
            files.append(path)
            continue
        parts = sorted(
            p for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in VOTE_SUFFIXES and not p.name.startswith((".", "_"))
        )  # fmt: skip
        if not parts:
            raise VoteFileError(f"{path}: a directory with no vote files ({', '.join(sorted(VOTE_SUFFIXES))})")
        files.extend(parts)
    return files


def iter_frame_votes(
    frame: pl.DataFrame,
    board: str = DEFAULT_BOARD,
    options: ReadOptions | None = None,
    report: ReadReport | None = None,
) -> Iterator[VoteBatch]:
    """Chunks of votes from a DataFrame with a vote file's columns (the notebook API's input), read
    and checked exactly as a file's rows are; messages name the source "DataFrame"."""
    options = options or ReadOptions()
    source = Path("DataFrame")
    frames = _projected(source, frame.lazy(), options)
    yield from _batches(source, frames, board, options, report if report is not None else ReadReport())


def _batches(
    path: Path, frames: Iterable[pl.DataFrame], board: str, options: ReadOptions, report: ReadReport
) -> Iterator[VoteBatch]:
    seen: Counter = Counter()  # occurrences of each row content, for derived vote ids
    first_row = 0
    for frame in frames:
        batch = _to_batch(path, frame, first_row, board, options, report, seen)
        first_row += frame.height
        report.rows += frame.height
        if len(batch):
            yield batch


def read_votes(
    paths: str | Path | Sequence[str | Path],
    board: str = DEFAULT_BOARD,
    options: ReadOptions | None = None,
    report: ReadReport | None = None,
) -> VoteBatch:
    """All votes of the files as one batch: every row is checked before anything is used."""
    chunks = list(iter_votes(paths, board, options, report))
    if not chunks:
        raise VoteFileError(f"{paths}: no votes")
    return concat(chunks)


def concat(chunks: list[VoteBatch]) -> VoteBatch:
    """One batch from several (names re-interned)."""
    if len(chunks) == 1:
        return chunks[0]
    names: dict[str, int] = {}
    model_a, model_b = [], []
    for chunk in chunks:
        index = np.array([names.setdefault(n, len(names)) for n in chunk.names], dtype=np.int64)
        model_a.append(index[chunk.model_a])
        model_b.append(index[chunk.model_b])

    style_names = chunks[0].style_names
    if any(c.style_names != style_names for c in chunks):
        raise VoteFileError("the files carry different style features; replay them separately")

    def joined(attr: str) -> list:
        return [x for c in chunks for x in getattr(c, attr)] if all(getattr(c, attr) for c in chunks) else []

    return VoteBatch(
        board=chunks[0].board,
        vote_id=joined("vote_id"),
        names=list(names),
        model_a=np.concatenate(model_a),
        model_b=np.concatenate(model_b),
        outcome=np.concatenate([c.outcome for c in chunks]),
        timestamp=np.concatenate([c.timestamp for c in chunks]),
        voter_id=joined("voter_id"),
        tag_count=np.concatenate([_tag_counts(c) for c in chunks]) if any(c.tags for c in chunks) else np.zeros(0, int),
        tags=[t for c in chunks for t in c.tags],
        anony=np.concatenate([c.anony for c in chunks]) if all(c.anony is not None for c in chunks) else None,
        language=joined("language"),
        style_names=style_names,
        style=np.concatenate([c.style for c in chunks]) if style_names else None,
        weight=None if all(c.weight is None for c in chunks) else np.concatenate([_weights(c) for c in chunks]),
        prompt_id=joined("prompt_id"),
    )


def _weights(chunk: VoteBatch) -> np.ndarray:
    return np.ones(len(chunk)) if chunk.weight is None else chunk.weight


def _tag_counts(chunk: VoteBatch) -> np.ndarray:
    return chunk.tag_count if chunk.tags else np.zeros(len(chunk), dtype=np.int64)


# ----------------------------------------------------------------- reading

JSON_INFER_ROWS = 100  # polars.read_json infers a JSON array's types from this many objects (its default)


VOTE_SUFFIXES = frozenset({".parquet", ".pq", ".csv", ".jsonl", ".ndjson", ".json"})


def _frames(path: Path, options: ReadOptions) -> Iterator[pl.DataFrame]:
    if not path.exists():
        raise VoteFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    scans = {
        ".parquet": pl.scan_parquet,
        ".pq": pl.scan_parquet,
        ".csv": lambda p: pl.scan_csv(p, infer_schema_length=10_000),
        ".jsonl": pl.scan_ndjson,
        ".ndjson": pl.scan_ndjson,
    }
    if suffix not in scans and suffix != ".json":
        raise VoteFileError(f"{path}: unknown file type {suffix!r} (use .parquet, .csv, .jsonl or .json)")
    try:
        lazy = _scan_json_array(path, options) if suffix == ".json" else scans[suffix](path)
    except pl.exceptions.PolarsError as exc:
        raise VoteFileError(f"{path}: cannot read: {exc}") from exc
    yield from _projected(path, lazy, options)


def _projected(path: Path, lazy: pl.LazyFrame, options: ReadOptions) -> Iterator[pl.DataFrame]:
    """The wanted columns of a scan (a file's, or a DataFrame's), in chunks, under our names."""
    try:
        schema = lazy.collect_schema()
        options = _with_aliases(options, schema.names())
        wanted = _wanted_columns(path, schema.names(), options)
        # Projection pushdown: Parquet reads only these columns' chunks, the CSV and NDJSON scans
        # skip the other fields' values (a 2 M-vote CSV: 0.6 s for 4 columns, 2.7 s for all 10).
        yield from lazy.select(_columns(path, schema, wanted, options)).collect_batches(chunk_size=options.chunk_size)
    except pl.exceptions.PolarsError as exc:
        raise VoteFileError(f"{path}: cannot read: {exc}") from exc


def _scan_json_array(path: Path, options: ReadOptions) -> pl.LazyFrame:
    """FastChat's clean_battle (one JSON array of objects), read whole, decoding only the wanted fields.

    ``read_json`` infers the types from the first objects; the same inference on those objects
    alone gives the file's columns, and the array is then read with the schema of the wanted
    ones, so the other fields' values are skipped (a 2 M-vote array with conv_metadata: 13 s for
    the four replay columns, 20-26 s for all). The types, and so the checks, are those of a full read,
    except that integer columns are read as floats.
    """
    head = _json_head(path, JSON_INFER_ROWS)
    if head is None:  # empty, or not an array of objects: the whole read says what is wrong
        return pl.read_json(path).lazy()
    schema = pl.read_json(head.encode()).schema
    wanted = _wanted_columns(path, schema.names(), _with_aliases(options, schema.names()))
    # Integers in the first objects would make a later 2.5 read as 2: the numbers we use are floats.
    return pl.read_json(path, schema={n: pl.Float64 if schema[n].is_integer() else schema[n] for n in wanted}).lazy()


def _json_head(path: Path, rows: int) -> str | None:
    """The first ``rows`` objects of a file holding a JSON array, as a JSON array text; None when the
    file does not start as an array of objects."""
    decoder = json.JSONDecoder()
    with path.open("rb") as file:
        data = b""
        while True:
            more = file.read(max(len(data), 1 << 16))
            data += more
            # a multi-byte character may be cut at the end of what was read: parsing stops before it
            objects, complete = _leading_objects(decoder, data.decode("utf-8", errors="ignore"), rows)
            if complete or not more:
                break
    if not objects:
        return None
    return "[" + ",".join(objects) + "]"


def _leading_objects(decoder: json.JSONDecoder, text: str, rows: int) -> tuple[list[str], bool]:
    """(texts of the leading objects of the JSON array ``text`` starts, whether no more text is needed)."""
    i = _skip_space(text, 0)
    if text[i : i + 1] != "[":
        return [], bool(text[i : i + 1])
    objects: list[str] = []
    i += 1
    while len(objects) < rows:
        i = _skip_space(text, i)
        if text[i : i + 1] == "]":
            return objects, True
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return objects, False  # cut short (or malformed: the whole read reports it)
        if not isinstance(value, dict):
            return [], True
        objects.append(text[i:end])
        i = _skip_space(text, end)
        if text[i : i + 1] == ",":
            i += 1
        elif text[i : i + 1] != "]":
            return objects, bool(text[i : i + 1])
    return objects, True


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _with_aliases(options: ReadOptions, present: list[str]) -> ReadOptions:
    """``options`` reading a file's alias of an optional column (PROMPT_ALIASES) where the file has no
    column of our name and --col maps none."""
    if "prompt_id" in options.columns or "prompt_id" in present:
        return options
    alias = next((name for name in PROMPT_ALIASES if name in present), None)
    return options if alias is None else replace(options, columns={**options.columns, "prompt_id": alias})


def _wanted_columns(path: Path, present: list[str], options: ReadOptions) -> list[str]:
    """The file's columns we read (mapped names), failing early on missing required ones.

    ``tstamp`` is read whenever the file has it (a replay's as_of_time comes from it), and so is
    ``weight`` (it changes every fit); the other
    optional columns only when ``options.fields`` names them, and ``vote_id`` (with ``judge``, which
    derived ids hash) when the caller needs vote ids.
    """
    required = ("winner", "loser") if options.winner_loser else ("model_a", "model_b", "winner")
    source = {ours: options.columns.get(ours, ours) for ours in (*required, *OPTIONAL)}
    missing = [f"{ours} (as {theirs!r})" if theirs != ours else ours for ours, theirs in source.items()
               if ours in required and theirs not in present]  # fmt: skip
    if missing:
        raise VoteFileError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(present)}")
    fields = options.fields
    if fields is not None:
        fields = fields | {"tstamp", "weight"}
        if options.vote_ids:
            fields |= {"vote_id"} if source["vote_id"] in present else {"judge"}
    style = [c for c in present if c.startswith(STYLE_PREFIXES)] if fields is None or "style" in fields else []
    wanted = [ours for ours in source if ours in required or fields is None or ours in fields or
              (ours == "conv_metadata" and "style" in fields)]  # fmt: skip
    return [source[ours] for ours in wanted if source[ours] in present] + style


# Competitor names are interned as the file is scanned, in polars' parallel engine: a chunk then
# holds small integer ids, and only its distinct names are strings (the per-chunk Enum of the
# distinct names this replaced cost as much again as reading the columns). Ids are global to the
# process (one entry per distinct name ever read), not to a file.
NAMES = pl.Categorical(pl.Categories("arena_ratings.votefile.competitors"))
LABELS = pl.Categorical(pl.Categories("arena_ratings.votefile.labels"))  # winner (its text stays, for messages)
TEXTS = pl.Categorical(pl.Categories("arena_ratings.votefile.texts"))  # judge, language, tags


def _columns(path: Path, schema: pl.Schema, wanted: list[str], options: ReadOptions) -> list[pl.Expr]:
    """The scan's columns under our names, the type of each required one checked once for the file:
    names, labels, voters and languages as categorical ids, a conv_metadata struct as style columns."""
    mapped = {theirs: name for name, theirs in options.columns.items()}

    def our_name(theirs: str) -> str:
        name = mapped.get(theirs, theirs)
        return {"winner": "model_a", "loser": "model_b"}.get(name, name) if options.winner_loser else name

    dtypes = {our_name(c): schema[c] for c in wanted}
    dtypes.setdefault("winner", pl.String())  # winner/loser files: side A won
    _check_types(path, dtypes)
    meta = schema.get(options.columns.get("conv_metadata", "conv_metadata"))
    columns = []
    for theirs in wanted:
        name = our_name(theirs)
        column = pl.col(theirs)
        if isinstance(meta, pl.Struct) and name == "conv_metadata":
            # FastChat's struct becomes the flat style columns in the scan, in polars' parallel engine
            # (per chunk, it took as long as reading the file)
            columns += _conv_metadata_columns(path, column, meta)
        elif not (isinstance(meta, pl.Struct) and name.startswith(STYLE_PREFIXES)):  # conv_metadata wins
            ids = {"model_a": NAMES, "model_b": NAMES, "winner": LABELS}.get(name)
            if name in ("judge", "language", "prompt_id"):
                column, ids = column.cast(pl.String), TEXTS
            elif name == "weight":
                column = column.cast(pl.Float64)
            columns.append((column if ids is None else column.cast(ids)).alias(name))
    if options.winner_loser:
        columns.append(pl.lit("model_a").cast(LABELS).alias("winner"))
    return columns


BAD_ROW_REASONS = (
    "model_a is empty",
    "model_b is empty",
    "model_a is not a valid name",
    "model_b is not a valid name",
    "model_b equals model_a",
    "winner is not a known label",
    "tstamp is not finite",
    f"weight is not a number from 0 to {MAX_WEIGHT:g}",
)


def _to_batch(path, frame, first_row, board, options, report, seen) -> VoteBatch:
    sides = _Sides.of(frame)
    outcome = _outcomes(frame["winner"])
    if "tstamp" in frame.columns:
        stamps = frame["tstamp"].cast(pl.Float64)
        timestamp = stamps.to_numpy().astype(np.float64, copy=True)  # nulls arrive as NaN: "not given"
        given = ~stamps.is_null().to_numpy() if stamps.null_count() else True
        bad_time = ~np.isfinite(timestamp) & given
    else:
        timestamp, bad_time = np.full(frame.height, np.nan), None
    weight, bad_weight = None, None
    if "weight" in frame.columns:
        weight = frame["weight"].cast(pl.Float64).fill_null(1.0).to_numpy().astype(np.float64, copy=True)
        bad_weight = ~valid_weights(weight)
    bad = _bad_rows(path, frame, first_row, options, sides, outcome, bad_time, bad_weight)
    if bad is not None:
        for reason, count in zip(BAD_ROW_REASONS, np.bincount(bad, minlength=len(BAD_ROW_REASONS) + 1)[1:]):
            if count:
                report.skipped[reason] += int(count)
        keep = bad == 0
        frame = frame.filter(pl.Series(keep))
        sides = sides.select(keep)
        outcome, timestamp = outcome[keep], timestamp[keep]
        weight = None if weight is None else weight[keep]
    voter = _texts(frame["judge"]) if "judge" in frame.columns else []
    # vote ids are distinct: interning would only add work
    vote_id = frame["vote_id"].cast(pl.String).fill_null("").to_list() if "vote_id" in frame.columns else []
    if not vote_id and options.vote_ids:
        # the ids hash the names as stored (NFC), as they did when the frame's names were rewritten
        named = pl.Series(sides.names, dtype=pl.String)
        vote_id = derived_vote_ids(frame.with_columns(model_a=named.gather(sides.model_a),
                                                      model_b=named.gather(sides.model_b)), seen)  # fmt: skip
    tag_count, tags = _tags(path, frame, first_row, bad)
    style_names, style = _style(path, frame, first_row)
    prompt = _texts(frame["prompt_id"]) if "prompt_id" in frame.columns else []
    return VoteBatch(
        board=board,
        vote_id=vote_id,
        names=sides.names,
        model_a=sides.model_a,
        model_b=sides.model_b,
        outcome=outcome,
        timestamp=timestamp,
        voter_id=voter if any(voter) else [],
        tag_count=tag_count,
        tags=tags,
        anony=frame["anony"].cast(pl.Boolean).fill_null(False).to_numpy() if "anony" in frame.columns else None,
        language=_texts(frame["language"]) if "language" in frame.columns else [],
        style_names=style_names,
        style=style,
        weight=weight,
        prompt_id=prompt if any(prompt) else [],
    )


def _lookup(column: pl.Series, values: Callable[[pl.Series], list], dtype: type) -> np.ndarray:
    """Per row of a Categorical column, its value in ``values(distinct texts)``, computed once per
    distinct text (null included) and gathered by the rows' ids."""
    distinct = column.unique()
    ids = distinct.to_physical()
    top = ids.max()  # None when there are only nulls
    table: np.ndarray = np.empty((top if isinstance(top, int) else 0) + 2, dtype=dtype)  # the last entry: null
    table[ids.fill_null(len(table) - 1).to_numpy()] = values(distinct.cast(pl.String))
    return table[column.to_physical().fill_null(len(table) - 1).to_numpy()]


def _outcomes(winner: pl.Series) -> NDArray[np.int64]:
    """Outcome codes, 0 for a label that is not in READ_LABELS."""
    return _lookup(winner, lambda labels: [READ_LABELS.get(label, 0) for label in labels.to_list()], np.int64)


@dataclass
class _Sides:
    """The competitors of a chunk (``NAMES`` ids), each distinct name as a string once.

    Each distinct string is normalised (NFC) and checked by the server's name rule once, not per
    row; forms with one NFC name share its index. Indices are -1 where the file has null.
    """

    names: list[str]  # distinct NFC names, in order of first appearance (model_a's, then model_b's)
    problem: list[str | None]  # the name rule's verdict on each name
    model_a: NDArray[np.int64]
    model_b: NDArray[np.int64]

    @classmethod
    def of(cls, frame: pl.DataFrame) -> _Sides:
        a, b = frame["model_a"], frame["model_b"]  # NAMES
        distinct = pl.concat([a, b]).drop_nulls().unique(maintain_order=True)
        ids = distinct.to_physical().to_numpy()
        index: dict[str, int] = {}
        canonical = [index.setdefault(names.normalized(name), len(index)) for name in distinct.cast(pl.String)]
        # to_name[id]: the name's index, by the process-wide id; the last entry (-1) is for null
        to_name = np.full(int(ids.max()) + 2 if len(ids) else 1, -1, dtype=np.int64)
        to_name[ids] = canonical
        null = len(to_name) - 1
        limit = Limits().max_name_length
        return cls(
            names=list(index),
            problem=[names.name_problem(name, limit) for name in index],
            model_a=to_name[a.to_physical().fill_null(null).to_numpy()],
            model_b=to_name[b.to_physical().fill_null(null).to_numpy()],
        )

    def select(self, keep: NDArray[np.bool_]) -> _Sides:
        """The rows where ``keep`` holds; names no kept row uses are dropped."""
        a, b = self.model_a[keep], self.model_b[keep]
        used = np.zeros(len(self.names), dtype=bool)
        used[a] = used[b] = True
        position = np.cumsum(used) - 1
        kept = np.flatnonzero(used).tolist()
        return _Sides([self.names[i] for i in kept], [self.problem[i] for i in kept], position[a], position[b])


def _check_types(path: Path, dtypes: dict[str, pl.DataType]) -> None:
    """A column of the wrong type is an error even when skipping bad rows: the file, not a row, is wrong."""
    for column in ("model_a", "model_b", "winner"):
        if dtypes[column] not in (pl.String, pl.Null):
            raise VoteFileError(f"{path}: column {column} must hold strings, it holds {dtypes[column]}")
    tstamp = dtypes.get("tstamp", pl.Null)
    if not (tstamp.is_numeric() or tstamp == pl.Null):
        raise VoteFileError(f"{path}: column tstamp must be numeric (Unix seconds), it holds {tstamp}")
    weight = dtypes.get("weight", pl.Null)
    if not (weight.is_numeric() or weight == pl.Null):
        raise VoteFileError(f"{path}: column weight must be numeric, it holds {weight}")


def _bad_rows(
    path, frame, first_row, options, sides: _Sides, outcome, bad_time, bad_weight=None
) -> NDArray[np.int64] | None:
    """Per row, 1 + the index in BAD_ROW_REASONS of why it is bad (0 when fine), or None when all
    rows are fine; raises on the first bad row unless skipping."""
    a, b = sides.model_a, sides.model_b
    # Per name (and, last, for null): empty, or refused by the rest of the name rule.
    empty = np.array([p is not None and p.startswith("must not be empty") for p in sides.problem] + [True])
    refused = np.array([p is not None for p in sides.problem] + [False]) & ~empty
    # (1 + index in BAD_ROW_REASONS, rows) of the checks that can fail: names are looked at per
    # row only when one is null or breaks the rule
    checks = [(5, a == b), (6, outcome == 0)]
    if len(a) and (min(a.min(), b.min()) < 0 or empty[:-1].any()):
        checks += [(1, empty[a]), (2, empty[b])]
    if refused.any():
        checks += [(3, refused[a]), (4, refused[b])]
    if bad_time is not None:
        checks.append((7, bad_time))
    if bad_weight is not None:
        checks.append((8, bad_weight))
    checks.sort(key=lambda check: check[0])
    if not np.logical_or.reduce([rows for _, rows in checks]).any():
        return None
    # the first failing check names the row
    reasons = np.select([rows for _, rows in checks], [code for code, _ in checks], 0).astype(np.int64)
    if options.on_bad_row == "skip":
        return reasons
    i = int(np.flatnonzero(reasons)[0])
    row = frame.row(i, named=True)
    text = BAD_ROW_REASONS[reasons[i] - 1]
    if text == "winner is not a known label":
        allowed = ", ".join(repr(label) for label in READ_LABELS)
        text = f"winner {row['winner']!r} is not one of {allowed}"
    elif text == "tstamp is not finite":
        text = f"tstamp {row['tstamp']} is not finite"
    elif text.startswith("weight"):
        text = f"weight {row['weight']} is not a number from 0 to {MAX_WEIGHT:g}"
    elif text.endswith("is not a valid name"):
        side = text.split()[0]
        text = f"{side} {sides.problem[(a if side == 'model_a' else b)[i]]}"
    elif text == "model_b equals model_a":
        text = f"model_b equals model_a ({row['model_a']!r})"
    raise VoteFileError(f"{path}: row {first_row + i + 1}: {text} (use --on-bad-row skip to drop such rows)")


def _texts(column: pl.Series) -> list[str]:
    """The column's values as str ("" for null), interned: one Python str per distinct value (ids
    from ``TEXTS``), shared by its rows. 8 bytes a row where ``to_list`` makes a str per row, and
    no slower: for a million votes, 15 ms against 64 ms in 30 languages, 77 against 80 ms from
    180 k voters."""
    if column.dtype != TEXTS:
        column = column.cast(pl.String).cast(TEXTS)
    return _lookup(column, lambda texts: texts.fill_null("").to_list(), object).tolist()


def _tags(path: Path, frame: pl.DataFrame, first_row: int, bad: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    """(tag_count per vote, all tags in order) from a list column or a comma-separated string."""
    if "tags" not in frame.columns:
        return np.zeros(0, dtype=np.int64), []
    column = frame["tags"]
    if column.dtype == pl.String:
        column = (
            column.str.split(",")
            .list.eval(pl.element().str.strip_chars())
            .list.eval(pl.element().filter(pl.element() != ""))
        )
    elif not isinstance(column.dtype, pl.List):
        raise VoteFileError(f"{path}: column tags must hold lists of strings or comma-separated strings")
    column = column.fill_null([])
    counts = column.list.len().to_numpy().astype(np.int64)
    flat = column.explode(empty_as_null=False).cast(pl.String)
    if flat.null_count():  # null elements are no tags (numpy here: list.drop_nulls took 1.3 s a million votes)
        owner = np.repeat(np.arange(len(counts)), counts)
        counts = np.bincount(owner[~flat.is_null().to_numpy()], minlength=len(counts)).astype(np.int64)
        flat = flat.drop_nulls()
    # The server's name rule (server.domain.names), decided once per distinct tag.
    fixed = {tag: names.normalized(tag) for tag in flat.unique(maintain_order=True).to_list()}
    for tag, nfc in fixed.items():
        problem = names.name_problem(nfc, Limits().max_name_length)
        if problem:
            position = int((flat == tag).arg_true()[0])
            row = int(np.searchsorted(np.cumsum(counts), position, side="right"))
            if bad is not None:  # the frame lost the skipped rows: count them back in
                row = int(np.flatnonzero(bad == 0)[row])
            raise VoteFileError(f"{path}: row {first_row + row + 1}: tag {tag!r} {problem}")
    changed = {tag: nfc for tag, nfc in fixed.items() if nfc != tag}
    if changed:
        flat = flat.replace(changed)
    return counts, _texts(flat)


def _style(path: Path, frame: pl.DataFrame, first_row: int) -> tuple[list[str], np.ndarray | None]:
    """(feature names, float64[N, 2F] of side A's values then side B's), or ([], None)."""
    if "conv_metadata" in frame.columns:  # a JSON string (CSV): a struct was flattened in the scan
        meta = frame["conv_metadata"]
        if meta.dtype == pl.String:
            meta = meta.str.json_decode()
        if not isinstance(meta.dtype, pl.Struct):
            raise VoteFileError(f"{path}: column conv_metadata must hold objects (FastChat's layout)")
        frame = meta.to_frame().select(_conv_metadata_columns(path, pl.col(meta.name), meta.dtype))
    names = [c.removeprefix("style_a_") for c in frame.columns if c.startswith("style_a_")]
    unpaired = sorted({c[8:] for c in frame.columns if c.startswith(STYLE_PREFIXES)} - set(names))
    unpaired += [n for n in names if f"style_b_{n}" not in frame.columns]
    if unpaired:
        missing = ", ".join(unpaired)
        raise VoteFileError(f"{path}: style feature(s) {missing} need both style_a_ and style_b_ columns")
    if not names:
        return [], None
    columns = [frame[f"style_{side}_{n}"] for side in ("a", "b") for n in names]
    values = np.empty((frame.height, len(columns)))
    try:
        for j, column in enumerate(columns):
            values[:, j] = column.cast(pl.Float64).fill_null(np.nan).to_numpy()
    except pl.exceptions.PolarsError as exc:
        raise VoteFileError(f"{path}: style features must be numbers: {exc}") from exc
    bad = ~((values >= 0) & (values < np.inf))  # NaN fails both
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        f = len(names)
        side, name = ("a" if j < f else "b"), names[j % f]
        raise VoteFileError(f"{path}: row {first_row + i + 1}: style feature {name} of side {side} is "
                            f"{values[i, j]}, not a number >= 0")  # fmt: skip
    return names, values


def _conv_metadata_columns(path: Path, meta: pl.Expr, dtype: pl.Struct) -> list[pl.Expr]:
    """FastChat's conv_metadata as the flat columns ``style_a_<feature>``, ``style_b_<feature>``
    (nested counts summed, e.g. header_count_a: {h1: 2, h2: 0, ...} -> 2)."""
    fields = {f.name: f.dtype for f in dtype.fields}
    columns = []
    for side in ("a", "b"):
        for feature, key in CONV_METADATA.items():
            name = key.format(side)
            if name not in fields:
                raise VoteFileError(f"{path}: conv_metadata has no {name} (has {', '.join(fields)})")
            column = meta.struct.field(name)
            nested = fields[name]
            if isinstance(nested, pl.Struct):
                column = pl.sum_horizontal(column.struct.field(f.name) for f in nested.fields)
            columns.append(column.alias(f"style_{side}_{feature}"))
    return columns


def derived_vote_ids(frame: pl.DataFrame, seen: Counter) -> list[str]:
    """Vote ids for rows without one.

    A row's id hashes its content (models, winner, tstamp, judge) and how
    many identical rows came before it in the file. Submitting the same file
    twice adds nothing, and neither does re-submitting it after rows were
    appended. ``seen`` carries the occurrence counts across chunks.
    """
    n = frame.height
    columns = [frame[c].cast(pl.String).fill_null("").to_list() if c in frame.columns else [""] * n
               for c in ("model_a", "model_b", "winner", "tstamp", "judge")]  # fmt: skip
    ids = []
    for row in zip(*columns):
        content = "\x1f".join(row).encode()
        occurrence = seen[content]
        seen[content] = occurrence + 1
        ids.append("row-" + hashlib.blake2b(content + b"\x1e%d" % occurrence, digest_size=12).hexdigest())
    return ids
