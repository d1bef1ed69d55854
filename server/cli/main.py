"""The ``arena-ratings`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from engine.errors import ConvergenceError
from server.cli import audit, local, remote, serve

Options = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


class _Command(argparse.ArgumentParser):
    """A subcommand whose options are added when it is parsed or its help is shown.

    Building the whole parser then costs only the subcommands' names: ``arena-ratings --help`` and a
    remote command never import what another command's defaults come from (the service's capacity
    limits for ``serve``, the load generator for ``bench``).
    """

    def __init__(self, *args, options: Options | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._options = options

    def _add_options(self) -> None:
        if self._options is not None:
            add, self._options = self._options, None
            add(self)

    def parse_known_args(self, args=None, namespace=None):
        self._add_options()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._add_options()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_options()
        return super().format_help()


# name: (help, options, run), in the order --help lists them
COMMANDS: dict[str, tuple[str, Options | None, Run]] = {
    "serve": ("run the gRPC service", serve.serve_options, serve.serve),
    "submit": ("send vote files to a server (live ingest)", remote.submit_options, remote.submit),
    "leaderboard": ("query a server's leaderboard", remote.leaderboard_options, remote.leaderboard),
    "head-to-head": (
        "two models' record and predicted win probability; without models, the top-k matrix",
        remote.head_to_head_options,
        remote.head_to_head,
    ),
    "suggest": (
        "the pairs to show next, with sampling weights (objectives top-k, ci-width, placement)",
        remote.suggest_options,
        remote.suggest,
    ),
    "watch": ("print the leaderboard, then again whenever its ranks change", remote.watch_options, remote.watch),
    "boards": (
        "list a server's boards, categories, vote counts, thresholds; `boards delete NAME --yes` retires one",
        remote.boards_options,
        remote.boards,
    ),
    "competitors": ("list competitors, or set their metadata", remote.competitors_options, remote.competitors),
    "snapshot": ("take or list a board's snapshots", remote.snapshot_options, remote.snapshot),
    "token": ("make bearer tokens for `serve --tokens`", remote.token_options, remote.token),
    "bench": ("measure a server's latency and throughput under load", remote.bench_options, remote.bench),
    "submit-rankings": (
        "send multi-way ballots (JSON or JSONL) to a server",
        remote.submit_rankings_options,
        remote.submit_rankings,
    ),
    "replay": (
        "compute a leaderboard from vote files offline, or replace a server's board (--target)",
        local.replay_options,
        local.replay,
    ),
    "export": ("write a leaderboard in several formats at once", local.export_options, local.export),
    "audit": (
        "position bias, intransitive triads, ties by model and outlier voters, of a server's board or vote files",
        audit.audit_options,
        audit.audit,
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arena-ratings", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="default %(default)s")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Command)
    for name, (text, add_options, _) in COMMANDS.items():
        commands.add_parser(name, help=text, options=add_options)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import grpc

    from server.client.ratings_client import PagesChanged
    from server.domain.errors import NotFound

    try:
        return COMMANDS[args.command][2](args)
    except (NotFound, ConvergenceError) as exc:  # the latter: an offline fit on these votes
        print(f"arena-ratings: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a bad vote file (VoteFileError) or admin file, bad settings (e.g. EloConfig)
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
