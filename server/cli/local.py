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
    parser.add_argument(
        "--categories", metavar="all|TAG,TAG",
        help="with --file: one set of files per category view, STEM.TAG.*, instead of the board's (all: every "
        "tag the votes carry); with --ray, one task each",
    )  # fmt: skip
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
    if args.categories is not None:
        if args.target or args.category:
            raise SystemExit("--categories exports every named category view of --file; give it without "
                             "--target and --category")  # fmt: skip
        for tag, board in category_boards(args).items():
            for path in files.export_set(board, Path(args.outdir), f"{args.stem}.{tag}", formats, title=args.title):
                print(path)
        return 0
    board = remote.fetch_leaderboard(args) if args.target else offline_board(args)[0]
    for path in files.export_set(board, Path(args.outdir), args.stem, formats, title=args.title):
        print(path)
    return 0


def offline_board(args: argparse.Namespace):
    """The replay of the command's vote files: (``PublishedLeaderboard``, ``ReplaySummary``)."""
    from server.files.votefile import ReadReport
    from server.offline.replay import replay_chunks

    query = leaderboard_query(args)
    filters = options.vote_filters(args)
    report = ReadReport()
    progress = sys.stderr.isatty()
    settings = (options.elo_config(args), query, options.bt_config(args), filters, progress)
    if not args.ray:
        chunks = vote_chunks(args, query, filters, report, None)
        board, summary = replay_chunks(chunks, *settings, style_config=options.style_config(args))
    else:
        from server.distributed.replay import replay_on

        # With several files the cluster's workers read them, so the votes wait for the cluster; otherwise
        # this process reads them while Ray starts.
        by_workers = several_files(args) and args.ray_read == "workers" and not args.sort_by_time
        votes = (
            (lambda cluster: vote_chunks(args, query, filters, report, cluster))
            if by_workers
            else vote_chunks(args, query, filters, report, None)
        )
        board, summary = replay_on(ray_cluster(args), votes, *settings, style_config=options.style_config(args))
    summary.read += report.skipped_total
    summary.skipped = dict(report.skipped)
    return board, summary


def category_boards(args: argparse.Namespace) -> dict:
    """Each category view ``--categories`` names, by tag: ``PublishedLeaderboard``s from votes read once."""
    from server.files.votefile import ReadReport
    from server.offline.categories import ViewSettings, categories_asked, views

    query = leaderboard_query(args)
    filters = options.vote_filters(args)
    settings = ViewSettings(
        options.elo_config(args), query, options.bt_config(args), filters, options.style_config(args)
    )
    with ExitStack() as stack:
        cluster = stack.enter_context(ray_cluster(args)) if args.ray else None
        by_workers = cluster is not None and several_files(args) and args.ray_read == "workers"
        chunks = list(vote_chunks(args, query, filters, ReadReport(), cluster if by_workers else None, tags=True))
        tags = categories_asked(args.categories, chunks)
        if cluster is None:
            return views(chunks, tags, settings)
        from server.distributed.categories import views_on

        return views_on(cluster, chunks, tags, settings, sys.stderr.isatty())


def several_files(args: argparse.Namespace) -> bool:
    """Do the command's FILE arguments name more than one file (a directory: its files)?"""
    from server.files.votefile import vote_paths

    return len(vote_paths(args.file)) > 1


def vote_chunks(args: argparse.Namespace, query, filters, report, cluster, tags: bool = False) -> Iterable[VoteBatch]:
    """The command's vote files as chunks in the order they are applied: read here, or by the workers of
    ``cluster`` when one is given; only the columns the query and filters read (with ``tags``, the tags as
    well). What reading skips goes into ``report``."""
    import numpy as np

    from engine._jit import when_compiling
    from server.files.votefile import iter_votes, read_votes
    from server.offline.replay import read_fields

    # With numba's cache cold, the kernels compile on first use: seconds of silence, said once as they start.
    when_compiling(lambda: print(f"arena-ratings: {COMPILING}", file=sys.stderr, flush=True))
    read = replace(options.read_options(args, vote_ids=filters.dedupe), fields=read_fields(query, filters, tags))
    if args.sort_by_time:
        votes = read_votes(args.file, args.board, read, report)
        if np.isnan(votes.timestamp).any():
            raise SystemExit("--sort-by-time needs a tstamp on every row")
        return [votes.take(np.argsort(votes.timestamp, kind="stable"))]
    if cluster is not None:
        from server.distributed.reading import read_files

        return read_files(cluster, args.file, args.board, read, report)
    return iter_votes(args.file, args.board, read, report)


@contextmanager
def ray_cluster(args: argparse.Namespace) -> Iterator:
    """The Ray cluster ``--ray`` names, joined for the block (a clear exit when it cannot be)."""
    from server.distributed.cluster import AUTO, ClusterUnavailable, connect

    if args.ray_cpus is not None and args.ray != AUTO:
        raise SystemExit("--ray-cpus sizes the local instance of --ray auto")
    try:
        with connect(args.ray, args.ray_cpus) as cluster:
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
