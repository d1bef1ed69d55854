"""Fuzzing the gRPC surface: hostile but well-formed requests, then garbage bytes on the port.

Every request must be answered with OK or a clear client-error status (never INTERNAL, UNKNOWN
or UNAVAILABLE) with a message; a rejected write must change nothing (last seq, boards,
competitor metadata, snapshots); an accepted submit must add exactly the votes its ack counts;
and the server must stay healthy throughout. One loopback server serves the whole module (the
tests share it and run in file order: writes first, then queries on the boards they built).
Everything is derandomized, so a failure reproduces.
"""

from __future__ import annotations

import functools
import math
import random
import re
import socket
import threading
import time
import unicodedata
from dataclasses import dataclass, field

import grpc
import pytest
from google.protobuf.message import DecodeError
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine import EloConfig
from server.client.ratings_client import open_channel
from server.domain.limits import Limits
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.rpc import app
from server.service.core import ServiceConfig

CALL_TIMEOUT = 10.0  # seconds; nothing may hang
ALLOWED = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}
LIMITS = Limits()
NAME_LIMIT = LIMITS.max_name_length
BOARD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
OUTCOMES = {pb.A_WINS, pb.B_WINS, pb.TIE, pb.TIE_BOTH_BAD}
MODELS = [f"m{i}" for i in range(8)]
LB_BOARDS = ("lb", "lb-style")  # seeded once, never written by the fuzzers (their standings stay cached)


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )


# ----------------------------------------------------------------- the server


@dataclass
class Fuzz:
    server: app.RunningServer
    channel: grpc.Channel
    stub: pb_grpc.RatingsStub
    health: health_pb2_grpc.HealthStub
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def service(self):
        return self.server.service

    def count(self, test: str, n: int = 1) -> None:
        self.counts[test] = self.counts.get(test, 0) + n


@pytest.fixture(scope="module")
def fz(tmp_path_factory, request):
    config = ServiceConfig(default_elo=EloConfig(bootstrap_rounds=50), snapshot_every_seconds=0)
    server = app.start(tmp_path_factory.mktemp("fuzz"), "127.0.0.1", 0, config)
    channel = open_channel(f"127.0.0.1:{server.port}")
    target = Fuzz(server, channel, pb_grpc.RatingsStub(channel), health_pb2_grpc.HealthStub(channel))
    try:
        _seed(target)
        yield target
    finally:
        channel.close()
        stopped = stop_within(server, 20.0)
        total = sum(target.counts.values())
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            per_test = ", ".join(f"{name} {n}" for name, n in target.counts.items())
            with capture.global_and_fixture_disabled():
                reporter.write_line(f"\nfuzz: {total} requests ({per_test})")
    assert stopped, "the fuzzed server did not stop within 20 s"


def stop_within(server: app.RunningServer, seconds: float) -> bool:
    """Stop the server from a daemon thread; False if it is still stopping after ``seconds``."""
    stopper = threading.Thread(target=server.stop, kwargs={"grace": 1.0}, name="fuzz-stop", daemon=True)
    stopper.start()
    stopper.join(seconds)
    return not stopper.is_alive()


