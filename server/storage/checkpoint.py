"""Engine checkpoints: every board's arrays at one log seq, in one file.

File layout: 32-byte SHA-256 of the payload, then the payload (an
uncompressed .npz). Written to a temporary file, fsynced, then renamed, so
a crash leaves either the old checkpoint or the new one, never half of one.
A checkpoint whose digest does not match, or that an engine with other state
(``engine.board.ENGINE_STATE_VERSION``) wrote, is skipped with a warning and
the state is rebuilt from the log, which is the source of truth.

Snapshots (server.storage.snapshots) use the same file format through
``write_states`` and ``read_states``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from engine.board import ENGINE_STATE_VERSION
from engine.text_arrays import decode_strings, encode_strings
from engine.views import SEPARATOR, BoardViews

log = logging.getLogger(__name__)

_PREFIX = "checkpoint-"
_KEEP = 2


class SavedStates(NamedTuple):
    """What a state file holds: views' arrays by name, as of one log seq."""

    seq: int
    boards: dict[str, dict[str, np.ndarray]]


class VersionedViews(NamedTuple):
    """A live board for ``flatten_views``: its version id and its views."""

    version: int
    views: BoardViews


class VersionedStates(NamedTuple):
    """A board from ``unflatten_views``: its version id and {category ("" for the board): arrays}."""

    version: int
    states: dict[str, dict[str, np.ndarray]]


def _path(directory: Path, seq: int) -> Path:
    return directory / f"{_PREFIX}{seq:020d}.npz"


def written_at(directory: Path, seq: int) -> float | None:
    """When the checkpoint at ``seq`` was written (its file's mtime, Unix seconds); None if it is gone."""
    try:
        return _path(directory, seq).stat().st_mtime
    except OSError:
        return None


def save(directory: Path, seq: int, boards: dict[str, dict[str, np.ndarray]]) -> Path:
    """Write the state of every board (name -> Board.state()) as of ``seq``; keep the newest two."""
    path = write_states(_path(directory, seq), seq, boards)
    for old in sorted(directory.glob(f"{_PREFIX}*.npz"))[:-_KEEP]:
        old.unlink()
    return path


def write_states(path: Path, seq: int, boards: dict[str, dict[str, np.ndarray]]) -> Path:
    """Write ``boards`` (name -> arrays) as of ``seq`` to ``path`` atomically and durably."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "seq": np.array([seq], dtype=np.int64),
        "boards": encode_strings(list(boards)),
        "engine_state": np.array([ENGINE_STATE_VERSION], dtype=np.int64),
    }
    for i, state in enumerate(boards.values()):
        arrays.update({f"{i}/{key}": value for key, value in state.items()})
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)  # numeric arrays only: load() reads without pickle
    payload = buffer.getvalue()
    tmp = path.with_suffix(".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(hashlib.sha256(payload).digest())
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        # On a full disk the half-written file would keep the space the next attempt needs.
        tmp.unlink(missing_ok=True)
    _fsync_dir(directory)
    return path


def load_latest(directory: Path) -> SavedStates | None:
    """The newest intact checkpoint, or None."""
    for path in sorted(directory.glob(f"{_PREFIX}*.npz"), reverse=True):
        try:
            return read_states(path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring checkpoint %s: %s; rebuilding from the log", path, exc)
    return None


def read_states(path: Path) -> SavedStates:
    """What ``write_states`` wrote to ``path``; ValueError when the checksum fails."""
    data = path.read_bytes()
    digest, payload = data[:32], data[32:]
    if len(digest) != 32 or hashlib.sha256(payload).digest() != digest:
        raise ValueError("checksum mismatch (truncated or corrupt)")
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        version = int(npz["engine_state"][0]) if "engine_state" in npz.files else 1
        if version != ENGINE_STATE_VERSION:
            raise ValueError(f"written by engine state version {version}, this is {ENGINE_STATE_VERSION}")
        names = decode_strings(npz["boards"])
        boards: dict[str, dict[str, np.ndarray]] = {name: {} for name in names}
        for key in npz.files:
            if "/" in key:
                index, field = key.split("/", 1)
                boards[names[int(index)]][field] = npz[key]
        return SavedStates(int(npz["seq"][0]), boards)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flatten_views(boards: Mapping[str, VersionedViews]) -> dict[str, dict[str, np.ndarray]]:
    """Checkpoint form: one entry per view, "board" or "board/category", each stamped with its version id."""
    flat = {}
    for name, (version, views) in boards.items():
        for category, state in views.state().items():
            key = f"{name}{SEPARATOR}{category}" if category else name
            flat[key] = {**state, "board_id": np.array([version])}
    return flat


def unflatten_views(flat: Mapping[str, dict[str, np.ndarray]]) -> dict[str, VersionedStates]:
    """The inverse of flatten_views: board name -> its version and views' arrays."""
    boards: dict[str, VersionedStates] = {}
    for key, state in flat.items():
        name, _, category = key.partition(SEPARATOR)
        state = dict(state)
        version = int(state.pop("board_id")[0])
        boards.setdefault(name, VersionedStates(version, {})).states[category] = state
    return boards
