"""The ``arena-ratings`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import grpc
import numpy as np
from tqdm import tqdm

from engine import EloConfig
from engine.bt import BTConfig
from engine.style import StyleConfig
from server.domain.filters import VoteFilters
from server.domain.limits import DEFAULT_BOARD, Limits
from server.domain.listing import ListingConfig
from server.domain.queries import LeaderboardQuery
from server.files.votefile import ReadOptions, ReadReport, iter_votes, read_votes
from server.rpc.quotas import Quotas
from server.service.capacity import DEFAULT_BUDGET_FRACTION, FALLBACK_BUDGET, CapacityLimits, physical_memory

log = logging.getLogger("arena_ratings")

STDOUT_FORMATS = ("table", "json", "csv", "html")
OUTPUT_FORMATS = (*STDOUT_FORMATS, "png", "heatmap", "parquet")


def _add_elo_options(parser: argparse.ArgumentParser) -> None:
    defaults = EloConfig()
    group = parser.add_argument_group("online Elo (LMArena's conventions by default)")
    group.add_argument("--elo-k", type=float, default=defaults.k, help="K factor (default %(default)s)")
    group.add_argument("--elo-base", type=float, default=defaults.base, help="default %(default)s")
    group.add_argument("--elo-scale", type=float, default=defaults.scale, help="default %(default)s")
    group.add_argument("--elo-initial", type=float, default=defaults.initial, help="default %(default)s")
    group.add_argument(
        "--bootstrap",
        type=int,
        default=defaults.bootstrap_rounds,
        metavar="B",
        help="bootstrap replicas for the 95%% CI, 0 for none (default %(default)s)",
    )
    group.add_argument("--seed", type=int, default=defaults.seed, help="bootstrap seed (default %(default)s)")


def _add_bt_options(parser: argparse.ArgumentParser) -> None:
    defaults = BTConfig()
    group = parser.add_argument_group("Bradley–Terry")
    group.add_argument(
        "--bt-prior", type=float, default=defaults.prior, metavar="TIES",
        help="virtual ties per competitor against the mean; keeps ratings finite (default %(default)s)",
    )  # fmt: skip
    group.add_argument(
        "--bt-both-bad", choices=["tie", "ignore"], default=defaults.both_bad, help="default %(default)s"
    )
    group.add_argument("--bt-reweight", action="store_true", help="weight votes by 1/max(pair count, 50)")
    group = parser.add_argument_group("style control (--style-control)")
    group.add_argument(
        "--style-penalty", choices=["all", "coefficients"], default="all",
        help="ridge on all parameters (FastChat, default) or on the style coefficients only (arena-rank)",
    )  # fmt: skip
    group.add_argument(
        "--style-strength", type=float, default=None, metavar="S",
        help="ridge strength (default 0.5 for all, 1.0 per vote for coefficients)",
    )  # fmt: skip


def _bt_config(args: argparse.Namespace) -> BTConfig:
    return BTConfig(both_bad=args.bt_both_bad, prior=args.bt_prior, reweight=args.bt_reweight)


def _style_config(args: argparse.Namespace) -> StyleConfig:
    return StyleConfig(penalty=args.style_penalty, strength=args.style_strength, both_bad=args.bt_both_bad)


def _add_query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", default="bt", choices=["bt", "elo"], help="default %(default)s")
    parser.add_argument(
        "--ci", default="bootstrap", choices=["bootstrap", "sandwich", "none"],
        help="BT's CI method; Elo always uses its online bootstrap (default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1000, help="BT bootstrap rounds (default %(default)s)")
    parser.add_argument("--anchor", metavar="MODEL=RATING", help="fix one model's BT rating (default: mean 1000)")
    parser.add_argument("--category", default="", metavar="TAG", help="the category view: votes tagged TAG only")
    parser.add_argument(
        "--style-control", action="store_true",
        help="BT with the votes' style features (length, markdown) as covariates; rows show the rank change",
    )  # fmt: skip
    _add_output_options(parser)


def _add_listing_options(parser: argparse.ArgumentParser) -> None:
    """What a server's leaderboard lists, and what it is compared with."""
    group = parser.add_argument_group("rows listed (ranks count the listed rows only)")
    group.add_argument(
        "--status", action="append", default=[], choices=["active", "deprecated", "unavailable"],
        help="list competitors with this status (repeatable; default: active only)",
    )  # fmt: skip
    group.add_argument("--open-weights", action="store_true", help="open-weights models only")
    group.add_argument("--license", action="append", default=[], help="only this license (repeatable)")
    group.add_argument("--organization", action="append", default=[], help="only this organization (repeatable)")
    group.add_argument("--min-votes", type=int, default=0, metavar="N", help="only models with at least N votes")
    group.add_argument(
        "--include-unlisted", action="store_true", help="also models under the board's listing threshold"
    )
    group = parser.add_argument_group("snapshots")
    group.add_argument(
        "--compare-to", metavar="SNAPSHOT", help="show rank and rating change since this snapshot (a name, or @TIME: "
        "the newest snapshot at or before TIME, Unix seconds or ISO date)",
    )  # fmt: skip
    group.add_argument("--as-of", metavar="SNAPSHOT", help="the board as it was at this snapshot (a name or @TIME)")