def _seed(fz: Fuzz) -> None:
    """Small fixed boards for the query fuzzers: "lb" (tags coding/math, metadata, a snapshot) and
    "lb-style" (style features at extreme but valid values)."""
    rng = random.Random(7)
    n = 400
    a = [rng.randrange(8) for _ in range(n)]
    b = [(x + rng.randrange(1, 8)) % 8 for x in a]
    tags = [["coding"], ["math"], []]
    columns = pb.VoteColumns(
        names=MODELS,
        model_a=a,
        model_b=b,
        outcome=[rng.choice([1, 1, 2, 2, 3, 4]) for _ in range(n)],
        timestamp=[1.7e9 + 60.0 * i for i in range(n)],
        vote_id=[f"seed-{i}" for i in range(n)],
        voter_id=[f"judge-{i % 5}" for i in range(n)],
        tag_count=[len(tags[i % 3]) for i in range(n)],
        tags=[t for i in range(n) for t in tags[i % 3]],
    )
    fz.stub.SubmitVotes(pb.VoteBatch(board="lb", columns=columns), timeout=CALL_TIMEOUT)
    extreme = [0.0, 5e-324, 1.0, 250.0, 1e308]
    style = pb.VoteColumns(
        names=MODELS[:5],
        model_a=[i % 5 for i in range(60)],
        model_b=[(i % 5 + 1 + (i // 5) % 4) % 5 for i in range(60)],
        outcome=[1 + i % 4 for i in range(60)],
        vote_id=[f"style-{i}" for i in range(60)],
        style_features=["tokens", "bold"],
        style_a=[extreme[(3 * i) % 5] for i in range(120)],
        style_b=[extreme[(7 * i + 1) % 5] for i in range(120)],
    )
    fz.stub.SubmitVotes(pb.VoteBatch(board="lb-style", columns=style), timeout=CALL_TIMEOUT)
    fz.stub.UpsertCompetitors(
        pb.UpsertCompetitorsRequest(
            competitors=[
                pb.Competitor(name="m0", organization="OrgA", license="MIT", open_weights=True),
                pb.Competitor(name="m1", organization="OrgB", license="Proprietary", open_weights=False),
                pb.Competitor(name="m2", status=pb.DEPRECATED, links={"website": "https://example.com"}),
            ]
        ),
        timeout=CALL_TIMEOUT,
    )
    for board in LB_BOARDS:
        fz.stub.CreateSnapshot(pb.CreateSnapshotRequest(board=board, name="base"), timeout=CALL_TIMEOUT)
    fz.service.wait_applied(fz.service.last_seq, CALL_TIMEOUT)


# ------------------------------------------------------------ checking helpers


def describe(message) -> str:
    text = message.hex() if isinstance(message, bytes) else repr(message)
    return text if len(text) <= 800 else f"{text[:800]}... ({len(text)} characters)"


def check_error(exc: grpc.RpcError, request, allowed=ALLOWED) -> None:
    code = exc.code()
    assert code in allowed, f"{code.name} ({exc.details()!r}) for {describe(request)}"
    assert (exc.details() or "").strip(), f"{code.name} without a message for {describe(request)}"


def call(fz: Fuzz, test: str, rpc, request):
    """(reply, None) or (None, error); the error's status must be a clear client-error one."""
    fz.count(test)
    try:
        return rpc(request, timeout=CALL_TIMEOUT), None
    except grpc.RpcError as exc:
        check_error(exc, request)
        return None, exc


def settled_state(fz: Fuzz, with_seq: bool = True) -> tuple:
    """What a rejected write must leave unchanged, read once everything accepted is applied."""
    service = fz.service
    service.wait_applied(service.last_seq, CALL_TIMEOUT)
    boards = [
        (
            b.name,
            b.votes,
            b.competitors,
            b.last_seq,
            b.snapshots,
            [(c.name, c.votes, c.competitors) for c in b.categories],
        )
        for b in service.boards().boards
    ]
    return (service.last_seq if with_seq else None), service.competitors(), boards


def write(fz: Fuzz, test: str, rpc, request, must_reject: str | None, with_seq: bool = True):
    """Send one write; if refused, nothing may have changed; if ``must_reject`` names a reason, it must be refused."""
    before = settled_state(fz, with_seq)
    reply, error = call(fz, test, rpc, request)
    after = settled_state(fz, with_seq)
    if error is not None:
        assert after == before, (
            f"refused ({error.code().name}: {error.details()}) yet changed state: {describe(request)}"
        )
    else:
        assert must_reject is None, f"accepted a request with {must_reject}: {describe(request)}"
    return reply, error, before, after


def check_ack(ack: pb.VoteAck, n: int, before: tuple, after: tuple, request) -> None:
    """An accepted batch of n votes: accepted + duplicates = n, and the seq grew by exactly the accepted count."""
    assert ack.accepted + ack.duplicates == n, describe(request)
    assert after[0] - before[0] == ack.accepted, f"seq {before[0]} -> {after[0]} for {ack}"
    if ack.accepted:
        assert (ack.first_seq, ack.last_seq) == (before[0] + 1, after[0])
    else:
        assert (ack.first_seq, ack.last_seq) == (0, 0)
    index = list(ack.duplicate_index)
    assert len(index) == ack.duplicates and index == sorted(set(index)) and all(i < n for i in index)


# ----------------------------------------------------------------- strategies

CHARS = st.characters(exclude_categories=("Cs",))  # protobuf strings are UTF-8: no lone surrogates
SPECIAL_TEXT = [
    "", " ", " \t\n\r", "\x00", "a\x00b", "\u200b", "\ufeff", "\u202egnp.exe", "\U0001f984", "\U0001f600" * 3,
    "\U0010ffff", "名前", "Ω≈ç√", "../../etc/passwd", "'; DROP TABLE votes; --", "%s%n%x", "{}", "default",
    "a/b", "/", "x" * NAME_LIMIT, "x" * (NAME_LIMIT + 1), "é" * (NAME_LIMIT + 1), "\U0001f984" * NAME_LIMIT,
    "\U0001f984" * (NAME_LIMIT + 1), "m0 ", " m0",
]  # fmt: skip
SPECIAL_FLOATS = [
    math.nan, -math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, -5e-324, 1e-300, 1.0, -1.0, 1.7e9, 2.0**53,
    1e20, -1e20, 1e308, -1e308, 1.7976931348623157e308,
]  # fmt: skip
INT32 = st.integers(-(2**31), 2**31 - 1)
UINT32 = st.integers(0, 2**32 - 1)
UINT64 = st.integers(0, 2**64 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)


def _repeat(args: tuple[str, int]) -> str:
    piece, n = args
    return (piece * n)[:n]


long_text = st.tuples(st.text(CHARS, min_size=1, max_size=3), st.integers(200, 2000)).map(_repeat)
hostile_text = st.one_of(st.sampled_from(SPECIAL_TEXT), st.text(CHARS, max_size=24), long_text)
hostile_floats = st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(), st.floats(-1e10, 1e10))
model_names = st.one_of(st.sampled_from(MODELS), st.sampled_from(MODELS), st.sampled_from(MODELS), hostile_text)


def vote_ids_for(draw):
    """vote_id(i): mostly fresh ids (one random prefix per batch), sometimes a shared or a hostile one."""
    prefix = draw(st.uuids()).hex[:16]

    def vote_id(i: int) -> str:
        mode = draw(st.integers(0, 15))
        return f"{prefix}-{i}" if mode > 2 else ("dup-0", "dup-1")[mode] if mode < 2 else draw(hostile_text)

    return vote_id


outcomes = st.one_of(
    st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), INT32, st.sampled_from([0, 5, -1, 2**31 - 1, -(2**31)])
)
timestamps = st.one_of(st.floats(1e9, 2e9), hostile_floats)
tag_text = st.one_of(st.sampled_from(["coding", "math", "english"]), hostile_text)
tag_lists = st.one_of(
    st.just([]),
    st.just([]),
    st.lists(st.sampled_from(["coding", "math"]), max_size=2),
    st.lists(tag_text, max_size=2),
    st.integers(LIMITS.max_tags_per_vote - 1, LIMITS.max_tags_per_vote + 3).map(lambda n: [f"t{i}" for i in range(n)]),
)
style_values = st.one_of(st.floats(0, 1e4), st.sampled_from([0.0, 5e-324, 1e308]), hostile_floats)
feature_names = st.one_of(st.sampled_from(["tokens", "bold", "lists", "headers"]), hostile_text)
write_boards = st.one_of(st.sampled_from(["fz", "fz-style", "default", "", "fz.2", "a" * 64, "a" * 65]), hostile_text)
batch_sizes = st.one_of(st.integers(0, 5), st.integers(0, 5), st.integers(6, 20))
skews = st.sampled_from([0] * 14 + [-1, 1, 2])  # column lengths: mostly right, sometimes not


def board_ok(board: str) -> bool:
    return board == "" or (BOARD_NAME.fullmatch(board) is not None and len(board) <= LIMITS.max_board_length)


_INVISIBLE_EDGE = {"Cf", "Zs", "Zl", "Zp"}
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def name_problem(name: str) -> bool:
    """The README's name rule, written out again independently of server.domain.names."""
    nfc = unicodedata.normalize("NFC", name)
    edge = [c for c in (nfc[:1], nfc[-1:]) if c]
    return (
        not nfc
        or len(nfc) > NAME_LIMIT
        or any(unicodedata.category(c) == "Cc" or c in _BIDI for c in nfc)
        or any(c.isspace() or unicodedata.category(c) in _INVISIBLE_EDGE for c in edge)
    )


def id_problem(value: str) -> bool:
    return not value or len(value) > NAME_LIMIT


@functools.cache
def oversize_rows(n: int) -> tuple[pb.Vote, ...]:
    return tuple(pb.Vote(vote_id=f"big-{n}-{i}", model_a="m0", model_b="m1", outcome=pb.A_WINS) for i in range(n))


def oversize_columns(n: int) -> pb.VoteColumns:
    return pb.VoteColumns(
        names=["m0", "m1"],
        model_a=[0] * n,
        model_b=[1] * n,
        outcome=[1] * n,
        vote_id=[f"big-{n}-{i}" for i in range(n)],
    )


@st.composite
def row_batches(draw, small: bool = False) -> pb.VoteBatch:
    batch = pb.VoteBatch(board=draw(write_boards), batch_id=draw(st.integers(0, 2**64 - 1)))
    if not small and draw(st.integers(0, 99)) == 0:
        batch.votes.extend(oversize_rows(draw(st.sampled_from([LIMITS.max_batch_votes + 1, 12_000]))))
        return batch
    names = draw(st.lists(model_names, min_size=1, max_size=5))
    features = draw(st.one_of(st.just([]), st.just([]), st.lists(feature_names, min_size=1, max_size=3)))
    vote_id = vote_ids_for(draw)
    for i in range(draw(batch_sizes)):
        vote = batch.votes.add(
            vote_id=vote_id(i),
            model_a=draw(st.sampled_from(names)),
            model_b=draw(st.sampled_from(names)),
            outcome=draw(outcomes),
        )
        if draw(st.integers(0, 3)) == 0:
            vote.tags.extend(draw(tag_lists))
        if draw(st.integers(0, 2)) == 0:
            vote.timestamp = draw(timestamps)
        if draw(st.integers(0, 5)) == 0:
            vote.voter_id = draw(hostile_text)
        if features:
            mine = features if draw(st.integers(0, 9)) else draw(st.lists(feature_names, max_size=3))
            for name in mine:
                vote.style_a[name] = draw(style_values)
                vote.style_b[name] = draw(style_values)
    return batch


def rows_must_reject(batch: pb.VoteBatch) -> str | None:
    votes = batch.votes
    if not board_ok(batch.board):
        return "a bad board name"
    if not votes or len(votes) > LIMITS.max_batch_votes:
        return f"{len(votes)} votes"
    for i, vote in enumerate(votes):
        if vote.outcome not in OUTCOMES:
            return f"votes[{i}] outcome {vote.outcome}"
        if vote.HasField("timestamp") and not math.isfinite(vote.timestamp):
            return f"votes[{i}] timestamp {vote.timestamp}"
        if vote.model_a == vote.model_b:
            return f"votes[{i}] a self-battle"
        if name_problem(vote.model_a) or name_problem(vote.model_b):
            return f"votes[{i}] a bad name"
        if id_problem(vote.vote_id):
            return f"votes[{i}] a bad vote id"
        if len(vote.tags) > LIMITS.max_tags_per_vote:
            return f"votes[{i}] {len(vote.tags)} tags"
        for side in (vote.style_a, vote.style_b):
            if any(not math.isfinite(v) or v < 0 for v in side.values()):
                return f"votes[{i}] a bad style value"
    return None


@st.composite
def column_batches(draw, small: bool = False) -> pb.VoteBatch:
    board = draw(write_boards)
    if not small and draw(st.integers(0, 99)) == 0:
        n = draw(st.sampled_from([LIMITS.max_batch_votes + 1, 12_000]))
        return pb.VoteBatch(board=board, columns=oversize_columns(n))
    names = draw(st.lists(model_names, max_size=6))
    n = draw(batch_sizes)

    def column(values, optional: bool = False) -> list:
        if optional and draw(st.booleans()):
            return []
        size = max(0, n + draw(skews))
        return draw(st.lists(values, min_size=size, max_size=size))

    index = st.integers(0, max(len(names) - 1, 0))
    indices = st.one_of(index, index, index, index, index, UINT32)
    vote_id = vote_ids_for(draw)
    c = pb.VoteColumns(
        names=names,
        model_a=column(indices),
        model_b=column(indices),
        outcome=column(outcomes),
        timestamp=column(st.one_of(st.floats(1e9, 2e9), st.floats(1e9, 2e9), hostile_floats), optional=True),
        vote_id=[vote_id(i) for i in range(max(0, n + draw(skews)))],
        voter_id=column(st.one_of(st.sampled_from(["judge-1", "judge-2", ""]), hostile_text), optional=True),
        anony=column(st.booleans(), optional=True),
        language=column(st.sampled_from(["en", "de", ""]), optional=True),
    )
    tag_mode = draw(st.integers(0, 3))
    if tag_mode == 1:  # consistent
        per_vote = [draw(st.lists(tag_text, max_size=2)) for _ in range(n)]
        c.tag_count.extend(len(t) for t in per_vote)
        c.tags.extend(t for tags in per_vote for t in tags)
    elif tag_mode == 2:  # anything
        c.tag_count.extend(column(st.one_of(st.integers(0, 3), UINT32)))
        c.tags.extend(draw(st.lists(tag_text, max_size=8)))
    if draw(st.integers(0, 2)) == 0:
        features = draw(
            st.one_of(
                st.lists(feature_names, min_size=1, max_size=3),
                st.lists(st.sampled_from(["tokens", "bold"]), min_size=1, max_size=2, unique=True),
                st.just([f"f{i}" for i in range(17)]),
                st.just([]),
            )
        )
        f = len(features)
        for side in (c.style_a, c.style_b):
            size = max(0, n * f + draw(skews))
            side.extend(draw(st.lists(style_values, min_size=size, max_size=size)))
        c.style_features.extend(features)
    return pb.VoteBatch(board=board, columns=c, batch_id=draw(st.integers(0, 2**64 - 1)))


def columns_must_reject(batch: pb.VoteBatch) -> str | None:
    c = batch.columns
    n = len(c.outcome)
    if not board_ok(batch.board):
        return "a bad board name"
    if n == 0 or n > LIMITS.max_batch_votes:
        return f"{n} votes"
    for column in ("model_a", "model_b", "vote_id"):
        if len(getattr(c, column)) != n:
            return f"{len(getattr(c, column))} {column} for {n} votes"
    for column in ("timestamp", "voter_id", "anony", "language"):
        if len(getattr(c, column)) not in (0, n):
            return f"{len(getattr(c, column))} {column} for {n} votes"
    for i in range(n):
        a, b = c.model_a[i], c.model_b[i]
        if a >= len(c.names) or b >= len(c.names):
            return f"votes[{i}] a name index out of range"
        if c.names[a] == c.names[b]:
            return f"votes[{i}] a self-battle"
        if name_problem(c.names[a]) or name_problem(c.names[b]):
            return f"votes[{i}] a bad name"
        if c.outcome[i] not in OUTCOMES:
            return f"votes[{i}] outcome {c.outcome[i]}"
        if id_problem(c.vote_id[i]):
            return f"votes[{i}] a bad vote id"
    if not all(math.isfinite(t) for t in c.timestamp):
        return "a non-finite timestamp"
    if (len(c.tags) or len(c.tag_count)) and (len(c.tag_count) != n or sum(c.tag_count) != len(c.tags)):
        return "tag counts that do not match the tags"
    f = len(c.style_features)
    if (len(c.style_a) or len(c.style_b)) and not f:
        return "style values without features"
    if f and (len(c.style_a) != n * f or len(c.style_b) != n * f or len(set(c.style_features)) != f):
        return "ragged or duplicate style columns"
    if any(not math.isfinite(v) or v < 0 for v in (*c.style_a, *c.style_b)):
        return "a bad style value"
    return None


def batch_must_reject(batch: pb.VoteBatch) -> str | None:
    if batch.HasField("columns"):
        if len(batch.votes):
            return "both row and column forms"
        return columns_must_reject(batch)
    return rows_must_reject(batch)


def batch_size(batch: pb.VoteBatch) -> int:
    return len(batch.columns.outcome) if batch.HasField("columns") else len(batch.votes)


@st.composite
def ballots(draw) -> pb.RankingBallot:
    ballot = pb.RankingBallot(
        board=draw(write_boards),
        ballot_id=draw(st.one_of(st.uuids().map(str), st.uuids().map(str), st.just("ballot-dup"), hostile_text)),
        voter_id=draw(st.one_of(st.just(""), hostile_text)),
        tags=draw(tag_lists),
    )
    places = st.one_of(st.integers(1, 4), st.integers(1, 4), st.just(0), UINT32)
    for _ in range(draw(st.one_of(st.integers(3, 8), st.integers(0, 10)))):
        ballot.ranking.add(model=draw(model_names), place=draw(places))
    if draw(st.integers(0, 2)) == 0:
        ballot.timestamp = draw(timestamps)
    return ballot


def ballot_must_reject(ballot: pb.RankingBallot) -> str | None:
    models = [entry.model for entry in ballot.ranking]
    if not board_ok(ballot.board):
        return "a bad board name"
    if not 3 <= len(models) <= 8:
        return f"{len(models)} competitors"
    if len(set(models)) != len(models):
        return "a competitor ranked twice"
    if any(name_problem(m) for m in models) or any(entry.place == 0 for entry in ballot.ranking):
        return "a bad entry"
    if not ballot.ballot_id or len(ballot.ballot_id) > NAME_LIMIT - 6:
        return "a bad ballot id"
    if ballot.HasField("timestamp") and not math.isfinite(ballot.timestamp):
        return "a non-finite timestamp"
    if len(ballot.voter_id) > NAME_LIMIT or len(ballot.tags) > LIMITS.max_tags_per_vote:
        return "a long voter id or too many tags"
    if any(id_problem(t) for t in ballot.tags):
        return "a bad tag"
    return None


@st.composite
def upserts(draw) -> pb.UpsertCompetitorsRequest:
    request = pb.UpsertCompetitorsRequest()
    if draw(st.integers(0, 99)) == 0:
        request.competitors.extend(pb.Competitor(name=f"bulk-{i}") for i in range(LIMITS.max_batch_votes + 1))
        return request
    statuses = st.one_of(st.sampled_from([0, 1, 2, 3]), st.sampled_from([0, 1, 2, 3]), INT32)
    for _ in range(draw(st.integers(0, 5))):
        c = request.competitors.add(name=draw(st.one_of(st.sampled_from([*MODELS, "fresh"]), hostile_text)))
        c.status = draw(statuses)
        for key in ("display_name", "organization", "license"):
            if draw(st.booleans()):
                setattr(c, key, draw(hostile_text))
        if draw(st.booleans()):
            c.open_weights = draw(st.booleans())
        links = st.dictionaries(hostile_text, st.one_of(st.just(""), hostile_text), max_size=3)
        many = st.integers(15, 18).map(lambda n: {f"k{i}": "u" for i in range(n)})
        c.links.update(draw(st.one_of(links, links, many)))
    return request


def upsert_must_reject(request: pb.UpsertCompetitorsRequest) -> str | None:
    names = [c.name for c in request.competitors]
    if not names or len(names) > LIMITS.max_batch_votes:
        return f"{len(names)} competitors"
    if len(set(names)) != len(names):
        return "a competitor listed twice"
    for c in request.competitors:
        if c.status not in (0, 1, 2, 3):
            return f"status {c.status}"
        if name_problem(c.name) or any(
            len(getattr(c, k)) > NAME_LIMIT for k in ("display_name", "organization", "license")
        ):
            return "a bad name or a long field"
        if len(c.links) > 16 or any(id_problem(k) or len(v) > 4 * NAME_LIMIT for k, v in c.links.items()):
            return "bad links"
    return None


snapshot_boards = st.one_of(st.sampled_from([*LB_BOARDS, "fz", "fz-style", "default", "", "nope"]), hostile_text)
snapshot_names = st.one_of(
    st.sampled_from(["base", "", "a", "x" * 64, "x" * 65, "a b", "-a", "2026-01-01T00:00:00Z"]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:+\-]{0,70}", fullmatch=True),
    hostile_text,
)
# Datetime's range (years 1-9999) holds every snapshot time the service is known to handle;
# test_fuzz_snapshot_ref_times covers the rest.
SAFE_TIMES = st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0]), st.floats(-6.2e10, 2.5e11))
ALL_TIMES = st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats())
QUERY_BOARDS = ["lb", "lb-style", "lb/coding", "lb/math", "lb/nope", "fz", "fz-style", "default", "", "lb/", "/coding"]


