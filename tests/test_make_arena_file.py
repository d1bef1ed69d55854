"""benchmarks/make_arena_file.py: the synthetic LMArena-shaped file reads and replays like a real one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine import EloConfig
from server.domain.filters import VoteFilters, needed_fields
from server.domain.queries import LeaderboardQuery
from server.files.votefile import ReadOptions, iter_votes
from server.offline.replay import replay_chunks

_spec = importlib.util.spec_from_file_location(
    "make_arena_file", Path(__file__).resolve().parent.parent / "benchmarks" / "make_arena_file.py"
)
assert _spec is not None and _spec.loader is not None
make_arena_file = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_arena_file)

VOTES, MODELS = 2000, 12


@pytest.fixture(scope="module")
def arena_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("arena")
    paths = {}
    for suffix in (".parquet", ".csv", ".jsonl"):
        paths[suffix] = folder / f"arena{suffix}"
        make_arena_file.write(paths[suffix], VOTES, MODELS, seed=7, chunk=700)
    return paths


def test_the_file_has_lmarena_columns_and_shapes(arena_files):
    frame = pl.read_parquet(arena_files[".parquet"])
    assert frame.height == VOTES
    assert {"model_a", "model_b", "winner", "tstamp", "judge", "language", "tags", "anony", "question_id",
            "conv_metadata"} <= set(frame.columns)  # fmt: skip
    assert set(frame["winner"]) == {"model_a", "model_b", "tie", "tie (bothbad)"}
    assert (frame["model_a"] != frame["model_b"]).all() and frame["tstamp"].diff().drop_nulls().min() > 0
    assert frame["tags"].list.len().max() <= 3 and 0.8 < frame["anony"].mean() < 0.97
    assert frame["question_id"].n_unique() == VOTES
    again = arena_files[".parquet"].with_name("again.parquet")
    make_arena_file.write(again, VOTES, MODELS, seed=7, chunk=700)
    assert pl.read_parquet(again).equals(frame)  # the seed decides the file


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_replays_with_all_fields_style_control_and_a_category(arena_files, suffix):
    path = arena_files[suffix]
    everything = list(iter_votes(path, options=ReadOptions(chunk_size=900)))
    assert sum(len(c) for c in everything) == VOTES
    first = everything[0]
    assert first.voter_id and first.language and first.anony is not None and first.tags
    assert first.style_names == ["tokens", "headers", "lists", "bold"]
    assert len(set(first.vote_id)) == len(first)

    config = EloConfig(bootstrap_rounds=0)
    plain = LeaderboardQuery("default", "bt", "none")
    style = LeaderboardQuery("default", "bt", "sandwich", style_control=True)
    category = LeaderboardQuery("default", "bt", "none", category="coding")
    boards = {}
    for name, query in (("plain", plain), ("style", style), ("category", category)):
        fields = needed_fields(VoteFilters(), category=bool(query.category), style_control=query.style_control)
        options = ReadOptions(vote_ids=False, fields=fields, chunk_size=900)
        boards[name], summary = replay_chunks(iter_votes(path, options=options), config, query)
        assert summary.read == VOTES
    assert boards["plain"].total_votes == VOTES and len(boards["plain"].rows) == MODELS
    coding = pl.read_parquet(arena_files[".parquet"])["tags"].list.contains("coding").sum()
    assert boards["category"].total_votes == coding < VOTES
    # the length effect the file was drawn with shows as a positive tokens coefficient
    tokens = boards["style"].style_coefficients[0]
    assert tokens.name == "tokens" and tokens.lower > 0
    plain_ratings = np.array([r.rating for r in boards["plain"].rows])
    assert np.ptp(plain_ratings) > 50  # the seeded strengths spread the ratings
