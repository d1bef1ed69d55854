"""Vote files: the three formats, bad input named by file and row, derived vote ids."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from server.votefile import VoteFileError, read_votes

ROWS = {
    "model_a": ["gpt", "claude", "gpt", "llama"],
    "model_b": ["claude", "llama", "llama", "gpt"],
    "winner": ["model_a", "tie", "tie (bothbad)", "model_b"],
    "tstamp": [1.0, 2.0, 3.0, 4.0],
}


def write(frame: pl.DataFrame, path):
    {".parquet": frame.write_parquet, ".csv": frame.write_csv, ".jsonl": frame.write_ndjson}[path.suffix](path)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_reads_each_format(tmp_path, suffix):
    path = write(pl.DataFrame(ROWS), tmp_path / f"votes{suffix}")
    batch = read_votes(path, board="text")
    assert batch.board == "text" and len(batch) == 4
    names = np.array(batch.names)
    assert names[batch.model_a].tolist() == ROWS["model_a"]
    assert names[batch.model_b].tolist() == ROWS["model_b"]
    assert batch.outcome.tolist() == [1, 3, 4, 2]
    assert batch.timestamp.tolist() == ROWS["tstamp"]
    assert len(set(batch.vote_id)) == 4


def test_unknown_winner_label_names_file_row_and_value(tmp_path):
    frame = pl.DataFrame({**ROWS, "winner": ["model_a", "tie", "draw", "model_b"]})
    path = write(frame, tmp_path / "votes.csv")
    with pytest.raises(VoteFileError, match=r"votes\.csv: row 3: winner 'draw' is not one of"):
        read_votes(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_b": ["gpt", "llama", "llama", "gpt"]}, r"row 1: model_b equals model_a"),
        ({"model_a": ["gpt", "", "gpt", "llama"]}, r"row 2: model_a must not be empty"),
        ({"model_a": ["gpt", None, "gpt", "llama"]}, r"row 2: model_a is empty"),
        ({"tstamp": [1.0, float("inf"), 3.0, 4.0]}, r"row 2: tstamp inf is not finite"),
    ],
)
def test_bad_rows_are_named(tmp_path, change, message):
    path = write(pl.DataFrame({**ROWS, **change}), tmp_path / "votes.parquet")
    with pytest.raises(VoteFileError, match=message):
        read_votes(path)


def test_missing_column_and_unknown_type(tmp_path):
    path = write(pl.DataFrame({"model_a": ["x"], "model_b": ["y"]}), tmp_path / "votes.parquet")
    with pytest.raises(VoteFileError, match="missing column"):
        read_votes(path)
    other = tmp_path / "votes.txt"
    other.write_text("x")
    with pytest.raises(VoteFileError, match="unknown file type"):
        read_votes(other)
    with pytest.raises(VoteFileError, match="no such file"):
        read_votes(tmp_path / "absent.csv")


def test_derived_vote_ids_are_stable_and_survive_appending(tmp_path):
    frame = pl.DataFrame(ROWS)
    first = read_votes(write(frame, tmp_path / "a.csv")).vote_id
    again = read_votes(write(frame, tmp_path / "b.jsonl")).vote_id
    assert first == again
    grown = read_votes(write(pl.concat([frame, frame.head(2)]), tmp_path / "c.csv")).vote_id
    assert grown[:4] == first and len(set(grown)) == 6  # repeated rows get ids of their own


def test_given_vote_ids_and_judges_are_kept(tmp_path):
    frame = pl.DataFrame({**ROWS, "vote_id": ["v1", "v2", "v3", "v4"], "judge": ["u1", None, "u2", "u1"]})
    batch = read_votes(write(frame, tmp_path / "votes.jsonl"))
    assert batch.vote_id == ["v1", "v2", "v3", "v4"]
    assert batch.voter_id == ["u1", "", "u2", "u1"]
    json.dumps(batch.vote_id)