@st.composite
def leaderboard_requests(draw, times=SAFE_TIMES, cheap: bool = False) -> pb.LeaderboardRequest:
    r = pb.LeaderboardRequest(board=draw(st.one_of(st.sampled_from(QUERY_BOARDS), hostile_text)))
    r.method = draw(st.one_of(st.sampled_from([0, 1, 2]), st.sampled_from([0, 1, 2]), INT32))
    r.ci = draw(st.one_of(st.sampled_from([0, 1, 2, 3]), st.sampled_from([0, 1, 2, 3]), INT32))
    r.rounds = draw(st.one_of(st.sampled_from([1, 2, 5, 20]), st.just(0), st.integers(100_001, 2**32 - 1)))
    if r.rounds == 0 and (cheap or r.board.partition("/")[0] not in LB_BOARDS):
        r.rounds = 3  # 1000 bootstrap rounds only on the small seeded boards
    r.min_seq = draw(st.one_of(st.just(0), st.just(0), st.integers(0, 1000), UINT64))
    if draw(st.integers(0, 3)) == 0:
        r.anchor.SetInParent()
        r.anchor.model = draw(model_names)
        r.anchor.rating = draw(st.one_of(st.sampled_from([1000.0, 0.0]), hostile_floats))
    if draw(st.integers(0, 2)) == 0:
        r.category = draw(st.one_of(st.sampled_from(["coding", "math", "nope"]), hostile_text))
    if draw(st.booleans()):
        f = r.filters
        f.statuses.extend(draw(st.lists(st.one_of(st.sampled_from([0, 1, 2, 3]), INT32), max_size=3)))
        f.open_weights_only = draw(st.booleans())
        f.licenses.extend(draw(st.lists(st.one_of(st.sampled_from(["MIT", "Proprietary"]), hostile_text), max_size=2)))
        f.organizations.extend(draw(st.lists(st.one_of(st.sampled_from(["OrgA"]), hostile_text), max_size=2)))
        f.min_votes = draw(st.one_of(st.integers(0, 200), UINT64))
        f.include_unlisted = draw(st.booleans())
    for ref in (r.compare_to, r.as_of):
        kind = draw(st.integers(0, 5))
        if kind == 1:
            ref.name = draw(st.one_of(st.sampled_from(["base", "nope", ""]), hostile_text))
        elif kind == 2:
            ref.time = draw(times)
    r.gap_ranks.extend(draw(st.lists(st.one_of(st.sampled_from([0, 1, 2, 10, 1000]), UINT32), max_size=20)))
    r.style_control = draw(st.integers(0, 3)) == 0
    if draw(st.integers(0, 3)) == 0:  # paging (server.paging)
        r.limit = draw(st.one_of(st.integers(0, 5), st.sampled_from([-1, 40_000, 40_001]), INT64))
        r.offset = draw(st.one_of(st.integers(0, 12), st.just(-1), INT64))
    return r


