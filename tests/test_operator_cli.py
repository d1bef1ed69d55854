"""What an operator sees from the command line: watch's top-k and its end, boards without a CI,
an empty server, the competitor list, output errors, the time a leaderboard is as of, and the line
that says the kernels are compiling.

Each command runs as ``python -m server.cli`` in its own process, against a real server on loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from server.client.ratings_client import RatingsClient
from tests.conftest import make_batch

ROOT = Path(__file__).resolve().parent.parent

MODELS = ["m1", "m2", "m3", "m4", "m5", "m6"]


def cli(*args: str, timeout: float = 60.0, env: dict | None = None) -> subprocess.CompletedProcess:
    """``arena-ratings ARGS`` in a new process: its status, standard output and standard error."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


def ladder_votes(board: str = "default", timestamp: float | None = None):
    """Six models in a clear order (m1 beats everyone, m2 everyone but m1, ...), 20 votes a pair."""
    a, b = [], []
    for i, winner in enumerate(MODELS):
        for loser in MODELS[i + 1 :]:
            a += [winner] * 20
            b += [loser] * 20
    stamps = None if timestamp is None else [timestamp] * len(a)
    return make_batch(a, b, [1] * len(a), vote_ids=[f"{board}-{i}" for i in range(len(a))], board=board,
                      timestamp=stamps)  # fmt: skip


def serve_ladder(start_server, **votes) -> tuple[list[str], int]:
    """A server holding ladder_votes(): (its --target option, the last seq)."""
    server = start_server()
    target = f"127.0.0.1:{server.port}"
    with RatingsClient(target) as client:
        last = client.submit(ladder_votes(**votes)).last_seq
        client.leaderboard(min_seq=last, ci="none")
    return ["--target", target], last


def table_models(out: str) -> list[str]:
    """The model column of a printed table: the first word of each row that is not a number (what comes
    before the column header, and the summary line, skipped)."""
    lines = out.strip().splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["rank"])
    rows = [line.split() for line in lines[header + 1 :] if "models listed" not in line]
    return [next(word for word in row if not word.isdigit()) for row in rows if row]


# --- item 4: watch ---------------------------------------------------------------------------------


def test_watch_top_k_is_honoured_in_json_and_in_the_table(start_server):
    target, _ = serve_ladder(start_server)
    done = cli("watch", *target, "--top-k", "3", "--format", "json", "--count", "1", "--ci", "none")
    assert done.returncode == 0, done.stderr
    feed = json.loads(done.stdout.strip())
    assert [row["model"] for row in feed["rows"]] == ["m1", "m2", "m3"]
    done = cli("watch", *target, "--top-k", "3", "--count", "1", "--ci", "none")
    assert done.returncode == 0, done.stderr
    assert table_models(done.stdout) == ["m1", "m2", "m3"]


def test_watch_ends_after_its_timeout_on_a_quiet_board_with_what_arrived(start_server):
    target, _ = serve_ladder(start_server)
    started = time.monotonic()
    done = cli("watch", *target, "--count", "2", "--timeout", "1.5", "--ci", "none", "--format", "json", timeout=30)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 1  # the first snapshot; the board never changed
    assert 1.5 <= took < 15
    # --count counts the first snapshot: one update is the leaderboard as it is now.
    done = cli("watch", *target, "--count", "1", "--ci", "none", "--format", "json", timeout=30)
    assert done.returncode == 0 and len(done.stdout.strip().splitlines()) == 1
    refused = cli("watch", *target, "--timeout", "0")
    assert refused.returncode != 0 and "--timeout" in refused.stderr


# --- item 5: no interval, no CI --------------------------------------------------------------------


def ladder_file(tmp_path: Path) -> Path:
    """ladder_votes() as a CSV vote file (with a tstamp per row)."""
    path = tmp_path / "ladder.csv"
    lines = ["model_a,model_b,winner,tstamp"]
    for i, winner in enumerate(MODELS):
        for loser in MODELS[i + 1 :]:
            lines += [f"{winner},{loser},model_a,{1_790_000_000 + 60 * j}" for j in range(20)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_without_an_interval_no_format_shows_one(tmp_path, start_server):
    votes = str(ladder_file(tmp_path))
    for query in (["--ci", "none"], ["--method", "elo", "--bootstrap", "0"]):
        table = cli("replay", votes, *query)
        assert table.returncode == 0, table.stderr
        header = table.stdout.splitlines()[1]
        assert "95% CI" not in header and "rank (UB)" not in header and "+0.0/-0.0" not in table.stdout
        assert "tied with the leader" not in table.stdout and "95% CI: none" in table.stdout
        assert table_models(table.stdout) == MODELS
        feed = json.loads(cli("replay", votes, *query, "--format", "json").stdout)
        assert feed["ci"] == "none" and feed["summary"]["tied_with_leader"] is None
        for row in feed["rows"]:
            assert (row["rating_lower"], row["rating_upper"], row["rank_ub"]) == (None, None, None)
        csv = cli("replay", votes, *query, "--format", "csv").stdout.splitlines()
        assert csv[0].startswith("rank,rank_ub,model,rating,rating_lower,rating_upper,votes")  # the same columns
        assert csv[1].startswith("1,,m1,") and csv[1].split(",")[4:6] == ["", ""]  # left empty
        page = cli("replay", votes, *query, "--format", "html").stdout
        assert "<th>95% CI</th>" not in page and "<th>rank (UB)</th>" not in page and "+0.0/-0.0" not in page
    # With an interval, every format shows it.
    sandwich = cli("replay", votes, "--ci", "sandwich")
    assert "95% CI" in sandwich.stdout.splitlines()[1] and "rank (UB)" in sandwich.stdout.splitlines()[1]
    assert "<th>95% CI</th>" in cli("replay", votes, "--ci", "sandwich", "--format", "html").stdout
    # From a server: the same rule, the message keeping its numbers (ci says CI_NONE).
    target, last = serve_ladder(start_server)
    feed = json.loads(cli("leaderboard", *target, "--ci", "none", "--format", "json").stdout)
    assert feed["ci"] == "none" and {row["rank_ub"] for row in feed["rows"]} == {None}
    served = cli("leaderboard", *target, "--ci", "none")
    assert "rank (UB)" not in served.stdout.splitlines()[1] and "+0.0/-0.0" not in served.stdout


# --- item 7: the small ones ------------------------------------------------------------------------


def test_boards_on_an_empty_server_says_so(start_server):
    server = start_server()
    done = cli("boards", "--target", f"127.0.0.1:{server.port}")
    assert done.returncode == 0 and done.stdout.strip() == "no boards yet"


def test_an_unknown_output_extension_names_the_flag_and_the_extensions(tmp_path, start_server):
    target, _ = serve_ladder(start_server)
    for command in (["leaderboard", *target, "--ci", "none"], ["replay", str(ladder_file(tmp_path)), "--ci", "none"]):
        done = cli(*command, "--output", str(tmp_path / "lb.xlsx"))
        assert done.returncode != 0 and not (tmp_path / "lb.xlsx").exists()
        assert "--format" in done.stderr and ".csv" in done.stderr and ".parquet" in done.stderr, done.stderr
        assert "fmt" not in done.stderr.replace("--format", "")
    written = cli("leaderboard", *target, "--ci", "none", "--output", str(tmp_path / "lb.xlsx"), "--format", "csv")
    assert written.returncode == 0 and (tmp_path / "lb.xlsx").read_text().startswith("rank,rank_ub,model")
