"""Vote weights and prompt ids (issue 15, part 1): the engine, validation, storage, recovery and files.

What a weight means: 0 keeps the vote stored but out of every fit (as if absent); w counts as w copies
of the vote in Bradley–Terry and style control, exactly; online Elo moves by K * w * (s - e), one step
from the same ratings, which is *not* the vote applied twice (see test_elo_weight_is_one_step_of_k_times_w).
A board whose weights are all 1 is bit-identical to one without weights.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import polars as pl
import pytest

from engine import EloConfig
from engine import bt as bt_engine
from engine import style as style_engine
from engine.board import Board
from engine.config import BTConfig, StyleConfig
from engine.outcomes import Outcome
from server.cli.main import main
from server.domain.errors import InvalidArgument
from server.domain.limits import Limits
from server.domain.queries import LeaderboardQuery
from server.domain.votes import validate
from server.files.votefile import ReadOptions, VoteFileError, read_votes
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc.convert import batch_from_pb
from server.service.core import DATABASE_NAME, RatingsService, ServiceConfig
from server.storage.store import Store
from tests.conftest import make_batch, style_votes, synthetic_batch, synthetic_votes


def _votes(n=600, m=8, seed=3):
    a, b, outcome, _ = synthetic_votes(n, m, seed)
    return a.astype(np.int32), b.astype(np.int32), outcome.astype(np.int8)


def _board_arrays(board: Board) -> dict[str, np.ndarray]:
    state = board.state()
    state.pop("counters")  # last_seq differs by construction below; n_votes is compared apart
    return state


def test_weight_zero_is_the_vote_absent_from_every_fit():
    a, b, o = _votes()
    rng = np.random.default_rng(0)
    weight = np.where(rng.random(a.shape[0]) < 0.3, 0.0, 1.0)
    keep = weight > 0
    values = rng.gamma(4.0, 100.0, (a.shape[0], 2))
    weighted, plain = Board(EloConfig(bootstrap_rounds=16)), Board(EloConfig(bootstrap_rounds=16))
    for s in range(0, a.shape[0], 100):  # batches split differently: the result may not depend on it
        sl = slice(s, s + 100)
        weighted.apply(a[sl], b[sl], o[sl], None, ["tokens"], values[sl], None, weight[sl])
    plain.apply(a[keep], b[keep], o[keep], None, ["tokens"], values[keep])
    assert weighted.n_votes == plain.n_votes == int(keep.sum())
    for key, value in _board_arrays(plain).items():
        np.testing.assert_array_equal(_board_arrays(weighted)[key], value, err_msg=key)
    assert not weighted.cells.is_weighted  # the kept weights are all 1: the integer path


def test_weight_two_is_the_vote_twice_for_bradley_terry_exactly():
    a, b, o = _votes(400)
    weight = np.ones(a.shape[0])
    weight[::3] = 2.0
    twice = np.repeat(np.arange(a.shape[0]), weight.astype(int))
    weighted, doubled = Board(EloConfig(bootstrap_rounds=0)), Board(EloConfig(bootstrap_rounds=0))
    weighted.apply(a, b, o, weight=weight)
    doubled.apply(a[twice], b[twice], o[twice])
    table_w, table_d = weighted.cell_table(), doubled.cell_table()
    np.testing.assert_array_equal(table_w.fit_counts, table_d.counts)  # weighted counts equal the doubled votes'
    assert table_w.counts.sum() == a.shape[0]  # the vote counts stay votes
    config = BTConfig()
    fit_w, fit_d = bt_engine.fit(table_w, config), bt_engine.fit(table_d, config)
    np.testing.assert_array_equal(fit_w.theta, fit_d.theta)  # the same float cells: the same fit, bit for bit
    # the count-space bootstrap draws Poisson(weighted count): a whole weighted count as the vote counts
    boot_w = bt_engine.bootstrap(table_w, config, fit_w, 20, seed=5)
    boot_d = bt_engine.bootstrap(table_d, config, fit_d, 20, seed=5)
    np.testing.assert_array_equal(boot_w, boot_d)


def test_fractional_weights_scale_the_cells():
    a, b, o = _votes(300)
    board = Board(EloConfig(bootstrap_rounds=4))
    board.apply(a, b, o, weight=np.full(a.shape[0], 0.5))
    table = board.cell_table()
    np.testing.assert_array_equal(table.fit_counts, table.counts * 0.5)
    fit = bt_engine.fit(table, BTConfig())
    rounds = bt_engine.bootstrap(table, BTConfig(), fit, 8, seed=1)
    assert np.isfinite(rounds).all()


def test_weight_two_is_the_vote_twice_for_style_control():
    a, b, o, values, _ = style_votes(500, 6, seed=2)
    a, b, o = np.asarray(a, np.int32), np.asarray(b, np.int32), np.asarray(o, np.int8)
    weight = np.ones(a.shape[0])
    weight[::4] = 2.0
    weight[1::7] = 0.0
    rows = np.repeat(np.arange(a.shape[0]), weight.astype(int))
    for config in (StyleConfig(), StyleConfig(penalty="coefficients", reweight=True)):
        data_w = style_engine.style_data(a, b, o, values, 6, config, weight)
        data_d = style_engine.style_data(a[rows], b[rows], o[rows], values[rows], 6, config)
        fit_w, fit_d = style_engine.fit(data_w, config), style_engine.fit(data_d, config)
        # each fit is a fixed point of the other's (a warm start moves by < tol); on this small board the
        # reweighted "coefficients" objective is flat enough that two stops differ by ~1e-7
        np.testing.assert_allclose(fit_w.params, fit_d.params, rtol=0, atol=1e-6)
        np.testing.assert_allclose(fit_w.log_likelihood, fit_d.log_likelihood, rtol=1e-9)


def test_elo_weight_is_one_step_of_k_times_w():
    """Weight 2 equals one update with K doubled (2K (s - e), e from the ratings before the vote). It is not
    the vote applied twice: the second application sees ratings already moved toward the result, so its step
    is smaller; the weighted step is larger by K^2-order terms."""
    a, b, o = np.array([0], np.int32), np.array([1], np.int32), np.array([Outcome.A_WINS], np.int8)
    warm_a, warm_b, warm_o = _votes(200, 2, seed=9)
    boards = {name: Board(EloConfig(bootstrap_rounds=0, k=4.0)) for name in ("w", "k2", "x2")}
    for board in boards.values():
        board.apply(warm_a, warm_b, warm_o)
    boards["k2"].config = EloConfig(bootstrap_rounds=0, k=8.0)
    boards["w"].apply(a, b, o, weight=np.array([2.0]))
    boards["k2"].apply(a, b, o)
    boards["x2"].apply(np.repeat(a, 2), np.repeat(b, 2), np.repeat(o, 2))
    np.testing.assert_array_equal(boards["w"].ratings, boards["k2"].ratings)
    gain_w = boards["w"].ratings[0] - boards["x2"].ratings[0]
    assert gain_w > 0  # twice: 4 (1 - e0) + 4 (1 - e1) with e1 > e0; weighted: 8 (1 - e0)
    assert gain_w < 1e-2 * 8  # the two differ by O(K^2 ln(10)/400 e(1-e)): a few hundredths of a point
    assert boards["w"].counts.sum() + 2 == boards["x2"].counts.sum()  # counts count votes (both sides): one, not two


def test_elo_replicas_take_the_weight():
    a, b, o = _votes(300, 5)
    weight = np.where(np.arange(300) % 2, 1.0, 3.0)
    board = Board(EloConfig(bootstrap_rounds=32))
    board.apply(a, b, o, weight=weight)
    plain = Board(EloConfig(bootstrap_rounds=32))
    plain.apply(a, b, o)
    assert not np.array_equal(board.replicas, plain.replicas)
    assert np.isfinite(board.replicas).all()


def test_an_all_ones_weight_column_gives_identical_json(tmp_path, capsys):
    a, b, o = _votes(900, 6, seed=4)
    labels = {1: "model_a", 2: "model_b", 3: "tie", 4: "tie (bothbad)"}
    frame = pl.DataFrame(
        {
            "model_a": [f"m{i}" for i in a],
            "model_b": [f"m{i}" for i in b],
            "winner": [labels[int(x)] for x in o],
            "style_a_tokens": np.random.default_rng(1).gamma(4.0, 100.0, 900),
            "style_b_tokens": np.random.default_rng(2).gamma(4.0, 100.0, 900),
        }
    )
    plain, ones = tmp_path / "plain.csv", tmp_path / "ones.csv"
    frame.write_csv(plain)
    frame.with_columns(weight=pl.lit(1.0)).write_csv(ones)
    for args in (
        ["--format", "json", "--rounds", "50"],
        ["--format", "json", "--method", "elo", "--bootstrap", "50"],
        ["--format", "json", "--ci", "sandwich"],
        ["--format", "json", "--style-control", "--rounds", "20"],
    ):
        outputs = []
        for path in (plain, ones):
            assert main(["replay", str(path), *args]) == 0
            outputs.append(capsys.readouterr().out)
        assert outputs[0] == outputs[1], args
        json.loads(outputs[0])


def test_file_weights_and_prompt_ids(tmp_path, capsys):
    frame = pl.DataFrame(
        {
            "model_a": ["a", "b", "c", "a"],
            "model_b": ["b", "c", "a", "c"],
            "winner": ["model_a", "model_b", "tie", "model_a"],
            "weight": [1.0, None, 0.0, 2.5],
            "question_id": [7, 7, 8, 9],
        }
    )
    path = tmp_path / "v.parquet"
    frame.write_parquet(path)
    batch = read_votes(path)
    np.testing.assert_array_equal(batch.weight, [1.0, 1.0, 0.0, 2.5])  # null: 1
    assert batch.prompt_id == ["7", "7", "8", "9"]  # FastChat's question_id
    renamed = frame.rename({"question_id": "evaluation_session_id", "weight": "w"})
    renamed.write_parquet(path)
    batch = read_votes(path, options=ReadOptions(columns={"prompt_id": "evaluation_session_id", "weight": "w"}))
    assert batch.prompt_id == ["7", "7", "8", "9"] and batch.weight is not None and batch.weight[3] == 2.5
    # the command line's --col maps the same way; the weight-0 vote is read but fits nothing
    assert main(["replay", str(path), "--col", "weight=w", "--format", "json", "--ci", "none"]) == 0
    board = json.loads(capsys.readouterr().out)
    assert board["total_votes"] == 3
    bad = frame.with_columns(weight=pl.Series([1.0, -1.0, float("nan"), 1.0]))
    bad.write_parquet(path)
    with pytest.raises(VoteFileError, match=r"row 2: weight -1.0 is not a number from 0 to 1e\+06"):
        read_votes(path)
    skipped = read_votes(path, options=ReadOptions(on_bad_row="skip"))
    assert len(skipped) == 2


def test_weights_are_validated_and_named():
    batch = make_batch(["a", "b"], ["b", "c"], [1, 2])
    batch.weight = np.array([1.0, -0.5])
    with pytest.raises(InvalidArgument) as raised:
        validate(batch, Limits())
    assert raised.value.field == "votes[1].weight"
    for value in (float("nan"), float("inf"), 1e300):  # a finite but huge weight would make Elo's step inf
        batch.weight = np.array([value, 1.0])
        with pytest.raises(InvalidArgument, match=r"votes\[0\]\.weight"):
            validate(batch, Limits())
    batch.weight = np.array([1.0])
    with pytest.raises(InvalidArgument, match=r"columns\.weight"):
        validate(batch, Limits())
    columns = pb.VoteColumns(names=["a", "b"], model_a=[0, 0], model_b=[1, 1], outcome=[1, 2], vote_id=["x", "y"],
                             weight=[1.0, float("-inf")])  # fmt: skip
    with pytest.raises(InvalidArgument) as raised:
        batch_from_pb(pb.VoteBatch(columns=columns))
    assert raised.value.field == "columns.weight[1]"
    rows = [pb.Vote(vote_id="x", model_a="a", model_b="b", outcome=1, weight=float("nan"))]
    with pytest.raises(InvalidArgument) as raised:
        batch_from_pb(pb.VoteBatch(votes=rows))
    assert raised.value.field == "votes[0].weight"
    rows = [pb.Vote(vote_id="x", model_a="a", model_b="b", outcome=1, weight=0.0, prompt_id="p1"),
            pb.Vote(vote_id="y", model_a="a", model_b="b", outcome=1)]  # fmt: skip
    batch = batch_from_pb(pb.VoteBatch(votes=rows))
    assert batch.weight is not None and batch.weight.tolist() == [0.0, 1.0] and batch.prompt_id == ["p1", ""]


def _weighted_batch(n=2000, seed=5):
    batch = synthetic_batch(n, 10, seed=seed)
    rng = np.random.default_rng(seed)
    batch.weight = rng.choice([0.0, 0.5, 1.0, 2.0], n)
    batch.prompt_id = [f"p{i % 37}" for i in range(n)]
    return batch


def test_weighted_votes_are_stored_counted_and_replayed_on_restart(tmp_path):
    config = ServiceConfig(default_elo=EloConfig(bootstrap_rounds=8), snapshot_every_seconds=0, engine_threads=1)
    batch = _weighted_batch()
    zero = int((batch.weight == 0).sum())
    service = RatingsService(tmp_path, config)
    try:
        for start in range(0, 2000, 250):
            ack = service.submit(batch.slice(start, start + 250))
            assert ack.accepted == 250  # a weight-0 vote is accepted and stored
        assert service.last_seq == 2000
        elo = service.leaderboard(LeaderboardQuery("default", "elo"), min_seq=2000)
        assert elo.standings.total_votes == 2000 - zero  # ... and fits nothing
        bt_before = service.leaderboard(LeaderboardQuery("default", "bt", rounds=20), min_seq=2000)
        state = service._versions._live["default"].state()
        assert "cell_weighted" in state[""] and "style_weight" not in state[""]
    finally:
        service.close()
    store = Store(tmp_path / DATABASE_NAME)
    try:
        stored = list(store.batches())
    finally:
        store.close()
    assert sum(len(b.vote_id) for b in stored) == 2000
    assert stored[0].prompt_id is not None and stored[0].prompt_id[:2] == ["p0", "p1"]
    assert stored[0].weight is not None and stored[0].weight.tolist() == batch.weight[:250].tolist()
    for drop_checkpoints in (False, True):
        if drop_checkpoints:
            shutil.rmtree(tmp_path / "checkpoints", ignore_errors=True)
        restarted = RatingsService(tmp_path, config)
        try:
            for view, arrays in restarted._versions._live["default"].state().items():
                for key, value in arrays.items():
                    np.testing.assert_array_equal(value, state[view][key], err_msg=f"{view}: {key}")
            bt_after = restarted.leaderboard(LeaderboardQuery("default", "bt", rounds=20), min_seq=2000)
            np.testing.assert_array_equal(bt_after.standings.rating, bt_before.standings.rating)
            np.testing.assert_array_equal(bt_after.standings.rating_lower, bt_before.standings.rating_lower)
        finally:
            restarted.close()


def test_an_old_database_gains_the_weight_and_prompt_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE vote_batches (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, board_id INTEGER NOT NULL,
            model_a BLOB NOT NULL, model_b BLOB NOT NULL, outcome BLOB NOT NULL, timestamp BLOB NOT NULL,
            vote_id TEXT NOT NULL, voter_id TEXT, tags TEXT);
        """
    )
    row = (1, 1, 1, np.array([0], "<i4").tobytes(), np.array([1], "<i4").tobytes(), np.array([1], "<i1").tobytes(),
           np.array([0.0], "<f8").tobytes(), '["v1"]', None, None)  # fmt: skip
    db.execute("INSERT INTO vote_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    db.commit()
    db.close()
    store = Store(path)
    try:
        (old,) = list(store.batches())
        assert old.weight is None and old.prompt_id is None and old.style_names is None
    finally:
        store.close()
