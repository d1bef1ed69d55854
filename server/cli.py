"""The ``arena-ratings`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

import grpc
import numpy as np
from tqdm import tqdm

from engine import EloConfig
from engine.bt import BTConfig
from server.filters import VoteFilters
from server.limits import DEFAULT_BOARD
from server.service import LeaderboardQuery
from server.votefile import ReadOptions, ReadReport, iter_votes, read_votes

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


def _bt_config(args: argparse.Namespace) -> BTConfig:
    return BTConfig(both_bad=args.bt_both_bad, prior=args.bt_prior, reweight=args.bt_reweight)


def _add_query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", default="bt", choices=["bt", "elo"], help="default %(default)s")
    parser.add_argument(
        "--ci", default="bootstrap", choices=["bootstrap", "sandwich", "none"],
        help="BT's CI method; Elo always uses its online bootstrap (default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1000, help="BT bootstrap rounds (default %(default)s)")
    parser.add_argument("--anchor", metavar="MODEL=RATING", help="fix one model's BT rating (default: mean 1000)")
    _add_output_options(parser)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=OUTPUT_FORMATS,
        help="table, json (the versioned feed), csv or html on standard output (default table); "
        "with --output also png, heatmap or parquet (default: from the file's extension)",
    )  # fmt: skip
    parser.add_argument("--output", metavar="PATH", help="write to PATH instead of standard output")


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
    anchor = _anchor(args.anchor)
    return LeaderboardQuery(
        args.board,
        method=args.method,
        ci=args.ci,
        rounds=args.rounds,
        anchor_model=anchor[0] if anchor else None,
        anchor_rating=anchor[1] if anchor else 1000.0,
    )


def _emit(board, args: argparse.Namespace) -> None:
    """The leaderboard to standard output, or to --output in the chosen format."""
    from server import export

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
    serve.add_argument(
        "--engine-threads",
        type=int,
        default=None,
        metavar="N",
        help="threads the bootstrap kernel splits replicas over (default: all cores but one)",
    )
    _add_elo_options(serve)
    _add_bt_options(serve)

    submit = commands.add_parser("submit", help="send vote files to a server (live ingest)")
    submit.add_argument("file", nargs="+")
    submit.add_argument("--target", default="127.0.0.1:50051", help="default %(default)s")
    submit.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    submit.add_argument("--batch-size", type=int, default=1000, help="default %(default)s")
    _add_read_options(submit)

    board = commands.add_parser("leaderboard", help="query a server's leaderboard")
    board.add_argument("--target", default="127.0.0.1:50051", help="default %(default)s")
    board.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    board.add_argument("--min-seq", type=int, default=0, help="wait until the board covers this seq")
    _add_query_options(board)

    h2h = commands.add_parser("head-to-head", help="two models' record and predicted win probability")
    h2h.add_argument("model_a")
    h2h.add_argument("model_b")
    h2h.add_argument("--target", default="127.0.0.1:50051", help="default %(default)s")
    h2h.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")

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
    _add_read_options(replay)
    _add_filter_options(replay)
    _add_query_options(replay)
    _add_elo_options(replay)
    _add_bt_options(replay)

    export = commands.add_parser("export", help="write a leaderboard in several formats at once")
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", nargs="+", help="vote files (replayed offline)")
    source.add_argument("--target", metavar="HOST:PORT", help="a running server")
    export.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    export.add_argument("--outdir", default=".", help="default %(default)s")
    export.add_argument(
        "--stem", default="leaderboard", help="file names: STEM.json, STEM.csv, ... (default %(default)s)"
    )
    export.add_argument(
        "--formats", default="json,csv,html,png,heatmap,parquet", help="comma-separated (default %(default)s)"
    )
    export.add_argument("--sort-by-time", action="store_true", help="with --file: apply votes in tstamp order")
    _add_read_options(export)
    _add_filter_options(export)
    _add_query_options(export)
    _add_elo_options(export)
    _add_bt_options(export)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from server import app
    from server.service import ServiceConfig

    default = _elo_config(args)
    config = ServiceConfig(
        default_elo=default,
        board_elo=_board_configs(args.board_config, default),
        checkpoint_every_votes=args.checkpoint_every,
        engine_threads=args.engine_threads,
        bt=_bt_config(args),
    )
    running = app.start(Path(args.data_dir), args.host, args.port, config)
    app.serve_forever(running)
    return 0


def _submit(args: argparse.Namespace) -> int:
    from server.client import RatingsClient

    if args.batch_size < 1:
        raise SystemExit("--batch-size must be at least 1")
    report = ReadReport()
    # Read (and check) every row before sending any: a bad row stops the command with nothing stored.
    votes = read_votes(args.file, args.board, _read_options(args, vote_ids=True), report)
    accepted = duplicates = 0
    last_seq = 0
    with RatingsClient(args.target) as client, tqdm(total=len(votes), unit="vote", desc="submit") as bar:
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
    from server.client import RatingsClient
    from server.proto.arena_ratings.v1 import ratings_pb2 as pb

    with RatingsClient(args.target) as client:
        return client.leaderboard(
            args.board,
            method=pb.BT if args.method == "bt" else pb.ELO,
            min_seq=getattr(args, "min_seq", 0),
            ci={"bootstrap": pb.BOOTSTRAP, "sandwich": pb.SANDWICH, "none": pb.CI_NONE}[args.ci],
            rounds=args.rounds if args.method == "bt" else 0,
            anchor=_anchor(args.anchor),
        )


def _head_to_head(args: argparse.Namespace) -> int:
    from server.client import RatingsClient

    with RatingsClient(args.target) as client:
        result = client.head_to_head(args.model_a, args.model_b, args.board)
    print(json.dumps({field.name: getattr(result, field.name) for field in result.DESCRIPTOR.fields}, indent=2))
    return 0


def _replay(args: argparse.Namespace) -> int:
    if args.target:
        return _remote_replay(args)
    board, summary = _offline_board(args)
    print(f"replay summary: {json.dumps(summary.as_dict())}", file=sys.stderr)
    _emit(board, args)
    return 0


def _offline_board(args: argparse.Namespace):
    from server.offline import replay_chunks

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
    board, summary = replay_chunks(chunks, _elo_config(args), query, _bt_config(args), filters, progress)
    summary.read += report.skipped_total
    summary.skipped = dict(report.skipped)
    return board, summary


def _remote_replay(args: argparse.Namespace) -> int:
    from server.client import RatingsClient

    filters = _filters(args)
    report = ReadReport()
    chunks = iter_votes(args.file, args.board, _read_options(args, vote_ids=True), report)
    with RatingsClient(args.target) as client, tqdm(unit="vote", desc=f"replay into {args.board}") as bar:
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
    from server import export

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in OUTPUT_FORMATS]
    if unknown:
        raise SystemExit(f"--formats: unknown {', '.join(unknown)} (known: {', '.join(OUTPUT_FORMATS)})")
    board = _fetch_leaderboard(args) if args.target else _offline_board(args)[0]
    for path in export.export_set(board, Path(args.outdir), args.stem, formats):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from server.errors import NotFound
    from server.votefile import VoteFileError

    try:
        return {
            "serve": _serve,
            "submit": _submit,
            "leaderboard": _leaderboard,
            "head-to-head": _head_to_head,
            "replay": _replay,
            "export": _export,
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
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
