"""The README's shell blocks, run as a user would run them, against servers on loopback.

Each ```bash block of README.md runs as one bash script (``set -euo pipefail``) in a fresh folder,
with only what a copy-and-paste on this machine needs changed:
- ``.venv/bin/arena-ratings`` is this interpreter's ``python -m server.cli``;
- a ``serve`` line starts the server in the background on a free loopback port (and a folder of
  its own) and waits until it reports SERVING (its kernels warmed up); README ports and hosts
  (``127.0.0.1:50051``, ``arena.example:50051``, ``--host 0.0.0.0``, and its HTTP port, 8080) point at it;
- ``../shared/data/`` is the shared data folder (a block that reads it skips when it is absent);
- ``bench --duration N`` runs for 2 s.
The Quick start's blocks run against the first command's server (``serve`` with its defaults).
Servers are stopped with SIGTERM when the block ends. Not run here: the two install commands
(CI runs the test command verbatim, and its install is the serve command's) and
``protos/generate.py`` (tests/test_protos.py runs it).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from tests.test_access import make_certificates

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ARENA = ".venv/bin/arena-ratings"
NOT_RUN = ("pip install", "protos/generate.py")


def bash_blocks() -> list[tuple[int, str]]:
    """(line number, text) of every ```bash block."""
    blocks, lines = [], README.read_text().splitlines()
    start = None
    for number, line in enumerate(lines, start=1):
        if start is None and line.strip() == "```bash":
            start = number
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(lines[start : number - 1])))
            start = None
    return blocks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PREAMBLE = r"""
arena() { "$PY" -m server.cli "$@"; }
ready() {  # until something listens on 127.0.0.1:$1 and, unless it speaks only TLS, reports SERVING
  "$PY" -c 'import socket, sys, time
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
for _ in range(1200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close(); break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("no server on port " + sys.argv[1])
health = health_pb2_grpc.HealthStub(grpc.insecure_channel("127.0.0.1:" + sys.argv[1]))
failures = 0
while failures < 20:  # a TLS server answers no plaintext call: its port listening is all we can see
    try:
        if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:  # SERVING, after its warm-up
            sys.exit(0)
    except grpc.RpcError:
        failures += 1
    time.sleep(0.05)' "$1"
}
trap 'kill -TERM $(jobs -p) 2>/dev/null; wait' EXIT
"""


class Script:
    """A README block rewritten to run here (see the module docstring)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.ports: dict[int, int] = {}
        self.servers = 0

    def port(self, readme_port: int) -> int:
        return self.ports.setdefault(readme_port, _free_port())

    def line(self, line: str) -> str:
        if f"{ARENA} serve" in line:
            return self._serve(line)
        line = re.sub(r"(?:127\.0\.0\.1|arena\.example):(\d+)", lambda m: f"127.0.0.1:{self.port(int(m[1]))}", line)
        line = line.replace(ARENA, "arena")
        line = re.sub(r"--duration \d+", "--duration 2", line)
        return line.replace("../shared/data/", f"{SHARED_DATA}/")

    def _serve(self, line: str) -> str:
        before, _, rest = line.partition(f"{ARENA} serve")
        words = shlex.split(rest.replace("&", " ").split("#")[0])
        args = dict(zip(words[::2], words[1::2])) if len(words) % 2 == 0 else None
        assert args is not None, f"cannot read the serve line {line!r}"
        port = self.port(int(args.get("--port", 50051)))
        self.servers += 1
        args["--port"] = str(port)
        if args.get("--http-port") != "0":
            args["--http-port"] = str(self.port(int(args.get("--http-port", 8080))))
        args["--data-dir"] = str(self.work / f"server-{self.servers}")
        if args.get("--host") == "0.0.0.0":
            args["--host"] = "127.0.0.1"
        flags = " ".join(f"{k} {shlex.quote(v)}" for k, v in args.items())
        # Not through the arena function: a job must be the server itself, so the EXIT trap's
        # SIGTERM reaches it (a function runs in a subshell that would not pass the signal on).
        return f'{before}"$PY" -m server.cli serve {flags} & ready {port}'

    def of(self, text: str) -> str:
        return PREAMBLE + "\n".join(self.line(line) for line in text.splitlines()) + "\n"


def run_block(text: str, work: Path, prefix: str = "") -> subprocess.CompletedProcess:
    script = Script(work)
    body = script.of(prefix + "\n" + text)
    env = {"PATH": "/usr/bin:/bin", "PY": sys.executable, "PYTHONPATH": str(ROOT), "HOME": str(work)}
    # A session of its own, so a block that overruns takes its servers down with it.
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", body], cwd=work, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        stderr += "\n(timed out after 240 s)"
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


ALL_BLOCKS = bash_blocks()
# Not run here: the install commands (CI runs the test command verbatim, and its install is the
# serve command's) and protos/generate.py (tests/test_protos.py runs it).
BLOCKS = [(line, text) for line, text in ALL_BLOCKS if not any(marker in text for marker in NOT_RUN)]
FIRST_SERVE = next(text for _, text in ALL_BLOCKS if f"{ARENA} serve" in text).split("&& ")[-1]
QUICK_SUBMIT = next(line for _, text in ALL_BLOCKS for line in text.splitlines() if f"{ARENA} submit " in line)


@pytest.mark.parametrize(("line", "text"), BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_readme_block_runs(line, text, tmp_path):
    if "../shared/data/" in text and not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is absent (the shared data folder sits beside the project checkout)")
    if "--tls-cert" in text:  # the operator's certificate files, as the block assumes them
        pems = make_certificates(tmp_path)
        (tmp_path / "server.pem").write_bytes(pems["server"][0])
        (tmp_path / "server.key").write_bytes(pems["server"][1])
        (tmp_path / "ca.pem").write_bytes(pems["ca"])
    # Blocks that talk to 127.0.0.1:50051 (or its HTTP port, 8080) without starting a server continue the Quick
    # start: its server, and (for the blocks after it) its votes.
    prefix = ""
    if ("127.0.0.1:50051" in text or "127.0.0.1:8080" in text) and f"{ARENA} serve" not in text:
        prefix = FIRST_SERVE if QUICK_SUBMIT in text else f"{FIRST_SERVE}\n{QUICK_SUBMIT}"
        if not SHARED_DATA.exists():
            pytest.skip(f"{SHARED_DATA} is absent: the Quick start's votes come from it")
    result = run_block(text, tmp_path, prefix)
    assert result.returncode == 0, f"README.md:{line} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"


def test_every_arena_ratings_command_of_the_readme_is_in_a_block_that_runs():
    """A command shown outside a ```bash block, or in a block this test does not run, would escape it."""
    text = README.read_text()
    inside = "\n".join(block for _, block in BLOCKS)
    outside = text
    for _, block in ALL_BLOCKS:
        outside = outside.replace(block, "")
    not_run = [text for _, text in ALL_BLOCKS if (_, text) not in BLOCKS]
    assert len(not_run) == 3, f"blocks left out of test_readme_block_runs: {not_run}"
    assert all(ARENA not in t or t.startswith("python3 -m venv") for t in not_run), not_run
    stray = [line for line in outside.splitlines() if line.lstrip().startswith(ARENA)]
    assert not stray, f"README commands outside ```bash blocks: {stray}"
    assert inside.count(ARENA) >= 20
