"""Tie models (engine.ties): Davidson and Rao–Kupper fitted from pair cells.

The kernels against a slow numpy/scipy twin of the same likelihood, closed-form answers, leaderbot's
original models on the shared data, recovery of a known tie parameter within its CI, AIC choosing the
generating model, and the wire: CLI JSON, gRPC and HTTP alike, the query rules.
"""

from __future__ import annotations

import json
import math

import grpc
import httpx
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from engine import bt, ties
from engine.bt import BTQuery
from engine.cells import CellTable
from engine.config import BTConfig
from server.client.ratings_client import RatingsClient, leaderboard_request
from server.domain.queries import LeaderboardQuery, QueryRuleError, check_query
from server.files import export
from server.http.options import HttpOptions
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from tests.conftest import shared_file
from tests.test_cli import run_cli, votes_file
from tests.test_http import grpc_batch, vote_rows, without_time

MODELS = ("davidson", "rao-kupper")
OUTCOME = {"model_a": 1, "model_b": 2, "tie": 3, "tie (bothbad)": 4}


# ------------------------------------------------------------------ the slow twin


def twin_nll(model: str, theta, s, wi, wj, wt, lo, hi) -> float:
    """The negative log-likelihood written from the models' definitions in p = exp(theta)."""
    p = np.exp(theta)
    pi, pj = p[lo], p[hi]
    if model == "davidson":
        nu = math.exp(s)
        den = pi + pj + nu * np.sqrt(pi * pj)
        win_i, win_j, tie = pi / den, pj / den, nu * np.sqrt(pi * pj) / den
    else:
        t = math.exp(s)
        win_i, win_j = pi / (pi + t * pj), pj / (pj + t * pi)
        tie = (t * t - 1) * pi * pj / ((pi + t * pj) * (pj + t * pi))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = wi * np.log(win_i) + wj * np.log(win_j) + np.where(wt > 0, wt * np.log(tie), 0.0)
    return float(-terms.sum())


def twin_prior(theta, prior_weight) -> float:
    """engine.bt's prior: prior_weight / 2 virtual wins and as many losses against theta = 0."""
    return float(-(prior_weight / 2 * (np.log(1 / (1 + np.exp(-theta))) + np.log(1 / (1 + np.exp(theta))))).sum())


def twin_weights(table: CellTable, config: BTConfig):
    """Per cell the wins of lo, of hi and the ties: both-bad ties among them unless ignored; with
    reweighting each cell's votes weigh 1 / max(its votes, 50)."""
    c = table.counts.astype(np.float64)
    wi, wj, wt = c[:, 0], c[:, 1], c[:, 2] + (c[:, 3] if config.both_bad == "tie" else 0.0)
    if config.reweight:
        r = 1 / np.maximum(wi + wj + wt, 50.0)
        wi, wj, wt = wi * r, wj * r, wt * r
    return wi, wj, wt


def twin_fit(model: str, table: CellTable, config: BTConfig, prior_weight) -> tuple[np.ndarray, float]:
    """scipy's BFGS on the twin: (theta centred where no prior holds it, s)."""
    wi, wj, wt = twin_weights(table, config)
    m = table.n_competitors
    free = prior_weight == 0

    def unpack(x):
        theta = x[:m].copy()
        if free.all():
            theta -= theta.mean()
        return theta, x[m]

    def f(x):
        theta, s = unpack(x)
        if model == "rao-kupper" and s <= 0:
            return 1e300
        return twin_nll(model, theta, s, wi, wj, wt, table.cell_lo, table.cell_hi) + twin_prior(theta, prior_weight)

    x0 = np.append(np.zeros(m), 0.5)
    result = minimize(f, x0, method="BFGS", options={"gtol": 1e-10, "maxiter": 10_000})
    return unpack(result.x)


