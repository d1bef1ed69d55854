"""Vote files: the three formats, bad input named by file and row, derived vote ids."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from server.domain.filters import FilterRun, VoteFilters
from server.files.votefile import ReadOptions, ReadReport, VoteFileError, iter_votes, read_votes
from tests.conftest import shared_file

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
        ({"model_a": ["gpt", "", "gpt", "llama"]}, r"row 2: model_a is empty"),
        ({"model_b": ["claude", "llama", "  ", "gpt"]}, r"row 3: model_b is empty"),
        ({"winner": ["model_a", None, "tie", "model_b"]}, r"row 2: winner None is not one of"),
        ({"tstamp": [1.0, 2.0, float("nan"), 4.0]}, r"row 3: tstamp nan is not finite"),
        ({"model_a": ["gpt", None, "gpt", "llama"]}, r"row 2: model_a is empty"),
        ({"tstamp": [1.0, float("inf"), 3.0, 4.0]}, r"row 2: tstamp inf is not finite"),
        ({"model_a": ["gpt", "ll\x00ama", "gpt", "llama"]}, r"row 2: model_a contains the control character"),
        ({"model_b": ["claude", "llama", "\u200b", "gpt"]}, r"row 3: model_b is empty"),
        ({"model_b": ["claude", "llama ", "llama", "gpt"]}, r"row 2: model_b 'llama ' starts or ends with"),
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


def test_clean_battle_json_and_both_bad_label(tmp_path):
    rows = [
        {"model_a": "x", "model_b": "y", "winner": "model_b", "judge": "u1", "anony": True, "tstamp": 5.0},
        {"model_a": "y", "model_b": "z", "winner": "both_bad", "judge": "u2", "anony": False, "tstamp": 6.0},
        {"model_a": "z", "model_b": "x", "winner": "tie (bothbad)", "judge": "u1", "anony": True, "tstamp": 7.0},
    ]
    path = tmp_path / "clean_battle.json"
    path.write_text(json.dumps(rows))
    batch = read_votes(path)
    assert batch.outcome.tolist() == [2, 4, 4]
    assert batch.anony.tolist() == [True, False, True] and batch.voter_id == ["u1", "u2", "u1"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_bad_column_types_are_errors_even_when_skipping(tmp_path, suffix):
    frame = pl.DataFrame({"model_a": [1, 2], "model_b": ["x", "y"], "winner": ["model_a", "tie"]})
    path = write(frame, tmp_path / f"votes{suffix}")
    for mode in ("error", "skip"):
        with pytest.raises(VoteFileError, match="column model_a must hold strings"):
            read_votes(path, options=ReadOptions(on_bad_row=mode))
    frame = pl.DataFrame({**ROWS, "tstamp": ["a", "b", "c", "d"]})
    with pytest.raises(VoteFileError, match="tstamp must be numeric"):
        read_votes(write(frame, tmp_path / f"times{suffix}"))


def test_skipping_bad_rows_counts_them_by_reason(tmp_path):
    frame = pl.DataFrame(
        {
            "model_a": ["a", "b", "a", "", "c", "a"],
            "model_b": ["b", "b", "c", "d", "a", "b"],
            "winner": ["model_a", "tie", "draw", "model_a", "model_b", None],
        }
    )
    report = ReadReport()
    batch = read_votes(write(frame, tmp_path / "v.csv"), options=ReadOptions(on_bad_row="skip"), report=report)
    assert len(batch) == 2 and report.rows == 6
    assert dict(report.skipped) == {
        "model_b equals model_a": 1,
        "winner is not a known label": 2,
        "model_a is empty": 1,
    }


def test_column_mapping_and_winner_loser_files(tmp_path):
    frame = pl.DataFrame({"home": ["a", "b"], "away": ["b", "c"], "result": ["model_b", "tie"]})
    batch = read_votes(
        write(frame, tmp_path / "m.parquet"),
        options=ReadOptions(columns={"model_a": "home", "model_b": "away", "winner": "result"}),
    )
    assert np.array(batch.names)[batch.model_a].tolist() == ["a", "b"] and batch.outcome.tolist() == [2, 3]
    with pytest.raises(VoteFileError, match=r"missing column\(s\) model_b \(as 'visitor'\)"):
        read_votes(
            write(frame, tmp_path / "m2.parquet"),
            options=ReadOptions(columns={"model_a": "home", "model_b": "visitor"}),
        )
    games = pl.DataFrame({"winner": ["serena", "venus"], "loser": ["venus", "serena"]})
    batch = read_votes(write(games, tmp_path / "g.csv"), options=ReadOptions(winner_loser=True))
    assert np.array(batch.names)[batch.model_a].tolist() == ["serena", "venus"] and batch.outcome.tolist() == [1, 1]


def test_tags_from_lists_or_comma_separated_strings(tmp_path):
    listed = pl.DataFrame({**ROWS, "tags": [["coding"], [], ["coding", "english"], None]})
    commas = pl.DataFrame({**ROWS, "tags": ["coding", "", "coding, english", None]})
    for frame, suffix in ((listed, ".parquet"), (commas, ".csv")):
        batch = read_votes(write(frame, tmp_path / f"t{suffix}"))
        assert batch.tags_of() == [["coding"], [], ["coding", "english"], []]


def test_chunks_stream_with_row_numbers_across_chunks(tmp_path):
    frame = pl.DataFrame({k: v * 5 for k, v in ROWS.items()})  # 20 rows
    path = write(frame, tmp_path / "big.parquet")
    chunks = list(iter_votes(path, options=ReadOptions(chunk_size=6)))
    assert sum(len(c) for c in chunks) == 20 and len(chunks) >= 3
    bad = frame.with_columns(
        pl.when(pl.int_range(20) == 13).then(pl.lit("oops")).otherwise(pl.col("winner")).alias("winner")
    )
    with pytest.raises(VoteFileError, match="row 14: winner 'oops'"):
        list(iter_votes(write(bad, tmp_path / "bad.parquet"), options=ReadOptions(chunk_size=6)))


def test_filters_against_hand_computed_expectations():
    from tests.conftest import make_batch

    day = 86_400.0
    batch = make_batch(
        ["a", "a", "b", "c", "a", "b", "a", "c", "b", "a"],
        ["b", "c", "c", "d", "b", "a", "b", "a", "c", "b"],
        [1, 3, 2, 1, 4, 1, 2, 1, 1, 1],
        vote_ids=["v0", "v1", "v2", "v3", "v4", "v5", "v0", "v7", "v8", "v9"],
        timestamp=[0, 10, 20, 30, day + 1, day + 2, day + 3, day + 4, 2 * day, 3 * day],
    )
    batch.voter_id = ["u", "u", "u", "w", "u", "u", "u", "u", "u", ""]
    batch.anony = np.array([True, True, True, True, True, True, True, False, True, True])
    filters = VoteFilters(
        anony_only=True, exclude_models=frozenset({"d"}), until=2 * day + 1, drop_ties=True, dedupe=True, daily_cap=2
    )
    run = FilterRun(filters)
    kept = run.apply(batch.slice(0, 5))
    kept2 = run.apply(batch.slice(5, 10))
    # v7 not anonymous; v3 involves d; v9 after the window; v1 and v4 ties; second v0 a duplicate;
    # judge u keeps 2 a day: day 0 v0, v2; day 1 v5 (v4 tie, v6 dup) -> all kept; day 2 v8.
    assert run.summary() == {
        "anony": 1, "exclude_models": 1, "exclude_voters": 0, "language": 0, "time_window": 1, "drop_ties": 2,
        "tags": 0, "dedupe": 1, "daily_cap": 0,
    }  # fmt: skip
    assert kept.vote_id + kept2.vote_id == ["v0", "v2", "v5", "v8"]
    capped = FilterRun(VoteFilters(daily_cap=1))
    capped.apply(batch)
    # u: day 0 keeps v0 (drops v1, v2); day 1 keeps v4 (drops v5, v6, v7); day 2 v8; w and "" uncapped.
    assert capped.summary()["daily_cap"] == 5 and capped.kept == 5


def test_filters_need_their_columns():
    from server.domain.errors import InvalidArgument
    from tests.conftest import make_batch

    batch = make_batch(["a"], ["b"], [1])
    cases = [
        (VoteFilters(anony_only=True), "anony"),
        (VoteFilters(languages=frozenset({"en"})), "language"),
        (VoteFilters(daily_cap=3), "judge"),
        (VoteFilters(tags=frozenset({"x"})), "tags"),
    ]
    for filters, column in cases:
        with pytest.raises(InvalidArgument, match=column):
            FilterRun(filters).apply(batch)


def test_lmarena_json_equals_the_parquet_of_the_same_votes():
    from engine import EloConfig
    from server.domain.queries import LeaderboardQuery
    from server.offline.replay import replay_chunks

    folder = shared_file("lmarena_format")
    jsons = sorted(folder.glob("clean_battle_*.json"))
    parquet = shared_file("mteb_arena_human_votes.parquet")
    skip = ReadOptions(on_bad_row="skip", vote_ids=False)
    config = EloConfig(bootstrap_rounds=100)
    for query in (LeaderboardQuery("default", "bt", "sandwich"), LeaderboardQuery("default", "elo")):
        results = []
        for source in (jsons, [parquet]):
            votes = read_votes(source, options=skip)
            votes = votes.take(np.argsort(votes.timestamp, kind="stable"))  # the files hold different orders
            results.append(replay_chunks([votes], config, query)[0])
        json_board, parquet_board = results
        assert json_board.total_votes == parquet_board.total_votes == 1930
        assert [(r.model, r.votes) for r in json_board.rows] == [(r.model, r.votes) for r in parquet_board.rows]
        for a, b in zip(json_board.rows, parquet_board.rows, strict=True):
            assert a.rating == pytest.approx(b.rating, abs=1e-9) and a.rating_upper == pytest.approx(
                b.rating_upper, abs=1e-9
            )


def test_names_are_nfc_and_bad_tags_name_the_row(tmp_path):
    """Files follow the server's name rule (server.domain.names): NFD and NFC are one competitor."""
    frame = pl.DataFrame({**ROWS, "model_a": ["cafe\u0301", "caf\u00e9", "gpt", "llama"]})
    batch = read_votes(write(frame, tmp_path / "votes.parquet"))
    assert "caf\u00e9" in batch.names and "cafe\u0301" not in batch.names
    assert batch.names[batch.model_a[0]] == batch.names[batch.model_a[1]]
    tagged = pl.DataFrame({**ROWS, "tags": [["a"], [], ["ok", "x\u202ey"], []]})
    with pytest.raises(VoteFileError, match=r"row 3: tag .* contains the control character U\+202E"):
        read_votes(write(tagged, tmp_path / "tags.parquet"))