WATCH_INTERVALS = st.one_of(
    st.sampled_from([0.05, 0.1, 0.2]),  # valid and short: a cancelled watch holds its thread this long
    st.sampled_from([0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, -1.0, 0.049, 3600.001, 1e300, -1e300]),
)


@st.composite
def replay_streams(draw) -> list[pb.ReplayChunk]:
    board = draw(st.one_of(st.sampled_from(["rp1", "rp2", "", "fz"]), hostile_text))
    if board.partition("/")[0] in LB_BOARDS:
        board = "rp1"
    chunks = []
    for i in range(draw(st.integers(0, 3))):
        chunk = pb.ReplayChunk(columns=draw(column_batches(small=True)).columns)
        if i == 0 or draw(st.integers(0, 9)) == 0:
            chunk.board = board
        if i == 0 or draw(st.integers(0, 9)) == 0:
            f = chunk.filters
            f.anony_only = draw(st.integers(0, 4)) == 0
            f.exclude_models.extend(draw(st.lists(model_names, max_size=2)))
            f.languages.extend(draw(st.lists(st.sampled_from(["en", "de", ""]), max_size=2)))
            for key in ("since", "until"):
                if draw(st.integers(0, 3)) == 0:
                    setattr(f, key, draw(hostile_floats))
            f.drop_ties = draw(st.booleans())
            f.tags.extend(draw(st.lists(tag_text, max_size=2)))
            f.dedupe = draw(st.booleans())
            f.daily_cap = draw(st.one_of(st.just(0), st.integers(0, 3), UINT32))
        chunks.append(chunk)
    commit = draw(st.integers(0, 9))  # mostly on the last chunk; sometimes never, or too early
    if chunks and commit > 0:
        chunks[-1].commit = True
        if commit == 1:
            chunks[0].commit = True
    return chunks


