"""Files for the admin commands: competitor metadata and multi-way ballots.

Competitor metadata (``arena-ratings competitors upsert FILE``): CSV, JSON
(a list of objects) or JSONL, one competitor per row, with the column
``name`` and any of ``display_name``, ``organization``, ``license``,
``open_weights`` (true/false, yes/no, 1/0), ``status`` (active, deprecated,
unavailable) and ``links`` (an object; in CSV a JSON object string). An
empty cell leaves that field unchanged.

Ballots (``arena-ratings submit-rankings FILE``): JSON or JSONL objects with
``ballot_id`` and ``ranking``, a list best first whose items are a name or
a list of names that tie; optional ``timestamp``, ``voter_id``, ``tags``.

Every error names the file and the row (1-based; CSV rows count the header
as row 1, as a spreadsheet shows them).

The competitor list (``arena-ratings competitors list``) is written in the
same columns: as CSV or JSON it reads back as an upsert file unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

from server.domain.ballots import RankingBallot
from server.domain.competitors import STATUSES, CompetitorInfo, CompetitorUpdate

_COMPETITOR_COLUMNS = ("name", "display_name", "organization", "license", "open_weights", "status", "links")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


class AdminFileError(ValueError):
    """A file the admin commands cannot use; the message names the file and row."""


def read_competitors(path: Path) -> list[CompetitorUpdate]:
    updates = []
    for row_number, record in _records(path):
        where = f"{path}: row {row_number}"
        unknown = sorted(set(record) - set(_COMPETITOR_COLUMNS))
        if unknown:
            raise AdminFileError(
                f"{where}: unknown column(s) {', '.join(unknown)} (known: {', '.join(_COMPETITOR_COLUMNS)})"
            )
        name = record.get("name")
        if not isinstance(name, str) or not name.strip():
            raise AdminFileError(f"{where}: name is missing")
        values = {key: _blank_to_none(record.get(key)) for key in ("display_name", "organization", "license", "status")}
        for key, value in values.items():
            if value is not None and not isinstance(value, str):
                raise AdminFileError(f"{where}: {key} must be text, got {value!r}")
        if values["status"] is not None and values["status"].lower() not in STATUSES:
            raise AdminFileError(f"{where}: status {values['status']!r} is not one of {', '.join(STATUSES)}")
        if values["status"] is not None:
            values["status"] = values["status"].lower()
        updates.append(
            CompetitorUpdate(
                name=name,
                **values,
                open_weights=_flag(record.get("open_weights"), where),
                links=_links(record.get("links"), where),
            )
        )
    if not updates:
        raise AdminFileError(f"{path}: no competitors in the file")
    return updates


def competitors_text(competitors: list[CompetitorInfo], fmt: str = "table") -> str:
    """Competitors and their metadata as a table, JSON (a list of objects) or CSV, in the upsert
    file's columns: ``open_weights`` true, false or not known (JSON null, an empty cell), ``links``
    an object (in CSV a JSON object string, empty when there are none)."""
    records = [{"name": c.name, **c.as_json()} for c in competitors]
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_COMPETITOR_COLUMNS)
        for record in records:
            flag = record["open_weights"]
            record["open_weights"] = "" if flag is None else str(flag).lower()
            record["links"] = json.dumps(record["links"], ensure_ascii=False) if record["links"] else ""
            writer.writerow([record[key] for key in _COMPETITOR_COLUMNS])
        return out.getvalue().rstrip("\n")
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r} (table, json, csv)")
    header = ["name", "display name", "organization", "license", "open weights", "status", "links"]
    lines = [
        [c.name, c.display_name, c.organization, c.license, {True: "yes", False: "no", None: ""}[c.open_weights],
         c.status, " ".join(f"{key}={url}" for key, url in sorted(c.links.items()))]
        for c in competitors
    ]  # fmt: skip
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in [header, *lines])


def read_ballots(path: Path, board: str) -> list[RankingBallot]:
    ballots = []
    for row_number, record in _records(path):
        where = f"{path}: row {row_number}"
        if path.suffix.lower() == ".csv":
            raise AdminFileError(f"{path}: ballots are JSON or JSONL (a ranking is a list)")
        ranking = record.get("ranking")
        if not isinstance(ranking, list) or not ranking:
            raise AdminFileError(f"{where}: ranking must be a list, best first (a list inside it is a tie)")
        entries = []
        for place, item in enumerate(ranking, start=1):
            names = item if isinstance(item, list) else [item]
            if not names or not all(isinstance(n, str) for n in names):
                raise AdminFileError(f"{where}: ranking item {place} must be a name or a list of names")
            entries += [(n, place) for n in names]
        timestamp = record.get("timestamp")
        if timestamp is not None and (not isinstance(timestamp, int | float) or not math.isfinite(timestamp)):
            raise AdminFileError(f"{where}: timestamp must be a finite number of Unix seconds")
        tags = record.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise AdminFileError(f"{where}: tags must be a list of strings")
        ballots.append(
            RankingBallot(
                board=board,
                ballot_id=str(record.get("ballot_id") or ""),
                ranking=entries,
                timestamp=math.nan if timestamp is None else float(timestamp),
                voter_id=str(record.get("voter_id") or ""),
                tags=tags,
            )
        )
    return ballots


def _records(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AdminFileError(f"{path}: cannot read: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix == ".csv":
        for number, row in enumerate(csv.DictReader(text.splitlines()), start=2):
            yield number, row
    elif suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield number, _object(line, f"{path}: row {number}")
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise AdminFileError(f"{path}: not JSON: {exc}") from exc
        if not isinstance(data, list):
            raise AdminFileError(f"{path}: expected a JSON list of objects")
        for number, item in enumerate(data, start=1):
            if not isinstance(item, dict):
                raise AdminFileError(f"{path}: row {number}: expected an object")
            yield number, item
    else:
        raise AdminFileError(f"{path}: unknown file type {suffix!r} (.csv, .json or .jsonl)")


def _object(line: str, where: str) -> dict:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise AdminFileError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise AdminFileError(f"{where}: expected an object")
    return value


def _blank_to_none(value):
    return None if value is None or value == "" else value


def _flag(value, where: str) -> bool | None:
    if value is None or value == "" or isinstance(value, bool):
        return None if value == "" else value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise AdminFileError(f"{where}: open_weights must be true or false, got {value!r}")


def _links(value, where: str) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise AdminFileError(f'{where}: links must be a JSON object, e.g. {{"website": "https://..."}}') from exc
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise AdminFileError(f"{where}: links must map names to URLs (strings)")
    return value