def test_needed_fields_name_what_each_filter_and_view_reads():
    from server.domain.filters import needed_fields

    assert needed_fields(VoteFilters(), category=False, style_control=False) == {"tstamp"}
    assert needed_fields(VoteFilters(), category=False, style_control=False, sort_by_time=True) == {"tstamp"}
    assert needed_fields(VoteFilters(), category=True, style_control=False) == {"tstamp", "tags"}
    assert needed_fields(VoteFilters(), category=False, style_control=True) == {"tstamp", "style"}
    cases = {
        "tags": VoteFilters(tags=frozenset({"coding"})),
        "judge": VoteFilters(daily_cap=5),
        "language": VoteFilters(languages=frozenset({"English"})),
        "anony": VoteFilters(anony_only=True),
        "vote_id": VoteFilters(dedupe=True),
    }
    for field, filters in cases.items():
        assert needed_fields(filters, category=False, style_control=False) == {"tstamp", field}
    # filters that read only the required columns
    plain = VoteFilters(exclude_models=frozenset({"x"}), since=1.0, until=2.0, drop_ties=True)
    assert needed_fields(plain, category=False, style_control=False) == {"tstamp"}


FULL = {
    **ROWS,
    "judge": ["u1", "u2", None, "u1"],
    "language": ["English", "German", None, "English"],
    "tags": [["coding"], [], ["math", "coding"], None],
    "anony": [True, False, True, True],
    "vote_id": ["v1", "v2", "v3", "v4"],
    "style_a_length": [1.0, 2.0, 3.0, 4.0],
    "style_b_length": [4.0, 3.0, 2.0, 1.0],
}


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl", ".json"])
def test_only_the_fields_asked_for_are_read(tmp_path, suffix):
    frame = pl.DataFrame(FULL)
    if suffix == ".csv":
        frame = frame.with_columns(pl.col("tags").list.join(","))
    path = tmp_path / f"votes{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(frame.to_dicts()))
    else:
        write(frame, path)
    bare = read_votes(path, options=ReadOptions(vote_ids=False, fields=frozenset()))
    assert bare.timestamp.tolist() == ROWS["tstamp"]  # tstamp whenever the file has it
    assert bare.outcome.tolist() == [1, 3, 4, 2]
    assert (bare.vote_id, bare.voter_id, bare.tags, bare.language, bare.style_names) == ([], [], [], [], [])
    assert bare.anony is None and bare.style is None and len(bare.tag_count) == 0
    some = read_votes(path, options=ReadOptions(vote_ids=False, fields=frozenset({"tags", "language", "style"})))
    assert some.tags_of() == [["coding"], [], ["math", "coding"], []]
    assert some.language == ["English", "German", "", "English"] and some.style_names == ["length"]
    assert some.voter_id == [] and some.vote_id == [] and some.anony is None
    everything = read_votes(path, options=ReadOptions(vote_ids=False))
    assert everything.voter_id == ["u1", "u2", "", "u1"] and everything.vote_id == ["v1", "v2", "v3", "v4"]
    assert everything.anony.tolist() == [True, False, True, True] and everything.tags == some.tags
    # ids are read when the caller needs them, whatever the fields
    assert read_votes(path, options=ReadOptions(fields=frozenset())).vote_id == ["v1", "v2", "v3", "v4"]
    with pytest.raises(ValueError, match=r"fields \['model_a', 'tag'\] are not optional columns"):
        ReadOptions(fields=frozenset({"tag", "model_a", "tstamp"}))


