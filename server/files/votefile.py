"""Vote files -> VoteBatch chunks.

Formats (by extension): Parquet, CSV, JSON Lines (``.jsonl``/``.ndjson``)
and FastChat's ``clean_battle`` JSON (``.json``: one JSON array of
objects). Columns: ``model_a``, ``model_b``, ``winner`` (``model_a``,
``model_b``, ``tie``, ``tie (bothbad)``, or ``both_bad``), and optional
``tstamp`` (Unix seconds), ``vote_id``, ``judge`` (the voter), ``anony``,
``language`` and ``tags`` (a list of strings or one comma-separated
string). Style features (server.style): FastChat's ``conv_metadata``
(``sum_assistant_a_tokens``, ``header_count_a`` as h1..h6 counts,
``list_count_a`` as ordered/unordered, ``bold_count_a``, and the same for
b; a struct, or a JSON string in CSV), read as the features tokens,
headers, lists and bold (nested counts summed); or flat column pairs
``style_a_<name>``, ``style_b_<name>`` for any named feature.
``--col ours=theirs`` maps differently named columns; winner/loser
files (columns ``winner`` and ``loser`` holding names) are read with
``winner_loser=True``: side A is the winner.

Parquet, CSV and JSON Lines stream through polars in chunks, so files
larger than memory can be replayed; a JSON array is read whole.
Rows are votes in file order; row numbers in messages count data rows
from 1 across all chunks of a file.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from engine.outcomes import READ_LABELS
from server.domain import names
from server.domain.limits import DEFAULT_BOARD, Limits
from server.domain.names import BOARD_NAME
from server.domain.votes import VoteBatch

OPTIONAL = ("tstamp", "vote_id", "judge", "anony", "language", "tags", "conv_metadata")
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
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        path = Path(path)
        yield from _batches(path, _frames(path, options), board, options, report)


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
    wanted = _wanted_columns(source, frame.columns, options)
    yield from _batches(source, frame.select(wanted).iter_slices(options.chunk_size), board, options,
                        report if report is not None else ReadReport())  # fmt: skip


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
    )


def _tag_counts(chunk: VoteBatch) -> np.ndarray:
    return chunk.tag_count if chunk.tags else np.zeros(len(chunk), dtype=np.int64)


# ----------------------------------------------------------------- reading


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
        # FastChat's clean_battle: one JSON array, which cannot be streamed
        ".json": lambda p: pl.read_json(p).lazy(),
    }
    if suffix not in scans:
        raise VoteFileError(f"{path}: unknown file type {suffix!r} (use .parquet, .csv, .jsonl or .json)")
    try:
        lazy = scans[suffix](path)
        wanted = _wanted_columns(path, lazy.collect_schema().names(), options)
        yield from lazy.select(wanted).collect_batches(chunk_size=options.chunk_size)
    except pl.exceptions.PolarsError as exc:
        raise VoteFileError(f"{path}: cannot read: {exc}") from exc


def _wanted_columns(path: Path, present: list[str], options: ReadOptions) -> list[str]:
    """The file's columns we read (mapped names), failing early on missing required ones."""
    required = ("winner", "loser") if options.winner_loser else ("model_a", "model_b", "winner")
    source = {ours: options.columns.get(ours, ours) for ours in (*required, *OPTIONAL)}
    missing = [f"{ours} (as {theirs!r})" if theirs != ours else ours for ours, theirs in source.items()
               if ours in required and theirs not in present]  # fmt: skip
    if missing:
        raise VoteFileError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(present)}")
    fields = options.fields
    style = [c for c in present if c.startswith(STYLE_PREFIXES)] if fields is None or "style" in fields else []
    wanted = [ours for ours in source if ours in required or fields is None or ours in fields or
              (ours == "conv_metadata" and "style" in fields)]  # fmt: skip
    return [source[ours] for ours in wanted if source[ours] in present] + style


