"""Paging GetLeaderboard (limit, offset, total_rows) on a real server, and the CLI reading every page."""

from __future__ import annotations

import json

import grpc
import numpy as np
import pytest

from engine import EloConfig
from server.cli.main import main
from server.domain import paging
from server.domain.limits import Limits
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from tests.conftest import make_batch, synthetic_batch
from tests.test_service import client_for

NO_BOOTSTRAP = EloConfig(bootstrap_rounds=0)  # big boards: no Elo replicas to keep up


def board_of(m: int, seed: int = 0) -> tuple:
    """Votes over m competitors, each in at least one vote (4 votes a competitor, random opponents)."""
    rng = np.random.default_rng(seed)
    n = 4 * m
    a = np.concatenate([np.arange(m), rng.integers(0, m, n - m)])
    b = (a + rng.integers(1, m, n)) % m
    outcome = np.where(rng.random(n) < 0.5, 1, 2)
    names = [f"model-{i:05d}" for i in range(m)]
    return [names[i] for i in a], [names[i] for i in b], outcome.tolist()


def submit_board(client, m: int, seed: int = 0, batch: int = 10_000) -> int:
    a, b, outcome = board_of(m, seed)
    last = 0
    for start in range(0, len(a), batch):
        stop = min(len(a), start + batch)
        ids = [f"v{i}" for i in range(start, stop)]
        last = client.submit(make_batch(a[start:stop], b[start:stop], outcome[start:stop], vote_ids=ids)).last_seq
    return last


def rows_of(board: pb.Leaderboard) -> list[tuple]:
    return [(r.rank, r.rank_ub, r.model, r.rating, r.votes) for r in board.rows]


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_board_over_the_default_page_is_read_page_by_page(start_server, capsys):
    """12,000 competitors: the default call returns the first 10,000 rows and the total; pages join up exactly."""
    assert paging.DEFAULT_PAGE_ROWS == 10_000
    server = start_server(default_elo=NO_BOOTSTRAP, snapshot_every_seconds=0)
    with client_for(server) as client:
        last = submit_board(client, 12_000)
        first = client.leaderboard(min_seq=last, ci=pb.CI_NONE)
        assert len(first.rows) == 10_000 and first.total_rows == 12_000 == first.summary.models_listed
        whole = client.leaderboard(ci=pb.CI_NONE, limit=12_000)
        assert whole.total_rows == 12_000 and len(whole.rows) == 12_000
        assert [r.rank for r in whole.rows] == list(range(1, 12_001))
        assert rows_of(first) == rows_of(whole)[:10_000]
        pages = [client.leaderboard(ci=pb.CI_NONE, limit=5_000, offset=offset) for offset in (0, 5_000, 10_000)]
        assert [len(p.rows) for p in pages] == [5_000, 5_000, 2_000]
        assert pages[1].rows[0].rank == 5_001  # ranks continue from page to page
        assert sum((rows_of(p) for p in pages), []) == rows_of(whole)
        past = client.leaderboard(ci=pb.CI_NONE, offset=12_000)
        assert len(past.rows) == 0 and past.total_rows == 12_000
    target = f"127.0.0.1:{server.port}"
    code, out, _ = run_cli(capsys, "leaderboard", "--target", target, "--ci", "none", "--format", "json")
    feed = json.loads(out)
    assert code == 0 and [r["model"] for r in feed["rows"]] == [r.model for r in whole.rows]
    assert [r["rank"] for r in feed["rows"]] == list(range(1, 12_001))


def test_pages_follow_the_filters_and_ranks_count_listed_rows(start_server, monkeypatch):
    monkeypatch.setattr(paging, "DEFAULT_PAGE_ROWS", 5)
    server = start_server()
    with client_for(server) as client:
        last = client.submit(synthetic_batch(3000, 14, seed=51)).last_seq
        full = client.leaderboard(min_seq=last, ci=pb.CI_NONE, limit=14)
        hidden = [full.rows[i].model for i in (0, 6, 9)]
        client.upsert_competitors([pb.Competitor(name=name, status=pb.DEPRECATED) for name in hidden])
        listed = client.leaderboard(ci=pb.CI_NONE, limit=11)
        assert listed.total_rows == 11 and listed.summary.models_hidden == 3
        assert [r.rank for r in listed.rows] == list(range(1, 12))
        first = client.leaderboard(ci=pb.CI_NONE)  # over the (patched) default page of 5
        assert len(first.rows) == 5 and first.total_rows == 11
        joined = []
        while len(joined) < first.total_rows:
            page = client.leaderboard(ci=pb.CI_NONE, offset=len(joined))
            assert page.total_rows == 11 and page.rows
            joined.extend(page.rows)
        assert rows_of(pb.Leaderboard(rows=joined)) == rows_of(listed)
        # Compared and style-free deltas are sliced with their rows.
        client.create_snapshot("default", "then")
        compared = client.leaderboard(ci=pb.CI_NONE, compare_to="then", limit=4, offset=4)
        assert [r.model for r in compared.rows] == [r.model for r in listed.rows[4:8]]
        assert all(r.HasField("rank_delta") and r.rank_delta == 0 for r in compared.rows)
        # A small board fits the default page whole.
        everyone = client.leaderboard(ci=pb.CI_NONE, filters=pb.RowFilters(statuses=[pb.ACTIVE, pb.DEPRECATED]))
        assert everyone.total_rows == 14 and len(everyone.rows) == 5


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (dict(limit=paging.MAX_PAGE_ROWS + 1), "limit"),
        (dict(limit=-1), "limit"),
        (dict(offset=-5), "offset"),
        (dict(limit=-(2**63)), "limit"),
    ],
)
def test_bad_pages_are_invalid_argument_naming_the_field(start_server, options, field):
    server = start_server()
    with client_for(server) as client:
        last = client.submit(synthetic_batch(200, 4, seed=52)).last_seq
        with pytest.raises(grpc.RpcError) as err:
            client.leaderboard(min_seq=last, ci=pb.CI_NONE, **options)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(f"{field}: ")


