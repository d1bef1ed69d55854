"""SuggestPairs: the engine's plans against brute force, the service's answers over gRPC, HTTP and the CLI."""

from __future__ import annotations

import json
import math

import grpc
import httpx
import numpy as np
import pytest

from engine import bt, suggest
from engine.cells import CellTable
from server.cli.main import main
from server.client.ratings_client import RatingsClient
from server.http.options import HttpOptions
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc.wire import message_dict
from tests.conftest import make_batch


def simulated(m: int, n: int, seed: int, spread: float = 1.0):
    """A board of ``m`` competitors with BT strengths linspace(spread, -spread) and ``n`` uniform votes."""
    rng = np.random.default_rng(seed)
    strength = np.linspace(spread, -spread, m)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    p = 1 / (1 + np.exp(strength[b] - strength[a]))
    outcome = np.where(rng.random(n) < p, 1, 2).astype(np.int8)
    return CellTable.from_votes(m, a.astype(np.int32), b.astype(np.int32), outcome), a, b, outcome


def fitted(table: CellTable):
    config = bt.BTConfig()
    theta = bt.fit(table, config).theta
    return theta - theta.mean(), suggest.covariance(table, config, theta)


def naive_fisher(m, a, b, theta) -> np.ndarray:
    """Fisher information vote by vote: p (1 - p) (e_a - e_b)(e_a - e_b)^T each."""
    info = np.zeros((m, m))
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        p = 1 / (1 + math.exp(theta[j] - theta[i]))
        v = np.zeros(m)
        v[i], v[j] = 1.0, -1.0
        info += p * (1 - p) * np.outer(v, v)
    return info


def test_fisher_information_and_covariance_equal_naive_twins():
    table, a, b, _ = simulated(6, 400, seed=1)
    theta, cov = fitted(table)
    info = naive_fisher(6, a, b, theta)
    np.testing.assert_allclose(suggest.fisher_information(table, bt.BTConfig(), theta), info, atol=1e-9)
    np.testing.assert_allclose(cov, np.linalg.pinv(info), atol=1e-9)  # the centred inverse: the pseudo-inverse


def test_ci_width_choice_matches_brute_force_trace_reduction():
    table, a, b, _ = simulated(6, 300, seed=2, spread=1.5)
    theta, cov = fitted(table)
    info = naive_fisher(6, a, b, theta)
    horizon = 40  # one pair: both greedy slices (horizon / 2 votes each) go to it
    before = np.trace(np.linalg.pinv(info))
    reduction = {}
    for i in range(6):
        for j in range(i + 1, 6):
            p = 1 / (1 + math.exp(theta[j] - theta[i]))
            v = np.zeros(6)
            v[i], v[j] = 1.0, -1.0
            after = np.linalg.pinv(info + horizon / 2 * p * (1 - p) * np.outer(v, v))
            reduction[i, j] = before - np.trace(after)
    plan = suggest.ci_width_plan(suggest.Basis.of(theta, cov), 1, horizon)
    best = max(reduction, key=reduction.__getitem__)
    assert (int(plan.slot_a[0]), int(plan.slot_b[0])) == best and plan.weight.tolist() == [1.0]
    # The closed form of the kernel is the brute-force reduction.
    i, j = best
    p = 1 / (1 + math.exp(theta[j] - theta[i]))
    w = horizon / 2 * p * (1 - p)
    v = np.zeros(6)
    v[i], v[j] = 1.0, -1.0
    closed = w * (v @ cov @ cov @ v) / (1 + w * v @ cov @ v)
    assert closed == pytest.approx(reduction[best], rel=1e-8)


@pytest.mark.parametrize("objective", ["ci_width", "top_k", "placement"])
def test_weights_sum_to_one_and_pairs_are_valid_and_distinct(objective):
    table, *_ = simulated(30, 3000, seed=3)
    theta, cov = fitted(table)
    if objective == "ci_width":
        plan = suggest.ci_width_plan(suggest.Basis.of(theta, cov), 12)
    elif objective == "top_k":
        plan = suggest.top_k_plan(suggest.Basis.of(theta, cov), 12, 5)
    else:
        plan, _ = suggest.placement_plan(suggest.Basis.of(theta, cov), 12, 7)
    pairs = list(zip(plan.slot_a.tolist(), plan.slot_b.tolist(), strict=True))
    assert 1 <= len(pairs) <= 12 and len(set(pairs)) == len(pairs)
    assert all(0 <= x < 30 and 0 <= y < 30 and x != y for x, y in pairs)
    assert plan.weight.sum() == pytest.approx(1.0) and (plan.weight > 0).all()
    assert (np.diff(plan.weight) <= 1e-12).all()  # largest first


