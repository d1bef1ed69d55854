"""Option groups shared by several commands, and what their values mean.

Light on purpose: the defaults come from ``engine.config`` and ``server.domain`` modules that import
no numpy, numba, polars or matplotlib; whatever reads files or computes is imported where it is used.
"""

from __future__ import annotations

import argparse
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.config import CI_METHODS, METHODS, TIE_MODELS, BTConfig, EloConfig, StyleConfig
from server.domain.competitors import STATUSES

if TYPE_CHECKING:
    from server.client.ratings_client import RatingsClient
    from server.domain.filters import VoteFilters
    from server.files.votefile import ReadOptions

STDOUT_FORMATS = ("table", "json", "csv", "html")
OUTPUT_FORMATS = (*STDOUT_FORMATS, "png", "heatmap", "parquet")


# --- the engine's settings -----------------------------------------------------------------------


def add_elo_options(parser: argparse.ArgumentParser) -> None:
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


def add_bt_options(parser: argparse.ArgumentParser) -> None:
    defaults = BTConfig()
    group = parser.add_argument_group("Bradley–Terry")
    group.add_argument(
        "--bt-prior", type=float, default=defaults.prior, metavar="TIES",
        help="virtual ties of every competitor against the mean (default: none where the plain MLE exists, "
        "one for each competitor of a component where it does not)",
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


def elo_config(args: argparse.Namespace) -> EloConfig:
    return EloConfig(
        k=args.elo_k,
        base=args.elo_base,
        scale=args.elo_scale,
        initial=args.elo_initial,
        bootstrap_rounds=args.bootstrap,
        seed=args.seed,
    )


def bt_config(args: argparse.Namespace) -> BTConfig:
    return BTConfig(both_bad=args.bt_both_bad, prior=args.bt_prior, reweight=args.bt_reweight)


def style_config(args: argparse.Namespace) -> StyleConfig:
    return StyleConfig(penalty=args.style_penalty, strength=args.style_strength, both_bad=args.bt_both_bad)


# --- what a leaderboard shows --------------------------------------------------------------------


def add_query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", default="bt", choices=list(METHODS), help="default %(default)s")
    parser.add_argument(
        "--ci", default="bootstrap", choices=list(CI_METHODS),
        help="the 95%% CI: BT's bootstrap, sandwich or none; Elo's online bootstrap (--bootstrap B) or none, "
        "which keeps no replicas (default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1000, help="BT bootstrap rounds (default %(default)s)")
    parser.add_argument("--anchor", metavar="MODEL=RATING", help="fix one model's BT rating (default: mean 1000)")
    parser.add_argument("--category", default="", metavar="TAG", help="the category view: votes tagged TAG only")
    parser.add_argument(
        "--style-control", action="store_true",
        help="BT with the votes' style features (length, markdown) as covariates; rows show the rank change",
    )  # fmt: skip
    parser.add_argument(
        "--bt-ties", default="half", choices=list(TIE_MODELS),
        help="BT's tie model: half a win each (LMArena's), or Davidson's or Rao–Kupper's, whose tie parameter "
        "is fitted with the ratings (reported with its CI and the AIC; default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--cluster", choices=("none", "voter", "prompt"), default="none",
        help="BT bootstrap CIs that resample whole voters (judge / voter_id) or prompts (prompt_id, question_id) "
        "instead of single votes (default %(default)s)",
    )  # fmt: skip
    add_output_options(parser)


def query_options(args: argparse.Namespace) -> dict:
    """The query the options describe, as names: method, ci, rounds (BT's; Elo's replicas are the
    board's), anchor, category, style_control, ties, cluster. The keywords of ``leaderboard_request``."""
    return {
        "method": args.method,
        "ci": args.ci,
        "rounds": args.rounds if args.method == "bt" else 0,
        "anchor": anchor(args.anchor),
        "category": args.category,
        "style_control": args.style_control,
        "ties": args.bt_ties,
        "cluster": args.cluster,
    }


def anchor(text: str | None) -> tuple[str, float] | None:
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


def add_listing_options(parser: argparse.ArgumentParser) -> None:
    """What a server's leaderboard lists, and what it is compared with."""
    group = parser.add_argument_group("rows listed (ranks count the listed rows only)")
    group.add_argument(
        "--status", action="append", default=[], choices=list(STATUSES),
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


def listing_options(args: argparse.Namespace) -> dict:
    """The rows and snapshots the options ask for: ``leaderboard_request``'s filters, compare_to, as_of."""
    if args.min_votes < 0:
        raise SystemExit("--min-votes must be at least 0")
    filters = {
        "statuses": args.status,
        "open_weights_only": args.open_weights,
        "licenses": args.license,
        "organizations": args.organization,
        "min_votes": args.min_votes,
        "include_unlisted": args.include_unlisted,
    }
    return {"filters": filters, "compare_to": _snapshot_ref(args.compare_to), "as_of": _snapshot_ref(args.as_of)}


def listing_asked(args: argparse.Namespace) -> bool:
    return bool(args.status or args.open_weights or args.license or args.organization or args.min_votes
                or args.include_unlisted or args.compare_to or args.as_of)  # fmt: skip


def _snapshot_ref(text: str | None) -> str | float | None:
    if text is None or not text.startswith("@"):
        return text
    return parse_time(text[1:])


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=OUTPUT_FORMATS,
        help="table, json (the versioned feed), csv or html on standard output (default table); "
        "with --output also png, heatmap or parquet (default: from the file's extension)",
    )  # fmt: skip
    parser.add_argument("--output", metavar="PATH", help="write to PATH instead of standard output")
    parser.add_argument(
        "--title", metavar="TEXT",
        help="the html page's title and heading (default: 'BOARD leaderboard', with ' · TAG' for a --category)",
    )  # fmt: skip


def output_format(args: argparse.Namespace) -> str | None:
    """The format of the command's output: --format, else --output's extension (None: standard output's
    default). An extension that implies no format stops the command, naming the flag and the extensions;
    so does a --title for any format but html (the only one with a title)."""
    fmt = _output_format(args)
    if args.title is not None and fmt != "html":
        raise SystemExit(f"--title is the html page's; the {fmt or 'table'} output has none")
    return fmt


def _output_format(args: argparse.Namespace) -> str | None:
    if args.format or not args.output:
        return args.format
    from server.files import export

    fmt = export.format_of(args.output)
    if fmt is None:
        raise SystemExit(
            f"--output {args.output}: cannot tell the format from the extension (known: {', '.join(export.SUFFIXES)}); "
            f"give --format, one of {', '.join(OUTPUT_FORMATS)}"
        )
    return fmt


# --- connecting to a server ----------------------------------------------------------------------


def add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="127.0.0.1:50051", help="default %(default)s")
    add_credential_options(parser)


def add_credential_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connecting to a server")
    group.add_argument(
        "--token", default=os.environ.get("ARENA_RATINGS_TOKEN"),
        help="bearer token (default: $ARENA_RATINGS_TOKEN)",
    )  # fmt: skip
    group.add_argument("--tls-ca", metavar="PEM", help="use TLS, trusting the server certificate this CA signed")
    group.add_argument("--tls-cert", metavar="PEM", help="client certificate, for mutual TLS (with --tls-key)")
    group.add_argument("--tls-key", metavar="PEM", help="client private key, for mutual TLS")


def client(args: argparse.Namespace) -> RatingsClient:
    """A client for the command's --target, with its token and TLS options."""
    from server.client.ratings_client import RatingsClient

    client_pair = None
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("--tls-cert and --tls-key go together")
    if args.tls_cert:
        client_pair = (read_pem(args.tls_key), read_pem(args.tls_cert))
    ca = read_pem(args.tls_ca) if args.tls_ca else None
    return RatingsClient(args.target, token=args.token or None, tls_ca=ca, tls_client=client_pair)


def read_pem(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SystemExit(f"{path}: cannot read: {exc}") from exc


# --- vote files ----------------------------------------------------------------------------------


def add_read_options(parser: argparse.ArgumentParser) -> None:
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


def add_ray_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group('on a Ray cluster (pip install ".[ray]")')
    group.add_argument(
        "--ray", metavar="auto|ADDRESS",
        help="compute on Ray: auto starts a local instance; HOST:PORT or ray://HOST:PORT joins a cluster. "
        "Same output as without it (Elo bit for bit)",
    )  # fmt: skip
    group.add_argument(
        "--ray-cpus", type=int, metavar="N", help="with --ray auto: the local instance's CPUs (default all)"
    )
    group.add_argument(
        "--ray-read", choices=["workers", "driver"], default="workers",
        help="with several files: the workers read them in parallel (the paths must be readable on every node; "
        "default) or this process reads them",
    )  # fmt: skip


def read_options(args: argparse.Namespace, vote_ids: bool) -> ReadOptions:
    from server.files.votefile import ReadOptions

    columns = {}
    for mapping in args.col:
        ours, sep, theirs = mapping.partition("=")
        if not sep or not ours or not theirs:
            raise SystemExit(f"--col wants OURS=THEIRS, e.g. model_a=home_team; got {mapping!r}")
        columns[ours] = theirs
    return ReadOptions(columns, args.winner_loser, args.on_bad_row, args.chunk_size, vote_ids)


def add_filter_options(parser: argparse.ArgumentParser) -> None:
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
    group.add_argument(
        "--exclude-voters", metavar="FILE",
        help="drop the votes of the judges listed in FILE, one voter id a line (e.g. `audit --flagged-voters-out`)",
    )  # fmt: skip


def vote_filters(args: argparse.Namespace) -> VoteFilters:
    from server.domain.filters import VoteFilters

    if args.daily_cap < 0:
        raise SystemExit("--daily-cap must be at least 0")
    return VoteFilters(
        anony_only=args.anony_only,
        exclude_models=frozenset(args.exclude_model),
        languages=frozenset(args.language),
        since=parse_time(args.since),
        until=parse_time(args.until),
        drop_ties=args.drop_ties,
        tags=frozenset(args.tag),
        dedupe=args.dedupe,
        daily_cap=args.daily_cap,
        exclude_voters=read_voter_ids(args.exclude_voters),
    )


def vote_filters_asked(args: argparse.Namespace) -> bool:
    """Any filter option given (without reading the --exclude-voters file)."""
    return bool(args.anony_only or args.exclude_model or args.language or args.since or args.until or args.drop_ties
                or args.tag or args.dedupe or args.daily_cap or args.exclude_voters)  # fmt: skip


def read_voter_ids(path: str | None) -> frozenset[str]:
    """The voter ids of a file, one a line (blank lines and surrounding spaces ignored)."""
    if path is None:
        return frozenset()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SystemExit(f"--exclude-voters {path}: cannot read: {exc}") from exc
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def parse_time(text: str | None) -> float | None:
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