def _to_batch(path, frame, first_row, board, options, report, seen) -> VoteBatch:
    frame = frame.rename({theirs: ours for ours, theirs in options.columns.items() if theirs in frame.columns})
    if options.winner_loser:
        frame = frame.rename({"winner": "model_a", "loser": "model_b"}).with_columns(winner=pl.lit("model_a"))
    frame = _nfc_names(frame)
    bad = _bad_rows(path, frame, first_row, options)
    if bad is not None:
        keep = ~bad.is_not_null()
        for reason, count in bad.drop_nulls().value_counts().iter_rows():
            report.skipped[reason] += count
        frame = frame.filter(keep)
    n = frame.height
    outcome = frame["winner"].replace_strict(READ_LABELS, return_dtype=pl.Int64).to_numpy()
    names = pl.concat([frame["model_a"], frame["model_b"]]).unique(maintain_order=True)
    enum = pl.Enum(names)
    voter = _strings(frame, "judge")
    vote_id = _strings(frame, "vote_id")
    if not vote_id and options.vote_ids:
        vote_id = derived_vote_ids(frame, seen)
    tag_count, tags = _tags(path, frame, first_row)
    style_names, style = _style(path, frame, first_row)
    return VoteBatch(
        board=board,
        vote_id=vote_id,
        names=names.to_list(),
        model_a=frame["model_a"].cast(enum).to_physical().to_numpy().astype(np.int64),
        model_b=frame["model_b"].cast(enum).to_physical().to_numpy().astype(np.int64),
        outcome=outcome,
        timestamp=(
            frame["tstamp"].cast(pl.Float64).fill_null(np.nan).to_numpy().copy()
            if "tstamp" in frame.columns
            else np.full(n, np.nan)
        ),
        voter_id=voter if any(voter) else [],
        tag_count=tag_count,
        tags=tags,
        anony=frame["anony"].cast(pl.Boolean).fill_null(False).to_numpy() if "anony" in frame.columns else None,
        language=_strings(frame, "language"),
        style_names=style_names,
        style=style,
    )


def _style(path: Path, frame: pl.DataFrame, first_row: int) -> tuple[list[str], np.ndarray | None]:
    """(feature names, float64[N, 2F] of side A's values then side B's), or ([], None)."""
    if "conv_metadata" in frame.columns:
        meta = frame["conv_metadata"]
        if meta.dtype == pl.String:
            meta = meta.str.json_decode()
        if not isinstance(meta.dtype, pl.Struct):
            raise VoteFileError(f"{path}: column conv_metadata must hold objects (FastChat's layout)")
        fields = [f.name for f in meta.dtype.fields]
        columns = []
        for side in ("a", "b"):
            for key in CONV_METADATA.values():
                name = key.format(side)
                if name not in fields:
                    raise VoteFileError(f"{path}: conv_metadata has no {name} (has {', '.join(fields)})")
                column = meta.struct.field(name)
                if isinstance(column.dtype, pl.Struct):  # e.g. header_count_a: {h1: 2, h2: 0, ...}
                    column = column.struct.unnest().select(pl.sum_horizontal(pl.all())).to_series()
                columns.append(column)
        names = list(CONV_METADATA)
    else:
        names = [c.removeprefix("style_a_") for c in frame.columns if c.startswith("style_a_")]
        unpaired = sorted({c[8:] for c in frame.columns if c.startswith(STYLE_PREFIXES)} - set(names))
        unpaired += [n for n in names if f"style_b_{n}" not in frame.columns]
        if unpaired:
            missing = ", ".join(unpaired)
            raise VoteFileError(f"{path}: style feature(s) {missing} need both style_a_ and style_b_ columns")
        if not names:
            return [], None
        columns = [frame[f"style_{side}_{n}"] for side in ("a", "b") for n in names]
    try:
        values = np.column_stack([c.cast(pl.Float64).fill_null(np.nan).to_numpy() for c in columns])
    except pl.exceptions.PolarsError as exc:
        raise VoteFileError(f"{path}: style features must be numbers: {exc}") from exc
    bad = np.argwhere(~np.isfinite(values) | (values < 0))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        f = len(names)
        side, name = ("a" if j < f else "b"), names[j % f]
        raise VoteFileError(f"{path}: row {first_row + i + 1}: style feature {name} of side {side} is "
                            f"{values[i, j]}, not a number >= 0")  # fmt: skip
    return names, values