def test_top_k_picks_pairs_among_the_top_k_and_their_neighbours():
    table, *_ = simulated(40, 8000, seed=4, spread=3.0)
    theta, cov = fitted(table)
    k = 5
    plan = suggest.top_k_plan(suggest.Basis.of(theta, cov), 10, k)
    contenders = suggest.contenders(theta, cov, k)
    rank = {int(slot): r for r, slot in enumerate(np.argsort(-theta))}
    sd = np.sqrt(np.diag(cov))
    assert len(contenders) < 20  # well separated: the bottom half never contends
    for x, y in zip(plan.slot_a.tolist(), plan.slot_b.tolist(), strict=True):
        assert x in contenders and y in contenders
        adjacent = abs(rank[x] - rank[y]) == 1
        assert adjacent or abs(theta[x] - theta[y]) <= bt.Z_95 * (sd[x] + sd[y])
        assert min(rank[x], rank[y]) < k + 3


def test_placement_pairs_the_model_with_opponents_near_its_estimate():
    table, a, b, outcome = simulated(30, 6000, seed=5, spread=2.0)
    theta, cov = fitted(table)
    for slot in (3, 15, 26):
        plan, estimate = suggest.placement_plan(suggest.Basis.of(theta, cov), 6, slot)
        assert estimate == theta[slot] and set(plan.slot_a.tolist()) == {slot}
        gaps = np.abs(theta[plan.slot_b] - estimate)
        others = np.abs(np.delete(theta, np.concatenate([plan.slot_b, [slot]])) - estimate)
        assert gaps.max() <= np.sort(others)[len(others) // 2]  # nearer than the median of the rest
    plan, estimate = suggest.placement_plan(suggest.Basis.of(theta, cov), 6, None)  # no votes yet: placed at the mean
    assert estimate == pytest.approx(theta.mean()) and set(plan.slot_a.tolist()) == {-1}
    assert np.abs(theta[plan.slot_b] - estimate).max() < 0.7


# ------------------------------------------------------------------------ the service


MODELS = [f"m{i:02d}" for i in range(12)]


def board_votes(board: str, n: int, seed: int):
    rng = np.random.default_rng(seed)
    strength = np.linspace(1.5, -1.5, len(MODELS))
    a = rng.integers(0, len(MODELS), n)
    b = (a + rng.integers(1, len(MODELS), n)) % len(MODELS)
    p = 1 / (1 + np.exp(strength[b] - strength[a]))
    outcome = np.where(rng.random(n) < p, 1, 2)
    return make_batch([MODELS[i] for i in a], [MODELS[i] for i in b], outcome.tolist(), board=board,
                      vote_ids=[f"{board}-{i}" for i in range(n)])  # fmt: skip


@pytest.fixture
def served(start_server):
    from server.rpc import convert

    running = start_server(http=HttpOptions(port=0))
    client = RatingsClient(f"127.0.0.1:{running.port}")
    ack = client.submit(convert.batch_to_pb(board_votes("text", 1500, seed=6)))
    client.upsert_competitors([pb.Competitor(name="newcomer", organization="Org N")])
    client.leaderboard("text", min_seq=ack.last_seq, ci="none")
    http = httpx.Client(base_url=f"http://127.0.0.1:{running.http_port}", timeout=30)
    yield running, client, http
    http.close()
    client.close()


def test_grpc_and_http_answer_the_same(served):
    _, client, http = served
    for objective, extra in (("ci_width", {}), ("top_k", {"k": 4}), ("placement", {"model": "m05"}),
                             ("placement", {"model": "newcomer"})):  # fmt: skip
        got = client.suggest_pairs("text", n=5, objective=objective, **extra)
        assert 1 <= len(got.pairs) <= 5 and sum(p.weight for p in got.pairs) == pytest.approx(1.0)
        assert all(p.model_a != p.model_b and p.model_b in MODELS for p in got.pairs)
        answer = http.get("/v1/boards/text/suggest", params={"n": 5, "objective": objective.replace("_", "-"), **extra})
        assert answer.status_code == 200 and answer.json() == message_dict(got)
        if objective == "placement":
            assert {p.model_a for p in got.pairs} == {extra["model"]}
    default = client.suggest_pairs("text")
    assert default.objective == pb.CI_WIDTH and len(default.pairs) == 10


@pytest.mark.parametrize(
    ("request_fields", "code", "field"),
    [
        ({"board": "nope"}, grpc.StatusCode.NOT_FOUND, "nope"),
        ({"objective": pb.PLACEMENT, "model": "nobody"}, grpc.StatusCode.NOT_FOUND, "model"),
        ({"objective": pb.PLACEMENT}, grpc.StatusCode.INVALID_ARGUMENT, "model"),
        ({"model": "m01"}, grpc.StatusCode.INVALID_ARGUMENT, "model"),
        ({"n": 201}, grpc.StatusCode.INVALID_ARGUMENT, "n"),
        ({"objective": pb.TOP_K, "k": 101}, grpc.StatusCode.INVALID_ARGUMENT, "k"),
        ({"objective": 9}, grpc.StatusCode.INVALID_ARGUMENT, "objective"),
    ],
)
def test_errors(served, request_fields, code, field):
    _, client, _ = served
    request = pb.SuggestPairsRequest(**{"board": "text", **request_fields})
    with pytest.raises(grpc.RpcError) as raised:
        client.stub.SuggestPairs(request, timeout=30)
    assert raised.value.code() == code and field in raised.value.details()


def test_http_errors(served):
    _, _, http = served
    assert http.get("/v1/boards/nope/suggest").status_code == 404
    assert http.get("/v1/boards/text/suggest", params={"n": 1000}).status_code == 400
    assert http.get("/v1/boards/text/suggest", params={"objective": "placement", "model": "x"}).status_code == 404
    assert http.get("/v1/boards/text/suggest", params={"objective": "best"}).status_code in (400, 422)


def test_cli_suggest_prints_a_table_and_json(served, capsys):
    running, _, _ = served
    target = f"127.0.0.1:{running.port}"
    code = main(["suggest", "--target", target, "--board", "text", "--n", "4", "--objective", "top-k", "--k", "3"])
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert code == 0 and "top-k" in lines[0] and "weight" in lines[1] and 1 <= len(lines) - 2 <= 4  # at most n
    assert all(line.split()[1] in MODELS and line.split()[2] in MODELS for line in lines[2:])
    code = main(["suggest", "--target", target, "--board", "text", "--objective", "placement", "--model", "m02",
                 "--format", "json"])  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["objective"] == "PLACEMENT" and len(result["pairs"]) == 10
    assert {pair["model_a"] for pair in result["pairs"]} == {"m02"}


def test_random_requests_get_an_answer_or_a_clean_refusal(served):
    """Any field values: pairs whose weights sum to 1, or INVALID_ARGUMENT / NOT_FOUND, never another status."""
    _, client, _ = served
    rng = np.random.default_rng(8)
    models = ["", "m03", "newcomer", "nobody", "m\u0000x", " m01"]
    for _ in range(60):
        request = pb.SuggestPairsRequest(
            board=str(rng.choice(["text", "", "nope", "text/coding", "text/none"])),
            n=int(rng.choice([0, 1, 3, 200, 201, 2**32 - 1])),
            objective=int(rng.integers(0, 5)),  # type: ignore[arg-type]
            k=int(rng.choice([0, 1, 12, 100, 101])),
            model=str(rng.choice(models)),
            horizon=int(rng.choice([0, 1, 7, 10_000_000, 10_000_001])),
        )
        try:
            answer = client.stub.SuggestPairs(request, timeout=30)
        except grpc.RpcError as error:
            assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), error.details()
            continue
        assert len(answer.pairs) <= (request.n or 10)
        assert not answer.pairs or sum(p.weight for p in answer.pairs) == pytest.approx(1.0)