# ------------------------------------------------------------------- writes


@fuzz_settings(2000)
@given(batch=row_batches())
def test_fuzz_submit_row_batches(fz, batch):
    must_reject = rows_must_reject(batch)
    ack, error, before, after = write(fz, "rows", fz.stub.SubmitVotes, batch, must_reject)
    if ack is not None:
        check_ack(ack, len(batch.votes), before, after, batch)
        ids = [v.vote_id for v in batch.votes]
        assert ack.duplicates >= len(ids) - len(set(ids)), "a vote id repeated in one batch was stored twice"
        assert ack.batch_id == batch.batch_id


@fuzz_settings(2000)
@given(batch=column_batches())
def test_fuzz_submit_column_batches(fz, batch):
    must_reject = columns_must_reject(batch)
    ack, error, before, after = write(fz, "columns", fz.stub.SubmitVotes, batch, must_reject)
    if ack is not None:
        check_ack(ack, len(batch.columns.outcome), before, after, batch)
        assert ack.batch_id == batch.batch_id


@fuzz_settings(150)
@given(batches=st.lists(st.one_of(row_batches(small=True), column_batches(small=True)), max_size=4))
def test_fuzz_stream_votes(fz, batches):
    """One ack per batch in order until the first refused one, which ends the stream; only acked votes are stored."""
    before = settled_state(fz)
    fz.count("stream", max(1, len(batches)))
    acks = []
    try:
        for ack in fz.stub.StreamVotes(iter(batches), timeout=CALL_TIMEOUT):
            acks.append(ack)
    except grpc.RpcError as exc:
        check_error(exc, batches)
        assert len(acks) < len(batches)
    after = settled_state(fz)
    assert after[0] - before[0] == sum(a.accepted for a in acks), describe(batches)
    for batch, ack in zip(batches, acks):
        assert batch_must_reject(batch) is None, f"accepted a batch with {batch_must_reject(batch)}: {describe(batch)}"
        assert ack.batch_id == batch.batch_id and ack.accepted + ack.duplicates == batch_size(batch)


