"""``arena-ratings bench`` options: the command line, the mix, and the checked Options of a run."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

from server.domain.limits import Limits

CALL_TYPES = ("submit", "leaderboard", "leaderboard_none", "head_to_head")
DEFAULT_MIX = "submit=80,leaderboard=20"
READ_ONLY_MIX = "leaderboard=50,leaderboard_none=50"  # --read-only's default
# Bench's own boards: it names its new boards so, and writes into a board with votes only if it is named so
# (or --board-force is given); any other board's votes are presumed someone else's.
BENCH_BOARD_PREFIX = "bench-"


class BenchOptionError(ValueError):
    """A bad option value (exit code 2)."""


def parse_mix(text: str) -> tuple[tuple[str, float], ...]:
    """``"submit=80,leaderboard=20"`` -> (("submit", 80.0), ("leaderboard", 20.0)); BenchOptionError if bad."""
    entries: dict[str, float] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, weight_text = entry.partition("=")
        name = name.strip()
        if name not in CALL_TYPES:
            raise BenchOptionError(f"--mix: unknown call type {name!r} in {entry!r} (known: {', '.join(CALL_TYPES)})")
        if name in entries:
            raise BenchOptionError(f"--mix: {name!r} is given twice")
        try:
            weight = float(weight_text) if sep else float("nan")
        except ValueError:
            weight = float("nan")
        if not math.isfinite(weight) or weight <= 0:
            raise BenchOptionError(f"--mix: {entry!r} needs a positive weight, e.g. {name}=20")
        entries[name] = weight
    if not entries:
        raise BenchOptionError(f"--mix: no call types given (e.g. {DEFAULT_MIX})")
    return tuple(entries.items())


def _mix_type(text: str) -> tuple[tuple[str, float], ...]:
    try:
        return parse_mix(text)
    except BenchOptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive(kind: type, name: str, allow_zero: bool = False) -> Callable[[str], float | int]:
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{name} must be {'at least 0' if allow_zero else 'positive'}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    return convert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every option of ``arena-ratings bench`` (except --log-level, the command line's own)."""
    parser.add_argument("--target", required=True, metavar="HOST:PORT", help="the server to measure")
    parser.add_argument("--token", help="bearer token sent with every call (needs write scope for submit)")
    parser.add_argument("--tls-ca", metavar="PEM_FILE", help="the server's CA certificate: use TLS")
    parser.add_argument(
        "--duration", type=_positive(float, "--duration"), default=10.0, metavar="S",
        help="measured seconds, after the warm-up (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--warmup", type=_positive(float, "--warmup", allow_zero=True), default=1.0, metavar="S",
        help="seconds of load before measuring, whose samples are discarded (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--concurrency", type=_positive(int, "--concurrency"), default=4, metavar="C",
        help="worker threads, each with its own channel and one call in flight (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-size", type=_positive(int, "--batch-size"), default=100, metavar="N",
        help="votes per submit call (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--mix", type=_mix_type, default=None, metavar="NAME=W,...",
        help=f"weighted call types, of {', '.join(CALL_TYPES)} (default {DEFAULT_MIX}; with --read-only "
        f"{READ_ONLY_MIX})",
    )  # fmt: skip
    parser.add_argument(
        "--models", type=_positive(int, "--models"), default=50, metavar="M",
        help="competitors the random votes are over, model-000.. (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--rate", type=_positive(float, "--rate"), default=None, metavar="R",
        help="open loop: R calls/s in total at fixed intended times, latency measured from those times "
        "(default: closed loop, each worker sends as soon as its previous call returns)",
    )  # fmt: skip
    parser.add_argument(
        "--board", default=None,
        help=f"the board to write and query (default: a new board {BENCH_BOARD_PREFIX}<run id>, named in the "
        f"report); a board with votes whose name does not start with {BENCH_BOARD_PREFIX} needs --board-force",
    )  # fmt: skip
    parser.add_argument(
        "--board-force", action="store_true",
        help="write random votes into --board even though it has votes bench did not write (they cannot be taken "
        "out again one by one)",
    )  # fmt: skip
    parser.add_argument(
        "--read-only", action="store_true",
        help=f"queries only, against the existing --board; nothing is written (default mix {READ_ONLY_MIX})",
    )  # fmt: skip
    parser.add_argument("--format", choices=["table", "json"], default="table", help="report format (default table)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the call mix and the votes (default %(default)s)")
    parser.add_argument(
        "--timeout", type=_positive(float, "--timeout"), default=10.0, metavar="S",
        help="deadline of each call (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--progress", action="store_true", help="print the live progress line on stderr even when it is not a terminal"
    )


