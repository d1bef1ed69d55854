"""``arena-ratings serve``: its options and the server it starts.

The service's modules (and with them numpy and the engine) are imported when this command's options
are built or it runs, never for another command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.config import EloConfig
from server.cli import options
from server.domain.limits import Limits
from server.rpc.quotas import Quotas


def serve_options(serve: argparse.ArgumentParser) -> None:
    from server.domain.listing import ListingConfig

    serve.add_argument("--data-dir", default="./arena-data", help="default %(default)s")
    serve.add_argument("--host", default="127.0.0.1", help="default %(default)s")
    serve.add_argument("--port", type=int, default=50051, help="default %(default)s")
    serve.add_argument("--board-config", metavar="FILE", help='JSON: {"board": {"k": 32, "bootstrap_rounds": 200}}')
    serve.add_argument(
        "--create-boards", choices=["auto", "configured"], default="auto",
        help="which writes may create a board: any (auto, the default), or only those to a board of "
        "--board-config (configured: a write to another new board is NOT_FOUND)",
    )  # fmt: skip
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
    _add_http_options(serve)
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
    options.add_elo_options(serve)
    options.add_bt_options(serve)


def serve(args: argparse.Namespace) -> int:
    from server.domain.listing import ListingConfig
    from server.rpc import app
    from server.service.core import ServiceConfig
    from server.storage.datadir_lock import DataDirInUse

    default = options.elo_config(args)
    if args.standings_cache_mb < 1:
        raise SystemExit("--standings-cache-mb must be at least 1")
    board_elo, board_titles = _board_configs(args.board_config, default)
    config = ServiceConfig(
        default_elo=default,
        board_elo=board_elo,
        board_titles=board_titles,
        create_boards=args.create_boards,
        checkpoint_every_votes=args.checkpoint_every,
        engine_threads=args.engine_threads,
        bt=options.bt_config(args),
        style=options.style_config(args),
        listing=ListingConfig(args.preliminary_votes, args.listed_min_votes),
        board_listing=_board_thresholds(args.board_thresholds),
        snapshot_every_seconds=args.snapshot_every,
        limits=_limits(args),
        capacity=_capacity(args),
        standings_cache_bytes=args.standings_cache_mb * 1024 * 1024,
    )
    try:
        running = app.start(
            Path(args.data_dir), args.host, args.port, config, access=_access(args), http=_http(args)
        )
    except (DataDirInUse, app.CannotListen) as exc:  # another server has the directory or the port
        print(f"arena-ratings serve: {exc}", file=sys.stderr)
        return 1
    app.serve_forever(running)
    return 0


def _board_configs(path: str | None, default: EloConfig) -> tuple[dict[str, EloConfig], dict[str, str]]:
    """Each configured board's Elo settings, and the display names of those that have one."""
    if path is None:
        return {}, {}
    try:
        raw = json.loads(Path(path).read_text())
        titles = {board: str(values.pop("display_name")) for board, values in raw.items() if "display_name" in values}
        return {board: EloConfig(**{**default.__dict__, **values}) for board, values in raw.items()}, titles
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise SystemExit(
            f'{path}: not a board config ({{"board": {{"display_name": "Text", "k": 32, ...}}}}): {exc}'
        ) from exc


def _board_thresholds(specs: list[str]) -> dict:
    from server.domain.listing import ListingConfig

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


def _add_http_options(serve: argparse.ArgumentParser) -> None:
    from server.http.options import DEFAULT_HTTP_PORT, DEFAULT_SITE_TITLE

    group = serve.add_argument_group("HTTP: the JSON API, the leaderboard page and /metrics, on the same --host")
    group.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT, metavar="PORT",
                       help="default %(default)s; 0 turns HTTP off")  # fmt: skip
    group.add_argument("--site-title", default=DEFAULT_SITE_TITLE, metavar="TEXT",
                       help="the leaderboard page's title (default %(default)r)")  # fmt: skip
    group.add_argument("--http-cors-origin", action="append", default=[], metavar="ORIGIN",
                       help="let scripts of this origin (https://arena.example) call the API (repeatable; "
                       "default: none)")  # fmt: skip


def _http(args: argparse.Namespace):
    from server.http.options import HttpOptions, TlsFiles

    if args.http_port == 0:
        return None
    if not 0 < args.http_port < 65536:
        raise SystemExit(f"--http-port {args.http_port}: a port is 1 to 65535 (0 turns HTTP off)")
    if args.http_port == args.port:
        raise SystemExit(f"--http-port and --port are both {args.port}: give HTTP a port of its own")
    tls = None
    if args.tls_cert and args.tls_key:
        client_ca = Path(args.tls_client_ca) if args.tls_client_ca else None
        tls = TlsFiles(Path(args.tls_cert), Path(args.tls_key), client_ca)
    return HttpOptions(
        port=args.http_port, site_title=args.site_title, cors_origins=tuple(args.http_cors_origin), tls=tls
    )


def _add_security_options(serve: argparse.ArgumentParser) -> None:
    limits, quotas = Limits(), Quotas()
    group = serve.add_argument_group("access and limits")
    group.add_argument("--tokens", metavar="FILE", help="bearer tokens (JSON; also $ARENA_RATINGS_TOKENS); see `token`")
    group.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate chain (with --tls-key)")
    group.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    group.add_argument("--tls-client-ca", metavar="PEM", help="require client certificates signed by this CA (mTLS)")
    group.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without tokens")
    group.add_argument("--public-read", action="store_true",
                       help="with --tokens, let queries (the read scope: leaderboards, the page's API, /metrics) "
                       "through without a token; writes and admin still need one")  # fmt: skip
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
    from server.service.capacity import DEFAULT_BUDGET_FRACTION, CapacityLimits

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


def _capacity(args: argparse.Namespace):
    from server.service.capacity import CapacityLimits

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
    from server.service.capacity import DEFAULT_BUDGET_FRACTION, FALLBACK_BUDGET, physical_memory

    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    value = text.strip().upper().removesuffix("B")
    try:
        if value.endswith("%"):
            size = int(float(value[:-1]) / 100 * (physical_memory() or FALLBACK_BUDGET / DEFAULT_BUDGET_FRACTION))
        elif value and value[-1] in units:
            size = int(float(value[:-1]) * units[value[-1]])
        else:
            size = int(value)
    except (ValueError, OverflowError):  # "abc", or "inf" and "1e400", which int() cannot hold
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
        client_ca = options.read_pem(args.tls_client_ca) if args.tls_client_ca else None
        tls = app.Tls(options.read_pem(args.tls_cert), options.read_pem(args.tls_key), client_ca)
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
    return app.Access(tokens=tokens, quotas=quotas, tls=tls, insecure=args.insecure, public_read=args.public_read)
