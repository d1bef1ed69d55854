"""Vote files (Parquet, CSV, JSON Lines) -> VoteBatch.

Columns: ``model_a``, ``model_b``, ``winner`` (``model_a``, ``model_b``,
``tie``, ``tie (bothbad)``), optional ``tstamp`` (Unix seconds),
``vote_id`` and ``judge`` (the voter). Rows are votes in file order, which
is the order the engine applies them in.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import polars as pl

from engine.outcomes import WINNER_LABELS
from server.errors import InvalidArgument
from server.limits import DEFAULT_BOARD, Limits
from server.votes import VoteBatch, validate

REQUIRED = ("model_a", "model_b", "winner")
_VOTE_FIELD = re.compile(r"votes\[(\d+)\]\.(\w+)")


class VoteFileError(ValueError):
    """A vote file that cannot be read; the message names the file and row."""


def _scan(path: Path) -> pl.LazyFrame:
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return pl.scan_parquet(path)
    if suffix == ".csv":
        return pl.scan_csv(path, infer_schema_length=10_000)
    if suffix in {".jsonl", ".ndjson"}:
        return pl.scan_ndjson(path)
    raise VoteFileError(f"{path}: unknown file type {suffix!r} (use .parquet, .csv or .jsonl)")


def read_votes(path: str | Path, board: str = DEFAULT_BOARD) -> VoteBatch:
    """Read a vote file; raise VoteFileError naming the file and 1-based data row on bad input."""
    path = Path(path)
    if not path.exists():
        raise VoteFileError(f"{path}: no such file")
    try:
        frame = _scan(path).collect()
    except pl.exceptions.PolarsError as exc:
        raise VoteFileError(f"{path}: cannot read: {exc}") from exc
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise VoteFileError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}")

    for column in ("model_a", "model_b", "winner"):
        values = frame[column]
        if values.dtype != pl.String:
            raise VoteFileError(f"{path}: column {column} must hold strings, it holds {values.dtype}")
        nulls = values.is_null()
        if nulls.any():
            raise VoteFileError(f"{path}: row {int(nulls.arg_true()[0]) + 1}: {column} is empty")
    winner = frame["winner"]
    codes = winner.replace_strict(
        {label: int(o) for label, o in WINNER_LABELS.items()}, default=0, return_dtype=pl.Int64
    ).to_numpy()
    bad = np.flatnonzero(codes == 0)
    if bad.size:
        i = int(bad[0])
        allowed = ", ".join(repr(label) for label in WINNER_LABELS)
        raise VoteFileError(f"{path}: row {i + 1}: winner {winner[i]!r} is not one of {allowed}")

    timestamp = np.full(frame.height, np.nan)
    if "tstamp" in frame.columns:
        try:
            given = frame["tstamp"].cast(pl.Float64, strict=True)
        except pl.exceptions.PolarsError as exc:
            raise VoteFileError(f"{path}: column tstamp must be numeric (Unix seconds): {exc}") from exc
        # A null tstamp is "not given" (NaN inside a VoteBatch); a NaN or inf one is an error.
        bad = np.flatnonzero(~np.isfinite(given.fill_null(0.0).to_numpy()))
        timestamp = given.fill_null(np.nan).to_numpy().copy()
        if bad.size:
            raise VoteFileError(f"{path}: row {int(bad[0]) + 1}: tstamp {given[int(bad[0])]} is not finite")

    names = pl.concat([frame["model_a"], frame["model_b"]]).unique(maintain_order=True)
    enum = pl.Enum(names)
    voter = frame["judge"].cast(pl.String).fill_null("").to_list() if "judge" in frame.columns else []
    if "vote_id" in frame.columns:
        vote_id = frame["vote_id"].cast(pl.String).to_list()
        if None in vote_id:
            raise VoteFileError(f"{path}: row {vote_id.index(None) + 1}: vote_id is empty")
    else:
        vote_id = derived_vote_ids(frame, voter)
    batch = VoteBatch(
        board=board,
        vote_id=vote_id,
        names=names.to_list(),
        model_a=frame["model_a"].cast(enum).to_physical().to_numpy().astype(np.int64),
        model_b=frame["model_b"].cast(enum).to_physical().to_numpy().astype(np.int64),
        outcome=codes,
        timestamp=timestamp,
        voter_id=voter if any(voter) else [],
    )
    try:
        validate(batch, Limits(max_batch_votes=max(1, len(batch))))  # a file is not one wire batch
    except InvalidArgument as exc:
        where = _VOTE_FIELD.match(exc.field)
        if where is None:
            raise VoteFileError(f"{path}: {exc}") from exc
        message = str(exc).split(": ", 1)[1]
        raise VoteFileError(f"{path}: row {int(where[1]) + 1}: {where[2]} {message}") from exc
    return batch


def derived_vote_ids(frame: pl.DataFrame, voter: list[str]) -> list[str]:
    """Vote ids for files without a vote_id column.

    A row's id hashes its content (models, winner, tstamp, judge) and how
    many identical rows came before it. Submitting the same file twice adds
    nothing, and neither does re-submitting it after rows were appended.
    """
    tstamp = frame["tstamp"].cast(pl.String).to_list() if "tstamp" in frame.columns else [""] * frame.height
    seen: dict[bytes, int] = {}
    ids = []
    rows = zip(
        frame["model_a"].to_list(),
        frame["model_b"].to_list(),
        frame["winner"].to_list(),
        tstamp,
        voter or [""] * frame.height,
    )
    for row in rows:
        content = "\x1f".join(str(x) for x in row).encode()
        occurrence = seen.get(content, 0)
        seen[content] = occurrence + 1
        ids.append("row-" + hashlib.blake2b(content + b"\x1e%d" % occurrence, digest_size=12).hexdigest())
    return ids
