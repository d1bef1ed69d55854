"""What an operator sees from the command line: watch's top-k and its end, boards without a CI,
an empty server, the competitor list, output errors, the time a leaderboard is as of, and the line
that says the kernels are compiling.

Each command runs as ``python -m server.cli`` in its own process, against a real server on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from server.client.launch import free_loopback_port
from server.client.ratings_client import RatingsClient
from server.rpc import app, auth
from tests.conftest import make_batch
from tests.test_client_imports import cli as import_cli
from tests.test_client_imports import heavy_modules_after

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
        assert ">95% CI</th>" not in page and ">rank (UB)</th>" not in page and "+0.0/-0.0" not in page
    # With an interval, every format shows it.
    sandwich = cli("replay", votes, "--ci", "sandwich")
    assert "95% CI" in sandwich.stdout.splitlines()[1] and "rank (UB)" in sandwich.stdout.splitlines()[1]
    assert '<th scope="col">95% CI</th>' in cli("replay", votes, "--ci", "sandwich", "--format", "html").stdout
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


def test_competitors_list_shows_every_competitor_with_its_metadata(tmp_path, start_server):
    server = start_server(access=app.Access(tokens=auth.TokenBook([
        auth.Token("reader", auth.digest("read-token"), frozenset({"read"})),
        auth.Token("admin", auth.digest("admin-token"), frozenset({"admin", "write"})),
    ])))  # fmt: skip
    target = ["--target", f"127.0.0.1:{server.port}"]
    with RatingsClient(target[1], token="admin-token") as client:
        client.submit(ladder_votes())
    meta = tmp_path / "meta.csv"
    meta.write_text('name,display_name,organization,license,open_weights,status,links\n'
                    'm1,Model One,OrgA,MIT,yes,,"{""site"": ""https://a""}"\n'
                    'm6,,OrgC,,no,deprecated,\n'
                    'unvoted,,OrgD,,,,\n')  # fmt: skip
    assert cli("competitors", "upsert", str(meta), *target, "--token", "admin-token").returncode == 0
    reader = [*target, "--token", "read-token"]  # a read-scoped token may list them

    table = cli("competitors", "list", *reader)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.strip().splitlines()
    assert lines[0].split() == "name display name organization license open weights status links".split()
    assert [line.split()[0] for line in lines[1:]] == [*MODELS, "unvoted"]  # by name; voted or given metadata
    assert lines[1].split() == ["m1", "Model", "One", "OrgA", "MIT", "yes", "active", "site=https://a"]
    assert lines[6].split() == ["m6", "OrgC", "no", "deprecated"]

    listed = json.loads(cli("competitors", "list", *reader, "--format", "json").stdout)
    assert listed[0] == {"name": "m1", "display_name": "Model One", "organization": "OrgA", "license": "MIT",
                         "open_weights": True, "status": "active", "links": {"site": "https://a"}}  # fmt: skip
    assert listed[1] == {"name": "m2", "display_name": "", "organization": "", "license": "", "open_weights": None,
                         "status": "active", "links": {}}  # fmt: skip
    csv = cli("competitors", "list", *reader, "--format", "csv").stdout
    assert csv.splitlines()[0] == "name,display_name,organization,license,open_weights,status,links"
    # What the list writes, upsert reads: the CSV goes back unchanged.
    again = tmp_path / "again.csv"
    again.write_text(csv)
    done = cli("competitors", "upsert", str(again), *target, "--token", "admin-token")
    assert json.loads(done.stdout) == {"created": 4, "updated": 3}  # m2..m5 had no metadata
    assert json.loads(cli("competitors", "list", *reader, "--format", "json").stdout) == listed
    refused = cli("competitors", "list", *target, "--token", "nothing")
    assert refused.returncode == 1 and "UNAUTHENTICATED" in refused.stderr
    # A remote command: it loads neither numba, polars nor matplotlib.
    assert heavy_modules_after(import_cli(["competitors", "list", *reader])) == []


def utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def test_a_leaderboard_is_as_of_the_time_of_its_newest_vote(tmp_path, start_server):
    stamp = 1_795_000_000.0
    server = start_server(tmp_path / "data")
    target = ["--target", f"127.0.0.1:{server.port}"]
    with RatingsClient(target[1]) as client:
        last = client.submit(ladder_votes(timestamp=stamp)).last_seq
        # An older vote, sent later, does not take the time back: it is the newest vote's.
        late = make_batch(["m1"], ["m2"], [1], vote_ids=["late"], timestamp=[stamp - 86_400])
        last = client.submit(late).last_seq
        assert client.leaderboard(min_seq=last, ci="none").as_of_time == stamp
    table = cli("leaderboard", *target, "--ci", "none")
    assert f"as of {utc(stamp)} (seq {last})" in table.stdout.splitlines()[0]
    feed = json.loads(cli("leaderboard", *target, "--ci", "none", "--format", "json").stdout)
    assert feed["as_of_time"] == stamp and feed["as_of_seq"] == last
    html = cli("leaderboard", *target, "--ci", "none", "--format", "html").stdout
    assert f"Last updated {utc(stamp)} · " in html and f"(vote-log seq {last})" in html
    # Checkpointed with the board: the same after a restart.
    server.stop(grace=1.0)
    server = start_server(tmp_path / "data")
    with RatingsClient(f"127.0.0.1:{server.port}") as client:
        assert client.leaderboard(ci="none").as_of_time == stamp
        assert client.leaderboard(method="elo").as_of_time == stamp
        # A vote without a timestamp is stamped on receipt, so a live board is as of about now.
        before = time.time()
        last = client.submit(make_batch(["m3"], ["m4"], [1], vote_ids=["now"])).last_seq
        assert before <= client.leaderboard(min_seq=last, ci="none").as_of_time <= time.time()
    # Offline: the newest tstamp of the file; a file without tstamps has no time, only the seq.
    votes = ladder_file(tmp_path)
    offline = cli("replay", str(votes), "--ci", "none")
    assert f"as of {utc(1_790_000_000 + 19 * 60)} (seq 300)" in offline.stdout.splitlines()[0]
    plain = tmp_path / "plain.csv"
    plain.write_text("model_a,model_b,winner\nm1,m2,model_a\nm2,m3,model_a\n")
    offline = cli("replay", str(plain), "--ci", "none")
    assert "as of seq 2 ·" in offline.stdout.splitlines()[0]
    assert json.loads(cli("replay", str(plain), "--ci", "none", "--format", "json").stdout)["as_of_time"] is None


COMPILING = "compiling kernels"


def cold_cache_env(tmp_path: Path) -> dict:
    """The environment with numba's cache in a new, empty folder: the kernels compile on first use."""
    return {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}


