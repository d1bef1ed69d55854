"""The commands that talk to a server: their options and what they do.

Requests are built by the client (``server.client``) from plain values; nothing here imports the
engine, so none of these commands loads numba, and only those that read vote files load polars.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

from server.cli import options
from server.domain.limits import DEFAULT_BOARD

log = logging.getLogger("arena_ratings")


def emit(board, args: argparse.Namespace) -> None:
    """The leaderboard (a ``PublishedLeaderboard``) to standard output, or to --output in the chosen format."""
    from server.files import export

    fmt = options.output_format(args) or "table"
    if args.output:
        path = export.write(board, Path(args.output), fmt, title=args.title)
        log.info("wrote %s", path)
        return
    if fmt not in options.STDOUT_FORMATS:
        raise SystemExit(f"--format {fmt} is binary: give --output PATH")
    print(export.text(board, fmt, title=args.title))


def fetch_leaderboard(args: argparse.Namespace):
    """The whole listed leaderboard the options ask the server for, as a ``PublishedLeaderboard``."""
    from server.rpc.wire import leaderboard_from_pb

    with options.client(args) as client:
        board = client.full_leaderboard(args.board, min_seq=getattr(args, "min_seq", 0), **_request_options(args))
    return leaderboard_from_pb(board)


def _request_options(args: argparse.Namespace) -> dict:
    """The leaderboard request a remote command's options describe (``leaderboard_request``'s keywords)."""
    return {**options.query_options(args), **options.listing_options(args)}


# --- submit ----------------------------------------------------------------------------------------


def submit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="+")
    options.add_client_options(parser)
    parser.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    parser.add_argument("--batch-size", type=int, default=1000, help="default %(default)s")
    options.add_read_options(parser)


def submit(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from server.files.votefile import ReadReport, read_votes

    if args.batch_size < 1:
        raise SystemExit("--batch-size must be at least 1")
    report = ReadReport()
    # Read (and check) every row before sending any: a bad row stops the command with nothing stored.
    votes = read_votes(args.file, args.board, options.read_options(args, vote_ids=True), report)
    accepted = duplicates = 0
    last_seq = 0
    created = False
    with options.client(args) as client, tqdm(total=len(votes), unit="vote", desc="submit") as bar:
        for batch_id, start in enumerate(range(0, len(votes), args.batch_size)):
            stop = min(start + args.batch_size, len(votes))
            ack = client.submit(votes.slice(start, stop), batch_id)
            accepted += ack.accepted
            duplicates += ack.duplicates
            last_seq = max(last_seq, ack.last_seq)
            bar.update(stop - start)
            created = created or ack.board_created
    if created:
        _warn_created(args.board)
    result: dict[str, int | dict[str, int]] = {"accepted": accepted, "duplicates": duplicates, "last_seq": last_seq}
    if report.skipped_total:
        result["skipped_bad_rows"] = dict(report.skipped)
    print(json.dumps(result))
    return 0


def _warn_created(board: str) -> None:
    """A write created its board: say so, since a typo in --board does exactly that."""
    print(
        f"arena-ratings: warning: board {board!r} did not exist; these votes created it "
        "(a typo in --board? `boards delete NAME --yes` removes a board)",
        file=sys.stderr,
    )


# --- leaderboard, watch ----------------------------------------------------------------------------


def leaderboard_options(parser: argparse.ArgumentParser) -> None:
    options.add_client_options(parser)
    parser.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    parser.add_argument("--min-seq", type=int, default=0, help="wait until the board covers this seq")
    options.add_query_options(parser)
    options.add_listing_options(parser)


def leaderboard(args: argparse.Namespace) -> int:
    options.output_format(args)  # an --output the command cannot write stops it before the query
    emit(fetch_leaderboard(args), args)
    return 0


def watch_options(parser: argparse.ArgumentParser) -> None:
    options.add_client_options(parser)
    parser.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    parser.add_argument("--top-k", type=int, default=0, help="watch and print the top K rows only (default: all)")
    parser.add_argument("--interval", type=float, default=1.0, help="at most one update per this many seconds")
    parser.add_argument(
        "--count", type=int, default=0,
        help="stop after this many updates, the first (the leaderboard now) included (default: run until ^C)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS",
        help="stop after this many seconds, with status 0 and what arrived by then (default: no limit)",
    )  # fmt: skip
    options.add_query_options(parser)
    options.add_listing_options(parser)


def watch(args: argparse.Namespace) -> int:
    import grpc

    from server.files import export
    from server.rpc.wire import leaderboard_from_pb

    fmt = args.format or "table"
    if fmt not in ("table", "json") or args.title is not None:
        raise SystemExit("watch prints table or json (one JSON document per line), without a --title")
    if args.top_k < 0 or args.count < 0:
        raise SystemExit("--top-k and --count must be at least 0")
    if args.timeout is not None and not args.timeout > 0:
        raise SystemExit("--timeout must be more than 0 seconds")
    # The top K rows are what is watched and what is printed: the request asks for that page only.
    page = {"limit": args.top_k} if args.top_k else {}
    with options.client(args) as client:
        updates = client.watch(args.board, args.top_k, args.interval, args.timeout, **_request_options(args), **page)
        try:
            for n, message in enumerate(updates, start=1):
                board = leaderboard_from_pb(message)
                if fmt == "json":
                    print(json.dumps(export.feed(board)), flush=True)
                else:
                    print(
                        f"--- update {n} at {datetime.now(UTC):%H:%M:%S} UTC\n{export.text(board, 'table')}", flush=True
                    )
                if n == args.count:
                    break
        except grpc.RpcError as exc:
            if args.timeout is None or exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
            # --timeout ran out: what arrived has been printed, and that is the answer.
        finally:
            updates.cancel()
    return 0


# --- head-to-head ----------------------------------------------------------------------------------


def head_to_head_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_a", nargs="?")
    parser.add_argument("model_b", nargs="?")
    options.add_client_options(parser)
    parser.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    parser.add_argument("--top-k", type=int, default=10, help="the matrix's size (default %(default)s)")
    parser.add_argument("--category", default="", metavar="TAG", help="matrix of this category view")
    parser.add_argument(
        "--format", choices=["table", "json"], default="table", help="the matrix's (default %(default)s)"
    )


def head_to_head(args: argparse.Namespace) -> int:
    if (args.model_a is None) != (args.model_b is None):
        raise SystemExit("give two models, or none for the top-k matrix")
    with options.client(args) as client:
        if args.model_a is None:
            matrix = client.head_to_head_matrix(args.board, args.top_k, category=args.category)
            print(_matrix_text(matrix) if args.format == "table" else _message_json(matrix))
            return 0
        result = client.head_to_head(args.model_a, args.model_b, args.board)
    print(_message_json(result))
    return 0


def _message_json(message) -> str:
    from server.rpc.wire import message_dict

    return json.dumps(message_dict(message), indent=2)


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


# --- suggest ---------------------------------------------------------------------------------------


def suggest_options(parser: argparse.ArgumentParser) -> None:
    options.add_client_options(parser)
    parser.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s (BOARD/CATEGORY: a view)")
    parser.add_argument("--category", default="", metavar="TAG", help="the pairs of this category view")
    parser.add_argument("--n", type=int, default=10, help="at most this many pairs (default %(default)s)")
    parser.add_argument(
        "--objective", choices=["top-k", "ci-width", "placement"], default="ci-width",
        help="what the votes should settle: the top k's order, every CI, a new model's place (default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--k", type=int, default=10, help="top-k: how many top models to order (default %(default)s)")
    parser.add_argument("--model", default="", help="placement: the model to place")
    parser.add_argument(
        "--horizon", type=int, default=0, help="votes the weights plan for (default: the server's, 1000)"
    )
    parser.add_argument("--format", choices=["table", "json"], default="table", help="default %(default)s")


def suggest(args: argparse.Namespace) -> int:
    with options.client(args) as client:
        result = client.suggest_pairs(
            args.board, args.n, args.objective, args.k, args.model, args.category, args.horizon
        )  # fmt: skip
    print(_suggestions_text(result) if args.format == "table" else _message_json(result))
    return 0


def _suggestions_text(result) -> str:
    """One pair a line, largest weight first."""
    view = f"{result.board}{'/' + result.category if result.category else ''}"
    objective = result.DESCRIPTOR.fields_by_name["objective"].enum_type.values_by_number[result.objective].name
    lines = [f"board {view} · {objective.lower().replace('_', '-')} · as of seq {result.as_of_seq}"]
    if not result.pairs:
        lines.append("no pairs to suggest")
        return "\n".join(lines)
    width_a = max(len("model A"), *(len(p.model_a) for p in result.pairs))
    width_b = max(len("model B"), *(len(p.model_b) for p in result.pairs))
    lines.append(f"    {'model A':<{width_a}}  {'model B':<{width_b}}  weight")
    for i, pair in enumerate(result.pairs):
        lines.append(f"{i + 1:>2}. {pair.model_a:<{width_a}}  {pair.model_b:<{width_b}}  {pair.weight:.3f}")
    return "\n".join(lines)


# --- boards, competitors, snapshots, rankings ------------------------------------------------------


def boards_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=["delete"], help="delete NAME: retire a board (admin scope)")
    parser.add_argument("name", nargs="?", help="the board to delete")
    parser.add_argument("--yes", action="store_true", help="confirm `boards delete NAME` (without it: nothing changes)")
    options.add_client_options(parser)


def boards(args: argparse.Namespace) -> int:
    if args.action == "delete":
        return delete_board(args)
    with options.client(args) as client:
        found = client.boards()
    if not found:
        print("no boards yet")
    for board in found:
        print(
            f"{board.name}: {board.votes} votes, {board.competitors} competitors, last seq {board.last_seq}, "
            f"{board.snapshots} snapshots, preliminary under {board.preliminary_votes} votes, "
            f"listed from {board.listed_min_votes}"
        )
        for category in board.categories:
            print(f"  {board.name}/{category.name}: {category.votes} votes, {category.competitors} competitors")
    return 0


def delete_board(args: argparse.Namespace) -> int:
    """``boards delete NAME --yes``: retire a board (its votes stay in the server's log, unseen)."""
    if not args.name:
        raise SystemExit("boards delete NAME --yes: name the board to delete")
    with options.client(args) as client:
        if not args.yes:
            found = {board.name: board for board in client.boards()}
            if args.name not in found:
                print(f"arena-ratings: board {args.name!r} does not exist", file=sys.stderr)
                return 2
            board = found[args.name]
            print(
                f"arena-ratings: not deleting board {args.name!r} ({board.votes} votes, {board.snapshots} snapshots) "
                f"without --yes: `boards delete {args.name} --yes` retires it (its votes stay in the server's log, "
                "unseen; its snapshots stay readable)",
                file=sys.stderr,
            )
            return 2
        deleted = client.delete_board(args.name)
    print(json.dumps({"deleted": deleted.board, "votes": deleted.votes, "snapshots_kept": deleted.snapshots}))
    return 0


def competitors_options(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    upsert = actions.add_parser("upsert", help="set metadata from a CSV, JSON or JSONL file")
    upsert.add_argument("file")
    options.add_client_options(upsert)
    listed = actions.add_parser("list", help="every competitor the server knows, with its metadata")
    options.add_client_options(listed)
    listed.add_argument(
        "--format", choices=["table", "json", "csv"], default="table",
        help="json and csv read back as an upsert file (default %(default)s)",
    )  # fmt: skip


def competitors(args: argparse.Namespace) -> int:
    from server.files.admin_files import competitors_text, read_competitors

    if args.action == "list":
        from server.rpc.wire import competitor_from_pb

        with options.client(args) as client:
            found = [competitor_from_pb(c) for c in client.competitors()]
        print(competitors_text(found, args.format) if found or args.format != "table" else "no competitors yet")
        return 0
    updates = read_competitors(Path(args.file))
    with options.client(args) as client:
        result = client.upsert_competitors(updates)
    print(json.dumps({"created": result.created, "updated": result.updated}))
    return 0


def snapshot_options(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="freeze the board as it is now")
    create.add_argument("name")
    listed = actions.add_parser("list", help="the board's snapshots, oldest first")
    for sub in (create, listed):
        options.add_client_options(sub)
        sub.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")


def snapshot(args: argparse.Namespace) -> int:
    with options.client(args) as client:
        found = (
            [client.create_snapshot(args.board, args.name)] if args.action == "create" else client.snapshots(args.board)
        )
    for taken in found:
        created = datetime.fromtimestamp(taken.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        scheduled = " (scheduled)" if taken.scheduled else ""
        print(f"{taken.board} {taken.name}: seq {taken.seq}, {taken.votes} votes, taken {created}{scheduled}")
    return 0


def submit_rankings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file")
    options.add_client_options(parser)
    parser.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")


def submit_rankings(args: argparse.Namespace) -> int:
    from server.files.admin_files import read_ballots

    ballots = read_ballots(Path(args.file), args.board)
    accepted = duplicates = 0
    created = False
    with options.client(args) as client:
        for ballot in ballots:
            ack = client.submit_ranking(ballot)
            accepted += ack.accepted
            duplicates += ack.duplicates
            created = created or ack.board_created
    if created:
        _warn_created(args.board)
    print(json.dumps({"ballots": len(ballots), "accepted_votes": accepted, "duplicate_votes": duplicates}))
    return 0


# --- replay into a server, tokens, bench ----------------------------------------------------------


def remote_replay(args: argparse.Namespace) -> int:
    """``replay --target``: stream vote files into a new version of a server's board."""
    from tqdm import tqdm

    from server.files.votefile import ReadReport, iter_votes

    if args.category:
        raise SystemExit(
            "--category computes a view offline; a replay into a server keeps every tag, so its views follow"
        )
    filters = options.vote_filters(args)
    report = ReadReport()
    chunks = iter_votes(args.file, args.board, options.read_options(args, vote_ids=True), report)
    with options.client(args) as client, tqdm(unit="vote", desc=f"replay into {args.board}") as bar:
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


def token_options(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="print a new token (stderr) and its file entry (stdout)")
    create.add_argument("--name", required=True, help="who holds it (shown in logs and rate limits)")
    create.add_argument("--scopes", required=True, help="comma-separated: read, write, admin")
    create.add_argument("--expires", metavar="TIME", help="Unix seconds or ISO date (UTC); default: never")


def token(args: argparse.Namespace) -> int:
    from server.rpc import auth

    expires = options.parse_time(args.expires)
    value, made = auth.create(args.name, [s.strip() for s in args.scopes.split(",") if s.strip()], expires)
    print(f"token (shown once; give it to the client): {value}", file=sys.stderr)
    print(json.dumps(made.as_json()))
    return 0


def bench_options(parser: argparse.ArgumentParser) -> None:
    from server.client import bench

    bench.add_arguments(parser)


def bench(args: argparse.Namespace) -> int:
    from server.client import bench

    return bench.main(args)