@fuzz_settings(1100)
@given(ballot=ballots())
def test_fuzz_submit_ranking(fz, ballot):
    ack, error, before, after = write(fz, "ballots", fz.stub.SubmitRanking, ballot, ballot_must_reject(ballot))
    if ack is not None:
        k = len(ballot.ranking)
        check_ack(ack, k * (k - 1) // 2, before, after, ballot)


@fuzz_settings(700)
@given(request=upserts())
def test_fuzz_upsert_competitors(fz, request):
    reply, error, before, after = write(fz, "upserts", fz.stub.UpsertCompetitors, request, upsert_must_reject(request))
    if reply is not None:
        names = {c.name for c in request.competitors}
        assert reply.created + reply.updated == len(names)
        assert reply.created == len(names - set(before[1]))
        assert names <= set(after[1])


@fuzz_settings(400)
@given(board=snapshot_boards, name=snapshot_names)
def test_fuzz_create_snapshot(fz, board, name):
    request = pb.CreateSnapshotRequest(board=board, name=name)
    target = board or "default"
    taken = [s.name for s in fz.service.snapshots(target)]
    must_reject = "a taken name" if name in taken else "an empty name" if not name else None
    reply, error, before, after = write(fz, "snapshots", fz.stub.CreateSnapshot, request, must_reject)
    now = [s.name for s in fz.service.snapshots(target)]
    if error is not None:
        assert now == taken, f"refused ({error.code().name}) yet the snapshots changed: {describe(request)}"
    else:
        assert now == [*taken, name] and reply.name == name and reply.board == target


@fuzz_settings(250)
@given(chunks=replay_streams())
def test_fuzz_replay_votes(fz, chunks):
    """A refused replay leaves every board as it was (its used seqs: see test_a_refused_replay_changes_no_board)."""
    before = settled_state(fz, with_seq=False)
    fz.count("replays", max(1, len(chunks)))
    try:
        summary = fz.stub.ReplayVotes(iter(chunks), timeout=CALL_TIMEOUT)
    except grpc.RpcError as exc:
        check_error(exc, chunks)
        after = settled_state(fz, with_seq=False)
        assert after == before, f"refused ({exc.code().name}: {exc.details()}) yet changed state: {describe(chunks)}"
        return
    assert chunks and summary.applied > 0
    assert summary.received == summary.applied + sum(summary.removed.values())
    boards = {b.name: b for b in fz.service.boards().boards}
    assert boards[summary.board].votes == summary.applied


# ------------------------------------------------------------------ queries


@fuzz_settings(1800)
@given(request=leaderboard_requests(), matrix=st.integers(0, 5), top_k=st.one_of(st.integers(0, 12), UINT32))
def test_fuzz_leaderboard_queries(fz, request, matrix, top_k):
    if matrix:
        board, _ = call(fz, "leaderboards", fz.stub.GetLeaderboard, request)
        if board is not None:
            assert board.total_rows == board.summary.models_listed >= len(board.rows)
            assert 0 <= request.limit <= 40_000 and request.offset >= 0, f"accepted page of {describe(request)}"
            assert [r.rank for r in board.rows] == sorted(r.rank for r in board.rows)
    else:
        message = pb.HeadToHeadMatrixRequest(leaderboard=request, top_k=top_k)
        result, _ = call(fz, "leaderboards", fz.stub.GetHeadToHeadMatrix, message)
        if result is not None:
            k = len(result.models)
            assert k <= (top_k or 10) and len(result.battles) == k * k


@fuzz_settings(500)
@given(
    board=st.one_of(st.sampled_from(QUERY_BOARDS), hostile_text),
    model_a=model_names,
    model_b=model_names,
    min_seq=st.one_of(st.just(0), st.integers(0, 1000), UINT64),
)
def test_fuzz_head_to_head(fz, board, model_a, model_b, min_seq):
    request = pb.HeadToHeadRequest(board=board, model_a=model_a, model_b=model_b, min_seq=min_seq)
    reply, error = call(fz, "head_to_head", fz.stub.GetHeadToHead, request)
    if reply is not None:
        assert model_a != model_b and model_a and model_b
        assert reply.votes == reply.wins_a + reply.wins_b + reply.ties
        assert 0.0 <= reply.predicted_win_probability <= 1.0 or math.isnan(reply.predicted_win_probability)


@fuzz_settings(150)
@given(
    request=leaderboard_requests(cheap=True),
    top_k=st.one_of(st.integers(0, 5), UINT32),
    interval=WATCH_INTERVALS,
)
def test_fuzz_watch_leaderboard(fz, request, top_k, interval):
    message = pb.WatchRequest(leaderboard=request, top_k=top_k, min_interval_seconds=interval)
    fz.count("watches")
    stream = fz.stub.WatchLeaderboard(message, timeout=CALL_TIMEOUT)
    try:
        first = next(stream)
    except grpc.RpcError as exc:
        check_error(exc, message)
    except StopIteration:
        pytest.fail(f"a watch ended without a leaderboard or a status: {describe(message)}")
    else:
        assert 0.05 <= (interval or 1.0) <= 3600.0, f"accepted interval {interval}"
        assert first.total_rows == first.summary.models_listed >= len(first.rows)
    finally:
        stream.cancel()


@fuzz_settings(400)
@example(kind=0, request=pb.LeaderboardRequest(board="no-such-board", as_of=pb.SnapshotRef(time=1e12)))  # was INTERNAL
@given(kind=st.integers(0, 2), request=leaderboard_requests(times=ALL_TIMES, cheap=True))
def test_fuzz_snapshot_ref_times(fz, kind, request):
    """Snapshots named by any time: a time with no snapshot at or before it is NOT_FOUND, however far out.

    A finite time outside datetime's range (|t| beyond ~2.5e11 s) once answered INTERNAL: snapshots.find
    formatted it for NOT_FOUND's message with datetime.fromtimestamp, which raises ValueError / OverflowError.
    """
    if kind == 0:
        call(fz, "snapshot_refs", fz.stub.GetLeaderboard, request)
    elif kind == 1:
        call(fz, "snapshot_refs", fz.stub.GetHeadToHeadMatrix, pb.HeadToHeadMatrixRequest(leaderboard=request))
    else:  # a watch may compare with a snapshot (not show one: as_of is refused)
        message = pb.WatchRequest(leaderboard=request, min_interval_seconds=0.05)
        fz.count("snapshot_refs")
        stream = fz.stub.WatchLeaderboard(message, timeout=CALL_TIMEOUT)
        try:
            next(stream)
        except grpc.RpcError as exc:
            check_error(exc, message)
        finally:
            stream.cancel()


@fuzz_settings(250)
@given(board=st.one_of(st.sampled_from(QUERY_BOARDS), hostile_text))
def test_fuzz_list_requests(fz, board):
    snapshots, _ = call(fz, "lists", fz.stub.ListSnapshots, pb.ListSnapshotsRequest(board=board))
    assert snapshots is not None and [s.name for s in snapshots.snapshots] == [
        s.name for s in fz.service.snapshots(board or "default")
    ]
    boards, _ = call(fz, "lists", fz.stub.ListBoards, pb.ListBoardsRequest())
    assert boards is not None


# ----------------------------------------------------------- garbage messages

METHODS = {  # name: (request streaming, response streaming)
    "SubmitVotes": (False, False),
    "StreamVotes": (True, True),
    "GetLeaderboard": (False, False),
    "GetHeadToHead": (False, False),
    "ReplayVotes": (True, False),
    "SubmitRanking": (False, False),
    "UpsertCompetitors": (False, False),
    "ListBoards": (False, False),
    "CreateSnapshot": (False, False),
    "ListSnapshots": (False, False),
    "GetHeadToHeadMatrix": (False, False),
    "WatchLeaderboard": (False, True),
    "SuggestPairs": (False, False),
}
# gRPC itself answers a body that is not a protobuf message of the method's type so; the service never sees it.
UNPARSABLE = "Exception deserializing request!"


def _valid_message_bytes() -> list[bytes]:
    votes = pb.VoteColumns(names=["m0", "m1"], model_a=[0], model_b=[1], outcome=[1], vote_id=["garbage-seed"])
    return [
        pb.VoteBatch(board="fz", columns=votes).SerializeToString(),
        pb.LeaderboardRequest(board="lb", ci=pb.CI_NONE, rounds=7).SerializeToString(),
        pb.WatchRequest(leaderboard=pb.LeaderboardRequest(board="lb"), min_interval_seconds=0.05).SerializeToString(),
        pb.RankingBallot(ballot_id="g", ranking=[pb.RankedCompetitor(model="x", place=1)]).SerializeToString(),
        pb.UpsertCompetitorsRequest(competitors=[pb.Competitor(name="g", status=7)]).SerializeToString(),
    ]


def _mutate(args: tuple[bytes, list[tuple[int, int]]]) -> bytes:
    data, edits = args
    out = bytearray(data)
    for position, value in edits:
        if out:
            out[position % len(out)] = value
    return bytes(out)


garbage_bodies = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=2048),
    st.sampled_from(_valid_message_bytes()),  # a valid message, often of another method's type
    st.tuples(
        st.sampled_from(_valid_message_bytes()), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)))
    ).map(_mutate),
)


def _parses(message_type, body: bytes) -> bool:
    try:
        message_type.FromString(body)
    except DecodeError:
        return False
    return True


