"""``arena-ratings audit``: a view's voter and vote-quality audits (server.domain.audit), from a server
(--target) or offline from vote files, read and filtered as ``replay`` reads them."""

from __future__ import annotations

import argparse
import json
import logging
import math
from dataclasses import replace
from pathlib import Path

from server.cli import options
from server.domain.limits import DEFAULT_BOARD

log = logging.getLogger("arena_ratings")


def audit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="*", help="vote files to audit offline (without --target)")
    parser.add_argument("--target", metavar="HOST:PORT", help="audit a server's board instead of files")
    parser.add_argument("--board", default=DEFAULT_BOARD, help="default %(default)s")
    parser.add_argument("--category", default="", metavar="TAG", help="the category view: votes tagged TAG only")
    parser.add_argument("--min-seq", type=int, default=0, help="with --target: wait until the view covers this seq")
    group = parser.add_argument_group("levels (defaults: the server's)")
    group.add_argument("--alpha", type=float, default=0.0, help="position bias and cycles (default 0.05)")
    group.add_argument(
        "--min-pair-votes", type=int, default=0, metavar="N", help="decisive votes a pair needs for cycles (default 30)"
    )
    group.add_argument("--max-cycles", type=int, default=0, metavar="N", help="cycles listed (default 20)")
    group.add_argument("--voter-alpha", type=float, default=0.0, help="per-voter false-flag level (default 0.01)")
    group.add_argument("--voter-beta", type=float, default=0.0, help="per-voter miss level (default 0.05)")
    parser.add_argument("--format", choices=["table", "json"], default="table", help="default %(default)s")
    parser.add_argument(
        "--flagged-voters-out", metavar="FILE",
        help="write the flagged voters' ids, one a line: the file `replay --exclude-voters` reads",
    )  # fmt: skip
    options.add_credential_options(parser)
    options.add_read_options(parser)
    options.add_filter_options(parser)


def _request_options(args: argparse.Namespace) -> dict:
    if min(args.min_pair_votes, args.max_cycles, args.min_seq) < 0:
        raise SystemExit("--min-pair-votes, --max-cycles and --min-seq must be at least 0")
    return {
        "alpha": args.alpha, "min_pair_votes": args.min_pair_votes, "max_cycles": args.max_cycles,
        "voter_alpha": args.voter_alpha, "voter_beta": args.voter_beta,
    }  # fmt: skip


def audit(args: argparse.Namespace) -> int:
    if args.target and args.file:
        raise SystemExit("give vote files (offline) or --target (a server), not both")
    if not args.target and not args.file:
        raise SystemExit("give vote files to audit offline, or --target HOST:PORT")
    if args.target:
        if options.vote_filters_asked(args):
            raise SystemExit("the filters apply to vote files; a server's audit reads the board's votes as stored")
        with options.client(args) as client:
            message = client.audit(args.board, args.category, min_seq=args.min_seq, **_request_options(args))
    else:
        message = offline_audit(args)
    from server.rpc.wire import message_dict

    found = message_dict(message)
    if args.flagged_voters_out:
        ids = [voter["voter_id"] for voter in found["voters"]["flagged_voters"]]
        Path(args.flagged_voters_out).write_text("".join(f"{voter}\n" for voter in ids), encoding="utf-8")
        log.info("wrote %d flagged voters to %s", len(ids), args.flagged_voters_out)
    print(json.dumps(found, indent=2) if args.format == "json" else audit_text(found))
    return 0


