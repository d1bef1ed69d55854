from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data folder sits beside the project checkout)")
    return path


def synthetic_votes(n: int, m: int, seed: int, tie_rate: float = 0.1):
    """Votes over m competitors with strengths ~ N(0, 1) (logit units).

    Returns (model_a int32[n], model_b int32[n], outcome int8[n], strength float64[m]).
    """
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, m)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    p_a = 1.0 / (1.0 + np.exp(strength[b] - strength[a]))
    u = rng.random(n)
    outcome = np.where(u < tie_rate, np.where(rng.random(n) < 0.5, 3, 4), np.where(rng.random(n) < p_a, 1, 2))
    return a.astype(np.int32), b.astype(np.int32), outcome.astype(np.int8), strength


@pytest.fixture
def start_server(tmp_path):
    """start_server(data_dir=None, access=None, port=0, **service_config) -> RunningServer on loopback (port 0:
    a free one); ``warm_up=`` replaces the kernel warm-up, ``http=HttpOptions(port=0)`` adds the HTTP listener.
    Servers still running at the end of the test are stopped.
    """
    from engine import EloConfig
    from server.rpc import app
    from server.service.core import ServiceConfig

    running = []

    def start(data_dir=None, access=None, port=0, **config):
        hooks = {key: config.pop(key) for key in ("warm_up", "http") if key in config}
        config.setdefault("default_elo", EloConfig(bootstrap_rounds=200))
        server = app.start(data_dir or tmp_path / "data", "127.0.0.1", port, ServiceConfig(**config), access=access,
                           **hooks)  # fmt: skip
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop(grace=1.0)


def make_batch(model_a, model_b, outcome, vote_ids=None, board="default", timestamp=None):
    """A VoteBatch from lists of names and outcome codes."""
    from server.domain.votes import VoteBatch

    names = list(dict.fromkeys([*model_a, *model_b]))
    index = {name: i for i, name in enumerate(names)}
    n = len(model_a)
    return VoteBatch(
        board=board,
        vote_id=vote_ids if vote_ids is not None else [f"v{i}" for i in range(n)],
        names=names,
        model_a=np.array([index[x] for x in model_a], dtype=np.int64),
        model_b=np.array([index[x] for x in model_b], dtype=np.int64),
        outcome=np.array(outcome, dtype=np.int64),
        timestamp=np.array(timestamp if timestamp is not None else [np.nan] * n, dtype=np.float64),
    )


def synthetic_batch(n: int, m: int, seed: int, prefix: str = "v", board: str = "default"):
    a, b, outcome, _ = synthetic_votes(n, m, seed)
    return make_batch(
        [f"model-{i:03d}" for i in a],
        [f"model-{i:03d}" for i in b],
        outcome.tolist(),
        vote_ids=[f"{prefix}{i}" for i in range(n)],
        board=board,
    )


def style_votes(n: int, m: int, seed: int, length_effect: float = 0.4, n_features: int = 4, tie_rate: float = 0.0):
    """Votes whose outcome depends on strength and on answer length, with a known coefficient.

    Each model has a verbosity; side values are gamma draws around it (tokens first, then
    n_features - 1 markdown counts that do not matter). The outcome's logit is
    strength_a - strength_b + length_effect * z, where z is the standardised
    (a - b) / (a + b + 1) of tokens over these votes: exactly the covariate the fit builds, so
    the true coefficient is ``length_effect``. Ties (``tie_rate``, at random) score 0.5 and so
    attenuate the effect: keep them at 0 where the truth must be recovered.

    Returns (model_a, model_b, outcome int8[n], values float64[n, 2F], strength float64[m]).
    """
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 0.6, m)
    verbosity = rng.uniform(100.0, 900.0, m)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    values = np.empty((n, 2 * n_features))
    values[:, 0] = rng.gamma(4.0, verbosity[a] / 4.0)
    values[:, n_features] = rng.gamma(4.0, verbosity[b] / 4.0)
    for k in range(1, n_features):
        values[:, k] = rng.poisson(3.0, n)
        values[:, n_features + k] = rng.poisson(3.0, n)
    diff = (values[:, 0] - values[:, n_features]) / (values[:, 0] + values[:, n_features] + 1.0)
    z = (diff - diff.mean()) / diff.std()
    p_a = 1.0 / (1.0 + np.exp(-(strength[a] - strength[b] + length_effect * z)))
    u = rng.random(n)
    tie = rng.random(n) < tie_rate
    outcome = np.where(tie, 3, np.where(u < p_a, 1, 2)).astype(np.int8)
    return a.astype(np.int32), b.astype(np.int32), outcome, values, strength
