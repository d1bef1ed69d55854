"""Names and tags: one rule (server.domain.names), exact round trips through every state file, and
restart = replay for arbitrary Unicode (issue 11, defects 1 and 2)."""

from __future__ import annotations

import shutil

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import EloConfig
from engine.views import BoardViews
from server.domain.errors import InvalidArgument
from server.domain.names import checked
from server.domain.queries import LeaderboardQuery, ListingQuery, SnapshotRef
from server.domain.votes import VoteBatch
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.service.core import RatingsService, ServiceConfig
from server.storage import checkpoint, snapshots
from server.storage.snapshots import SnapshotInfo
from tests.conftest import make_batch

NFD_CAFE = "cafe\u0301"
NFC_CAFE = "caf\u00e9"


# ------------------------------------------------------------------ the rule


@pytest.mark.parametrize(
    "name",
    ["\u200b", "\u00a0", "\t", " ", "", "\x00", "cat\x00", "a\x07b", "line\nbreak", "x\u202ey", "\u2066x",
     " gpt-4", "gpt-4 ", "cat ", "\ufeffname", "name\u200d", "a\x7f", "a\x85b"],
)  # fmt: skip
def test_refused_names(name):
    with pytest.raises(InvalidArgument) as refused:
        checked(name, "votes[3].model_a", 256)
    assert refused.value.field == "votes[3].model_a"


@pytest.mark.parametrize("name", ["gpt-4o", "a b", "模型", "🦙 llama", "Ω-model", "x\u200dy", "naïve"])
def test_accepted_names_are_kept(name):
    assert checked(name, "f", 256) == name


def test_nfd_and_nfc_are_one_name():
    assert checked(NFD_CAFE, "f", 256) == checked(NFC_CAFE, "f", 256) == NFC_CAFE


def test_length_counts_the_normalised_name():
    assert checked("e\u0301" * 10, "f", 10) == "\u00e9" * 10
    with pytest.raises(InvalidArgument):
        checked("x" * 11, "f", 10)


# ------------------------------------------------------ exact state formats


def test_state_files_round_trip_names_ending_in_nul(tmp_path):
    views = BoardViews(EloConfig(bootstrap_rounds=4))
    a = np.array([0, 1, 2], dtype=np.int32)
    b = np.array([1, 2, 0], dtype=np.int32)
    outcome = np.array([1, 2, 3], dtype=np.int8)
    style = np.ones((3, 2))
    views.apply(a, b, outcome, [["\x00"], ["cat\x00"], ["cat"]], 3, ["len\x00"], style)
    flat = checkpoint.flatten_views({"b": (7, views)})
    checkpoint.write_states(tmp_path / "c.npz", 3, flat)
    seq, read = checkpoint.read_states(tmp_path / "c.npz")
    ((version, states),) = checkpoint.unflatten_views(read).values()
    back = BoardViews.from_state(states)
    assert (seq, version) == (3, 7)
    assert sorted(back.categories) == ["\x00", "cat", "cat\x00"]
    assert back.overall.n_votes == 3
    assert {tag: v.n_votes for tag, v in back.categories.items()} == {"\x00": 1, "cat\x00": 1, "cat": 1}
    assert back.overall.style.names == ["len\x00"]


def _as_version_1(path) -> None:
    """Rewrite a state file as the engine before ENGINE_STATE_VERSION 2 wrote it (valid checksum)."""
    import hashlib
    import io

    seq, boards = checkpoint.read_states(path)
    arrays = {"seq": np.array([seq]), "boards": np.array(list(boards), dtype=np.str_)}
    for i, state in enumerate(boards.values()):
        arrays.update({f"{i}/{key}": value for key, value in state.items()})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    path.write_bytes(hashlib.sha256(payload).digest() + payload)