def test_derived_ids_do_not_depend_on_the_fields_read(tmp_path):
    frame = pl.DataFrame({k: v for k, v in FULL.items() if k != "vote_id"})
    path = write(frame, tmp_path / "votes.parquet")
    assert read_votes(path, options=ReadOptions(fields=frozenset())).vote_id == read_votes(path).vote_id


def test_unused_columns_are_not_checked(tmp_path):
    """A column that is not read cannot make a file unreadable: bad tags fail only a read that uses them."""
    frame = pl.DataFrame({**ROWS, "tags": [["a"], [], ["ok", "x\u202ey"], []]})
    path = write(frame, tmp_path / "votes.parquet")
    assert len(read_votes(path, options=ReadOptions(fields=frozenset()))) == 4
    with pytest.raises(VoteFileError, match="row 3: tag"):
        read_votes(path, options=ReadOptions(fields=frozenset({"tags"})))


def test_tag_filter_and_null_tag_elements(tmp_path):
    frame = pl.DataFrame({**ROWS, "tags": [["coding", None], [None], ["math"], ["coding", "math"]]})
    batch = read_votes(write(frame, tmp_path / "votes.parquet"))
    assert batch.tags_of() == [["coding"], [], ["math"], ["coding", "math"]]
    run = FilterRun(VoteFilters(tags=frozenset({"coding"})))
    kept = run.apply(batch)
    assert kept.vote_id == [batch.vote_id[0], batch.vote_id[3]] and run.summary()["tags"] == 2