def random_table(rng: np.random.Generator, m: int, n: int, tie_rate: float) -> CellTable:
    strength = rng.normal(0, 1, m)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    p = 1 / (1 + np.exp(strength[b] - strength[a]))
    u = rng.random(n)
    outcome = np.where(u < tie_rate, 3, np.where(rng.random(n) < p, 1, 2))
    outcome[(u < tie_rate) & (rng.random(n) < 0.3)] = 4  # some both-bad ties
    return CellTable.from_votes(m, a, b, outcome)


def generated(model: str, m: int, n: int, parameter: float, seed: int, spread: float = 1.0):
    """Votes drawn from ``model`` with tie parameter ``parameter`` (nu or theta): (table, true theta)."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, spread, m)
    theta -= theta.mean()
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    pi, pj = np.exp(theta[a]), np.exp(theta[b])
    if model == "davidson":
        den = pi + pj + parameter * np.sqrt(pi * pj)
        win, tie = pi / den, parameter * np.sqrt(pi * pj) / den
    else:
        win = pi / (pi + parameter * pj)
        tie = (parameter**2 - 1) * pi * pj / ((pi + parameter * pj) * (pj + parameter * pi))
    u = rng.random(n)
    outcome = np.where(u < win, 1, np.where(u < win + tie, 3, 2))
    return CellTable.from_votes(m, a, b, outcome), theta


# ------------------------------------------------------------------ kernels


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(2, 7), tie_rate=st.floats(0.05, 0.6))
def test_fit_equals_the_twin(model, seed, m, tie_rate):
    rng = np.random.default_rng(seed)
    table = random_table(rng, m, int(rng.integers(60, 400)), tie_rate)
    config = BTConfig(both_bad=("tie", "ignore")[seed % 2], reweight=seed % 3 == 0)
    wi, wj, wt = twin_weights(table, config)
    if wt.sum() == 0 or wi.sum() + wj.sum() == 0:
        return
    fit = ties.fit(table, model, config)
    theta, s = twin_fit(model, table, config, fit.prior_weight)
    assert np.abs(fit.theta - theta).max() < 1e-5
    assert abs(fit.log_tie - s) < 1e-5
    expected = -twin_nll(model, fit.theta, fit.log_tie, wi, wj, wt, table.cell_lo, table.cell_hi)
    assert fit.log_likelihood == pytest.approx(expected, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_cell_derivatives_match_finite_differences(model):
    rng = np.random.default_rng(3)
    h = 1e-5
    code = ties.MODEL_CODES[model]
    for _ in range(50):
        d, s = rng.normal(0, 2), rng.uniform(0.05, 2.0) * (1 if model == "rao-kupper" else rng.choice([-1, 1]))
        wi, wj, wt = rng.uniform(0, 5, 3)
        nll, g_d, g_s, h_dd, h_ds, h_ss = ties.cell_terms(code, d, s, wi, wj, wt)
        assert nll == pytest.approx(twin_nll(model, np.array([d, 0.0]), s, wi, wj, wt, [0], [1]), rel=1e-12)

        def f(dd, ss, wi=wi, wj=wj, wt=wt):
            return ties.cell_terms(code, dd, ss, wi, wj, wt)

        assert g_d == pytest.approx((f(d + h, s)[0] - f(d - h, s)[0]) / (2 * h), rel=1e-6, abs=1e-7)
        assert g_s == pytest.approx((f(d, s + h)[0] - f(d, s - h)[0]) / (2 * h), rel=1e-6, abs=1e-7)
        assert h_dd == pytest.approx((f(d + h, s)[1] - f(d - h, s)[1]) / (2 * h), rel=1e-5, abs=1e-7)
        assert h_ds == pytest.approx((f(d, s + h)[1] - f(d, s - h)[1]) / (2 * h), rel=1e-5, abs=1e-7)
        assert h_ss == pytest.approx((f(d, s + h)[2] - f(d, s - h)[2]) / (2 * h), rel=1e-5, abs=1e-7)


def test_a_component_without_an_mle_takes_the_prior_as_bt_does():
    # Competitor 3 never lost: its component has no MLE, so every competitor of it takes the prior.
    a = [0, 1, 2, 0, 1, 2, 3, 3, 0, 1]
    b = [1, 2, 0, 1, 2, 0, 0, 1, 2, 0]
    outcome = [1, 3, 2, 3, 1, 3, 1, 1, 3, 2]
    table = CellTable.from_votes(4, a, b, outcome)
    for model in MODELS:
        fit = ties.fit(table, model)
        assert fit.regularized.all()
        theta, s = twin_fit(model, table, BTConfig(), fit.prior_weight)
        assert np.abs(fit.theta - theta).max() < 1e-5 and abs(fit.log_tie - s) < 1e-5
        assert fit.n_params == 5  # every rating (the prior fixes the level) and the tie parameter


# ------------------------------------------------------------------ known answers


@pytest.mark.parametrize(("wins_a", "wins_b", "tied"), [(30, 10, 20), (7, 7, 2), (5, 40, 55)])
def test_two_competitors_fit_the_observed_frequencies(wins_a, wins_b, tied):
    """Two competitors: three outcomes, two parameters, so the MLE reproduces the frequencies:
    Davidson d = ln(a / b), nu = t / sqrt(a b); Rao–Kupper d - s = logit(a / n), -d - s = logit(b / n)."""
    outcome = [1] * wins_a + [2] * wins_b + [3] * tied
    table = CellTable.from_votes(2, [0] * len(outcome), [1] * len(outcome), outcome)
    n = len(outcome)
    davidson = ties.fit(table, "davidson")
    assert davidson.theta[0] - davidson.theta[1] == pytest.approx(math.log(wins_a / wins_b), abs=1e-9)
    assert davidson.tie_parameter == pytest.approx(tied / math.sqrt(wins_a * wins_b), rel=1e-9)
    rk = ties.fit(table, "rao-kupper")

    def logit(p):
        return math.log(p / (1 - p))

    assert rk.theta[0] - rk.theta[1] == pytest.approx((logit(wins_a / n) - logit(wins_b / n)) / 2, abs=1e-9)
    assert rk.log_tie == pytest.approx(-(logit(wins_a / n) + logit(wins_b / n)) / 2, abs=1e-9)
    for fit in (davidson, rk):  # saturated: the log-likelihood is the multinomial's maximum
        best = sum(k * math.log(k / n) for k in (wins_a, wins_b, tied))
        assert fit.log_likelihood == pytest.approx(best, rel=1e-10)
        assert fit.n_params == 2 and fit.aic == pytest.approx(4 - 2 * best)


def test_a_board_without_ties_is_bt():
    rng = np.random.default_rng(5)
    table = random_table(rng, 6, 500, 0.0)
    bt_fit = ties.bt.fit(table)
    for model, parameter in (("davidson", 0.0), ("rao-kupper", 1.0)):
        fit = ties.fit(table, model)
        assert not fit.tie_free and fit.tie_parameter == parameter
        assert np.abs(fit.theta - bt_fit.theta).max() < 1e-7
        assert fit.log_likelihood == pytest.approx(bt_fit.log_likelihood, rel=1e-10)


def test_a_board_of_ties_only_is_refused():
    table = CellTable.from_votes(3, [0, 1, 2], [1, 2, 0], [3, 3, 3])
    with pytest.raises(ties.ConvergenceError, match="ties only"):
        ties.fit(table, "davidson")


# ------------------------------------------------------------------ leaderbot


def _shared_table(name: str) -> tuple[CellTable, list[str]]:
    frame = pl.read_parquet(shared_file(name))
    names = sorted(set(frame["model_a"]) | set(frame["model_b"]))
    slot = {n: i for i, n in enumerate(names)}
    a = np.array([slot[x] for x in frame["model_a"]])
    b = np.array([slot[x] for x in frame["model_b"]])
    outcome = np.array([OUTCOME[w] for w in frame["winner"]])
    return CellTable.from_votes(len(names), a, b, outcome), names


@pytest.mark.parametrize("name", ["mteb_arena_human_votes.parquet", "llmfao_crowd_human.parquet"])
@pytest.mark.parametrize("model", MODELS)
def test_agrees_with_leaderbot(name, model):
    models = pytest.importorskip("leaderbot.models", reason="leaderbot (benchmarks/install_references.sh)")
    table, names = _shared_table(name)
    counts = table.counts
    data = {
        "X": np.stack([table.cell_lo, table.cell_hi], axis=1).astype(np.int64),
        "Y": np.stack([counts[:, 0], counts[:, 1], counts[:, 2] + counts[:, 3]], axis=1).astype(np.int64),
        "models": names,
    }
    # The original models: no covariance, no tie factors (one scalar tie parameter).
    reference = (models.Davidson if model == "davidson" else models.RaoKupper)(data, k_cov=None, k_tie=0)
    reference.train()
    fit = ties.fit(table, model)
    assert not fit.regularized.any()  # both fit the plain MLE
    points = 400 / math.log(10)
    theirs = reference.scores() - reference.scores().mean()
    assert np.abs((fit.theta - fit.theta.mean() - theirs) * points).max() < 0.05
    # leaderbot's last parameter is log nu (Davidson: P(tie) ~ e^mu) or log theta (Rao–Kupper: eta).
    assert fit.log_tie == pytest.approx(reference.param[-1], abs=1e-4)


# ------------------------------------------------------------------ recovery and AIC


@pytest.mark.parametrize(("model", "parameter"), [("davidson", 0.6), ("rao-kupper", 1.8)])
@pytest.mark.parametrize("ci", ["sandwich", "bootstrap"])
def test_recovers_a_known_tie_parameter_within_its_ci(model, parameter, ci):
    table, theta = generated(model, m=10, n=8000, parameter=parameter, seed=11)
    m = table.n_competitors
    counts = np.zeros((m, 4), dtype=np.int64)
    standings, fit, tie = ties.standings(
        table, counts, np.arange(m, dtype=np.int32), BTConfig(), BTQuery(ci=ci, rounds=200, seed=3), model
    )
    assert tie.lower < parameter < tie.upper
    assert tie.lower < tie.value < tie.upper
    assert tie.upper - tie.lower < 0.3 * parameter  # an informative interval
    rating = np.empty(m)
    rating[standings.competitor_ids] = standings.rating
    lower = np.empty(m)
    upper = np.empty(m)
    lower[standings.competitor_ids], upper[standings.competitor_ids] = standings.rating_lower, standings.rating_upper
    truth = theta * 400 / math.log(10) + 1000
    assert ((lower <= truth) & (truth <= upper)).mean() >= 0.8  # 95% intervals, ten competitors


def test_sandwich_and_bootstrap_agree_on_the_tie_parameter():
    table, _ = generated("davidson", m=8, n=6000, parameter=0.9, seed=2)
    m = table.n_competitors
    args = (table, np.zeros((m, 4), dtype=np.int64), np.arange(m, dtype=np.int32), BTConfig())
    _, _, sandwich = ties.standings(*args, BTQuery(ci="sandwich"), "davidson")
    _, _, boot = ties.standings(*args, BTQuery(ci="bootstrap", rounds=400, seed=1), "davidson")
    assert sandwich.value == boot.value
    width_s, width_b = sandwich.upper - sandwich.lower, boot.upper - boot.lower
    assert 0.75 < width_b / width_s < 1.33


def test_bootstrap_is_reproducible_and_thread_independent():
    table, _ = generated("rao-kupper", m=6, n=2000, parameter=1.5, seed=4)
    fit = ties.fit(table, "rao-kupper")
    one = ties.bootstrap(table, BTConfig(), fit, 64, seed=9, threads=1)
    four = ties.bootstrap(table, BTConfig(), fit, 64, seed=9, threads=4)
    np.testing.assert_array_equal(one, four)


@pytest.mark.parametrize(("truth", "parameter"), [("davidson", 1.0), ("rao-kupper", 2.0)])
def test_aic_picks_the_generating_model(truth, parameter):
    table, _ = generated(truth, m=12, n=40_000, parameter=parameter, seed=7, spread=1.5)
    aic = {model: ties.fit(table, model).aic for model in MODELS}
    other = next(model for model in MODELS if model != truth)
    assert aic[truth] < aic[other] - 10, aic


# ------------------------------------------------------------------ the wire


def test_replay_json_has_the_tie_model(tmp_path, capsys):
    code, out, _ = run_cli(
        capsys, "replay", str(votes_file(tmp_path)), "--format", "json", "--bt-ties", "davidson", "--rounds", "50",
        "--bootstrap", "0",
    )  # fmt: skip
    assert code == 0
    feed = json.loads(out)
    assert feed["tie_model"] == "davidson"
    assert feed["tie_parameter"] > 0
    assert feed["tie_parameter_lower"] <= feed["tie_parameter"] <= feed["tie_parameter_upper"]
    assert math.isfinite(feed["aic"]) and math.isfinite(feed["log_likelihood"])
    code, out, _ = run_cli(capsys, "replay", str(votes_file(tmp_path)), "--format", "json", "--ci", "none")
    half = json.loads(out)
    assert half["tie_model"] == "half" and half["tie_parameter"] is None and math.isfinite(half["aic"])
    code, out, _ = run_cli(capsys, "replay", str(votes_file(tmp_path)), "--bt-ties", "rao-kupper", "--ci", "none")
    assert "ties: Rao–Kupper theta = " in out and "AIC" in out
    code, out, _ = run_cli(capsys, "replay", str(votes_file(tmp_path)), "--format", "csv", "--bt-ties", "davidson",
                           "--ci", "none")  # fmt: skip
    header, first = out.splitlines()[:2]
    assert dict(zip(header.split(","), first.split(",")))["tie_model"] == "davidson"  # the board's, on every row
    code, out, _ = run_cli(capsys, "replay", str(votes_file(tmp_path)), "--format", "html", "--bt-ties", "davidson",
                           "--ci", "none")  # fmt: skip
    assert "ties: Davidson nu = " in out


def test_grpc_and_http_agree_with_davidson(start_server):
    running = start_server(http=HttpOptions(port=0))
    client = RatingsClient(f"127.0.0.1:{running.port}")
    ack = client.submit(grpc_batch("text", vote_rows(600, seed=1)))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{running.http_port}", timeout=60) as http:
            for params in ({"ties": "davidson"}, {"ties": "rao-kupper", "ci": "sandwich"}):
                over_http = http.get("/v1/boards/text/leaderboard", params={**params, "min_seq": ack.last_seq})
                assert over_http.status_code == 200, over_http.text
                over_grpc = client.stub.GetLeaderboard(leaderboard_request("text", **params))
                assert over_grpc.tie_model == params["ties"]
                assert over_grpc.tie_parameter_lower < over_grpc.tie_parameter < over_grpc.tie_parameter_upper
                expected = {**export.feed(over_grpc), "total_rows": over_grpc.total_rows}
                assert without_time(over_http.json()) == without_time(expected)
                assert over_http.json()["tie_model"] == params["ties"]
            half = client.stub.GetLeaderboard(leaderboard_request("text", ci="none"))
            davidson = client.stub.GetLeaderboard(leaderboard_request("text", ci="none", ties="davidson"))
            assert half.tie_model == "half" and davidson.tie_model == "davidson"  # not one cache entry
            assert half.aic != davidson.aic
            bad = http.get("/v1/boards/text/leaderboard", params={"ties": "thirds"})
            assert bad.status_code in (400, 422)
            refused = http.get("/v1/boards/text/leaderboard", params={"ties": "davidson", "method": "elo"})
            assert refused.status_code == 400 and "ties" in refused.text
        for request in (
            leaderboard_request("text", method="elo", ties="davidson"),
            leaderboard_request("text", style_control=True, ties="rao-kupper"),
            pb.LeaderboardRequest(board="text", ties=9),  # type: ignore[arg-type]
        ):
            with pytest.raises(grpc.RpcError) as caught:
                client.stub.GetLeaderboard(request)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "ties" in caught.value.details()
    finally:
        client.close()


def test_query_rules_and_cache_key():
    check_query("bt", "bootstrap", ties="davidson")
    check_query("elo", "bootstrap", ties="half")
    for method, style, field in (("elo", False, "ties"), ("bt", True, "ties")):
        with pytest.raises(QueryRuleError) as caught:
            check_query(method, "none", style_control=style, ties="davidson")
        assert caught.value.field == field
    with pytest.raises(QueryRuleError):
        check_query("bt", "none", ties="thirds")
    assert LeaderboardQuery("b").cache_key() != LeaderboardQuery("b", ties="davidson").cache_key()


def test_notebook_api_takes_a_tie_model():
    from server import frames

    votes = pl.DataFrame({
        "model_a": ["a", "b", "c", "a", "b", "c"] * 40,
        "model_b": ["b", "c", "a", "c", "a", "b"] * 40,
        "winner": ["model_a", "model_b", "tie", "tie", "model_a", "model_a"] * 40,
    })  # fmt: skip
    half = frames.leaderboard(votes, ci="none")
    davidson = frames.leaderboard(votes, ci="none", ties="davidson")
    assert half["model"].to_list() == davidson["model"].to_list()
    assert half["rating"].to_list() != davidson["rating"].to_list()
    with pytest.raises(ValueError, match="ties"):
        frames.leaderboard(votes, method="elo", ties="davidson")


@pytest.mark.parametrize("ci", ["sandwich", "bootstrap"])
def test_anchoring_and_rank_ub_as_for_half(ci):
    table, _ = generated("rao-kupper", m=6, n=3000, parameter=1.6, seed=8)
    m = table.n_competitors
    args = (table, np.zeros((m, 4), dtype=np.int64), np.arange(m, dtype=np.int32), BTConfig())
    centred, _, tie_c = ties.standings(*args, BTQuery(ci=ci, rounds=100), "rao-kupper")
    anchored, _, tie_a = ties.standings(*args, BTQuery(ci=ci, rounds=100, anchor_slot=2, anchor_rating=1200.0),
                                        "rao-kupper")  # fmt: skip
    row = int(np.flatnonzero(anchored.competitor_ids == 2)[0])
    assert anchored.rating[row] == pytest.approx(1200.0)
    assert anchored.rating_lower[row] == pytest.approx(1200.0) and anchored.rating_upper[row] == pytest.approx(1200.0)
    np.testing.assert_array_equal(anchored.competitor_ids, centred.competitor_ids)  # the same order
    np.testing.assert_allclose(np.diff(anchored.rating), np.diff(centred.rating), atol=1e-9)
    assert tie_a == tie_c  # the gauge moves ratings, not the tie parameter
    assert (centred.rank_ub <= centred.rank).all() and centred.rank_ub[0] == 1


@pytest.mark.parametrize("model", MODELS)
def test_a_competitor_that_tied_but_never_lost_takes_the_prior(model):
    """Under HALF a tie is half a win, so 0 beat 1 106 times and tied 39 makes a plain MLE; under a tie model it
    does not (moving 0 and the tie parameter off together always fits better), so both take the prior and the fit
    converges: found by hypothesis, where the fit ran to its 100,000-iteration limit."""
    table = CellTable.from_votes(2, [0] * 145, [1] * 145, [1] * 106 + [3] * 39)
    assert (bt.prior_weights(table, BTConfig()) == 0).all()  # HALF: the plain MLE
    fit = ties.fit(table, model, BTConfig())
    assert (fit.prior_weight > 0).all() and fit.theta[0] > fit.theta[1]
    assert np.isfinite(fit.log_tie) and np.isfinite(fit.log_likelihood)
