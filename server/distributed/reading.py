"""Vote files read by the workers: one task a file, gathered in file order.

Votes are applied in file order, and within a file in row order, so the files can be read in any
order and at once, as long as their votes reach the replay in order: the driver takes the files'
chunks as their order comes up, a few files ahead of the one it applies. What a task reads is what
the same file gives ``iter_votes`` on this machine (each file's rows, derived ids and bad-row report
depend on that file alone), so the replay, its Elo replicas included, is the same.

The workers open the paths themselves: on a cluster the files must be on storage every node can read
at the same path (``--ray-read driver`` reads them here instead).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from server.distributed.cluster import Cluster, ray_module
from server.domain.votes import VoteBatch
from server.files.votefile import ReadOptions, ReadReport, VoteFileError, iter_votes, vote_paths

ray = ray_module()

MAX_RETRIES = 3
FILES_AHEAD_PER_CPU = 2  # files read ahead of the one being applied: bounds the votes held in memory


@dataclass
class FileVotes:
    chunks: list[VoteBatch]
    report: ReadReport = field(default_factory=ReadReport)
    error: str = ""  # the file's VoteFileError (its message names the file and row), raised by the driver


@ray.remote(num_cpus=1, max_retries=MAX_RETRIES)
def _read_task(path: str, board: str, options: ReadOptions) -> FileVotes:
    report = ReadReport()
    try:
        return FileVotes(list(iter_votes(path, board, options, report)), report)
    except VoteFileError as exc:
        return FileVotes([], report, str(exc))


def read_files(
    cluster: Cluster, paths: Sequence[str], board: str, options: ReadOptions, report: ReadReport
) -> Iterator[VoteBatch]:
    """The files' chunks in file order, each file read by a task; what was skipped goes into ``report``."""
    ahead = cluster.tasks(FILES_AHEAD_PER_CPU)
    queue = deque(vote_paths(paths))  # a directory: its files, each a task
    reading: deque = deque()
    while queue or reading:
        while queue and len(reading) < ahead:
            reading.append(_read_task.remote(str(queue.popleft()), board, options))
        read: FileVotes = ray.get(reading.popleft())
        if read.error:
            raise VoteFileError(read.error)
        report.rows += read.report.rows
        report.skipped.update(read.report.skipped)
        yield from read.chunks