def test_files_of_an_older_engine_are_rebuilt_from_the_log(tmp_path, caplog):
    """Version 1 drew correlated replica weights: its checkpoints and snapshots are not loaded, the
    log rebuilds them (with the corrected draws), and restart = replay holds."""
    config = ServiceConfig(default_elo=EloConfig(bootstrap_rounds=16), snapshot_every_seconds=0, engine_threads=1)
    service = RatingsService(tmp_path, config)
    service.submit(_batch([("a", "b", 1, ["t"]), ("b", "c", 2, []), ("c", "a", 3, ["t"])], 0))
    service.create_snapshot("default", "s")
    service.close()
    (saved,) = (tmp_path / "checkpoints").glob("*.npz")
    _as_version_1(saved)
    (frozen,) = (tmp_path / "snapshots").glob("*.npz")
    _as_version_1(frozen)
    with pytest.raises(ValueError, match="engine state version 1"):
        checkpoint.read_states(saved)
    restarted = RatingsService(tmp_path, config)
    try:
        assert "ignoring checkpoint" in caplog.text
        loaded = _state(restarted)
        query = LeaderboardQuery("default", "elo", "bootstrap")
        then = restarted.listing(ListingQuery(query, as_of=SnapshotRef(name="s"))).result.standings
        now = restarted.listing(ListingQuery(query)).result.standings
        np.testing.assert_array_equal(then.rating_lower, now.rating_lower)  # the snapshot, rebuilt, is today
    finally:
        restarted.close()
    shutil.rmtree(tmp_path / "checkpoints")
    replayed = RatingsService(tmp_path, config)
    try:
        _assert_same_state(loaded, _state(replayed))
    finally:
        replayed.close()


# ------------------------------------------------------------- the service


def test_the_reported_nul_tags_are_refused_and_nothing_is_lost(start_server):
    """1000 votes, then votes tagged "\\x00" and "cat\\x00", a snapshot, a restart: 1000 votes stay."""
    from server.client.ratings_client import RatingsClient

    server = start_server(snapshot_every_seconds=0)
    data = server.service.data_dir
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        names = ["m0", "m1", "m2"]
        client.submit(
            pb.VoteBatch(columns=pb.VoteColumns(
                names=names, model_a=[i % 3 for i in range(1000)], model_b=[(i + 1) % 3 for i in range(1000)],
                outcome=[1] * 1000, vote_id=[f"v{i}" for i in range(1000)],
            ))
        )  # fmt: skip
        for i, tag in enumerate(["\x00", "cat\x00"]):
            vote = pb.Vote(vote_id=f"t{i}", model_a="m0", model_b="m1", outcome=pb.A_WINS, tags=["ok", tag])
            with pytest.raises(grpc.RpcError) as refused:
                client.submit(pb.VoteBatch(votes=[pb.Vote(vote_id="x", model_a="m0", model_b="m2",
                                                          outcome=pb.TIE), vote]))  # fmt: skip
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "votes[1].tags[1]" in refused.value.details()
            assert "control character" in refused.value.details()
        client.create_snapshot("default", "s1")
    server.stop(grace=1.0)
    again = start_server(data, snapshot_every_seconds=0)
    with RatingsClient(f"127.0.0.1:{again.port}") as client:
        board = client.leaderboard("default", ci=pb.CI_NONE)
        assert board.total_votes == 1000
        then = client.leaderboard("default", ci=pb.CI_NONE, as_of="s1")
        assert then.total_votes == 1000


def test_nfc_and_nfd_names_are_one_competitor_and_bad_names_name_the_vote(start_server):
    from server.client.ratings_client import RatingsClient

    server = start_server(snapshot_every_seconds=0)
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        client.submit(pb.VoteBatch(votes=[
            pb.Vote(vote_id="1", model_a=NFD_CAFE, model_b="bar", outcome=pb.A_WINS),
            pb.Vote(vote_id="2", model_a=NFC_CAFE, model_b="bar", outcome=pb.A_WINS, tags=["caf\u00e9"]),
            pb.Vote(vote_id="3", model_a="bar", model_b=NFC_CAFE, outcome=pb.TIE, tags=["cafe\u0301"]),
        ]))  # fmt: skip
        board = client.leaderboard("default", ci=pb.CI_NONE, min_seq=3)
        assert sorted(row.model for row in board.rows) == ["bar", NFC_CAFE]
        assert client.leaderboard("default", category=NFD_CAFE, ci=pb.CI_NONE).total_votes == 2
        for field, vote in [
            ("votes[1].model_b", pb.Vote(vote_id="x", model_a="a", model_b="\u200b", outcome=pb.A_WINS)),
            ("votes[1].model_a", pb.Vote(vote_id="x", model_a=" a", model_b="b", outcome=pb.A_WINS)),
            ("votes[1].tags[0]", pb.Vote(vote_id="x", model_a="a", model_b="b", outcome=pb.A_WINS, tags=["cat "])),
            ("votes[1].voter_id", pb.Vote(vote_id="x", model_a="a", model_b="b", outcome=pb.A_WINS, voter_id="v\n")),
        ]:
            ok = pb.Vote(vote_id="y", model_a="a", model_b="b", outcome=pb.A_WINS)
            with pytest.raises(grpc.RpcError) as refused:
                client.submit(pb.VoteBatch(votes=[ok, vote]))
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert refused.value.details().startswith(field), refused.value.details()
        with pytest.raises(grpc.RpcError) as refused:
            client.upsert_competitors([pb.Competitor(name="x\u202e")])
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "competitors[0].name" in refused.value.details()
        client.upsert_competitors([pb.Competitor(name=NFD_CAFE, organization="Bistro")])
        row = next(r for r in client.leaderboard("default", ci=pb.CI_NONE).rows if r.model == NFC_CAFE)
        assert row.competitor.organization == "Bistro"
        assert client.leaderboard("default", ci=pb.CI_NONE).total_votes == 3