@dataclass(frozen=True)
class Options:
    """The checked options of a run."""

    target: str
    token: str | None
    tls_ca: str | None
    duration: float
    warmup: float
    concurrency: int
    batch_size: int
    mix: tuple[tuple[str, float], ...]
    models: int
    rate: float | None
    board: str
    seed: int
    timeout: float
    format: str = "table"
    progress: bool = False
    board_force: bool = False  # write into --board although it has votes bench did not write
    read_only: bool = False  # queries only, against an existing board

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        read_only = bool(getattr(args, "read_only", False))
        mix = args.mix if args.mix is not None else (READ_ONLY_MIX if read_only else DEFAULT_MIX)
        mix = mix if not isinstance(mix, str) else parse_mix(mix)
        options = cls(
            target=args.target, token=args.token, tls_ca=args.tls_ca, duration=float(args.duration),
            warmup=float(args.warmup), concurrency=int(args.concurrency), batch_size=int(args.batch_size), mix=mix,
            models=int(args.models), rate=None if args.rate is None else float(args.rate), board=args.board or "",
            seed=int(args.seed), timeout=float(args.timeout), format=args.format, progress=bool(args.progress),
            board_force=bool(getattr(args, "board_force", False)), read_only=read_only,
        )  # fmt: skip
        options.check()
        return options

    @property
    def writes(self) -> bool:
        """Whether the run sends votes (a submit in its mix)."""
        return any(name == "submit" for name, _ in self.mix)

    @property
    def own_board(self) -> bool:
        """Whether the board is bench's own: a new one it names, or one named as it names them."""
        return not self.board or self.board.startswith(BENCH_BOARD_PREFIX)

    def check(self) -> None:
        """Limits argparse does not see (for Namespaces built by hand as well)."""
        if not self.target or ":" not in self.target:
            raise BenchOptionError(f"--target wants HOST:PORT, got {self.target!r}")
        for name, value in (("--duration", self.duration), ("--timeout", self.timeout)):
            if not math.isfinite(value) or value <= 0:
                raise BenchOptionError(f"{name} must be positive, got {value}")
        if not math.isfinite(self.warmup) or self.warmup < 0:
            raise BenchOptionError(f"--warmup must be at least 0, got {self.warmup}")
        if self.rate is not None and (not math.isfinite(self.rate) or self.rate <= 0):
            raise BenchOptionError(f"--rate must be positive, got {self.rate}")
        if self.concurrency < 1:
            raise BenchOptionError(f"--concurrency must be at least 1, got {self.concurrency}")
        max_batch = Limits().max_batch_votes
        if not 1 <= self.batch_size <= max_batch:
            raise BenchOptionError(f"--batch-size must be 1..{max_batch}, got {self.batch_size}")
        if self.models < 2:
            raise BenchOptionError(f"--models must be at least 2 (a vote needs two competitors), got {self.models}")
        if self.format not in ("table", "json"):
            raise BenchOptionError(f"--format must be table or json, got {self.format!r}")
        if self.read_only and self.writes:
            raise BenchOptionError("--read-only sends queries only, and --mix has submit: leave one of them out")
        if not self.writes and not self.board:
            what = "--read-only" if self.read_only else "a --mix without submit"
            raise BenchOptionError(f"{what} queries an existing board: give --board NAME (`arena-ratings boards`)")

    def describe(self) -> dict:
        """The options as reported (the token itself is never printed)."""
        return {
            "target": self.target, "token": self.token is not None, "tls_ca": self.tls_ca,
            "duration_s": self.duration, "warmup_s": self.warmup, "concurrency": self.concurrency,
            "batch_size": self.batch_size, "mix": dict(self.mix), "models": self.models, "rate": self.rate,
            "board": self.board, "board_force": self.board_force, "read_only": self.read_only, "seed": self.seed,
            "timeout_s": self.timeout,
        }  # fmt: skip


def read_ca(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise BenchOptionError(f"--tls-ca: cannot read {path}: {exc.strerror or exc}") from exc