def _listing_options(args: argparse.Namespace) -> dict:
    from server.proto.arena_ratings.v1 import ratings_pb2 as pb
    from server.rpc.wire import STATUS_CODES

    if args.min_votes < 0:
        raise SystemExit("--min-votes must be at least 0")
    filters = pb.RowFilters(
        statuses=[STATUS_CODES[s] for s in args.status],
        open_weights_only=args.open_weights,
        licenses=args.license,
        organizations=args.organization,
        min_votes=args.min_votes,
        include_unlisted=args.include_unlisted,
    )
    return {"filters": filters, "compare_to": _snapshot_ref(args.compare_to), "as_of": _snapshot_ref(args.as_of)}


def _snapshot_ref(text: str | None) -> str | float | None:
    if text is None or not text.startswith("@"):
        return text
    return _time(text[1:])


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=OUTPUT_FORMATS,
        help="table, json (the versioned feed), csv or html on standard output (default table); "
        "with --output also png, heatmap or parquet (default: from the file's extension)",
    )  # fmt: skip
    parser.add_argument("--output", metavar="PATH", help="write to PATH instead of standard output")


def _add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="127.0.0.1:50051", help="default %(default)s")
    _add_credential_options(parser)


def _add_credential_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connecting to a server")
    group.add_argument(
        "--token", default=os.environ.get("ARENA_RATINGS_TOKEN"),
        help="bearer token (default: $ARENA_RATINGS_TOKEN)",
    )  # fmt: skip
    group.add_argument("--tls-ca", metavar="PEM", help="use TLS, trusting the server certificate this CA signed")
    group.add_argument("--tls-cert", metavar="PEM", help="client certificate, for mutual TLS (with --tls-key)")
    group.add_argument("--tls-key", metavar="PEM", help="client private key, for mutual TLS")


def _client(args: argparse.Namespace):
    """A client for the command's --target, with its token and TLS options."""
    from server.client.ratings_client import RatingsClient

    client_pair = None
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("--tls-cert and --tls-key go together")
    if args.tls_cert:
        client_pair = (_read_pem(args.tls_key), _read_pem(args.tls_cert))
    ca = _read_pem(args.tls_ca) if args.tls_ca else None
    return RatingsClient(args.target, token=args.token or None, tls_ca=ca, tls_client=client_pair)


