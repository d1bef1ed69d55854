"""Reference Bradley-Terry (BT) ratings with confidence intervals, for agreement tests and benchmarks.

Two references, each called exactly the way its authors call it:

- arena-rank 0.1.1 (LMArena's library, JAX): ``arena_rank_bt``, ``arena_rank_sandwich``,
  ``arena_rank_bootstrap``;
- FastChat 0.2.36 (``fastchat/serve/monitor/elo_analysis.py``): ``fastchat_bt``,
  ``fastchat_bt_bootstrap``.

Every function takes three equal-length sequences (list or ndarray): ``model_a``, ``model_b``
(model names) and ``winner`` (labels in ``WINNER_LABELS``), and returns dicts keyed by model name
(plain floats). Labels are validated here because both libraries silently mis-read unknown
labels (arena-rank: any unknown label counts as a tie; FastChat: as a B win). Each function
raises ImportError, with the install command, when its package is missing.

    python benchmarks/references.py          # verify on the real data + time a synthetic board

Installing (into the project venv):

    pip install --no-deps arena-rank==0.1.1
    pip install "jax==0.8.1" "jaxlib==0.8.1" optax jaxtyping   # arena-rank's real runtime deps
    pip install --no-deps fschat==0.2.36 && pip install pandas scikit-learn

A plain ``pip install arena-rank`` pins ``numpy==2.3.3`` (it would downgrade numpy) and pulls
``datasets`` + the huggingface_hub stack, which the package never imports; hence --no-deps.

Conventions (read from the installed sources)
=============================================

Common: theta = BT log-strengths, P(A beats B) = sigmoid(theta_A - theta_B);
rating = theta * 400 / ln(10) + 1000 in both.

arena-rank ``BradleyTerry`` (arena_rank/models/bradley_terry.py)
----------------------------------------------------------------
- Data: ``PairDataset.from_pandas(df)`` with columns model_a, model_b, winner. Outcome map:
  model_a -> 1, model_b -> 0, "tie" -> 0.5, "both_bad" -> 0.5 and *any other label* -> 0.5
  (so "tie (bothbad)" is a half win through the fallback). Rows are aggregated into unique
  (a, b, outcome) triples with counts. Competitors are sorted names (pd.factorize(sort=True)).
- Fit: plain maximum likelihood, no prior. Loss = weighted *mean* NLL
  -sum w*(y*d - softplus(d)) / sum w, d = theta_a - theta_b, with w = opt_weights = count*weight.
  optax L-BFGS from theta = 0, stopping when max|grad| < gtol=1e-9 OR relative loss change
  < ftol=1e-9 (max_iter 1000). In practice ftol stops it: ~0.01 Elo from the exact MLE.
- Centring: none is enforced. The loss is shift-invariant, its gradient sums to zero and the
  start is 0, so L-BFGS stays in sum(theta) = 0 (|sum| ~ 1e-15): mean rating over models = 1000.
- Reweighting: ``PairDataset.from_pandas(df, reweighted=True, min_pair_count=50)``:
  weight = 1 / max(pair_count, 50), pair_count = number of battles of the *unordered* pair
  {a, b} over all outcomes ((a,b) and (b,a) pooled). Not normalised (per-pair weights).
- Sandwich CI (``compute_ratings_and_cis(ds, ci_method="sandwich", significance_level=0.05)``):
  H = sum_battles w * p(1-p) x x^T  (Hessian of the weighted *sum* NLL, not the mean),
  B = sum_battles w^2 (y-p)^2 x x^T  (per battle scores; per unique row: (count*w*(y-p))^2/count),
  x = e_a - e_b, cov = Hr^-1 B Hr^-1 with Hr = H + hessian_reg * c * I, hessian_reg = 1e-5,
  c = total battles when unweighted, 1 when reweighted; plain ``jnp.linalg.inv``. Gauge: the
  ridge. Because B 1 = 0 and 1 is an eigenvector of Hr, the 1 direction drops out and the
  result is the (slightly shrunk) pseudo-inverse sandwich pinv(H) B pinv(H), i.e. the covariance
  of the sum-zero ratings. Ridge vs pinv differs by up to ~0.3% of the half-width on a small board.
  z = norm.ppf(1 - 0.05/2) = 1.959964; interval = rating -/+ z*se*400/ln10 (symmetric).
- Bootstrap (``ci_method="bootstrap", num_bootstrap=100, seed=42, n_jobs=-1``): all counts are
  drawn first: ``jax.random.multinomial(PRNGKey(seed), n=total battles, p=counts/total,
  shape=(B, n_unique_rows))`` (multinomial over unique (a,b,outcome) rows = iid resampling of
  battles); reweighting weights are NOT recomputed per replicate. Each replicate is refit from
  theta = 0 via ``multiprocessing.Pool(n_jobs).starmap`` (n_jobs=-1 -> cpu_count). Interval =
  ``jnp.quantile`` (linear) at alpha/2, 1-alpha/2 of the replicate ratings; the point rating is
  the full-data fit (not the bootstrap median). Cost: every fit re-traces and re-compiles
  L-BFGS (``lbfgs_minimize`` jits a fresh closure over the data), ~0.8 s per fit on this machine
  on small data, so the bootstrap is dominated by compilation (JAX's persistent compilation
  cache does not help: each replicate's data differ, so does the compiled program).
  Under Linux's default ``fork`` start method the pool deadlocks (JAX is multithreaded), so
  here the pool uses the ``spawn`` context and a timeout; ``n_jobs=0`` runs the identical
  computation in-process (same numbers, no pool).
- Style control: ``arena_rank.models.contextual_bradley_terry.ContextualBradleyTerry`` with
  ``ContextualPairDataset`` (features; L2 ``reg=1.0`` on the feature coefficients).

FastChat 0.2.36 ``compute_elo_mle_with_tie(df, SCALE=400, BASE=10, INIT_RATING=1000)``
-------------------------------------------------------------------------------------
- Data: DataFrame with model_a, model_b, winner. The frame is duplicated: a win is 2 wins, a
  tie ("tie" or "tie (bothbad)") is one A win + one B win (= half win each, like arena-rank);
  any label other than model_a / tie / tie (bothbad) silently counts as a B win.
- Fit: ``sklearn LogisticRegression(fit_intercept=False)`` with sklearn's defaults: L2 penalty
  C=1.0, lbfgs, tol=1e-4, max_iter=100; X = +-ln(BASE); rating = SCALE*coef + INIT_RATING.
  The L2 penalty makes it a MAP estimate, exactly equal to BT with an independent
  N(1000, (400*sqrt(2))^2) prior on every rating (sd 565.7 Elo), and forces sum(coef) = 0, so
  the mean rating over models is 1000 (no anchor), EXCEPT when a model named "llama-13b" is
  present: then all ratings are shifted so that llama-13b = 800. (The "mixtral at 1114" anchor
  belongs to later FastChat versions; 0.2.36 has no compute_elo_mle / mixtral.)
  On the LLMFAO data the prior moves ratings by up to ~1.4 Elo from the MLE, and tol=1e-4 leaves
  ~0.9 Elo of optimisation error: compare with tolerances of a few Elo.
- ``get_bootstrap_result(battles, func_compute_elo, num_round=1000)``: ``battles.sample(frac=1.0,
  replace=True)`` per round (numpy's *global* RNG, no seed argument), one refit per round,
  sequential; returns a DataFrame (rounds x models, columns by median). FastChat's report uses
  the full-data fit as the rating and quantile(0.025)/quantile(0.975) of this frame as the CI.
- Importing ``fastchat.serve.monitor.elo_analysis`` needs torch/transformers/plotly/pytz; when
  that import fails the two functions' own source is compiled from the installed file (the
  approach of benchmarks/bench_engine.py).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import importlib.util
import math
import multiprocessing
import sys
import threading
import time

import numpy as np

__all__ = [
    "WINNER_LABELS",
    "arena_rank_bt",
    "arena_rank_sandwich",
    "arena_rank_bootstrap",
    "fastchat_bt",
    "fastchat_bt_bootstrap",
    "recentre",
]

WINNER_LABELS = ("model_a", "model_b", "tie", "tie (bothbad)")
SCALE, BASE, INIT_RATING = 400.0, 10.0, 1000.0

ARENA_RANK_INSTALL = (
    'pip install --no-deps arena-rank==0.1.1 && pip install "jax==0.8.1" "jaxlib==0.8.1" optax jaxtyping pandas'
)
FASTCHAT_INSTALL = "pip install --no-deps fschat==0.2.36 && pip install pandas scikit-learn tqdm"

Ratings = dict[str, float]


# --------------------------------------------------------------------------- input


def _battles(model_a, model_b, winner):
    """The votes as a pandas DataFrame (model_a, model_b, winner), labels validated."""
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError("the reference implementations need pandas: pip install pandas") from e
    a = np.asarray(model_a, dtype=object)
    b = np.asarray(model_b, dtype=object)
    w = np.asarray(winner, dtype=object)
    if not (a.ndim == b.ndim == w.ndim == 1 and a.shape == b.shape == w.shape):
        raise ValueError(f"model_a, model_b, winner must be 1-d and equally long: {a.shape}, {b.shape}, {w.shape}")
    if a.size == 0:
        raise ValueError("no votes")
    bad = ~np.isin(w, np.array(WINNER_LABELS, dtype=object))
    if bad.any():
        raise ValueError(f"winner labels must be in {WINNER_LABELS}; got e.g. {sorted(set(w[bad].tolist()))[:5]}")
    if (a == b).any():
        raise ValueError("a model cannot play itself (model_a == model_b)")
    return pd.DataFrame({"model_a": a.astype(str), "model_b": b.astype(str), "winner": w.astype(str)})


def recentre(ratings: Ratings, mean: float = INIT_RATING) -> Ratings:
    """Shift ratings so their (unweighted) mean over models is ``mean``: the sum(theta) = 0 convention."""
    shift = mean - float(np.mean(list(ratings.values())))
    return {k: float(v) + shift for k, v in ratings.items()}


def _as_dict(names, values) -> Ratings:
    return {str(n): float(v) for n, v in zip(names, np.asarray(values), strict=True)}


# --------------------------------------------------------------------------- arena-rank


def _arena_rank():
    try:
        from arena_rank.models import bradley_terry
        from arena_rank.utils.data_utils import PairDataset
    except ImportError as e:
        raise ImportError(f"arena-rank is not importable ({e}); install it with: {ARENA_RANK_INSTALL}") from e
    return bradley_terry, PairDataset


# arena-rank's L-BFGS run to its optimum: its default stop (relative loss change < 1e-9) leaves it
# ~0.01 points short on the LLMFAO board; with these it lands within 1e-8 points of the exact MLE.
ARENA_RANK_TO_OPTIMUM = {"ftol": 0.0, "gtol": 1e-12, "max_iter": 20_000}


def _arena_rank_fit(model_a, model_b, winner, reweight: bool, **options):
    bradley_terry, PairDataset = _arena_rank()
    dataset = PairDataset.from_pandas(_battles(model_a, model_b, winner), reweighted=reweight)
    model = bradley_terry.BradleyTerry(n_competitors=len(dataset.competitors), **options)
    model.fit(dataset)
    return bradley_terry, model, dataset


def arena_rank_bt(model_a, model_b, winner, reweight: bool = False, **options) -> Ratings:
    """arena-rank BradleyTerry ratings (MLE, no prior; mean over models = 1000).

    ``reweight=True`` is ``PairDataset.from_pandas(..., reweighted=True)``: each battle weighted
    1/max(n_pair, 50), n_pair = battles of its unordered pair over all outcomes. ``options`` go to
    ``BradleyTerry`` (e.g. ``**ARENA_RANK_TO_OPTIMUM``); none: arena-rank's defaults.
    """
    _, model, dataset = _arena_rank_fit(model_a, model_b, winner, reweight, **options)
    theta = np.asarray(model.params["ratings"])
    return _as_dict(dataset.competitors, theta * model.alpha + model.init_rating)


def arena_rank_sandwich(
    model_a, model_b, winner, reweight: bool = False, significance_level: float = 0.05
) -> tuple[Ratings, Ratings, Ratings]:
    """arena-rank ratings and sandwich (robust) CIs: (ratings, lower, upper).

    ``compute_ratings_and_cis(ci_method="sandwich")``: cov = Hr^-1 B Hr^-1 on the sum-NLL scale,
    Hr = H + 1e-5*N*I (see the module docstring); interval symmetric, z = 1.96 for 0.05.
    """
    _, model, dataset = _arena_rank_fit(model_a, model_b, winner, reweight)
    out = model.compute_ratings_and_cis(dataset, significance_level=significance_level, ci_method="sandwich")
    names = out["competitors"]
    return _as_dict(names, out["ratings"]), _as_dict(names, out["rating_lower"]), _as_dict(names, out["rating_upper"])


class _TimedPool:
    """A spawn-context Pool whose starmap gives up after ``timeout`` seconds (then terminates)."""

    def __init__(self, processes, timeout):
        self._pool = multiprocessing.get_context("spawn").Pool(processes=processes)
        self._timeout = timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pool.terminate()  # what multiprocessing.Pool.__exit__ does
        self._pool.join()
        return False

    def starmap(self, func, iterable):
        try:
            return self._pool.starmap_async(func, iterable).get(timeout=self._timeout)
        except multiprocessing.TimeoutError:
            raise TimeoutError(f"arena-rank bootstrap pool did not finish within {self._timeout:g} s") from None


class _SpawnMultiprocessing:
    """Stands in for the ``multiprocessing`` module inside arena_rank.models.bradley_terry."""

    def __init__(self, timeout):
        self.Pool = functools.partial(_TimedPool, timeout=timeout)
        self.cpu_count = multiprocessing.cpu_count


_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def _spawn_pool(bradley_terry, timeout):
    with _PATCH_LOCK:
        saved = bradley_terry.mp
        bradley_terry.mp = _SpawnMultiprocessing(timeout)
        try:
            yield
        finally:
            bradley_terry.mp = saved


def arena_rank_bootstrap(
    model_a,
    model_b,
    winner,
    rounds: int = 100,
    seed: int = 42,
    reweight: bool = False,
    n_jobs: int = 2,
    timeout: float | None = 600.0,
    significance_level: float = 0.05,
) -> tuple[Ratings, Ratings, Ratings]:
    """arena-rank ratings and bootstrap CIs: (ratings, lower, upper).

    ``compute_ratings_and_cis(ci_method="bootstrap", num_bootstrap=rounds, seed=seed, n_jobs=n_jobs)``
    with the library's ``multiprocessing.Pool`` swapped for a ``spawn``-context pool whose starmap
    raises TimeoutError after ``timeout`` seconds (the default ``fork`` deadlocks with JAX).
    With spawn, a calling *script* needs the ``if __name__ == "__main__":`` guard.
    ``n_jobs=0`` runs the same computation in this process (same multinomial counts, same refit
    function, same quantiles, hence the same numbers; no pool, no timeout). ``n_jobs=-1`` = all CPUs.
    The ratings are the full-data fit; lower/upper are linear-interpolated bootstrap quantiles.
    """
    bradley_terry, model, dataset = _arena_rank_fit(model_a, model_b, winner, reweight)
    if n_jobs == 0:
        out = _arena_rank_bootstrap_inline(bradley_terry, model, dataset, rounds, seed, significance_level)
    else:
        with _spawn_pool(bradley_terry, timeout):
            out = model.compute_ratings_and_cis(
                dataset,
                significance_level=significance_level,
                ci_method="bootstrap",
                num_bootstrap=rounds,
                seed=seed,
                n_jobs=n_jobs,
            )
    names = out["competitors"]
    return _as_dict(names, out["ratings"]), _as_dict(names, out["rating_lower"]), _as_dict(names, out["rating_upper"])


def _arena_rank_bootstrap_inline(bradley_terry, model, dataset, rounds, seed, significance_level):
    """compute_ratings_and_cis(ci_method="bootstrap") line by line, minus the process pool."""
    import jax
    import jax.numpy as jnp

    total = jnp.sum(dataset.counts)
    counts = jax.random.multinomial(
        key=jax.random.PRNGKey(seed),
        n=int(total),
        p=dataset.counts / total,
        shape=(rounds, dataset.counts.shape[0]),
        dtype=model.dtype,
    )
    samples = jnp.stack(
        [bradley_terry.fit_single_bootstrap_sample(counts[i], model, dataset)["ratings"] for i in range(rounds)]
    )
    scaled = samples * model.alpha + model.init_rating
    return {
        "competitors": dataset.competitors,
        "ratings": model.params["ratings"] * model.alpha + model.init_rating,
        "rating_lower": jnp.quantile(scaled, significance_level / 2.0, axis=0),
        "rating_upper": jnp.quantile(scaled, 1.0 - significance_level / 2.0, axis=0),
    }


# --------------------------------------------------------------------------- FastChat

_FASTCHAT_CACHE: dict[str, object] = {}


def _fastchat_function(name: str):
    """FastChat 0.2.36's ``elo_analysis.<name>``: a plain import if it works, else its source compiled.

    The plain import needs torch/transformers/plotly/pytz (through fastchat.model and the monitor
    modules). The fallback compiles just that function from the installed file, with the few
    module-level names it uses (same approach as bench_engine.load_compute_elo).
    """
    if name in _FASTCHAT_CACHE:
        return _FASTCHAT_CACHE[name]
    try:
        import fastchat.serve.monitor.elo_analysis as module

        fn = getattr(module, name)
    except ImportError as import_error:
        try:
            spec = importlib.util.find_spec("fastchat.serve.monitor.elo_analysis")
        except ImportError:
            spec = None
        if spec is None or not spec.origin:
            raise ImportError(f"FastChat is not installed ({import_error}); install: {FASTCHAT_INSTALL}") from None
        import pandas as pd

        with open(spec.origin, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=spec.origin)
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
        if not defs:
            raise ImportError(f"no {name} in {spec.origin} (FastChat 0.2.36 expected)") from None
        try:
            from tqdm import tqdm as _tqdm

            quiet_tqdm = functools.partial(_tqdm, disable=True)
        except ImportError:

            def quiet_tqdm(iterable, **kwargs):
                return iterable

        namespace = {
            "__name__": "fastchat.serve.monitor.elo_analysis",
            "math": math,
            "np": np,
            "pd": pd,
            "tqdm": quiet_tqdm,  # get_bootstrap_result's progress bar, silenced
        }
        exec(compile(ast.Module(body=defs, type_ignores=[]), spec.origin, "exec"), namespace)
        fn = namespace[name]
    _FASTCHAT_CACHE[name] = fn
    return fn


def _fastchat_mle():
    fn = _fastchat_function("compute_elo_mle_with_tie")
    if importlib.util.find_spec("sklearn") is None:
        raise ImportError("FastChat's compute_elo_mle_with_tie needs scikit-learn: pip install scikit-learn")
    return fn


def fastchat_bt(model_a, model_b, winner, recentre_mean: bool = False) -> Ratings:
    """FastChat 0.2.36 ``compute_elo_mle_with_tie`` ratings.

    As FastChat computes them: L2-penalised (C=1) logistic regression, i.e. BT with an
    N(1000, 565.7^2) prior per rating, tol 1e-4; mean over models = 1000 unless a model named
    "llama-13b" is present (then llama-13b = 800). ``recentre_mean=True`` shifts the result to
    mean 1000 over models (the sum(theta) = 0 convention); it only matters with llama-13b.
    """
    compute = _fastchat_mle()
    ratings = compute(_battles(model_a, model_b, winner))
    out = {str(k): float(v) for k, v in ratings.items()}
    return recentre(out) if recentre_mean else out


def fastchat_bt_bootstrap(
    model_a,
    model_b,
    winner,
    rounds: int = 100,
    seed: int = 0,
    recentre_mean: bool = False,
    significance_level: float = 0.05,
) -> tuple[Ratings, Ratings, Ratings]:
    """FastChat BT ratings and bootstrap CIs: (ratings, lower, upper).

    ``get_bootstrap_result(battles, compute_elo_mle_with_tie, num_round=rounds)`` with numpy's
    global RNG seeded by ``seed`` (its state is restored afterwards); the rating is the full-data
    ``compute_elo_mle_with_tie``, lower/upper the pandas (linear) quantiles 0.025/0.975 of the
    replicates, as in FastChat's report_elo_analysis_results. A model absent from a replicate is
    NaN there (skipped by quantile). ``recentre_mean=True`` recentres the point ratings and each
    replicate (over the models it contains) to mean 1000.
    """
    compute = _fastchat_mle()
    get_bootstrap_result = _fastchat_function("get_bootstrap_result")
    battles = _battles(model_a, model_b, winner)
    rating = fastchat_bt(model_a, model_b, winner, recentre_mean=recentre_mean)
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        samples = get_bootstrap_result(battles, compute, num_round=rounds)
    finally:
        np.random.set_state(state)
    if recentre_mean:
        samples = samples.sub(samples.mean(axis=1) - INIT_RATING, axis=0)
    lower = samples.quantile(significance_level / 2.0)
    upper = samples.quantile(1.0 - significance_level / 2.0)
    return rating, {m: float(lower[m]) for m in rating}, {m: float(upper[m]) for m in rating}


# --------------------------------------------------------------------------- verification


def synthetic_votes(n_votes: int = 100_000, n_models: int = 100, seed: int = 0, tie_rate: float = 0.10):
    """Synthetic board: strengths ~ N(0,1) logits, uniform pairs a != b, ~tie_rate ties (half bothbad)."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, n_models)
    a = rng.integers(0, n_models, n_votes)
    b = rng.integers(0, n_models - 1, n_votes)
    b += b >= a
    p_a = 1.0 / (1.0 + np.exp(strength[b] - strength[a]))
    tie = rng.random(n_votes) < tie_rate
    both_bad = rng.random(n_votes) < 0.5
    a_wins = rng.random(n_votes) < p_a
    labels = np.array(WINNER_LABELS, dtype=object)
    code = np.where(tie, np.where(both_bad, 3, 2), np.where(a_wins, 0, 1))
    names = np.array([f"model-{i:03d}" for i in range(n_models)], dtype=object)
    return names[a], names[b], labels[code]


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _top(ratings: Ratings, k: int = 5) -> str:
    best = sorted(ratings.items(), key=lambda kv: -kv[1])[:k]
    return ", ".join(f"{m} {r:.1f}" for m, r in best)


