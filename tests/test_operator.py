"""What a new operator tripped over, following the README (issue 17)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from server.rpc import auth

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, **kwargs)  # fmt: skip


def test_token_create_appends_lines_that_serve_reads(tmp_path):
    """The README's example verbatim: `token create ... >> tokens.jsonl`, then `serve --tokens tokens.jsonl`."""
    tokens = tmp_path / "tokens.jsonl"
    values = {}
    for name, scopes in [("ingest-eu", "write"), ("board-reader", "read")]:
        made = _cli("token", "create", "--name", name, "--scopes", scopes, "--expires", "2099-01-01")
        assert made.returncode == 0, made.stderr
        with tokens.open("a") as f:
            f.write(made.stdout)
        values[name] = made.stderr.split(": ")[-1].strip()
    book = auth.load(tokens, environ={})
    assert [t.name for t in book.tokens] == ["ingest-eu", "board-reader"]
    assert book.check(f"Bearer {values['board-reader']}", "read").name == "board-reader"
    # The document form still reads, and a bad line is named.
    document = tmp_path / "tokens.json"
    document.write_text(json.dumps({"tokens": [json.loads(line) for line in tokens.read_text().splitlines()]}))
    assert len(auth.load(document, environ={}).tokens) == 2
    tokens.write_text(tokens.read_text() + "{not json\n")
    with pytest.raises(ValueError, match=r"tokens.jsonl: expected .*: line 3"):
        auth.load(tokens, environ={})