def _read_pem(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SystemExit(f"{path}: cannot read: {exc}") from exc


def _add_bench_options(parser: argparse.ArgumentParser) -> None:
    from server.client import bench

    bench.add_arguments(parser)


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading vote files")
    group.add_argument(
        "--col", action="append", default=[], metavar="OURS=THEIRS",
        help="read our column OURS from the file's column THEIRS, e.g. --col model_a=home_team (repeatable)",
    )  # fmt: skip
    group.add_argument("--winner-loser", action="store_true", help="the file has winner and loser name columns")
    group.add_argument(
        "--on-bad-row", choices=["error", "skip"], default="error",
        help="stop at the first bad row (default) or skip bad rows and report how many",
    )  # fmt: skip
    group.add_argument("--chunk-size", type=int, default=1_000_000, help="rows read at a time (default %(default)s)")


def _add_filter_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (LMArena's; the summary says how many votes each removed)")
    group.add_argument("--anony-only", action="store_true", help="anonymous battles only (needs an anony column)")
    group.add_argument("--exclude-model", action="append", default=[], metavar="MODEL", help="repeatable")
    group.add_argument("--language", action="append", default=[], help="keep these languages (repeatable)")
    group.add_argument("--since", metavar="TIME", help="keep votes at or after TIME (Unix seconds or ISO date, UTC)")
    group.add_argument("--until", metavar="TIME", help="keep votes before TIME")
    group.add_argument("--drop-ties", action="store_true", help="drop ties of both kinds")
    group.add_argument("--tag", action="append", default=[], help="keep votes carrying this tag (repeatable)")
    group.add_argument("--dedupe", action="store_true", help="keep the first vote of each vote_id")
    group.add_argument("--daily-cap", type=int, default=0, metavar="N", help="each judge's first N votes a UTC day")


def _read_options(args: argparse.Namespace, vote_ids: bool) -> ReadOptions:
    columns = {}
    for mapping in args.col:
        ours, sep, theirs = mapping.partition("=")
        if not sep or not ours or not theirs:
            raise SystemExit(f"--col wants OURS=THEIRS, e.g. model_a=home_team; got {mapping!r}")
        columns[ours] = theirs
    return ReadOptions(columns, args.winner_loser, args.on_bad_row, args.chunk_size, vote_ids)


def _time(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"not a time (Unix seconds or ISO date): {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _filters(args: argparse.Namespace) -> VoteFilters:
    if args.daily_cap < 0:
        raise SystemExit("--daily-cap must be at least 0")
    return VoteFilters(
        anony_only=args.anony_only,
        exclude_models=frozenset(args.exclude_model),
        languages=frozenset(args.language),
        since=_time(args.since),
        until=_time(args.until),
        drop_ties=args.drop_ties,
        tags=frozenset(args.tag),
        dedupe=args.dedupe,
        daily_cap=args.daily_cap,
    )


def _query(args: argparse.Namespace) -> LeaderboardQuery:
    if args.method == "elo" and (args.ci != "bootstrap" or args.anchor):
        raise SystemExit("--ci and --anchor apply to --method bt; Elo's CI is its online bootstrap (--bootstrap B)")
    if args.category and args.tag:
        raise SystemExit("--category is the view of one tag; give it or --tag, not both")
    if args.style_control and (args.method == "elo" or args.anchor):
        raise SystemExit("--style-control is a BT fit centred on the mean: not with --method elo or --anchor")
    anchor = _anchor(args.anchor)
    return LeaderboardQuery(
        args.board,
        method=args.method,
        ci=args.ci,
        rounds=args.rounds,
        anchor_model=anchor[0] if anchor else None,
        anchor_rating=anchor[1] if anchor else 1000.0,
        category=args.category,
        style_control=args.style_control,
    )


def _emit(board, args: argparse.Namespace) -> None:
    """The leaderboard to standard output, or to --output in the chosen format."""
    from server.files import export

    if args.output:
        path = export.write(board, Path(args.output), args.format)
        log.info("wrote %s", path)
        return
    fmt = args.format or "table"
    if fmt not in STDOUT_FORMATS:
        raise SystemExit(f"--format {fmt} is binary: give --output PATH")
    print(export.text(board, fmt))


def _anchor(text: str | None) -> tuple[str, float] | None:
    if text is None:
        return None
    model, sep, rating = text.rpartition("=")
    try:
        value = float(rating)
    except ValueError:
        value = float("nan")
    if not sep or not model or not math.isfinite(value):
        raise SystemExit(f"--anchor wants MODEL=RATING, e.g. gpt-4=1200; got {text!r}")
    return model, value


def _elo_config(args: argparse.Namespace) -> EloConfig:
    return EloConfig(
        k=args.elo_k,
        base=args.elo_base,
        scale=args.elo_scale,
        initial=args.elo_initial,
        bootstrap_rounds=args.bootstrap,
        seed=args.seed,
    )


def _board_configs(path: str | None, default: EloConfig) -> dict[str, EloConfig]:
    if path is None:
        return {}
    try:
        raw = json.loads(Path(path).read_text())
        return {board: EloConfig(**{**default.__dict__, **values}) for board, values in raw.items()}
    except (OSError, ValueError, TypeError) as exc:
        raise SystemExit(f'{path}: not a board config ({{"board": {{"k": 32, ...}}}}): {exc}') from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arena-ratings", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="default %(default)s")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gRPC service")
    serve.add_argument("--data-dir", default="./arena-data", help="default %(default)s")
    serve.add_argument("--host", default="127.0.0.1", help="default %(default)s")
    serve.add_argument("--port", type=int, default=50051, help="default %(default)s")
    serve.add_argument("--board-config", metavar="FILE", help='JSON: {"board": {"k": 32, "bootstrap_rounds": 200}}')
    serve.add_argument("--checkpoint-every", type=int, default=1_000_000, metavar="VOTES", help="default %(default)s")
    listing = ListingConfig()
    serve.add_argument(
        "--preliminary-votes", type=int, default=listing.preliminary_votes, metavar="N",
        help="flag rows with fewer votes as preliminary (default %(default)s)",
    )  # fmt: skip
    serve.add_argument(
        "--listed-min-votes", type=int, default=listing.listed_min_votes, metavar="N",
        help="leave rows with fewer votes off leaderboards unless asked (default %(default)s: list all)",
    )  # fmt: skip
    serve.add_argument(
        "--board-thresholds", action="append", default=[], metavar="BOARD=PRELIM,LISTED",
        help="one board's two thresholds, e.g. webdev=500,50 (repeatable)",
    )  # fmt: skip
    serve.add_argument(
        "--snapshot-every", type=float, default=86_400.0, metavar="SECONDS",
        help="scheduled snapshots at multiples of this since the epoch (default daily, 00:00 UTC); 0: off",
    )  # fmt: skip
    _add_security_options(serve)
    _add_capacity_options(serve)
    serve.add_argument(
        "--engine-threads",
        type=int,
        default=None,
        metavar="N",
        help="threads the bootstrap kernel splits replicas over (default: all cores but one)",
    )
    serve.add_argument(
        "--standings-cache-mb", type=int, default=256, metavar="MB",
        help="memory for computed standings kept for reuse, least recently used dropped first (default %(default)s)",
    )  # fmt: skip
    _add_elo_options(serve)
    _add_bt_options(serve)

    submit = commands.add_parser("submit", help="send vote files to a server (live ingest)")
    submit.add_argument("file", nargs="+")
    _add_client_options(submit)
    submit.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    submit.add_argument("--batch-size", type=int, default=1000, help="default %(default)s")
    _add_read_options(submit)

    board = commands.add_parser("leaderboard", help="query a server's leaderboard")
    _add_client_options(board)
    board.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    board.add_argument("--min-seq", type=int, default=0, help="wait until the board covers this seq")
    _add_query_options(board)
    _add_listing_options(board)

    h2h = commands.add_parser(
        "head-to-head", help="two models' record and predicted win probability; without models, the top-k matrix"
    )
    h2h.add_argument("model_a", nargs="?")
    h2h.add_argument("model_b", nargs="?")
    _add_client_options(h2h)
    h2h.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    h2h.add_argument("--top-k", type=int, default=10, help="the matrix's size (default %(default)s)")
    h2h.add_argument("--category", default="", metavar="TAG", help="matrix of this category view")
    h2h.add_argument("--format", choices=["table", "json"], default="table", help="the matrix's (default %(default)s)")

    watch = commands.add_parser("watch", help="print the leaderboard, then again whenever its ranks change")
    _add_client_options(watch)
    watch.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    watch.add_argument("--top-k", type=int, default=0, help="watch the top K rows only (default: all)")
    watch.add_argument("--interval", type=float, default=1.0, help="at most one update per this many seconds")
    watch.add_argument("--count", type=int, default=0, help="stop after this many updates (default: run until ^C)")
    _add_query_options(watch)
    _add_listing_options(watch)

    boards = commands.add_parser("boards", help="list a server's boards, categories, vote counts, thresholds")
    _add_client_options(boards)

    competitors = commands.add_parser("competitors", help="competitor metadata")
    competitors_commands = competitors.add_subparsers(dest="action", required=True)
    upsert = competitors_commands.add_parser("upsert", help="set metadata from a CSV, JSON or JSONL file")
    upsert.add_argument("file")
    _add_client_options(upsert)

    snapshot = commands.add_parser("snapshot", help="take or list a board's snapshots")
    snapshot_commands = snapshot.add_subparsers(dest="action", required=True)
    create = snapshot_commands.add_parser("create", help="freeze the board as it is now")
    create.add_argument("name")
    listed = snapshot_commands.add_parser("list", help="the board's snapshots, oldest first")
    for sub in (create, listed):
        _add_client_options(sub)
        sub.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")

    token = commands.add_parser("token", help="make bearer tokens for `serve --tokens`")
    token_commands = token.add_subparsers(dest="action", required=True)
    create_token = token_commands.add_parser("create", help="print a new token (stderr) and its file entry (stdout)")
    create_token.add_argument("--name", required=True, help="who holds it (shown in logs and rate limits)")
    create_token.add_argument("--scopes", required=True, help="comma-separated: read, write, admin")
    create_token.add_argument("--expires", metavar="TIME", help="Unix seconds or ISO date (UTC); default: never")

    bench_parser = commands.add_parser("bench", help="measure a server's latency and throughput under load")
    _add_bench_options(bench_parser)

    rankings = commands.add_parser("submit-rankings", help="send multi-way ballots (JSON or JSONL) to a server")
    rankings.add_argument("file")
    _add_client_options(rankings)
    rankings.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")

    replay = commands.add_parser(
        "replay", help="compute a leaderboard from vote files offline, or replace a server's board (--target)"
    )
    replay.add_argument("file", nargs="+")
    replay.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    replay.add_argument(
        "--target", metavar="HOST:PORT",
        help="stream the votes into a new version of --board on this server, swapped in atomically when done",
    )  # fmt: skip
    replay.add_argument("--sort-by-time", action="store_true", help="apply votes in tstamp order (reads all first)")
    _add_credential_options(replay)
    _add_read_options(replay)
    _add_filter_options(replay)
    _add_query_options(replay)
    _add_elo_options(replay)
    _add_bt_options(replay)

    export = commands.add_parser("export", help="write a leaderboard in several formats at once")
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", nargs="+", help="vote files (replayed offline)")
    source.add_argument("--target", metavar="HOST:PORT", help="a running server (--status and the like apply)")
    export.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    export.add_argument("--outdir", default=".", help="default %(default)s")
    export.add_argument(
        "--stem", default="leaderboard", help="file names: STEM.json, STEM.csv, ... (default %(default)s)"
    )
    export.add_argument(
        "--formats", default="json,csv,html,png,heatmap,parquet", help="comma-separated (default %(default)s)"
    )
    export.add_argument("--sort-by-time", action="store_true", help="with --file: apply votes in tstamp order")
    _add_credential_options(export)
    _add_read_options(export)
    _add_filter_options(export)
    _add_query_options(export)
    _add_listing_options(export)
    _add_elo_options(export)
    _add_bt_options(export)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from server.rpc import app
    from server.service.core import ServiceConfig
    from server.storage.datadir_lock import DataDirInUse

    default = _elo_config(args)
    if args.standings_cache_mb < 1:
        raise SystemExit("--standings-cache-mb must be at least 1")
    config = ServiceConfig(
        default_elo=default,
        board_elo=_board_configs(args.board_config, default),
        checkpoint_every_votes=args.checkpoint_every,
        engine_threads=args.engine_threads,
        bt=_bt_config(args),
        style=_style_config(args),
        listing=ListingConfig(args.preliminary_votes, args.listed_min_votes),
        board_listing=_board_thresholds(args.board_thresholds),
        snapshot_every_seconds=args.snapshot_every,
        limits=_limits(args),
        capacity=_capacity(args),
        standings_cache_bytes=args.standings_cache_mb * 1024 * 1024,
    )
    try:
        running = app.start(Path(args.data_dir), args.host, args.port, config, access=_access(args))
    except (DataDirInUse, app.CannotListen) as exc:  # another server has the directory or the port
        print(f"arena-ratings serve: {exc}", file=sys.stderr)
        return 1
    app.serve_forever(running)
    return 0


def _add_security_options(serve: argparse.ArgumentParser) -> None:
    limits, quotas = Limits(), Quotas()
    group = serve.add_argument_group("access and limits")
    group.add_argument("--tokens", metavar="FILE", help="bearer tokens (JSON; also $ARENA_RATINGS_TOKENS); see `token`")
    group.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate chain (with --tls-key)")
    group.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    group.add_argument("--tls-client-ca", metavar="PEM", help="require client certificates signed by this CA (mTLS)")
    group.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without tokens")
    group.add_argument(
        "--vote-rate", type=float, default=quotas.vote_rate, metavar="VOTES_PER_S",
        help="per-token vote rate; over it, RESOURCE_EXHAUSTED with a retry hint (default: unlimited)",
    )  # fmt: skip
    group.add_argument("--vote-burst", type=int, default=quotas.vote_burst, metavar="VOTES",
                       help="per-token burst (default: a second's worth, at least one full batch)")  # fmt: skip
    group.add_argument("--max-streams", type=int, default=quotas.max_streams, help="open streams (default %(default)s)")
    group.add_argument("--max-streams-per-caller", type=int, default=quotas.max_streams_per_caller, metavar="N",
                       help="open streams per token (without tokens: per connection); default a quarter of "
                       "--max-streams")  # fmt: skip
    group.add_argument("--stream-idle-timeout", type=float, default=quotas.stream_idle_timeout, metavar="SECONDS",
                       help="end a StreamVotes or ReplayVotes stream that sends nothing for this long "
                       "(DEADLINE_EXCEEDED; 0: never; default %(default)g)")  # fmt: skip
    group.add_argument("--max-message-bytes", type=int, default=limits.max_message_bytes, help="default %(default)s")
    group.add_argument("--max-batch-votes", type=int, default=limits.max_batch_votes, help="default %(default)s")
    group.add_argument("--max-name-length", type=int, default=limits.max_name_length, help="default %(default)s")
    group.add_argument(
        "--max-tags", type=int, default=limits.max_tags_per_vote, help="tags a vote (default %(default)s)"
    )


def _add_capacity_options(serve: argparse.ArgumentParser) -> None:
    capacity = CapacityLimits()
    group = serve.add_argument_group("capacity (what clients can make the engine hold; see the README's limits)")
    group.add_argument("--max-competitors", type=int, default=capacity.max_competitors_per_board, metavar="N",
                       help="competitors in any one view of a board (default %(default)s)")  # fmt: skip
    group.add_argument("--max-categories", type=int, default=capacity.max_views_per_board, metavar="N",
                       help="category views per board (default %(default)s)")  # fmt: skip
    group.add_argument("--max-boards", type=int, default=capacity.max_boards, metavar="N",
                       help="boards per server (default %(default)s)")  # fmt: skip
    group.add_argument("--max-snapshots", type=int, default=capacity.max_snapshots_per_board, metavar="N",
                       help="snapshots per board (default %(default)s)")  # fmt: skip
    group.add_argument("--memory-budget", default=f"{DEFAULT_BUDGET_FRACTION:.0%}", metavar="SIZE",
                       help="what all boards' replicas, cells and style rows may hold: bytes, 800M, 12G, or a share "
                       "of physical memory like 50%% (default %(default)s)")  # fmt: skip


def _capacity(args: argparse.Namespace) -> CapacityLimits:
    counts = (args.max_competitors, args.max_categories, args.max_boards, args.max_snapshots)
    if min(counts) < 1:
        raise SystemExit("--max-competitors, --max-categories, --max-boards and --max-snapshots must be >= 1")
    return CapacityLimits(
        max_competitors_per_board=args.max_competitors,
        max_views_per_board=args.max_categories,
        max_boards=args.max_boards,
        max_snapshots_per_board=args.max_snapshots,
        memory_budget_bytes=_memory_size(args.memory_budget),
    )


def _memory_size(text: str) -> int:
    """Bytes from "123", "800M", "12G" (binary units) or "50%" (of physical memory)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    value = text.strip().upper().removesuffix("B")
    try:
        if value.endswith("%"):
            size = int(float(value[:-1]) / 100 * (physical_memory() or FALLBACK_BUDGET / DEFAULT_BUDGET_FRACTION))
        elif value and value[-1] in units:
            size = int(float(value[:-1]) * units[value[-1]])
        else:
            size = int(value)
    except ValueError:
        raise SystemExit(f"--memory-budget: {text!r} is not a size (bytes, 800M, 12G or 50%)") from None
    if size < 1:
        raise SystemExit(f"--memory-budget: {text!r} must be more than 0")
    return size


def _limits(args: argparse.Namespace) -> Limits:
    values = (args.max_message_bytes, args.max_batch_votes, args.max_name_length, args.max_tags)
    if min(values) < 1:
        raise SystemExit("--max-message-bytes, --max-batch-votes, --max-name-length and --max-tags must be >= 1")
    return Limits(
        max_batch_votes=args.max_batch_votes,
        max_name_length=args.max_name_length,
        max_tags_per_vote=args.max_tags,
        max_message_bytes=args.max_message_bytes,
    )


def _access(args: argparse.Namespace):
    from server.rpc import app, auth

    tls = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            raise SystemExit("--tls-cert and --tls-key go together")
        client_ca = _read_pem(args.tls_client_ca) if args.tls_client_ca else None
        tls = app.Tls(_read_pem(args.tls_cert), _read_pem(args.tls_key), client_ca)
    elif args.tls_client_ca:
        raise SystemExit("--tls-client-ca needs --tls-cert and --tls-key")
    if args.vote_rate < 0 or args.vote_burst < 0 or args.max_streams < 1:
        raise SystemExit("--vote-rate and --vote-burst must be >= 0, --max-streams >= 1")
    if args.max_streams_per_caller < 0 or args.stream_idle_timeout < 0:
        raise SystemExit("--max-streams-per-caller and --stream-idle-timeout must be >= 0")
    tokens = auth.load(Path(args.tokens) if args.tokens else None)
    quotas = Quotas(vote_rate=args.vote_rate, vote_burst=args.vote_burst, max_streams=args.max_streams,
                    max_streams_per_caller=args.max_streams_per_caller,
                    stream_idle_timeout=args.stream_idle_timeout)  # fmt: skip
    return app.Access(tokens=tokens, quotas=quotas, tls=tls, insecure=args.insecure)


def _token(args: argparse.Namespace) -> int:
    from server.rpc import auth

    expires = _time(args.expires)
    value, token = auth.create(args.name, [s.strip() for s in args.scopes.split(",") if s.strip()], expires)
    print(f"token (shown once; give it to the client): {value}", file=sys.stderr)
    print(json.dumps(token.as_json()))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from server.client import bench

    return bench.main(args)


def _board_thresholds(specs: list[str]) -> dict[str, ListingConfig]:
    thresholds = {}
    for spec in specs:
        board, _, values = spec.partition("=")
        try:
            preliminary, listed = (int(v) for v in values.split(","))
        except ValueError:
            raise SystemExit(
                f"--board-thresholds wants BOARD=PRELIM,LISTED, e.g. webdev=500,50; got {spec!r}"
            ) from None
        thresholds[board] = ListingConfig(preliminary, listed)
    return thresholds


def _submit(args: argparse.Namespace) -> int:

    if args.batch_size < 1:
        raise SystemExit("--batch-size must be at least 1")
    report = ReadReport()
    # Read (and check) every row before sending any: a bad row stops the command with nothing stored.
    votes = read_votes(args.file, args.board, _read_options(args, vote_ids=True), report)
    accepted = duplicates = 0
    last_seq = 0
    with _client(args) as client, tqdm(total=len(votes), unit="vote", desc="submit") as bar:
        for batch_id, start in enumerate(range(0, len(votes), args.batch_size)):
            stop = min(start + args.batch_size, len(votes))
            ack = client.submit(votes.slice(start, stop), batch_id)
            accepted += ack.accepted
            duplicates += ack.duplicates
            last_seq = max(last_seq, ack.last_seq)
            bar.update(stop - start)
    result = {"accepted": accepted, "duplicates": duplicates, "last_seq": last_seq}
    if report.skipped_total:
        result["skipped_bad_rows"] = dict(report.skipped)
    print(json.dumps(result))
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    _emit(_fetch_leaderboard(args), args)
    return 0


def _fetch_leaderboard(args: argparse.Namespace):

    with _client(args) as client:
        return client.full_leaderboard(args.board, min_seq=getattr(args, "min_seq", 0), **_request_options(args))


def _request_options(args: argparse.Namespace) -> dict:
    """The leaderboard request a remote command's options describe (client.leaderboard_request's keywords)."""
    from server.proto.arena_ratings.v1 import ratings_pb2 as pb

    return {
        "method": pb.BT if args.method == "bt" else pb.ELO,
        "ci": {"bootstrap": pb.BOOTSTRAP, "sandwich": pb.SANDWICH, "none": pb.CI_NONE}[args.ci],
        "rounds": args.rounds if args.method == "bt" else 0,
        "anchor": _anchor(args.anchor),
        "category": args.category,
        "style_control": args.style_control,
        **_listing_options(args),
    }


def _head_to_head(args: argparse.Namespace) -> int:

    if (args.model_a is None) != (args.model_b is None):
        raise SystemExit("give two models, or none for the top-k matrix")
    with _client(args) as client:
        if args.model_a is None:
            matrix = client.head_to_head_matrix(args.board, args.top_k, category=args.category)
            print(_matrix_text(matrix) if args.format == "table" else _message_json(matrix))
            return 0
        result = client.head_to_head(args.model_a, args.model_b, args.board)
    print(_message_json(result))
    return 0


def _message_json(message) -> str:
    """A flat response message as JSON: numbers stay numbers (protobuf's JSON mapping quotes 64-bit
    ints), NaN becomes null."""

    def plain(value):
        if isinstance(value, float) and math.isnan(value):
            return None
        return value

    fields = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        fields[field.name] = [plain(v) for v in value] if field.is_repeated else plain(value)
    return json.dumps(fields, indent=2)


def _matrix_text(matrix) -> str:
    """Each row model against each column model: win rate (battles) and the BT prediction."""
    k = len(matrix.models)
    width = max([len(m) for m in matrix.models] + [5])
    lines = [f"board {matrix.board}{'/' + matrix.category if matrix.category else ''} · top {k} · "
             "cell: empirical win rate (battles) / predicted"]  # fmt: skip
    lines.append(" " * (width + 4) + "  ".join(f"{j + 1:>19}" for j in range(k)))
    for i, model in enumerate(matrix.models):
        cells = []
        for j in range(k):
            c = i * k + j
            if i == j:
                cells.append(f"{'-':>19}")
                continue
            empirical = matrix.empirical_win_rate[c]
            seen = "  --  " if math.isnan(empirical) else f"{empirical:.2f}"
            cells.append(f"{seen} ({matrix.battles[c]:>5}) / {matrix.predicted_win_probability[c]:.2f}".rjust(19))
        lines.append(f"{i + 1:>2}. {model:<{width}}" + "  ".join(cells))
    return "\n".join(lines)


def _watch(args: argparse.Namespace) -> int:
    from server.files import export

    fmt = args.format or "table"
    if fmt not in ("table", "json"):
        raise SystemExit("watch prints table or json (one JSON document per line)")
    with _client(args) as client:
        updates = client.watch(args.board, args.top_k, args.interval, **_request_options(args))
        try:
            for n, board in enumerate(updates, start=1):
                if fmt == "json":
                    print(json.dumps(export.feed(board)), flush=True)
                else:
                    print(
                        f"--- update {n} at {datetime.now(UTC):%H:%M:%S} UTC\n{export.text(board, 'table')}", flush=True
                    )
                if n == args.count:
                    break
        finally:
            updates.cancel()
    return 0


def _boards(args: argparse.Namespace) -> int:

    with _client(args) as client:
        boards = client.boards()
    for board in boards:
        print(
            f"{board.name}: {board.votes} votes, {board.competitors} competitors, last seq {board.last_seq}, "
            f"{board.snapshots} snapshots, preliminary under {board.preliminary_votes} votes, "
            f"listed from {board.listed_min_votes}"
        )
        for category in board.categories:
            print(f"  {board.name}/{category.name}: {category.votes} votes, {category.competitors} competitors")
    return 0


def _competitors(args: argparse.Namespace) -> int:
    from server.files.admin_files import read_competitors
    from server.rpc import convert

    updates = read_competitors(Path(args.file))
    with _client(args) as client:
        result = client.upsert_competitors(convert.update_to_pb(u) for u in updates)
    print(json.dumps({"created": result.created, "updated": result.updated}))
    return 0


def _snapshot(args: argparse.Namespace) -> int:

    with _client(args) as client:
        found = (
            [client.create_snapshot(args.board, args.name)] if args.action == "create" else client.snapshots(args.board)
        )
    for snapshot in found:
        created = datetime.fromtimestamp(snapshot.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        scheduled = " (scheduled)" if snapshot.scheduled else ""
        print(
            f"{snapshot.board} {snapshot.name}: seq {snapshot.seq}, {snapshot.votes} votes, taken {created}{scheduled}"
        )
    return 0


def _submit_rankings(args: argparse.Namespace) -> int:
    from server.files.admin_files import read_ballots
    from server.proto.arena_ratings.v1 import ratings_pb2 as pb

    ballots = read_ballots(Path(args.file), args.board)
    accepted = duplicates = 0
    with _client(args) as client:
        for ballot in ballots:
            message = pb.RankingBallot(
                board=ballot.board,
                ballot_id=ballot.ballot_id,
                ranking=[pb.RankedCompetitor(model=m, place=p) for m, p in ballot.ranking],
                voter_id=ballot.voter_id,
                tags=ballot.tags,
            )
            if not math.isnan(ballot.timestamp):
                message.timestamp = ballot.timestamp
            ack = client.submit_ranking(message)
            accepted += ack.accepted
            duplicates += ack.duplicates
    print(json.dumps({"ballots": len(ballots), "accepted_votes": accepted, "duplicate_votes": duplicates}))
    return 0


def _replay(args: argparse.Namespace) -> int:
    if args.target:
        return _remote_replay(args)
    board, summary = _offline_board(args)
    print(f"replay summary: {json.dumps(summary.as_dict())}", file=sys.stderr)
    _emit(board, args)
    return 0


def _offline_board(args: argparse.Namespace):
    from server.offline.replay import replay_chunks

    query = _query(args)
    filters = _filters(args)
    report = ReadReport()
    options = _read_options(args, vote_ids=filters.dedupe)
    if args.sort_by_time:
        votes = read_votes(args.file, args.board, options, report)
        if np.isnan(votes.timestamp).any():
            raise SystemExit("--sort-by-time needs a tstamp on every row")
        chunks = [votes.take(np.argsort(votes.timestamp, kind="stable"))]
    else:
        chunks = iter_votes(args.file, args.board, options, report)
    progress = sys.stderr.isatty()
    board, summary = replay_chunks(
        chunks, _elo_config(args), query, _bt_config(args), filters, progress, style_config=_style_config(args)
    )
    summary.read += report.skipped_total
    summary.skipped = dict(report.skipped)
    return board, summary


def _remote_replay(args: argparse.Namespace) -> int:

    if args.category:
        raise SystemExit(
            "--category computes a view offline; a replay into a server keeps every tag, so its views follow"
        )
    filters = _filters(args)
    report = ReadReport()
    chunks = iter_votes(args.file, args.board, _read_options(args, vote_ids=True), report)
    with _client(args) as client, tqdm(unit="vote", desc=f"replay into {args.board}") as bar:
        summary = client.replay(args.board, chunks, filters, on_chunk=bar.update)
    result = {
        "board": summary.board,
        "read": summary.received + report.skipped_total,
        "skipped": dict(report.skipped),
        "removed": dict(summary.removed),
        "applied": summary.applied,
        "as_of_seq": summary.as_of_seq,
    }
    print(json.dumps(result))
    return 0


def _export(args: argparse.Namespace) -> int:
    from server.files import export

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in OUTPUT_FORMATS]
    if unknown:
        raise SystemExit(f"--formats: unknown {', '.join(unknown)} (known: {', '.join(OUTPUT_FORMATS)})")
    if not args.target and (args.status or args.open_weights or args.license or args.organization or args.min_votes
                            or args.include_unlisted or args.compare_to or args.as_of):  # fmt: skip
        raise SystemExit("--status, --compare-to and the other listing options need --target (a server)")
    board = _fetch_leaderboard(args) if args.target else _offline_board(args)[0]
    for path in export.export_set(board, Path(args.outdir), args.stem, formats):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from server.client.ratings_client import PagesChanged
    from server.domain.errors import NotFound
    from server.files.votefile import VoteFileError

    try:
        return {
            "serve": _serve,
            "submit": _submit,
            "leaderboard": _leaderboard,
            "head-to-head": _head_to_head,
            "replay": _replay,
            "export": _export,
            "watch": _watch,
            "boards": _boards,
            "competitors": _competitors,
            "snapshot": _snapshot,
            "submit-rankings": _submit_rankings,
            "token": _token,
            "bench": _bench,
        }[args.command](args)
    except (VoteFileError, NotFound) as exc:
        print(f"arena-ratings: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bad settings, e.g. EloConfig
        print(f"arena-ratings: {exc}", file=sys.stderr)
        return 2
    except grpc.RpcError as exc:
        print(f"arena-ratings: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    except PagesChanged as exc:  # a big board kept changing while its pages were read
        print(f"arena-ratings: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
