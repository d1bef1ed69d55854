"""Access control, TLS and quotas against a real server on a loopback port."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.client.ratings_client import RatingsClient, open_channel
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.proto.arena_ratings.v1 import ratings_pb2_grpc as pb_grpc
from server.rpc import app, auth
from server.rpc.quotas import Quotas
from tests.test_cli import run_cli

CREDENTIALS = {
    "reader": ("read-token", {"read"}, None),
    "writer": ("write-token", {"write"}, None),
    "admin": ("admin-token", {"admin"}, None),
    "everything": ("all-token", {"read", "write", "admin"}, None),
    "expired": ("old-token", {"read", "write", "admin"}, time.time() - 60),
}


def book() -> auth.TokenBook:
    return auth.TokenBook(
        auth.Token(name, auth.digest(value), frozenset(scopes), expires)
        for name, (value, scopes, expires) in CREDENTIALS.items()
    )


def votes(board: str = "acl", n: int = 1) -> pb.VoteBatch:
    return pb.VoteBatch(
        board=board,
        votes=[pb.Vote(vote_id=uuid.uuid4().hex, model_a="a", model_b="b", outcome=pb.A_WINS) for _ in range(n)],
    )


def calls(stub: pb_grpc.RatingsStub):
    """RPC name -> a call that sends a small, sensible request with the given metadata."""
    board = pb.LeaderboardRequest(board="acl", ci=pb.CI_NONE)
    ranking = [pb.RankedCompetitor(model=m, place=i + 1) for i, m in enumerate("abc")]
    columns = pb.VoteColumns(names=["a", "b"], model_a=[0], model_b=[1], outcome=[pb.A_WINS], vote_id=["r1"])
    timeout = 10
    return {
        "SubmitVotes": lambda md: stub.SubmitVotes(votes(), metadata=md, timeout=timeout),
        "StreamVotes": lambda md: list(stub.StreamVotes(iter([votes()]), metadata=md, timeout=timeout)),
        "SubmitRanking": lambda md: stub.SubmitRanking(
            pb.RankingBallot(board="acl", ballot_id=uuid.uuid4().hex, ranking=ranking), metadata=md, timeout=timeout
        ),
        "GetLeaderboard": lambda md: stub.GetLeaderboard(board, metadata=md, timeout=timeout),
        "GetHeadToHead": lambda md: stub.GetHeadToHead(
            pb.HeadToHeadRequest(board="acl", model_a="a", model_b="b"), metadata=md, timeout=timeout
        ),
        "GetHeadToHeadMatrix": lambda md: stub.GetHeadToHeadMatrix(
            pb.HeadToHeadMatrixRequest(leaderboard=board), metadata=md, timeout=timeout
        ),
        "WatchLeaderboard": lambda md: next(
            stub.WatchLeaderboard(pb.WatchRequest(leaderboard=board), metadata=md, timeout=timeout)
        ),
        "ListBoards": lambda md: stub.ListBoards(pb.ListBoardsRequest(), metadata=md, timeout=timeout),
        "ListSnapshots": lambda md: stub.ListSnapshots(
            pb.ListSnapshotsRequest(board="acl"), metadata=md, timeout=timeout
        ),
        "ListCompetitors": lambda md: stub.ListCompetitors(pb.ListCompetitorsRequest(), metadata=md, timeout=timeout),
        "ReplayVotes": lambda md: stub.ReplayVotes(
            iter([pb.ReplayChunk(board="acl-replayed", columns=columns, commit=True)]), metadata=md, timeout=timeout
        ),
        "UpsertCompetitors": lambda md: stub.UpsertCompetitors(
            pb.UpsertCompetitorsRequest(competitors=[pb.Competitor(name="a", organization="A")]),
            metadata=md,
            timeout=timeout,
        ),
        "CreateSnapshot": lambda md: stub.CreateSnapshot(
            pb.CreateSnapshotRequest(board="acl", name=uuid.uuid4().hex), metadata=md, timeout=timeout
        ),
        "GetAudit": lambda md: stub.GetAudit(pb.AuditRequest(board="acl"), metadata=md, timeout=timeout),
        "DeleteBoard": lambda md: (  # a board to delete, made with every scope, then the call under test
            stub.SubmitVotes(votes("acl-delete"), metadata=[("authorization", "Bearer all-token")], timeout=timeout),
            stub.DeleteBoard(pb.DeleteBoardRequest(board="acl-delete"), metadata=md, timeout=timeout),
        ),
        "SuggestPairs": lambda md: stub.SuggestPairs(pb.SuggestPairsRequest(board="acl"), metadata=md, timeout=timeout),
    }


def test_every_rpc_by_every_scope_and_bad_token(start_server):
    server = start_server(access=app.Access(tokens=book()))
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    stub = pb_grpc.RatingsStub(channel)
    everything = [("authorization", "Bearer all-token")]
    stub.SubmitVotes(votes(n=5), metadata=everything, timeout=10)  # something to read
    rpcs = calls(stub)
    assert set(rpcs) == set(auth.METHOD_SCOPES)  # every RPC of the service is covered
    for name, call in rpcs.items():
        scope = auth.METHOD_SCOPES[name]
        for who, metadata, expected in (
            ("missing", [], grpc.StatusCode.UNAUTHENTICATED),
            ("wrong", [("authorization", "Bearer not-a-token")], grpc.StatusCode.UNAUTHENTICATED),
            ("malformed", [("authorization", "all-token")], grpc.StatusCode.UNAUTHENTICATED),
            ("expired", [("authorization", "Bearer old-token")], grpc.StatusCode.UNAUTHENTICATED),
            *(
                (holder, [("authorization", f"Bearer {CREDENTIALS[holder][0]}")], None if holder_scope else
                 grpc.StatusCode.PERMISSION_DENIED)
                for holder in ("reader", "writer", "admin")
                for holder_scope in [scope in CREDENTIALS[holder][1]]
            ),
        ):  # fmt: skip
            try:
                call(metadata)
                code = grpc.StatusCode.OK
            except grpc.RpcError as exc:
                code = exc.code()
            if expected is None:
                assert code == grpc.StatusCode.OK, (name, who, code)
            else:
                assert code == expected, (name, who, code)
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetLeaderboard(pb.LeaderboardRequest(board="acl"), metadata=[("authorization", "Bearer old-token")])
    assert "expired" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        stub.SubmitVotes(votes(), metadata=[("authorization", "Bearer read-token")])
    assert "lacks the 'write' scope" in caught.value.details()
    channel.close()


def make_certificates(tmp_path):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM bytes."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def issue(subject, issuer_name, issuer_key, key, ca=False, san=None):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def pem_key(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())  # fmt: skip

    import ipaddress

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = issue("test CA", ca_name, ca_key, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    server_cert = issue("localhost", ca_name, ca_key, server_key, san=san)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = issue("client", ca_name, ca_key, client_key)
    pem = serialization.Encoding.PEM
    return {
        "ca": ca.public_bytes(pem),
        "server": (server_cert.public_bytes(pem), pem_key(server_key)),
        "client": (pem_key(client_key), client_cert.public_bytes(pem)),
    }


def test_tls_and_mutual_tls_round_trips(start_server, tmp_path):
    pems = make_certificates(tmp_path)
    cert, key = pems["server"]
    server = start_server(access=app.Access(tokens=book(), tls=app.Tls(cert, key)))
    target = f"127.0.0.1:{server.port}"
    with RatingsClient(target, token="all-token", tls_ca=pems["ca"], retries=0) as client:
        ack = client.submit(votes(n=3))
        assert client.leaderboard("acl", min_seq=ack.last_seq, ci=pb.CI_NONE).total_votes == 3
    with RatingsClient(target, token="all-token", retries=0, timeout=3) as plaintext:  # no TLS: refused
        with pytest.raises(grpc.RpcError) as caught:
            plaintext.submit(votes())
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    mutual = start_server(tmp_path / "mtls", access=app.Access(tokens=book(), tls=app.Tls(cert, key, pems["ca"])))
    target = f"127.0.0.1:{mutual.port}"
    with RatingsClient(target, token="all-token", tls_ca=pems["ca"], tls_client=pems["client"]) as client:
        assert client.submit(votes()).accepted == 1
    with RatingsClient(target, token="all-token", tls_ca=pems["ca"], retries=0, timeout=3) as anonymous:
        with pytest.raises(grpc.RpcError) as caught:
            anonymous.submit(votes())
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_without_tokens_only_loopback_unless_insecure(caplog):
    app.check_exposure("127.0.0.1", app.Access())
    app.check_exposure("::1", app.Access())
    app.check_exposure("localhost", app.Access())
    assert "unauthenticated" in caplog.text
    for host in ("0.0.0.0", "192.0.2.7", "::", "example.org"):
        with pytest.raises(ValueError, match="without authentication"):
            app.check_exposure(host, app.Access())
        app.check_exposure(host, app.Access(insecure=True))
        app.check_exposure(host, app.Access(tokens=book()))


def test_vote_rate_limit_refuses_with_a_retry_hint_and_recovers(start_server):
    server = start_server(access=app.Access(tokens=book(), quotas=Quotas(vote_rate=200.0, vote_burst=100)))
    stub = pb_grpc.RatingsStub(grpc.insecure_channel(f"127.0.0.1:{server.port}"))
    writer = [("authorization", "Bearer write-token")]
    assert stub.SubmitVotes(votes(n=80), metadata=writer, timeout=10).accepted == 80
    with pytest.raises(grpc.RpcError) as caught:
        stub.SubmitVotes(votes(n=80), metadata=writer, timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "retry after" in caught.value.details()
    retry_ms = int(dict(caught.value.trailing_metadata())["retry-after-ms"])
    assert 0 < retry_ms <= 1000
    # Another token has its own bucket.
    assert stub.SubmitVotes(votes(n=80), metadata=[("authorization", "Bearer all-token")], timeout=10).accepted == 80
    time.sleep(retry_ms / 1000 + 0.05)
    assert stub.SubmitVotes(votes(n=80), metadata=writer, timeout=10).accepted == 80
    with pytest.raises(grpc.RpcError) as caught:
        stub.SubmitVotes(votes(n=101), metadata=writer, timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "burst" in caught.value.details()
    # Streams pay per batch: the batches acknowledged before the limit are stored.
    time.sleep(0.6)
    acks = []
    with pytest.raises(grpc.RpcError) as caught:
        for ack in stub.StreamVotes(iter([votes(n=90) for _ in range(3)]), metadata=writer, timeout=10):
            acks.append(ack)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and len(acks) == 1
    assert server.service.last_seq == 80 * 3 + 90  # the second batch would have needed 0.4 s more


def test_open_streams_are_limited(start_server):
    server = start_server(access=app.Access(quotas=Quotas(max_streams=2, max_streams_per_caller=2)))
    target = f"127.0.0.1:{server.port}"
    with RatingsClient(target) as client:
        client.submit(votes(n=2))
        first, second = (
            client.watch("acl", interval=0.05, ci=pb.CI_NONE),
            client.watch("acl", interval=0.05, ci=pb.CI_NONE),
        )
        next(first), next(second)
        with pytest.raises(grpc.RpcError) as caught:
            next(client.watch("acl", ci=pb.CI_NONE, timeout=10))
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "streams" in caught.value.details()
        first.cancel()
        deadline = time.monotonic() + 10
        while True:  # the server notices the cancel a moment later
            try:
                third = client.watch("acl", interval=0.05, ci=pb.CI_NONE, timeout=10)
                next(third)
                break
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < deadline
                time.sleep(0.1)
        second.cancel()
        third.cancel()


def test_token_files_environment_and_the_token_command(tmp_path, capsys):
    code, out, err = run_cli(capsys, "token", "create", "--name", "ingest", "--scopes", "write,read",
                             "--expires", "2999-01-01")  # fmt: skip
    assert code == 0
    value = err.strip().rsplit(" ", 1)[-1]
    entry = json.loads(out)
    assert entry["name"] == "ingest" and entry["scopes"] == ["read", "write"] and value not in out
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": [entry]}))
    loaded = auth.load(path, environ={})
    assert loaded.check(f"Bearer {value}", "write").name == "ingest"
    from_env = auth.load(None, environ={auth.ENVIRONMENT_VARIABLE: json.dumps({"tokens": [entry]})})
    assert from_env.check(f"Bearer {value}", "read").name == "ingest"
    assert auth.load(None, environ={}) is None
    for bad, message in (
        ({"tokens": [{"sha256": "abcd", "scopes": ["read"]}]}, "64 hex digits"),
        ({"tokens": [{"sha256": "xyz", "scopes": ["read"]}]}, "needs sha256"),
        ({"tokens": [{"sha256": "00" * 32, "scopes": ["root"]}]}, "scopes must be"),
        ({"tokens": [{"sha256": "00" * 32, "scopes": ["read"], "expires": "soon"}]}, "ISO time"),
        ({"toekns": []}, "expected"),
    ):
        path.write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=message):
            auth.load(path, environ={})


def test_open_channel_sends_the_token_on_streams_too(start_server):
    server = start_server(access=app.Access(tokens=book()))
    stub = pb_grpc.RatingsStub(open_channel(f"127.0.0.1:{server.port}", token="all-token"))
    acks = list(stub.StreamVotes(iter([votes(n=2), votes(n=3)]), timeout=10))
    assert [a.accepted for a in acks] == [2, 3]
