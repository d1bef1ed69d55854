"""The ``arena-ratings`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

import grpc
from tqdm import tqdm

from engine import EloConfig
from engine.bt import BTConfig
from server.limits import DEFAULT_BOARD

log = logging.getLogger("arena_ratings")

FORMATS = ("table", "json", "csv")


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
    parser.add_argument("--format", default="table", choices=FORMATS)


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

    submit = commands.add_parser("submit", help="send a vote file to a server")
    submit.add_argument("file")
    submit.add_argument("--target", default="127.0.0.1:50051", help="default %(default)s")
    submit.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    submit.add_argument("--batch-size", type=int, default=1000, help="default %(default)s")

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

    replay = commands.add_parser("replay", help="compute a leaderboard from a vote file, no server")
    replay.add_argument("file")
    replay.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    _add_query_options(replay)
    _add_elo_options(replay)
    _add_bt_options(replay)
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
    from server.votefile import read_votes

    if args.batch_size < 1:
        raise SystemExit("--batch-size must be at least 1")
    votes = read_votes(args.file, args.board)
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
    print(json.dumps({"accepted": accepted, "duplicates": duplicates, "last_seq": last_seq}))
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from server.client import RatingsClient
    from server.proto.arena_ratings.v1 import ratings_pb2 as pb
    from server.render import render

    with RatingsClient(args.target) as client:
        board = client.leaderboard(
            args.board,
            method=pb.BT if args.method == "bt" else pb.ELO,
            min_seq=args.min_seq,
            ci={"bootstrap": pb.BOOTSTRAP, "sandwich": pb.SANDWICH, "none": pb.CI_NONE}[args.ci],
            rounds=args.rounds if args.method == "bt" else 0,
            anchor=_anchor(args.anchor),
        )
    print(render(board, args.format))
    return 0


def _head_to_head(args: argparse.Namespace) -> int:
    from server.client import RatingsClient

    with RatingsClient(args.target) as client:
        result = client.head_to_head(args.model_a, args.model_b, args.board)
    print(json.dumps({field.name: getattr(result, field.name) for field in result.DESCRIPTOR.fields}, indent=2))
    return 0


def _replay(args: argparse.Namespace) -> int:
    from server.offline import replay
    from server.render import render
    from server.service import LeaderboardQuery
    from server.votefile import read_votes

    if args.method == "elo" and (args.ci != "bootstrap" or args.anchor):
        raise SystemExit("--ci and --anchor apply to --method bt; Elo's CI is its online bootstrap (--bootstrap B)")
    anchor = _anchor(args.anchor)
    query = LeaderboardQuery(
        args.board,
        method=args.method,
        ci=args.ci,
        rounds=args.rounds,
        anchor_model=anchor[0] if anchor else None,
        anchor_rating=anchor[1] if anchor else 1000.0,
    )
    votes = read_votes(args.file, args.board)
    board = replay(votes, _elo_config(args), query, _bt_config(args), progress=sys.stderr.isatty())
    print(render(board, args.format))
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