# ---------------------------------------------- restart = replay, any Unicode

# Plain names often (so most batches are accepted and the state is not trivial), any Unicode too.
_text = st.one_of(
    st.sampled_from(["a", "b", "c", NFC_CAFE, NFD_CAFE, "模型"]),
    st.text(st.characters(codec="utf-8"), min_size=0, max_size=6),
)


def _vote_batches():
    vote = st.tuples(_text, _text, st.sampled_from([1, 2, 3, 4]), st.lists(_text, max_size=3))
    return st.lists(st.lists(vote, min_size=1, max_size=6), min_size=1, max_size=4)


def _batch(votes, offset: int) -> VoteBatch:
    batch = make_batch([v[0] for v in votes], [v[1] for v in votes], [v[2] for v in votes],
                       vote_ids=[f"v{offset + i}" for i in range(len(votes))])  # fmt: skip
    batch.tag_count = np.array([len(v[3]) for v in votes], dtype=np.int64)
    batch.tags = [t for v in votes for t in v[3]]
    return batch


def _state(service: RatingsService) -> dict:
    return {name: views.state() for name, views in service._versions._live.items()}


def _assert_same_state(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for name in left:
        assert left[name].keys() == right[name].keys(), name
        for view in left[name]:
            for key, value in left[name][view].items():
                np.testing.assert_array_equal(value, right[name][view][key], err_msg=f"{name}/{view!r}: {key}")


@settings(max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(batches=_vote_batches())
def test_restart_equals_replay_for_any_unicode_names_and_tags(tmp_path_factory, batches):
    """Whatever names and tags arrive, what is accepted survives a restart (checkpoint and
    snapshot files) exactly as a replay of the log rebuilds it; what is refused changes nothing."""
    data = tmp_path_factory.mktemp("unicode")
    config = ServiceConfig(default_elo=EloConfig(bootstrap_rounds=3), snapshot_every_seconds=0, engine_threads=1)
    service = RatingsService(data, config)
    offset = 0
    for votes in batches:
        batch = _batch(votes, offset)
        offset += len(votes)
        before = service.last_seq
        try:
            service.submit(batch)
        except InvalidArgument:
            assert service.last_seq == before
    has_votes = service.last_seq > 0
    if has_votes:
        service.create_snapshot("default", "s")
    service.close()  # writes the final checkpoint

    restarted = RatingsService(data, config)  # from the checkpoint
    from_checkpoint = _state(restarted)
    then = restarted.snapshots("default")
    restarted.close()
    shutil.rmtree(data / "checkpoints", ignore_errors=True)
    replayed = RatingsService(data, config)  # from the log alone
    try:
        _assert_same_state(from_checkpoint, _state(replayed))
        if has_votes:
            (info,) = then
            frozen = snapshots.load(data / "snapshots", SnapshotInfo(**{**info.__dict__}))
            assert frozen is not None
            _assert_same_state({"default": frozen.state()}, _state(replayed))
            for tag in frozen.categories:
                query = LeaderboardQuery("default", "elo", "bootstrap", category=tag)
                assert replayed.leaderboard(query).standings.total_votes == frozen.categories[tag].n_votes
    finally:
        replayed.close()
