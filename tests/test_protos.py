"""The checked-in generated code is current, and the wire enums match the engine's."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from engine.outcomes import Outcome
from server.proto.arena_ratings.v1 import ratings_pb2 as pb

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_is_not_stale(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools (the test extra) regenerates the stubs")
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", ROOT / "protos" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    fresh = generate.generate(tmp_path)
    checked_in = ROOT / "server" / "proto"
    for path in fresh:
        relative = path.relative_to(tmp_path)
        assert (checked_in / relative).exists(), f"{relative} is not checked in; run python protos/generate.py"
        assert filecmp.cmp(path, checked_in / relative, shallow=False), (
            f"server/proto/{relative} is stale; run python protos/generate.py and commit"
        )


def test_outcome_codes_match_the_wire():
    for outcome in Outcome:
        assert pb.Outcome.Value(outcome.name) == outcome.value
    assert pb.Outcome.Value("OUTCOME_UNSPECIFIED") == 0
