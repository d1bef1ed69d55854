"""Category views on a Ray cluster, one task each (``export --categories ... --ray``).

The votes go to the object store once; each task computes one view with
``server.offline.categories.view``, the function the single-machine export runs, on its own core.
"""

from __future__ import annotations

from collections.abc import Sequence

from tqdm import tqdm

from server.distributed.cluster import Cluster, ray_module
from server.distributed.progress import finished
from server.domain.published import PublishedLeaderboard
from server.domain.votes import VoteBatch
from server.offline.categories import ViewSettings, view

ray = ray_module()

MAX_RETRIES = 3


@ray.remote(num_cpus=1, max_retries=MAX_RETRIES)
def _view_task(chunks: Sequence[VoteBatch], tag: str, settings: ViewSettings) -> PublishedLeaderboard:
    return view(chunks, tag, settings)


def views_on(
    cluster: Cluster, chunks: Sequence[VoteBatch], tags: Sequence[str], settings: ViewSettings, shown: bool = False
) -> dict[str, PublishedLeaderboard]:
    """Each tag's leaderboard, each a task on ``cluster``."""
    shipped = ray.put(list(chunks))
    refs = [_view_task.remote(shipped, tag, settings) for tag in tags]
    with tqdm(total=len(tags), unit="view", disable=not shown, desc="categories") as bar:
        boards = finished(refs, lambda _: bar.update(1))
    return dict(zip(tags, boards))
