"""One service per data directory: an exclusive OS lock on ``DATA_DIR/LOCK``.

Two services on one directory would both append to the log (their seqs clash),
serve reads that miss each other's writes, and overwrite each other's
checkpoints, snapshots and metadata. The lock is ``flock``: the kernel drops it
when the holder's process ends however it ends, so after a ``kill -9`` the
next start takes it at once and there is no stale lock to clean up. The file
holds the holder's PID, for the message a refused start prints; a PID left in
it by a killed process means nothing while no one holds the lock.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = "LOCK"


class DataDirInUse(RuntimeError):
    """Another process (or another service in this one) holds the data directory."""

    def __init__(self, directory: Path, pid: int | None) -> None:
        holder = f"PID {pid}" if pid is not None else "another process (PID unknown)"
        super().__init__(f"data directory {directory} is in use by {holder}; one server per data directory")
        self.directory = directory
        self.pid = pid


class DataDirLock:
    """The held lock; ``release`` (idempotent) gives it up."""

    def __init__(self, directory: Path, fd: int) -> None:
        self.directory = directory
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor of the open file drops the flock
            self._fd = None


def acquire(directory: Path) -> DataDirLock:
    """Lock ``directory`` (created if missing) for this process, or raise DataDirInUse at once."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    # os.open's descriptors are not inherited by child processes (PEP 446), so a child
    # cannot keep the directory locked after the service has closed.
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _read_pid(fd)
        os.close(fd)
        raise DataDirInUse(directory, pid) from None
    except BaseException:
        os.close(fd)
        raise
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:  # the PID only informs a refused start's message: a full disk must not stop us
        log.warning("could not write the PID into %s: %s", directory / LOCK_NAME, exc)
    return DataDirLock(directory, fd)


def _read_pid(fd: int) -> int | None:
    """The holder's PID, or None when it has not written it yet (it locks, then writes)."""
    try:
        return int(os.pread(fd, 32, 0).decode().strip())
    except (OSError, ValueError):
        return None