def test_pages_fit_the_message_limit(start_server):
    """A default page is cut to what fits one message; an explicit limit that does not fit is refused."""
    limit = 32 * 1024
    server = start_server(limits=Limits(max_message_bytes=limit), default_elo=NO_BOOTSTRAP)
    with client_for(server) as client:
        last = submit_board(client, 1_500, seed=3, batch=200)  # batches within the small limit too
        first = client.leaderboard(min_seq=last, ci=pb.CI_NONE)
        assert 0 < len(first.rows) < 1_500 and first.total_rows == 1_500
        assert first.ByteSize() <= limit
        joined = list(first.rows)
        while len(joined) < first.total_rows:
            page = client.leaderboard(ci=pb.CI_NONE, offset=len(joined))
            assert page.rows and page.ByteSize() <= limit
            joined.extend(page.rows)
        assert [r.rank for r in joined] == list(range(1, 1_501))
        with pytest.raises(grpc.RpcError) as err:
            client.leaderboard(ci=pb.CI_NONE, limit=1_500)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and err.value.details().startswith("limit: ")


def test_cli_and_export_read_every_page(start_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(paging, "DEFAULT_PAGE_ROWS", 4)
    server = start_server()
    target = f"127.0.0.1:{server.port}"
    with client_for(server) as client:
        last = client.submit(synthetic_batch(2000, 11, seed=53)).last_seq
        whole = client.leaderboard(min_seq=last, ci=pb.CI_NONE, limit=11)
        assert client.leaderboard(ci=pb.CI_NONE).total_rows == 11
    code, out, _ = run_cli(capsys, "leaderboard", "--target", target, "--ci", "none", "--format", "csv")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 12
    assert [line.split(",")[2] for line in lines[1:]] == [r.model for r in whole.rows]
    code, out, _ = run_cli(
        capsys, "export", "--target", target, "--ci", "none", "--outdir", str(tmp_path), "--formats", "json"
    )
    assert code == 0
    feed = json.loads((tmp_path / "leaderboard.json").read_text())
    assert [r["model"] for r in feed["rows"]] == [r.model for r in whole.rows]
    assert feed["summary"]["models_listed"] == 11


def test_watch_sends_the_requested_page(start_server):
    server = start_server()
    with client_for(server) as client:
        last = client.submit(synthetic_batch(1000, 9, seed=54)).last_seq
        whole = client.leaderboard(min_seq=last, ci=pb.CI_NONE)
        updates = client.watch(ci=pb.CI_NONE, limit=3, offset=2, timeout=10)
        try:
            board = next(updates)
        finally:
            updates.cancel()
        matrix = client.head_to_head_matrix(top_k=4, ci=pb.CI_NONE, limit=1)
    assert [r.model for r in board.rows] == [r.model for r in whole.rows[2:5]] and board.total_rows == 9
    assert list(matrix.models) == [r.model for r in whole.rows[:4]]  # the matrix's top_k picks its rows


def test_a_read_whose_board_changes_between_pages_starts_over(start_server, monkeypatch):
    from server.client.ratings_client import PAGED_READ_ATTEMPTS, PagesChanged

    monkeypatch.setattr(paging, "DEFAULT_PAGE_ROWS", 3)
    server = start_server()
    with client_for(server) as client:
        last = client.submit(synthetic_batch(1000, 8, seed=55)).last_seq
        client.leaderboard(min_seq=last, ci=pb.CI_NONE)
        real = client.leaderboard
        changes = []

        def changing(board="default", **options):  # new votes arrive after each first page, `budget` times
            page = real(board, **options)
            if not options.get("offset") and len(changes) < budget:
                changes.append(
                    client.submit(synthetic_batch(50, 8, seed=100 + len(changes), prefix=f"x{len(changes)}-"))
                )
                real(board, min_seq=changes[-1].last_seq, ci=pb.CI_NONE)  # wait until it is applied
            return page

        monkeypatch.setattr(client, "leaderboard", changing)
        budget = 1
        joined = client.full_leaderboard(ci=pb.CI_NONE)
        assert len(changes) == 1 and joined.total_votes == 1050
        assert [r.rank for r in joined.rows] == list(range(1, 9)) and len({r.model for r in joined.rows}) == 8
        budget = 1 + PAGED_READ_ATTEMPTS
        with pytest.raises(PagesChanged, match="changed while its 8 rows were read"):
            client.full_leaderboard(ci=pb.CI_NONE)
