"""The commands that compute on this machine: ``replay`` (offline) and ``export``.

The engine (numba), polars and the offline replay are imported inside these functions, so the
remote commands never load them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from server.cli import options, remote
from server.domain.limits import DEFAULT_BOARD

if TYPE_CHECKING:
    from server.domain.votes import VoteBatch

# A default replay (BT, bootstrap CIs) compiled its kernels from scratch in 7.2 s on the project's 2-core
# machine (8.3 s with an empty NUMBA_CACHE_DIR against 1.1 s with it warm); the others add a few seconds.
COMPILING = "compiling kernels (first run only, ~7 s)"


def replay_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="+")
    parser.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    parser.add_argument(
        "--target", metavar="HOST:PORT",
        help="stream the votes into a new version of --board on this server, swapped in atomically when done",
    )  # fmt: skip
    parser.add_argument("--sort-by-time", action="store_true", help="apply votes in tstamp order (reads all first)")
    options.add_credential_options(parser)
    options.add_read_options(parser)
    options.add_filter_options(parser)
    options.add_query_options(parser)
    options.add_elo_options(parser)
    options.add_bt_options(parser)
    options.add_ray_options(parser)


def replay(args: argparse.Namespace) -> int:
    if args.target:
        if args.ray:
            raise SystemExit("--ray computes a replay here; --target streams it into a server: give one")
        return remote.remote_replay(args)
    options.output_format(args)  # an --output the command cannot write stops it before the replay
    board, summary = offline_board(args)
    print(f"replay summary: {json.dumps(summary.as_dict())}", file=sys.stderr)
    remote.emit(board, args)
    return 0


def export_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", nargs="+", help="vote files (replayed offline)")
    source.add_argument("--target", metavar="HOST:PORT", help="a running server (--status and the like apply)")
    parser.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    parser.add_argument("--outdir", default=".", help="default %(default)s")
    parser.add_argument(
        "--stem", default="leaderboard", help="file names: STEM.json, STEM.csv, ... (default %(default)s)"
    )
    parser.add_argument(
        "--formats", default="json,csv,html,png,heatmap,parquet", help="comma-separated (default %(default)s)"
    )
    parser.add_argument("--sort-by-time", action="store_true", help="with --file: apply votes in tstamp order")
    options.add_credential_options(parser)
    options.add_read_options(parser)
    options.add_filter_options(parser)
    options.add_query_options(parser)
    options.add_listing_options(parser)
    options.add_elo_options(parser)
    options.add_bt_options(parser)
    options.add_ray_options(parser)


def export(args: argparse.Namespace) -> int:
    from server.files import export as files

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in options.OUTPUT_FORMATS]
    if unknown:
        raise SystemExit(f"--formats: unknown {', '.join(unknown)} (known: {', '.join(options.OUTPUT_FORMATS)})")
    if not args.target and options.listing_asked(args):
        raise SystemExit("--status, --compare-to and the other listing options need --target (a server)")
    if args.title is not None and "html" not in formats:
        raise SystemExit("--title is the html page's: add html to --formats")
    if args.target and args.ray:
        raise SystemExit("--ray computes from --file here; a --target server computes its own boards")
    board = remote.fetch_leaderboard(args) if args.target else offline_board(args)[0]
    for path in files.export_set(board, Path(args.outdir), args.stem, formats, title=args.title):
        print(path)
    return 0


def offline_board(args: argparse.Namespace):
    """The replay of the command's vote files: (``PublishedLeaderboard``, ``ReplaySummary``)."""
    import numpy as np

    from engine._jit import when_compiling
    from server.files.votefile import ReadReport, iter_votes, read_votes
    from server.offline.replay import read_fields, replay_chunks

    query = leaderboard_query(args)
    # With numba's cache cold, the kernels compile on first use: seconds of silence, said once as they start.
    when_compiling(lambda: print(f"arena-ratings: {COMPILING}", file=sys.stderr, flush=True))
    filters = options.vote_filters(args)
    report = ReadReport()
    read = replace(options.read_options(args, vote_ids=filters.dedupe), fields=read_fields(query, filters))
    if args.ray_cpus is not None and args.ray != "auto":
        raise SystemExit("--ray-cpus sizes the local instance of --ray auto")
    progress = sys.stderr.isatty()
    with ExitStack() as stack:
        cluster = stack.enter_context(ray_cluster(args.ray, args.ray_cpus)) if args.ray else None
        chunks: Iterable[VoteBatch]
        if args.sort_by_time:
            votes = read_votes(args.file, args.board, read, report)
            if np.isnan(votes.timestamp).any():
                raise SystemExit("--sort-by-time needs a tstamp on every row")
            chunks = [votes.take(np.argsort(votes.timestamp, kind="stable"))]
        elif cluster is not None and len(args.file) > 1 and args.ray_read == "workers":
            from server.distributed.reading import read_files

            chunks = read_files(cluster, args.file, args.board, read, report)
        else:
            chunks = iter_votes(args.file, args.board, read, report)
        settings = (options.elo_config(args), query, options.bt_config(args), filters, progress)
        if cluster is None:
            board, summary = replay_chunks(chunks, *settings, style_config=options.style_config(args))
        else:
            from server.distributed.replay import replay_on

            board, summary = replay_on(cluster, chunks, *settings, style_config=options.style_config(args))
    summary.read += report.skipped_total
    summary.skipped = dict(report.skipped)
    return board, summary


@contextmanager
def ray_cluster(address: str, cpus: int | None) -> Iterator:
    """The Ray cluster ``--ray`` names, joined for the block (a clear exit when it cannot be)."""
    from server.distributed.cluster import ClusterUnavailable, connect

    try:
        with connect(address, cpus) as cluster:
            yield cluster
    except ClusterUnavailable as exc:
        raise SystemExit(f"arena-ratings: {exc}") from None


def leaderboard_query(args: argparse.Namespace):
    """The offline query the options describe, under the rules the service applies to a request
    (``server.domain.queries.check_query``)."""
    from server.domain.queries import QueryRuleError
    from server.offline.replay import offline_query

    if args.category and args.tag:
        raise SystemExit("--category is the view of one tag; give it or --tag, not both")
    try:
        return offline_query(args.board, **options.query_options(args))
    except QueryRuleError as exc:
        raise SystemExit(exc.options) from None
