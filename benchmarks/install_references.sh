#!/usr/bin/env bash
# Install the reference implementations that the benchmarks and the agreement
# tests (tests/test_bt_references.py) compare against, into the Python
# environment given by $PYTHON (default: `python`), e.g.
#     PYTHON=.venv/bin/python bash benchmarks/install_references.sh
# They are never runtime dependencies of arena-ratings.
#
# What it installs, and why:
#   fschat==0.2.36 (--no-deps)  FastChat, LMArena's pipeline. We use only
#       fastchat/serve/monitor/elo_analysis.py (compute_elo,
#       compute_elo_mle_with_tie, get_bootstrap_result). Its declared
#       dependencies (fastapi, torch via fastchat.model, ...) are not needed,
#       so benchmarks/references.py loads those functions' source from the
#       installed file; pip's "fschat requires ..." warnings are expected.
#   pandas, scikit-learn        what those functions call.
#   arena-rank==0.1.1 (--no-deps) + jax, jaxlib, optax, jaxtyping
#       LMArena's BT library. Its metadata pins numpy==2.3.3 exactly (it would
#       downgrade ours) and pulls `datasets` and the huggingface stack, which
#       it never imports; jax/optax/jaxtyping are what it really imports.
#   evalica==0.4.2              Rust-backed BT/Elo (in-process), the notebook API's
#       and the 34 k-player fit's reference (benchmarks/bench_frames.py, bench_bt.py).
#   leaderbot==0.4.3            Davidson and Rao-Kupper tie models (Ameli et al. 2024):
#       the reference of engine/ties.py's fits (tests/test_ties.py), in their original
#       form (k_cov=None, k_tie=0).
set -euo pipefail

PY="${PYTHON:-python}"

"$PY" -m pip install --no-deps "fschat==0.2.36" "arena-rank==0.1.1"
"$PY" -m pip install "pandas>=2" "scikit-learn>=1.3" "jax==0.8.1" "jaxlib==0.8.1" optax jaxtyping "evalica==0.4.2" "leaderbot==0.4.3"

# Check: FastChat's functions are in the installed file, arena-rank imports.
"$PY" - <<'PYEOF'
import ast
import importlib.util

spec = importlib.util.find_spec("fastchat.serve.monitor.elo_analysis")
assert spec is not None and spec.origin, "fastchat.serve.monitor.elo_analysis not found"
with open(spec.origin, encoding="utf-8") as f:
    names = {n.name for n in ast.parse(f.read()).body if isinstance(n, ast.FunctionDef)}
missing = {"compute_elo", "compute_elo_mle_with_tie", "get_bootstrap_result"} - names
assert not missing, f"missing from elo_analysis.py: {missing}"
from arena_rank.models.bradley_terry import BradleyTerry  # noqa: F401
import evalica  # noqa: F401
from leaderbot.models import Davidson, RaoKupper  # noqa: F401

print(f"ok: FastChat functions in {spec.origin}; arena-rank, evalica and leaderbot importable")
PYEOF