def test_clean_battle_json_reads_only_the_needed_fields(tmp_path):
    """The JSON array is read with the schema of the wanted fields, inferred as a full read infers it."""
    rows = [{"model_a": "x", "model_b": "y", "winner": "tie", "tstamp": 1, "meta": {"deep": [1, 2]}}] * 150
    rows += [{"model_a": "y", "model_b": "x", "winner": "model_a", "tstamp": 2.5, "meta": {"deep": []}}]
    path = tmp_path / "clean_battle.json"
    path.write_text(json.dumps(rows, indent=2))
    batch = read_votes(path, options=ReadOptions(fields=frozenset()))
    assert len(batch) == 151 and batch.timestamp[-1] == 2.5 and batch.outcome[-1] == 1
    numbers = tmp_path / "numbers.json"
    numbers.write_text(json.dumps([{"model_a": 1, "model_b": 2, "winner": "tie"}]))
    with pytest.raises(VoteFileError, match="column model_a must hold strings"):
        read_votes(numbers, options=ReadOptions(fields=frozenset()))
    for text in ("[]", "{}", "[1, 2]", '[{"model_a": '):
        broken = tmp_path / "broken.json"
        broken.write_text(text)
        with pytest.raises(VoteFileError):
            read_votes(broken)


def test_conv_metadata_struct_is_flattened_in_the_scan_and_wins_over_style_columns(tmp_path):
    side = {"header_count_{}": {"h1": 1, "h2": 2}, "list_count_{}": {"ordered": 1, "unordered": 0},
            "bold_count_{}": {"**": 3, "__": 1}}  # fmt: skip
    meta = {"sum_assistant_a_tokens": 10, "sum_assistant_b_tokens": 20}
    for key, value in side.items():
        meta[key.format("a")] = meta[key.format("b")] = value
    frame = pl.DataFrame({**ROWS, "conv_metadata": [meta] * 4, "style_a_other": [1.0] * 4})
    batch = read_votes(write(frame, tmp_path / "votes.parquet"))
    assert batch.style_names == ["tokens", "headers", "lists", "bold"]
    assert batch.style[0].tolist() == [10, 3, 1, 4, 20, 3, 1, 4]
    del meta["bold_count_b"]
    broken = pl.DataFrame({**ROWS, "conv_metadata": [meta] * 4})
    with pytest.raises(VoteFileError, match="conv_metadata has no bold_count_b"):
        read_votes(write(broken, tmp_path / "broken.parquet"))
    assert len(read_votes(tmp_path / "broken.parquet", options=ReadOptions(fields=frozenset()))) == 4


def test_take_keeps_each_votes_tags():
    from tests.conftest import make_batch

    batch = make_batch(["a", "b", "c", "a"], ["b", "c", "a", "c"], [1, 2, 3, 1])
    batch.tag_count = np.array([2, 0, 1, 3])
    batch.tags = ["x", "y", "z", "x", "w", "v"]
    picked = batch.take(np.array([3, 1, 0, 0]))
    assert picked.tags_of() == [["x", "w", "v"], [], ["x", "y"], ["x", "y"]]
    assert picked.tag_count.tolist() == [3, 0, 2, 2]
    assert batch.take(np.array([], dtype=np.int64)).tags == []