def _widths(lower: Ratings, upper: Ratings, models) -> str:
    return ", ".join(f"{m} {upper[m] - lower[m]:.1f}" for m in models)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run and time the reference BT implementations.")
    parser.add_argument("--data", default="/work/shared/data/llmfao_crowd_human.parquet")
    parser.add_argument("--rounds", type=int, default=100, help="bootstrap rounds (default 100)")
    parser.add_argument("--n-jobs", type=int, default=2, help="arena-rank bootstrap workers (0 = in-process)")
    parser.add_argument("--synthetic-votes", type=int, default=100_000)
    parser.add_argument("--synthetic-models", type=int, default=100)
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args(argv)

    import pandas as pd

    df = pd.read_parquet(args.data, columns=["model_a", "model_b", "winner"])
    votes = (df["model_a"].to_numpy(), df["model_b"].to_numpy(), df["winner"].to_numpy())
    n_models = len(set(votes[0]) | set(votes[1]))
    outcomes = {str(k): int(v) for k, v in df["winner"].value_counts().items()}
    print(f"# {args.data}: {len(df):,} votes, {n_models} models, {outcomes}")

    bt, t = _timed(arena_rank_bt, *votes)
    print(f"arena_rank_bt            {t:6.2f} s  mean {np.mean(list(bt.values())):.4f}  top5: {_top(bt)}")
    bt_rw, t = _timed(arena_rank_bt, *votes, reweight=True)
    print(f"arena_rank_bt reweight   {t:6.2f} s  top5: {_top(bt_rw)}")
    (sw, swl, swu), t = _timed(arena_rank_sandwich, *votes)
    print(f"arena_rank_sandwich      {t:6.2f} s  top5: {_top(sw)}")
    (bs, bsl, bsu), t = _timed(arena_rank_bootstrap, *votes, rounds=args.rounds, seed=42, n_jobs=args.n_jobs)
    print(f"arena_rank_bootstrap     {t:6.2f} s  ({args.rounds} rounds, n_jobs={args.n_jobs})  top5: {_top(bs)}")
    fc, t = _timed(fastchat_bt, *votes)
    print(f"fastchat_bt              {t:6.2f} s  mean {np.mean(list(fc.values())):.4f}  top5: {_top(fc)}")
    (fb, fbl, fbu), t = _timed(fastchat_bt_bootstrap, *votes, rounds=args.rounds, seed=0)
    print(f"fastchat_bt_bootstrap    {t:6.2f} s  ({args.rounds} rounds)  top5: {_top(fb)}")

    top = [m for m, _ in sorted(bt.items(), key=lambda kv: -kv[1])]
    pick = [top[0], top[1], top[len(top) // 2], top[-1]]
    print("95% CI widths (upper - lower):")
    print(f"  arena-rank sandwich : {_widths(swl, swu, pick)}")
    print(f"  arena-rank bootstrap: {_widths(bsl, bsu, pick)}")
    print(f"  FastChat bootstrap  : {_widths(fbl, fbu, pick)}")
    diff = max(abs(bt[m] - fc[m]) for m in bt)
    print(f"max |arena_rank_bt - fastchat_bt| = {diff:.3f} Elo (FastChat: L2 prior + tol 1e-4)")

    if not args.skip_synthetic:
        votes = synthetic_votes(args.synthetic_votes, args.synthetic_models, seed=0)
        ties = int(np.isin(votes[2], ["tie", "tie (bothbad)"]).sum())
        print(f"# synthetic: {len(votes[0]):,} votes, {args.synthetic_models} models, {ties:,} ties, default_rng(0)")
        _, t = _timed(arena_rank_bt, *votes)
        print(f"arena_rank_bt            {t:6.2f} s")
        _, t = _timed(arena_rank_sandwich, *votes)
        print(f"arena_rank_sandwich      {t:6.2f} s  (fit + sandwich)")
        _, t = _timed(arena_rank_bootstrap, *votes, rounds=args.rounds, seed=42, n_jobs=args.n_jobs)
        print(f"arena_rank_bootstrap     {t:6.2f} s  (fit + {args.rounds} rounds, n_jobs={args.n_jobs})")
        _, t = _timed(fastchat_bt, *votes)
        print(f"fastchat_bt              {t:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