def offline_audit(args: argparse.Namespace):
    """The audit of the command's vote files (after the filters and the category), as a ``pb.Audit``."""
    import numpy as np

    from engine import Interner
    from server.domain.audit import AuditVotes
    from server.domain.audit import audit as run_audit
    from server.domain.errors import InvalidArgument
    from server.domain.filters import FilterRun, needed_fields
    from server.files.votefile import ReadReport, iter_votes
    from server.proto.arena_ratings.v1 import ratings_pb2 as pb
    from server.rpc import convert

    filters = options.vote_filters(args)
    if args.category:
        if filters.tags:
            raise SystemExit("--category is the view of one tag; give it or --tag, not both")
        filters = replace(filters, tags=frozenset({args.category}))
    request = pb.AuditRequest(board=args.board, category=args.category, **_request_options(args))
    try:
        board, category, audit_options = convert.audit_request_from_pb(request)
    except InvalidArgument as exc:
        raise SystemExit(str(exc)) from None
    fields = needed_fields(filters, bool(args.category), style_control=False) | {"judge"}
    read = replace(options.read_options(args, vote_ids=filters.dedupe), fields=fields)
    run, interner = FilterRun(filters), Interner()
    model_a, model_b, outcome, voters = [], [], [], []
    for chunk in iter_votes(args.file, args.board, read, ReadReport()):
        chunk = run.apply(chunk)
        competitor = interner.intern_many(chunk.names).astype(np.int64)
        model_a.append(competitor[chunk.model_a])
        model_b.append(competitor[chunk.model_b])
        outcome.append(chunk.outcome.astype(np.int64))
        voters.extend(chunk.voter_id or [""] * len(chunk))
    if not run.kept:
        raise SystemExit("no votes left to audit after the filters")
    ends = (np.concatenate(model_a), np.concatenate(model_b))
    votes = AuditVotes(interner.names, *ends, np.concatenate(outcome), voters)
    return convert.audit_to_pb(run_audit(votes, board, category, len(votes), audit_options))


def _rate(value) -> str:
    return "   -  " if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def audit_text(found: dict) -> str:
    """The audit (``message_dict`` of a pb.Audit) as text for people."""
    view = found["board"] + (f"/{found['category']}" if found["category"] else "")
    bias, cycles, voters = found["position_bias"], found["intransitivity"], found["voters"]
    lines = [f"audit of {view}: {found['votes']} votes (seq {found['as_of_seq']})", ""]
    verdict = "BIASED" if bias["flagged"] else "no significant bias"
    lines.append(
        f"position bias: side A wins {_rate(bias['win_rate_a'])} of {bias['decisive_votes']} decisive votes "
        f"(ties excluded), {100 * (1 - found['alpha']):g}% CI [{_rate(bias['lower'])}, {_rate(bias['upper'])}]: "
        f"{verdict}"
    )
    level = f" (each edge at p <= {cycles['edge_level']:.3g})" if cycles["triads_tested"] else ""
    lines.append(
        f"intransitivity: {cycles['cycles']} cycles among {cycles['triads_tested']} triads of {cycles['pairs_tested']} "
        f"pairs with >= {found['min_pair_votes']} decisive votes{level}"
    )
    for cycle in cycles["top"]:
        a, b, c = cycle["models"]
        rates = ", ".join(f"{_rate(r)} ({n})" for r, n in zip(cycle["win_rates"], cycle["votes"]))
        lines.append(f"  {a} > {b} > {c} > {a}: {rates}, p {cycle['p_value']:.2g}")
    lines.append(
        f"outlier voters: {voters['flagged']} flagged, {voters['cleared']} cleared, {voters['undecided']} undecided "
        f"of {voters['voters']} voters ({voters['votes_without_voter']} votes without a voter); "
        f"SPRT thresholds {voters['lower_threshold']:.2f} / {voters['upper_threshold']:.2f}"
    )
    for voter in voters["flagged_voters"][:20]:
        lines.append(
            f"  {voter['voter_id']}: statistic {voter['statistic']:.2f} after {voter['votes_tested']} decisive "
            f"of {voter['votes']} votes"
        )
    if voters["flagged"] > 20:
        lines.append(f"  ... {voters['flagged'] - 20} more (--format json or --flagged-voters-out)")
    width = max([len(t["model"]) for t in found["ties"]] + [5])
    lines += ["", f"{'model':<{width}}  {'votes':>8}  {'ties':>7}  {'tie rate':>8}  {'both bad':>8}  {'rate':>6}"]
    for t in found["ties"]:
        lines.append(
            f"{t['model']:<{width}}  {t['votes']:>8}  {t['ties']:>7}  {_rate(t['tie_rate']):>8}  "
            f"{t['ties_both_bad']:>8}  {_rate(t['both_bad_rate']):>6}"
        )
    return "\n".join(lines)
