"""The HTTP/JSON API against gRPC, on a real server on loopback: each endpoint answers what its RPC
answers; writes are exactly-once across both transports; the same tokens and scopes; errors as JSON
with gRPC's codes and the mapped HTTP statuses; Server-Sent Events; bad input refused cleanly."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import httpx
import numpy as np
import pytest
from google.protobuf import json_format

from server.client.ratings_client import RatingsClient, leaderboard_request
from server.domain.limits import Limits
from server.files import export
from server.http.options import HttpOptions
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc import app, auth
from server.rpc.quotas import Quotas
from server.rpc.wire import message_dict

MODELS = [f"model-{i:02d}" for i in range(8)]


def vote_rows(n: int, seed: int, prefix: str = "v", winner: str | None = None) -> list[dict]:
    """Votes in protobuf's JSON form (what a client POSTs); a third carry the tag "coding". With
    ``winner``, that model wins every vote (against a random opponent)."""
    rng = np.random.default_rng(seed)
    strength = np.linspace(1.0, -1.0, len(MODELS))
    rows = []
    for i in range(n):
        a, b = rng.choice(len(MODELS), 2, replace=False)
        if winner is not None:
            a = MODELS.index(winner)
            b = (a + 1 + rng.integers(len(MODELS) - 1)) % len(MODELS)
            outcome = "A_WINS"
        else:
            p = 1 / (1 + np.exp(strength[b] - strength[a]))
            outcome = "TIE" if rng.random() < 0.1 else ("A_WINS" if rng.random() < p else "B_WINS")
        row = {"vote_id": f"{prefix}{i}", "model_a": MODELS[a], "model_b": MODELS[b], "outcome": outcome}
        if i % 3 == 0:
            row["tags"] = ["coding"]
        rows.append(row)
    return rows


def grpc_batch(board: str, rows: list[dict]) -> pb.VoteBatch:
    return json_format.ParseDict({"board": board, "votes": rows}, pb.VoteBatch())


@pytest.fixture
def served(start_server):
    """A server with HTTP, its gRPC client and an HTTP client; board "text" holds 600 votes, metadata
    for two models and a snapshot "s1" taken after the first 300."""
    running = start_server(http=HttpOptions(port=0))
    client = RatingsClient(f"127.0.0.1:{running.port}")
    rows = vote_rows(600, seed=1)
    client.submit(grpc_batch("text", rows[:300]))
    client.create_snapshot("text", "s1")
    ack = client.submit(grpc_batch("text", rows[300:]))
    client.upsert_competitors([
        pb.Competitor(name="model-00", display_name="Model Zero", organization="Org A", license="MIT",
                      open_weights=True, links={"website": "https://example.org/zero"}),
        pb.Competitor(name="model-01", organization="Org B", license="Proprietary", open_weights=False),
    ])  # fmt: skip
    http = httpx.Client(base_url=f"http://127.0.0.1:{running.http_port}", timeout=30)
    http.get("/v1/boards/text/leaderboard", params={"min_seq": ack.last_seq}).raise_for_status()
    yield running, client, http
    http.close()
    client.close()


def without_time(feed: dict) -> dict:
    """A feed without ``as_of``, the moment it was produced (two requests differ in it by design)."""
    return {key: value for key, value in feed.items() if key != "as_of"}


LEADERBOARD_QUERIES = [
    ({}, {}),
    ({"method": "elo"}, {"method": "elo"}),
    ({"ci": "sandwich"}, {"ci": "sandwich"}),
    ({"ci": "none", "method": "elo"}, {"ci": "none", "method": "elo"}),
    ({"category": "coding"}, {"category": "coding"}),
    ({"anchor": "model-03", "anchor_rating": 1200}, {"anchor": ("model-03", 1200.0)}),
    ({"compare_to": "s1"}, {"compare_to": "s1"}),
    ({"as_of": "s1"}, {"as_of": "s1"}),
    ({"organization": "Org A"}, {"filters": {"organizations": ["Org A"]}}),
    ({"limit": 3, "offset": 2, "rounds": 50}, {"limit": 3, "offset": 2, "rounds": 50}),
    ({"gap_ranks": [2, 5]}, {"gap_ranks": [2, 5]}),
]


def test_every_endpoint_returns_what_its_rpc_returns(served):
    running, client, http = served
    for params, options in LEADERBOARD_QUERIES:
        over_http = http.get("/v1/boards/text/leaderboard", params=params)
        assert over_http.status_code == 200, (params, over_http.text)
        over_grpc = client.stub.GetLeaderboard(leaderboard_request("text", **options))
        assert without_time(over_http.json()) == without_time(export.feed(over_grpc)), params
        assert over_http.json()["schema"] == "arena-ratings/leaderboard/v1"

    assert http.get("/v1/boards").json() == message_dict(client.stub.ListBoards(pb.ListBoardsRequest()))
    assert http.get("/v1/competitors").json() == message_dict(client.stub.ListCompetitors(pb.ListCompetitorsRequest()))
    assert http.get("/v1/boards/text/snapshots").json() == message_dict(
        client.stub.ListSnapshots(pb.ListSnapshotsRequest(board="text"))
    )
    pair = http.get("/v1/boards/text/head-to-head", params={"a": "model-00", "b": "model-05"}).json()
    request = pb.HeadToHeadRequest(board="text", model_a="model-00", model_b="model-05")
    assert pair == message_dict(client.stub.GetHeadToHead(request))
    assert pair["votes"] > 0
    matrix = http.get("/v1/boards/text/matrix", params={"top_k": 4, "category": "coding"}).json()
    request = pb.HeadToHeadMatrixRequest(leaderboard=leaderboard_request("text", category="coding"), top_k=4)
    assert matrix == message_dict(client.stub.GetHeadToHeadMatrix(request))
    assert len(matrix["models"]) == 4 and len(matrix["predicted_win_probability"]) == 16


def test_the_leaderboard_is_the_feed_the_cli_prints(served, tmp_path):
    running, client, http = served
    from server.files import render

    over_http = http.get("/v1/boards/text/leaderboard").json()
    printed = json.loads(export.text(client.leaderboard("text"), "json"))
    assert without_time(printed) == without_time(over_http)
    assert [row["model"] for row in over_http["rows"]] == [
        row.model for row in render.ranked(client.leaderboard("text"))
    ]


def test_post_votes_is_exactly_once_with_grpc_ids(served):
    running, client, http = served
    rows = vote_rows(20, seed=7, prefix="x")
    first = http.post("/v1/boards/text/votes", json={"votes": rows, "batch_id": 9})
    assert first.status_code == 200, first.text
    ack = first.json()
    assert (ack["accepted"], ack["duplicates"], ack["batch_id"]) == (20, 0, 9)
    assert ack["last_seq"] - ack["first_seq"] == 19

    again = http.post("/v1/boards/text/votes", json={"votes": rows}).json()
    assert (again["accepted"], again["duplicates"], again["duplicate_index"]) == (0, 20, list(range(20)))
    over_grpc = client.submit(grpc_batch("text", rows))
    assert (over_grpc.accepted, over_grpc.duplicates) == (0, 20)

    # and the other way round, in the columnar form
    more = vote_rows(5, seed=8, prefix="y")
    client.submit(grpc_batch("text", more[:2]))
    columns = {
        "names": MODELS,
        "model_a": [MODELS.index(r["model_a"]) for r in more],
        "model_b": [MODELS.index(r["model_b"]) for r in more],
        "outcome": [r["outcome"] for r in more],
        "vote_id": [r["vote_id"] for r in more],
    }
    mixed = http.post("/v1/boards/text/votes", json={"columns": columns}).json()
    assert (mixed["accepted"], mixed["duplicates"], mixed["duplicate_index"]) == (3, 2, [0, 1])
    board = http.get("/v1/boards/text/leaderboard", params={"min_seq": mixed["last_seq"]}).json()
    assert board["total_votes"] == 600 + 20 + 5


TOKENS = {"reader": ({"read"}, "r-token"), "writer": ({"write"}, "w-token"), "admin": ({"admin"}, "a-token")}


def token_book() -> auth.TokenBook:
    return auth.TokenBook(auth.Token(name, auth.digest(value), frozenset(scopes)) for name, (scopes, value) in
                          TOKENS.items())  # fmt: skip


def bearer(name: str) -> dict:
    return {"Authorization": f"Bearer {TOKENS[name][1]}"}


@pytest.mark.parametrize("public_read", [False, True])
def test_the_same_tokens_and_scopes_as_grpc(start_server, public_read):
    running = start_server(access=app.Access(tokens=token_book(), public_read=public_read), http=HttpOptions(port=0))
    http = httpx.Client(base_url=f"http://127.0.0.1:{running.http_port}", timeout=30)
    body = {"votes": vote_rows(3, seed=2)}

    refused = http.post("/v1/boards/acl/votes", json=body)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHENTICATED"
    assert refused.headers["www-authenticate"] == "Bearer"
    assert http.post("/v1/boards/acl/votes", json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    denied = http.post("/v1/boards/acl/votes", json=body, headers=bearer("reader"))
    assert denied.status_code == 403 and "'write' scope" in denied.json()["error"]["message"]
    ack = http.post("/v1/boards/acl/votes", json=body, headers=bearer("writer")).json()
    assert ack["accepted"] == 3
    applied = {"min_seq": ack["last_seq"]}  # the ack comes at the commit; the engine applies it just after
    assert http.get("/v1/boards/acl/leaderboard", params=applied, headers=bearer("reader")).status_code == 200

    anonymous = http.get("/v1/boards/acl/leaderboard")
    assert anonymous.status_code == (200 if public_read else 401)
    assert http.get("/v1/boards/acl/leaderboard", headers=bearer("writer")).status_code == 403
    assert http.get("/v1/boards/acl/leaderboard", headers=bearer("reader")).status_code == 200
    assert http.get("/metrics", headers=bearer("reader")).status_code == 200
    assert http.get("/metrics").status_code == (200 if public_read else 401)
    snapshot = {"name": "monday"}
    assert http.post("/v1/boards/acl/snapshots", json=snapshot, headers=bearer("writer")).status_code == 403
    assert http.post("/v1/boards/acl/snapshots", json=snapshot, headers=bearer("admin")).status_code == 200
    # the page itself and the API's description are public: they hold no data
    assert http.get("/").status_code == 200 and http.get("/openapi.json").status_code == 200
    http.close()


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return response.status_code, body["error"]["code"], body["error"]["message"]


def test_errors_are_json_with_the_grpc_code_and_its_http_status(start_server):
    limits = Limits(max_message_bytes=64 * 1024)
    quotas = Quotas(vote_rate=10, vote_burst=12)  # the refused batch of 3 pays too, as over gRPC
    running = start_server(access=app.Access(quotas=quotas), http=HttpOptions(port=0), limits=limits)
    http = httpx.Client(base_url=f"http://127.0.0.1:{running.http_port}", timeout=30)

    bad = vote_rows(3, seed=3)
    bad[1]["model_b"] = bad[1]["model_a"]
    status, code, message = error_of(http.post("/v1/boards/text/votes", json={"votes": bad}))
    assert (status, code) == (400, "INVALID_ARGUMENT") and message.startswith("votes[1].model_b:")

    ok = http.post("/v1/boards/text/votes", json={"votes": vote_rows(8, seed=4)})
    assert ok.status_code == 200
    limited = http.post("/v1/boards/text/votes", json={"votes": vote_rows(8, seed=5, prefix="w")})
    assert error_of(limited)[:2] == (429, "RESOURCE_EXHAUSTED")
    assert int(limited.headers["retry-after"]) >= 1

    assert error_of(http.get("/v1/boards/nowhere/leaderboard"))[:2] == (404, "NOT_FOUND")
    assert error_of(http.get("/v1/nothing-here"))[:2] == (404, "NOT_FOUND")
    assert http.post("/v1/boards/text/snapshots", json={"name": "s"}).status_code == 200
    assert error_of(http.post("/v1/boards/text/snapshots", json={"name": "s"}))[:2] == (409, "ALREADY_EXISTS")
    status, code, message = error_of(
        http.get("/v1/boards/text/leaderboard", params={"method": "elo", "ci": "sandwich"})
    )
    assert (status, code) == (400, "INVALID_ARGUMENT") and message.startswith("ci:")

    big = http.post("/v1/boards/text/votes", content=b'{"votes": [' + b" " * (65 * 1024) + b"]}",
                    headers={"Content-Type": "application/json"})  # fmt: skip
    status, code, message = error_of(big)
    assert (status, code) == (413, "RESOURCE_EXHAUSTED") and "65536" in message

    running._gate.close()  # what stop() does first: every new call is refused with UNAVAILABLE
    assert error_of(http.get("/v1/boards"))[:2] == (503, "UNAVAILABLE")
    http.close()


def test_the_snapshot_endpoint_creates_one(served):
    running, client, http = served
    made = http.post("/v1/boards/text/snapshots", json={"name": "release-1"})
    assert made.status_code == 200, made.text
    assert made.json()["name"] == "release-1" and made.json()["votes"] == 600
    assert [s.name for s in client.snapshots("text")] == ["s1", "release-1"]


HOSTILE_QUERIES = [
    {"rounds": "-1"},
    {"rounds": str(10**30)},
    {"rounds": "1e3"},
    {"method": "glicko"},
    {"ci": ""},
    {"status": "retired"},
    {"min_seq": "-5"},
    {"limit": "NaN"},
    {"anchor_rating": "inf", "anchor": "model-00"},
    {"compare_to": "s1", "compare_to_time": "5"},
    {"compare_to": "no-such-snapshot"},
    {"gap_ranks": ["0"]},
    {"gap_ranks": [str(i) for i in range(1, 40)]},
    {"category": "x" * 5000},
    {"category": "../../etc/passwd"},
    {"category": "a\x00b"},
    {"style_control": "maybe"},
]

BAD_BODIES = [
    b"",
    b"{",
    b"[]",
    b'"votes"',
    b'{"votes": 3}',
    b'{"votes": [{"vote_id": "q", "model_a": "a", "model_b": "b", "outcome": "NOPE"}]}',
    b'{"votes": [{"vote_id": "q", "model_a": "a", "model_b": "b", "outcome": "A_WINS", "timestamp": "abc"}]}',
    b'{"votes": [{"vote_id": "q", "model_a": 5, "model_b": "b", "outcome": "A_WINS"}]}',
    b'{"votez": []}',
    b'{"board": "other", "votes": [{"vote_id": "q", "model_a": "a", "model_b": "b", "outcome": "A_WINS"}]}',
    b'{"columns": {"names": ["a"], "model_a": [-1], "model_b": [0], "outcome": [1], "vote_id": ["q"]}}',
    b'{"columns": {"names": ["a", "b"], "model_a": [0, 1], "model_b": [1], "outcome": [1, 1], "vote_id": ["q", "r"]}}',
    b"[" * 100_000 + b"]" * 100_000,
    '{"votes": [{"vote_id": "\udcff"}]}'.encode("utf-8", "surrogatepass"),
]


def test_bad_input_gets_a_clear_error_and_changes_nothing(served):
    running, client, http = served
    before_boards = http.get("/v1/boards").json()
    for params in HOSTILE_QUERIES:
        response = http.get("/v1/boards/text/leaderboard", params=params)
        assert 400 <= response.status_code < 500, (params, response.status_code, response.text)
        assert error_of(response)[1] in ("INVALID_ARGUMENT", "NOT_FOUND"), params
    for body in BAD_BODIES:
        response = http.post("/v1/boards/text/votes", content=body, headers={"Content-Type": "application/json"})
        status, code, message = error_of(response)
        assert (status, code) == (400, "INVALID_ARGUMENT"), (body[:80], message)
    with socket.create_connection(("127.0.0.1", running.http_port), timeout=10) as raw:  # httpx refuses to send it
        raw.sendall(b"GET /v1/boards/text/leaderboard?category=" + b"y" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert 400 <= int(raw.recv(1024).split()[1]) < 500
    assert http.get("/v1/boards").json() == before_boards  # no vote, board or category was added
    assert http.get("/v1/boards/text/leaderboard").json()["total_votes"] == 600
    assert watch_threads() == []


def watch_threads() -> list[str]:
    """Threads that an event stream holds (its watch and the publisher it shares): none once it has ended.
    (The HTTP worker pool's idle threads are not counted: anyio keeps them for reuse.)"""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        held = [t.name for t in threading.enumerate() if t.name in ("sse-watch", "watch-publisher")]
        if not held:
            return []
        time.sleep(0.05)
    return held


def sse_events(response: httpx.Response):
    """(event, data) of a Server-Sent Events response, as they arrive; comments are skipped."""
    kind, data = None, []
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and kind is not None:
            yield kind, json.loads("\n".join(data))
            kind, data = None, []


def test_events_deliver_an_update_after_a_submit_that_changes_a_rank(served):
    running, client, http = served
    params = {"method": "elo", "ci": "none", "min_interval_seconds": 0.1}
    with http.stream("GET", "/v1/boards/text/leaderboard/events", params=params) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
        kind, first = next(events)
        assert kind == "leaderboard" and first["schema"] == "arena-ratings/leaderboard/v1"
        last = first["rows"][-1]["model"]
        client.submit(grpc_batch("text", vote_rows(300, seed=11, prefix="up", winner=last)))
        kind, update = next(events)
        assert kind == "leaderboard"
        assert update["rows"][0]["model"] == last != first["rows"][0]["model"]
        expected = client.stub.GetLeaderboard(leaderboard_request("text", method="elo", ci="none"))
        assert [row["model"] for row in update["rows"]] == [row.model for row in expected.rows]


def test_event_streams_are_bounded_and_freed(start_server):
    """A hundred visitors hold the hundred stream slots (shared with gRPC's streams); the next is refused
    with 429, and when they leave their threads end and the slots are free again."""
    running = start_server(http=HttpOptions(port=0, keepalive_seconds=0.2))
    client = RatingsClient(f"127.0.0.1:{running.port}")
    ack = client.submit(grpc_batch("live", vote_rows(50, seed=4)))
    client.leaderboard("live", min_seq=ack.last_seq, method="elo", ci="none")  # applied: a watch can follow it
    request = b"GET /v1/boards/live/leaderboard/events?method=elo&ci=none HTTP/1.1\r\nHost: x\r\n\r\n"

    def open_stream() -> tuple[socket.socket, bytes]:
        connection = socket.create_connection(("127.0.0.1", running.http_port), timeout=10)
        connection.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            head += connection.recv(65536)
        return connection, head

    streams = [open_stream() for _ in range(100)]
    assert all(head.startswith(b"HTTP/1.1 200") for _, head in streams)
    refused, head = open_stream()
    assert head.startswith(b"HTTP/1.1 429") and b"retry-after" in head.lower()
    refused.close()
    assert sum(t.name == "sse-watch" for t in threading.enumerate()) == 100
    for connection, _ in streams:
        connection.close()
    assert watch_threads() == []
    again, head = open_stream()
    assert head.startswith(b"HTTP/1.1 200")
    again.close()
    client.close()


def test_cors_is_off_by_default_and_allows_the_configured_origin(start_server, tmp_path):
    origin = "https://arena.example"
    closed = start_server(http=HttpOptions(port=0))
    opened = start_server(data_dir=tmp_path / "other", http=HttpOptions(port=0, cors_origins=(origin,)))
    preflight = {"Origin": origin, "Access-Control-Request-Method": "GET"}
    with httpx.Client() as http:
        shut = http.options(f"http://127.0.0.1:{closed.http_port}/v1/boards", headers=preflight)
        assert "access-control-allow-origin" not in shut.headers
        ok = http.options(f"http://127.0.0.1:{opened.http_port}/v1/boards", headers=preflight)
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == origin
        read = http.get(f"http://127.0.0.1:{opened.http_port}/v1/boards", headers={"Origin": origin})
        assert read.headers["access-control-allow-origin"] == origin
        other = http.get(f"http://127.0.0.1:{opened.http_port}/v1/boards", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_the_openapi_document_lists_every_endpoint(served):
    running, client, http = served
    document = http.get("/openapi.json").json()
    assert set(document["paths"]) == {
        "/v1/boards", "/v1/boards/{board}/leaderboard", "/v1/boards/{board}/head-to-head", "/v1/boards/{board}/matrix",
        "/v1/boards/{board}/snapshots", "/v1/competitors", "/v1/boards/{board}/votes",
        "/v1/boards/{board}/leaderboard/events", "/healthz", "/v1/boards/{board}/audit",
        "/v1/boards/{board}/suggest",
    }  # fmt: skip
    parameters = {p["name"] for p in document["paths"]["/v1/boards/{board}/leaderboard"]["get"]["parameters"]}
    assert {
        "category",
        "method",
        "ci",
        "rounds",
        "anchor",
        "style_control",
        "compare_to",
        "as_of",
        "min_seq",
    } <= parameters
    assert http.get("/docs").status_code == 404  # no docs page: it would load scripts from a CDN


def test_stop_ends_both_listeners(start_server):
    running = start_server(http=HttpOptions(port=0))
    port = running.http_port
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").text == "SERVING"
    running.stop(grace=1.0)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert not [t for t in threading.enumerate() if t.name in ("http", "sse-watch")]


def test_board_display_names_style_votes_clusters_and_weights_are_listed(start_server, tmp_path):
    running = start_server(http=HttpOptions(port=0), board_titles={"text": "Text Arena"})
    client = RatingsClient(f"127.0.0.1:{running.port}")
    client.submit(grpc_batch("text", vote_rows(10, seed=1)))
    styled = pb.VoteBatch(board="text", votes=[
        pb.Vote(vote_id=uuid.uuid4().hex, model_a="model-00", model_b="model-01", outcome=pb.A_WINS,
                style_a={"tokens": 100.0}, style_b={"tokens": 300.0}, tags=["coding"], voter_id="judge-1", weight=2.0)
    ])  # fmt: skip
    ack = client.submit(styled)
    client.leaderboard("text", min_seq=ack.last_seq, method="elo", ci="none")  # applied: ListBoards shows it
    listed = httpx.get(f"http://127.0.0.1:{running.http_port}/v1/boards").json()["boards"]
    assert listed[0]["display_name"] == "Text Arena" and listed[0]["last_seq"] == ack.last_seq
    assert listed[0]["style_votes"] == 1 and listed[0]["categories"][0]["style_votes"] == 1
    assert listed[0]["clusters"] == ["voter"] and listed[0]["weighted"]  # what clustered CIs it can give
    assert listed[0]["categories"][0]["clusters"] == ["voter"]  # the coding view's vote has the voter too
    client.close()


def test_a_repeated_leaderboard_changes_exactly_when_what_it_shows_changes(served):
    """The encoded answers kept for repeats (server/http/feeds.py) never outlive a vote, a metadata change or a
    new snapshot."""
    running, client, http = served

    def rows(**params) -> list[tuple]:
        board = http.get("/v1/boards/text/leaderboard", params={"method": "elo", "ci": "none", **params}).json()
        return [(row["model"], row["organization"], row["rank_delta"]) for row in board["rows"]]

    first = rows()
    assert rows() == first
    client.upsert_competitors([pb.Competitor(name="model-05", organization="Org New")])
    assert ("model-05", "Org New") in [row[:2] for row in rows()]
    last = rows()[-1][0]
    ack = client.submit(grpc_batch("text", vote_rows(300, seed=12, prefix="c", winner=last)))
    http.get("/v1/boards/text/leaderboard", params={"min_seq": ack.last_seq, "method": "elo", "ci": "none"})
    assert rows()[0][0] == last
    before = rows(compare_to_time=time.time() + 3600)  # the newest snapshot at or before then: s1
    client.create_snapshot("text", "s2")
    after = rows(compare_to_time=time.time() + 3600)  # now s2, taken after the last votes: no rank moved
    assert before != after and all(delta == 0 for _, _, delta in after)


def test_the_listener_turns_nagle_off_on_its_connections():
    """asyncio sets TCP_NODELAY only on sockets that say they are TCP: without it every response after the first
    on a kept-alive connection waited ~40 ms for the client's delayed ACK."""
    from server.http.server import listen

    with listen("127.0.0.1", 0) as listening:
        assert listening.proto == socket.IPPROTO_TCP
        with socket.create_connection(listening.getsockname()):
            accepted, _ = listening.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP


def test_a_metrics_scrape_parses_and_its_counters_move_by_the_votes_sent(served):
    from prometheus_client.parser import text_string_to_metric_families

    running, client, http = served

    def scrape() -> dict[tuple, float]:
        response = http.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }

    before = scrape()
    accepted = ("arena_ratings_votes_accepted_total", (("board", "text"),))
    assert before[accepted] == 600
    http.post("/v1/boards/text/votes", json={"votes": vote_rows(7, seed=21, prefix="m")}).raise_for_status()
    ack = client.submit(grpc_batch("text", vote_rows(5, seed=22, prefix="n")))
    http.get("/v1/boards/text/leaderboard", params={"min_seq": ack.last_seq}).raise_for_status()  # all applied
    bad = vote_rows(4, seed=23, prefix="o")
    bad[2]["outcome"] = "OUTCOME_UNSPECIFIED"
    assert http.post("/v1/boards/text/votes", json={"votes": bad}).status_code == 400
    after = scrape()
    assert after[accepted] == 600 + 12
    refused = ("arena_ratings_votes_refused_total", (("reason", "invalid_argument"),))
    assert after[refused] - before.get(refused, 0) == 4
    submits = ("arena_ratings_request_duration_seconds_count", (("rpc", "SubmitVotes"), ("transport", "http")))
    assert after[submits] - before.get(submits, 0) == 2
    assert after[("arena_ratings_board_votes", (("board", "text"),))] == 612


def test_serve_starts_http_beside_grpc_with_its_title_and_board_names_and_stops_both(tmp_path):
    """The command a user runs: HTTP on by default (here on a free port), the page titled by --site-title,
    boards named by --board-config's display_name; SIGTERM stops both listeners and exits 0."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from server.client.launch import free_loopback_port

    port, http_port = free_loopback_port(), free_loopback_port()
    config = tmp_path / "boards.json"
    config.write_text(json.dumps({"text": {"display_name": "Text Arena", "k": 16}}))
    command = [sys.executable, "-m", "server.cli", "--log-level", "WARNING", "serve", "--data-dir", str(tmp_path / "d"),
               "--port", str(port), "--http-port", str(http_port), "--site-title", "Cats <&> Dogs",
               "--board-config", str(config), "--snapshot-every", "0"]  # fmt: skip
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent)
    try:
        with RatingsClient(f"127.0.0.1:{port}", timeout=120) as client:
            client.wait_ready(timeout=120)
        base = f"http://127.0.0.1:{http_port}"
        page = httpx.get(base + "/")
        assert page.status_code == 200 and "<title>Cats &lt;&amp;&gt; Dogs</title>" in page.text
        ack = httpx.post(base + "/v1/boards/text/votes", json={"votes": vote_rows(5, seed=3)}).json()
        assert ack["accepted"] == 5 and ack["board_created"]
        httpx.get(base + "/v1/boards/text/leaderboard", params={"min_seq": ack["last_seq"]}).raise_for_status()
        assert httpx.get(base + "/v1/boards").json()["boards"][0]["display_name"] == "Text Arena"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    for listening in (port, http_port):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", listening), timeout=2).close()


def test_https_with_the_grpc_certificate_and_mutual_tls(start_server, tmp_path):
    import ssl

    from server.http.options import TlsFiles
    from tests.test_access import make_certificates

    pems = make_certificates(tmp_path)
    files = {}
    for name, data in (("cert", pems["server"][0]), ("key", pems["server"][1]), ("ca", pems["ca"])):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_bytes(data)
    for name, data in zip(("client-key", "client-cert"), pems["client"]):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_bytes(data)
    with pytest.raises(ValueError, match="PEM files"):  # HTTP would otherwise be plaintext beside TLS gRPC
        start_server(tmp_path / "a", access=app.Access(tls=app.Tls(*pems["server"])), http=HttpOptions(port=0))

    tls = app.Tls(*pems["server"])
    running = start_server(tmp_path / "b", access=app.Access(tls=tls),
                           http=HttpOptions(port=0, tls=TlsFiles(files["cert"], files["key"])))  # fmt: skip
    trusted = ssl.create_default_context(cafile=str(files["ca"]))
    url = f"https://127.0.0.1:{running.http_port}/v1/boards"
    assert httpx.get(url, verify=trusted).json()["boards"] == []
    with pytest.raises(httpx.HTTPError):
        httpx.get(url.replace("https", "http"), timeout=3)

    mutual_tls = app.Tls(*pems["server"], pems["ca"])
    mutual = start_server(tmp_path / "c", access=app.Access(tls=mutual_tls),
                          http=HttpOptions(port=0, tls=TlsFiles(files["cert"], files["key"], files["ca"])))  # fmt: skip
    url = f"https://127.0.0.1:{mutual.http_port}/v1/boards"
    with pytest.raises(httpx.HTTPError):  # no client certificate
        httpx.get(url, verify=trusted, timeout=3)
    context = ssl.create_default_context(cafile=str(files["ca"]))
    context.load_cert_chain(str(files["client-cert"]), str(files["client-key"]))
    assert httpx.get(url, verify=context).status_code == 200
