#!/usr/bin/env bash
# Install the reference implementation that benchmarks/bench_engine.py compares
# against into the *current* Python environment (whatever `python` is: activate
# the project's virtualenv first, or run it as `PATH=/path/to/venv/bin:$PATH bash ...`).
#
# What it installs, and why:
#   fschat==0.2.36  (with --no-deps)  FastChat, LMArena's code; we need only
#                   fastchat/serve/monitor/elo_analysis.py: its compute_elo is
#                   the online Elo the engine must reproduce (K=4, SCALE=400,
#                   BASE=10, INIT_RATING=1000, ties = half a win).
#   pandas>=2       compute_elo takes a pandas DataFrame (model_a, model_b,
#                   winner) and iterates it with DataFrame.itertuples(); pip
#                   brings pandas' own dependencies (numpy is already here).
#
# That is the whole list. fschat's declared dependencies (fastapi, httpx,
# uvicorn, tiktoken, ...) are not needed, hence --no-deps; pip's warning that
# "fschat 0.2.36 requires ..., which is not installed" is expected.
#
# Why not the few more packages a plain `import fastchat.serve.monitor.elo_analysis`
# would need: that module does `from fastchat.model.model_registry import get_model_info`,
# and importing anything under fastchat.model runs fastchat/model/__init__.py,
# which imports model_adapter -> torch, transformers, accelerate,
# huggingface_hub, psutil (on top of pytz, plotly and requests that the
# monitor modules import). torch alone is gigabytes from PyPI. So
# bench_engine.py loads the source of `compute_elo` from the installed
# elo_analysis.py (it needs only collections.defaultdict), and uses a plain
# import instead whenever one works, e.g. in an environment with full FastChat.
set -euo pipefail

PY="${PYTHON:-python}"

"$PY" -m pip install --no-deps "fschat==0.2.36"
"$PY" -m pip install "pandas>=2"

# Check: the file is there and compute_elo can be found in it.
"$PY" - <<'EOF'
import ast
import importlib.util

spec = importlib.util.find_spec("fastchat.serve.monitor.elo_analysis")
assert spec is not None and spec.origin, "fastchat.serve.monitor.elo_analysis not found"
with open(spec.origin, encoding="utf-8") as f:
    tree = ast.parse(f.read())
assert any(isinstance(n, ast.FunctionDef) and n.name == "compute_elo" for n in tree.body), "no compute_elo"
import pandas

print(f"ok: compute_elo in {spec.origin}; pandas {pandas.__version__}")
EOF
