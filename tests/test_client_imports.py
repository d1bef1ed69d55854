"""A client, and the command line's remote commands, load neither numba, polars nor matplotlib.

An arena backend that only submits votes should not pay for the engine's compiler, and every remote
command should start fast. Each check runs in a fresh interpreter, since this one has them all loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from server.client.ratings_client import RatingsClient
from tests.conftest import synthetic_batch

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numba", "polars", "matplotlib")


def heavy_modules_after(code: str) -> list[str]:
    """Run ``code`` in a new interpreter; the heavy modules it left loaded."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(set({HEAVY!r}) & set(sys.modules))))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def cli(argv: list[str]) -> str:
    """Code that runs the command line as ``arena-ratings ARGV`` would, --help's SystemExit included."""
    return (
        "import contextlib, io\n"
        "from server.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})\n"
    )


def test_importing_the_client_loads_none_of_them():
    check = "import server.client, sys; assert not {'numba','polars','matplotlib'} & set(sys.modules)"
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert heavy_modules_after("import server.client\nfrom server.rpc import wire") == []


def test_the_command_line_parser_and_help_load_none_of_them():
    assert heavy_modules_after("from server.cli.main import _parser\n_parser()") == []
    assert heavy_modules_after(cli(["--help"])) == []
    for command in (["leaderboard"], ["watch"], ["head-to-head"], ["boards"], ["snapshot", "list"], ["token"]):
        assert heavy_modules_after(cli([*command, "--help"])) == [], command


def test_remote_commands_load_none_of_them(start_server):
    server = start_server()
    target = f"127.0.0.1:{server.port}"
    with RatingsClient(target) as client:
        last = client.submit(synthetic_batch(300, 5, seed=4)).last_seq
    leaderboard = ["leaderboard", "--target", target, "--min-seq", str(last), "--ci", "none"]
    for argv in (
        leaderboard,
        [*leaderboard, "--format", "json"],
        [*leaderboard, "--format", "csv", "--status", "deprecated", "--status", "active"],
        ["watch", "--target", target, "--count", "1", "--ci", "none", "--format", "json"],
        ["head-to-head", "--target", target, "--top-k", "3"],
        ["boards", "--target", target],
    ):
        assert heavy_modules_after(cli(argv)) == [], argv


def test_a_chart_loads_matplotlib_only_when_asked(start_server, tmp_path):
    server = start_server()
    target = f"127.0.0.1:{server.port}"
    with RatingsClient(target) as client:
        last = client.submit(synthetic_batch(200, 4, seed=5)).last_seq
    chart = tmp_path / "board.png"
    argv = ["leaderboard", "--target", target, "--min-seq", str(last), "--ci", "none", "--output", str(chart)]
    assert heavy_modules_after(cli(argv)) == ["matplotlib"]
    assert chart.read_bytes()[:4] == b"\x89PNG"