def test_an_offline_command_says_once_when_the_kernels_compile(tmp_path):
    env = cold_cache_env(tmp_path)
    votes = str(ladder_file(tmp_path))
    first = cli("replay", votes, "--ci", "none", "--bootstrap", "0", env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count(COMPILING) == 1
    assert first.stderr.startswith("arena-ratings: compiling kernels (first run only, ~")
    again = cli("replay", votes, "--ci", "none", "--bootstrap", "0", env=env, timeout=300)
    assert again.returncode == 0 and COMPILING not in again.stderr  # the cache is warm now


def serve_log(env: dict, data_dir: Path, log: Path) -> tuple[list[str], list[str]]:
    """Start `serve`, wait for SERVING, send votes and two queries, stop it: the lines logged by SERVING, and all."""
    port = free_loopback_port()
    command = [sys.executable, "-m", "server.cli", "serve", "--data-dir", str(data_dir), "--port", str(port),
               "--http-port", str(free_loopback_port()), "--snapshot-every", "0", "--bootstrap", "20"]  # fmt: skip
    with log.open("w") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=stderr, stdout=subprocess.DEVNULL)
    try:
        with RatingsClient(f"127.0.0.1:{port}", timeout=300) as client:
            client.wait_ready(timeout=240)
            ready = log.read_text().splitlines()  # what was logged by SERVING
            last = client.submit(ladder_votes()).last_seq
            client.leaderboard(min_seq=last, ci="sandwich")
            client.leaderboard(method="elo")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert log.read_text().splitlines()[: len(ready)] == ready
    return ready, log.read_text().splitlines()


def test_the_service_compiles_before_it_serves_and_logs_it_once(tmp_path):
    env = cold_cache_env(tmp_path)
    ready, lines = serve_log(env, tmp_path / "data", tmp_path / "serve.log")
    compiling = [line for line in lines if COMPILING in line]
    assert len(compiling) == 1 and " INFO " in compiling[0], "\n".join(lines)
    assert compiling[0].endswith("compiling kernels, first start only")
    # Both said before SERVING: the votes and queries after it compiled nothing.
    assert compiling[0] in ready and any("kernels compiled in" in line for line in ready), "\n".join(ready)
    # The next start finds them in numba's cache and says nothing of compiling.
    ready, lines = serve_log(env, tmp_path / "data", tmp_path / "again.log")
    assert not [line for line in lines if COMPILING in line], "\n".join(lines)
    assert any("kernels loaded from numba's cache" in line for line in ready), "\n".join(ready)