def _nfc_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Competitor names in NFC form, as the server stores them (server.domain.names)."""
    changed = {}
    for column in ("model_a", "model_b"):
        if frame[column].dtype == pl.String:
            for name in frame[column].drop_nulls().unique().to_list():
                if names.normalized(name) != name:
                    changed[name] = names.normalized(name)
    if not changed:
        return frame
    return frame.with_columns(pl.col(c).replace(changed) for c in ("model_a", "model_b"))


def _bad_rows(path: Path, frame: pl.DataFrame, first_row: int, options: ReadOptions) -> pl.Series | None:
    """Per row, the reason it is bad (null when fine); raises on the first bad row unless skipping.

    A column of the wrong type is an error even when skipping: it is the
    file, not a row, that is wrong.
    """
    for column in ("model_a", "model_b", "winner"):
        if frame[column].dtype not in (pl.String, pl.Null):
            raise VoteFileError(f"{path}: column {column} must hold strings, it holds {frame[column].dtype}")
    if "tstamp" in frame.columns and not (frame["tstamp"].dtype.is_numeric() or frame["tstamp"].dtype == pl.Null):
        raise VoteFileError(f"{path}: column tstamp must be numeric (Unix seconds), it holds {frame['tstamp'].dtype}")
    a, b, winner = pl.col("model_a"), pl.col("model_b"), pl.col("winner")
    # The server's name rule (server.domain.names), decided once per distinct name, not per row.
    distinct = pl.concat([frame["model_a"], frame["model_b"]]).drop_nulls().unique().to_list()
    problems = {name: problem for name in distinct if (problem := names.name_problem(name, Limits().max_name_length))}
    empty = [name for name, problem in problems.items() if problem.startswith("must not be empty")]
    refused = [name for name in problems if name not in empty]
    checks = [
        (a.is_null() | a.is_in(empty), "model_a is empty"),
        (b.is_null() | b.is_in(empty), "model_b is empty"),
        (a.is_in(refused), "model_a is not a valid name"),
        (b.is_in(refused), "model_b is not a valid name"),
        (a == b, "model_b equals model_a"),
        (winner.is_null() | ~winner.is_in(list(READ_LABELS)), "winner is not a known label"),
    ]
    if "tstamp" in frame.columns:
        t = pl.col("tstamp").cast(pl.Float64)
        checks.append((t.is_nan() | t.is_infinite(), "tstamp is not finite"))
    reason = pl.lit(None, dtype=pl.String)
    for condition, text in reversed(checks):  # the first failing check names the row
        reason = pl.when(condition.fill_null(False)).then(pl.lit(text)).otherwise(reason)
    reasons = frame.select(reason.alias("reason"))["reason"]
    if reasons.null_count() == frame.height:
        return None
    if options.on_bad_row == "skip":
        return reasons
    i = int(reasons.is_not_null().arg_true()[0])
    row = frame.row(i, named=True)
    text = reasons[i]
    if text == "winner is not a known label":
        allowed = ", ".join(repr(label) for label in READ_LABELS)
        text = f"winner {row['winner']!r} is not one of {allowed}"
    elif text == "tstamp is not finite":
        text = f"tstamp {row['tstamp']} is not finite"
    elif text.endswith("is not a valid name"):
        side = text.split()[0]
        text = f"{side} {problems[row[side]]}"
    elif text == "model_b equals model_a":
        text = f"model_b equals model_a ({row['model_a']!r})"
    raise VoteFileError(f"{path}: row {first_row + i + 1}: {text} (use --on-bad-row skip to drop such rows)")


def _strings(frame: pl.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return []
    return frame[column].cast(pl.String).fill_null("").to_list()


def _tags(path: Path, frame: pl.DataFrame, first_row: int) -> tuple[np.ndarray, list[str]]:
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
    tags = column.explode().drop_nulls().cast(pl.String).to_list()
    # The server's name rule (server.domain.names), decided once per distinct tag.
    fixed = {tag: names.normalized(tag) for tag in set(tags)}
    for tag, nfc in fixed.items():
        problem = names.name_problem(nfc, Limits().max_name_length)
        if problem:
            row = int(np.searchsorted(np.cumsum(counts), tags.index(tag), side="right"))
            raise VoteFileError(f"{path}: row {first_row + row + 1}: tag {tag!r} {problem}")
    if any(nfc != tag for tag, nfc in fixed.items()):
        tags = [fixed[tag] for tag in tags]
    return counts, tags


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