@fuzz_settings(600)
@given(method=st.sampled_from(sorted(METHODS)), body=garbage_bodies)
def test_fuzz_garbage_message_bodies(fz, method, body):
    """Arbitrary bytes as a request body, to every method, through a raw (non-serializing) stub."""
    if method == "StreamVotes" and not _parses(pb.VoteBatch, body):
        method = "SubmitVotes"  # see test_server_stops_after_unparsable_stream_messages
    streaming_request, streaming_response = METHODS[method]
    path = f"/arena_ratings.v1.Ratings/{method}"
    before = settled_state(fz, with_seq=method != "ReplayVotes")
    fz.count("garbage_bodies")
    factory = {
        (False, False): fz.channel.unary_unary,
        (True, False): fz.channel.stream_unary,
        (False, True): fz.channel.unary_stream,
        (True, True): fz.channel.stream_stream,
    }[(streaming_request, streaming_response)]
    rpc = factory(path, request_serializer=None, response_deserializer=None)
    request = iter([body]) if streaming_request else body
    refused = False
    try:
        reply = rpc(request, timeout=CALL_TIMEOUT)
        if streaming_response:
            try:
                next(reply, None)
            finally:
                reply.cancel()
    except grpc.RpcError as exc:
        refused = True
        if not (exc.code() == grpc.StatusCode.INTERNAL and exc.details() == UNPARSABLE):
            check_error(exc, body)
    if refused:
        after = settled_state(fz, with_seq=method != "ReplayVotes")
        assert after == before, f"{method} refused {body.hex()} yet changed state"


# ------------------------------------------------------------ plain edge cases


def test_batch_size_limit_is_exact(fz):
    n = LIMITS.max_batch_votes
    before = settled_state(fz)
    for rows in (True, False):
        over = (
            pb.VoteBatch(board="fz-limit", votes=list(oversize_rows(n + 1)))
            if rows
            else pb.VoteBatch(board="fz-limit", columns=oversize_columns(n + 1))
        )
        with pytest.raises(grpc.RpcError) as err:
            fz.stub.SubmitVotes(over, timeout=CALL_TIMEOUT)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and f"limit is {n}" in err.value.details()
        assert settled_state(fz) == before
    columns = oversize_columns(n)
    columns.vote_id[:] = [f"limit-{i}" for i in range(n)]
    ack = fz.stub.SubmitVotes(pb.VoteBatch(board="fz-limit", columns=columns), timeout=CALL_TIMEOUT)
    check_ack(ack, n, before, settled_state(fz), "the 10,000-vote batch")
    assert ack.accepted == n


def test_oversize_message_is_resource_exhausted_and_changes_nothing(fz):
    """A message over the server's 16 MiB limit, from a client without a send limit."""
    before = settled_state(fz)
    columns = pb.VoteColumns(names=["m0", "m1"], model_a=[0], model_b=[1], outcome=[1], vote_id=["huge"])
    columns.tags.append("t" * (LIMITS.max_message_bytes + 1024))
    channel = grpc.insecure_channel(f"127.0.0.1:{fz.server.port}")
    try:
        with pytest.raises(grpc.RpcError) as err:
            pb_grpc.RatingsStub(channel).SubmitVotes(pb.VoteBatch(board="fz", columns=columns), timeout=CALL_TIMEOUT)
    finally:
        channel.close()
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and err.value.details()
    assert settled_state(fz) == before


def test_a_refused_replay_changes_no_board(fz):
    """A replay refused at its second chunk changes nothing a client can see: no board, no vote.

    The seqs its first chunk was logged under stay used (a replay streams into the durable log as
    it arrives, interleaved with live ingest, so they cannot be handed back): seqs are monotonic,
    not dense (README, ReplayVotes)."""
    good = pb.VoteColumns(names=["m0", "m1"], model_a=[0], model_b=[1], outcome=[pb.A_WINS], vote_id=["r-1"])
    bad = pb.VoteColumns(names=["m0", "m1"], model_a=[0], model_b=[1], outcome=[9], vote_id=["r-2"])
    chunks = [pb.ReplayChunk(board="rp-seq", columns=good), pb.ReplayChunk(columns=bad, commit=True)]
    before = settled_state(fz)
    with pytest.raises(grpc.RpcError) as err:
        fz.stub.ReplayVotes(iter(chunks), timeout=CALL_TIMEOUT)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert settled_state(fz, with_seq=False)[1:] == before[1:]
    assert "rp-seq" not in fz.server.service.boards_needing_snapshot()
    with pytest.raises(grpc.RpcError) as missing:
        fz.stub.GetLeaderboard(pb.LeaderboardRequest(board="rp-seq", ci=pb.CI_NONE), timeout=CALL_TIMEOUT)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    after = fz.stub.SubmitVotes(
        pb.VoteBatch(board="fz", votes=[pb.Vote(vote_id="after-replay", model_a="m0", model_b="m1", outcome=1)]),
        timeout=CALL_TIMEOUT,
    )
    assert after.first_seq > before[0]


def test_cancelled_watches_release_their_threads(tmp_path):
    """A client that cancels its watches must not hold the server's worker threads: with as many cancelled
    hour-interval watches as the server has workers (4 here), it must still answer (it once slept out the
    interval without noticing the cancel)."""
    config = ServiceConfig(default_elo=EloConfig(bootstrap_rounds=50), snapshot_every_seconds=0)
    server = app.start(tmp_path / "data", "127.0.0.1", 0, config, max_workers=4)
    channel = open_channel(f"127.0.0.1:{server.port}")
    try:
        stub = pb_grpc.RatingsStub(channel)
        vote = pb.Vote(vote_id="w1", model_a="m0", model_b="m1", outcome=pb.A_WINS)
        ack = stub.SubmitVotes(pb.VoteBatch(board="w", votes=[vote]), timeout=CALL_TIMEOUT)
        # Acknowledged is not applied (a fresh clone compiles the kernels first): watch once it is.
        stub.GetLeaderboard(pb.LeaderboardRequest(board="w", ci=pb.CI_NONE, min_seq=ack.last_seq), timeout=60)
        request = pb.WatchRequest(
            leaderboard=pb.LeaderboardRequest(board="w", ci=pb.CI_NONE), min_interval_seconds=3600
        )
        for _ in range(4):
            stream = stub.WatchLeaderboard(request, timeout=CALL_TIMEOUT)
            next(stream)
            time.sleep(0.2)  # the server has resumed the watch after its first message
            stream.cancel()
        time.sleep(0.5)
        health = health_pb2_grpc.HealthStub(channel)
        try:
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=3.0).status
        except grpc.RpcError as exc:
            status = exc.code()
        assert status == health_pb2.HealthCheckResponse.SERVING, f"health check after 4 cancelled watches: {status}"
    finally:
        channel.close()
        server.stop(grace=1.0)


def test_server_stops_after_unparsable_stream_messages(tmp_path):
    """Unparsable messages on StreamVotes must not keep the server from stopping.

    After StreamVotes calls whose message gRPC cannot deserialize (answered INTERNAL "Exception deserializing
    request!" by grpcio itself), grpcio 1.85.1 leaves those calls in its server state and never reports its stop
    as done (a bare grpc.server does the same); RunningServer.stop() bounds that wait, then closes the store."""
    config = ServiceConfig(default_elo=EloConfig(bootstrap_rounds=50), snapshot_every_seconds=0)
    server = app.start(tmp_path / "data", "127.0.0.1", 0, config)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    raw = channel.stream_stream("/arena_ratings.v1.Ratings/StreamVotes", request_serializer=None)
    try:
        for _ in range(100):
            with pytest.raises(grpc.RpcError) as err:
                list(raw(iter([b"\xff\xff"]), timeout=CALL_TIMEOUT))
            assert err.value.code() == grpc.StatusCode.INTERNAL and err.value.details() == UNPARSABLE
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5.0)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        channel.close()
        stopped = stop_within(server, 10.0)
    assert stopped, "server.stop(grace=1.0) still running after 10 s"


# ------------------------------------------------------------ garbage on the wire

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _frame(kind: int, flags: int, stream: int, payload: bytes, length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    return size.to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def _literal(name: bytes, value: bytes) -> bytes:
    """An HPACK literal header field without indexing, new name, no Huffman (both under 127 bytes)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def _grpc_headers(method: str = "SubmitVotes") -> bytes:
    block = b"".join(
        _literal(k, v)
        for k, v in (
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", f"/arena_ratings.v1.Ratings/{method}".encode()),
            (b":authority", b"127.0.0.1"),
            (b"content-type", b"application/grpc"),
            (b"te", b"trailers"),
        )
    )
    return _frame(1, 0x4, 1, block)  # HEADERS, END_HEADERS, stream 1


def _wire_garbage(rng: random.Random, i: int) -> bytes:
    settings_frame = _frame(4, 0, 0, b"")
    junk = rng.randbytes(rng.randrange(0, 4096))
    kind = i % 10
    if kind == 0:
        return junk
    if kind == 1:
        return PREFACE + junk
    if kind == 2:  # a gRPC message announcing 4 GiB - 1, then a few bytes
        data = b"\x00" + (2**32 - 1).to_bytes(4, "big") + rng.randbytes(16)
        return PREFACE + settings_frame + _grpc_headers() + _frame(0, 0, 1, data)
    if kind == 3:  # a well-framed gRPC message of random bytes, stream ended
        body = rng.randbytes(rng.randrange(0, 512))
        data = b"\x00" + len(body).to_bytes(4, "big") + body
        method = rng.choice(sorted(set(METHODS) - {"StreamVotes"}))  # test_server_stops_after_unparsable_...
        return PREFACE + settings_frame + _grpc_headers(method) + _frame(0, 0x1, 1, data)
    if kind == 4:  # an HTTP/2 frame header announcing 16 MiB - 1
        return PREFACE + settings_frame + _frame(0, 0, 1, junk, length=2**24 - 1)
    if kind == 5:
        return b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + junk
    if kind == 6:  # a compressed-flagged message with no compression negotiated
        return PREFACE + settings_frame + _grpc_headers() + _frame(0, 0x1, 1, b"\x01\x00\x00\x00\x04abcd")
    if kind == 7:  # a truncated preface
        return PREFACE[: rng.randrange(1, len(PREFACE))]
    if kind == 8:  # HEADERS on stream 0, and random frame types
        frames = b"".join(
            _frame(rng.randrange(256), rng.randrange(256), rng.randrange(4), rng.randbytes(9)) for _ in range(8)
        )
        return PREFACE + settings_frame + _frame(1, 0x4, 0, b"\x82") + frames
    return PREFACE + settings_frame + _grpc_headers() + junk  # garbage where frames belong


def test_garbage_bytes_on_the_port_leave_the_server_healthy(fz):
    rng = random.Random(20260101)
    before = settled_state(fz)
    started = time.monotonic()
    for i in range(300):
        payload = _wire_garbage(rng, i)
        with socket.create_connection(("127.0.0.1", fz.server.port), timeout=2.0) as sock:
            sock.settimeout(1.0)
            try:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                while sock.recv(65536):  # until the server closes (or the timeout)
                    pass
            except OSError:  # reset by the server, or it kept waiting: both are fine
                pass
        fz.count("wire_garbage")
    assert time.monotonic() - started < 60.0
    assert (
        fz.health.Check(health_pb2.HealthCheckRequest(), timeout=5.0).status == health_pb2.HealthCheckResponse.SERVING
    )
    assert settled_state(fz) == before
    _normal_round_trip(fz, "after-garbage")


def _normal_round_trip(fz: Fuzz, board: str) -> None:
    votes = [
        pb.Vote(vote_id=f"{board}-{i}", model_a=f"n{i % 3}", model_b=f"n{(i + 1) % 3}", outcome=pb.A_WINS)
        for i in range(30)
    ]
    ack = fz.stub.SubmitVotes(pb.VoteBatch(board=board, votes=votes), timeout=CALL_TIMEOUT)
    assert ack.accepted == 30
    board_reply = fz.stub.GetLeaderboard(
        pb.LeaderboardRequest(board=board, min_seq=ack.last_seq, ci=pb.CI_NONE), timeout=CALL_TIMEOUT
    )
    assert board_reply.total_votes == 30 and sorted(r.model for r in board_reply.rows) == ["n0", "n1", "n2"]


def test_server_is_healthy_after_fuzzing(fz):
    status = fz.health.Check(health_pb2.HealthCheckRequest(), timeout=5.0).status
    assert status == health_pb2.HealthCheckResponse.SERVING
    _normal_round_trip(fz, "after-fuzz")
    for board in LB_BOARDS:  # the seeded boards were never touched
        reply = fz.stub.GetLeaderboard(pb.LeaderboardRequest(board=board, ci=pb.CI_NONE), timeout=CALL_TIMEOUT)
        assert reply.total_votes == {"lb": 400, "lb-style": 60}[board]


def test_restart_after_fuzzing_equals_a_replay_of_the_log(fz):
    """Last: whatever names and tags the fuzzers got accepted, the state a restart loads from the
    checkpoint (names and all) equals what a replay of the log alone builds."""
    import shutil

    import numpy as np

    from server.service.core import RatingsService

    data, config = fz.service.data_dir, fz.service.config
    assert stop_within(fz.server, 20.0)

    def state(service):
        return {name: views.state() for name, views in service._versions._live.items()}

    restarted = RatingsService(data, config)
    try:
        from_checkpoint = state(restarted)
        assert restarted.last_seq > 0
    finally:
        restarted.close()
    shutil.rmtree(data / "checkpoints")
    replayed = RatingsService(data, config)
    try:
        from_log = state(replayed)
    finally:
        replayed.close()
    assert from_checkpoint.keys() == from_log.keys()
    for board, views in from_log.items():
        assert views.keys() == from_checkpoint[board].keys(), board
        for view, arrays in views.items():
            for key, value in arrays.items():
                np.testing.assert_array_equal(value, from_checkpoint[board][view][key], err_msg=f"{board}/{view!r}")
