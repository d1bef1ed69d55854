"""One home for the wire's rules: the enum mappings agree with the names everywhere else, the query
rules are the service's and the command line's alike, and a published leaderboard is the same
whether it came over the wire or straight from an offline replay's listing."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from engine import Standings
from engine.config import CI_METHODS, METHODS
from engine.style import Coefficient
from server.cli.main import main
from server.client.ratings_client import leaderboard_request
from server.domain.ballots import RankingBallot
from server.domain.competitors import STATUSES, CompetitorInfo, CompetitorUpdate
from server.domain.errors import InvalidArgument
from server.domain.listing import ListingConfig, RowFilters, compare, present, with_style_deltas
from server.domain.published import ROW_FIELDS, PublishedLeaderboard
from server.domain.queries import QueryRuleError, check_query
from server.domain.results import BoardStandings
from server.files import export, render
from server.proto.arena_ratings.v1 import ratings_pb2 as pb
from server.rpc import convert, wire
from server.storage.snapshots import SnapshotInfo

# --- the mappings --------------------------------------------------------------------------------


def test_each_enum_maps_every_name_the_rest_of_the_code_uses():
    assert tuple(wire.METHOD_CODES) == METHODS
    assert tuple(wire.CI_CODES) == CI_METHODS
    assert tuple(wire.STATUS_CODES) == STATUSES
    for enum, codes in ((pb.Method, wire.METHOD_CODES), (pb.CIMethod, wire.CI_CODES),
                        (pb.CompetitorStatus, wire.STATUS_CODES)):  # fmt: skip
        assert sorted(codes.values()) == sorted(v for v in enum.values() if v != 0), enum  # all but UNSPECIFIED
    assert wire.REQUEST_METHODS[pb.METHOD_UNSPECIFIED] == "bt" and wire.REQUEST_CIS[pb.CI_UNSPECIFIED] == "bootstrap"
    assert wire.status_name(pb.STATUS_UNSPECIFIED) == "active"


def test_a_request_takes_names_or_codes():
    by_name = leaderboard_request("text", method="elo", ci="none", filters={"statuses": ["deprecated"]})
    by_code = leaderboard_request("text", method=pb.ELO, ci=pb.CI_NONE, filters=pb.RowFilters(statuses=[pb.DEPRECATED]))
    assert by_name == by_code


def test_client_messages_from_domain_values():
    update = wire.update_to_pb(CompetitorUpdate("m", organization="Org", status="deprecated", open_weights=False))
    assert update.status == pb.DEPRECATED and update.organization == "Org" and update.HasField("open_weights")
    assert not update.HasField("display_name")
    ballot = wire.ballot_to_pb(RankingBallot("default", "b1", [("x", 1), ("y", 2), ("z", 2)], float("nan")))
    assert [(r.model, r.place) for r in ballot.ranking] == [("x", 1), ("y", 2), ("z", 2)]
    assert not ballot.HasField("timestamp")


# --- the query rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "ci", "rounds", "anchored", "style", "field"),
    [
        ("elo", "sandwich", 0, False, False, "ci"),
        ("elo", "bootstrap", 100, False, False, "rounds"),
        ("elo", "bootstrap", 0, True, False, "anchor"),
        ("elo", "bootstrap", 0, False, True, "method"),
        ("bt", "none", 0, True, True, "anchor"),
    ],
)
def test_one_set_of_query_rules_for_the_service_and_the_command_line(method, ci, rounds, anchored, style, field):
    with pytest.raises(QueryRuleError) as raised:
        check_query(method, ci, rounds, anchored, style)
    assert raised.value.field == field and raised.value.options.startswith("--")
    request = leaderboard_request(method=method, ci=ci, rounds=rounds, anchor=("a", 1.0) if anchored else None,
                                  style_control=style)  # fmt: skip
    with pytest.raises(InvalidArgument) as served:
        convert.query_from_pb(request)
    assert str(served.value) == str(raised.value)


def test_the_offline_command_line_refuses_what_the_service_refuses(tmp_path):
    votes = tmp_path / "votes.csv"
    votes.write_text("model_a,model_b,winner\na,b,model_a\nb,c,tie\n")
    with pytest.raises(SystemExit, match="^--rounds, --anchor and --ci sandwich apply to --method bt"):
        main(["replay", str(votes), "--method", "elo", "--ci", "sandwich"])
    with pytest.raises(SystemExit, match="^--style-control is a BT fit centred on the mean"):
        main(["replay", str(votes), "--style-control", "--anchor", "a=1000"])
    check_query("bt", "sandwich", 1000, True, False)  # the BT options together are fine


# --- published leaderboards ----------------------------------------------------------------------


def standings(seed: int, m: int = 7, rounds: int = 100) -> tuple[Standings, list[str]]:
    rng = np.random.default_rng(seed)
    rating = rng.normal(1000.0, 80.0, m)
    half = rng.uniform(5.0, 40.0, m)
    counts = rng.integers(0, 400, (m, 4))
    component = np.array([0] * (m - 2) + [1, 1], dtype=np.int32)
    s = Standings.build(np.arange(m, dtype=np.int32), rating, rating - half, rating + half, counts,
                        int(counts.sum()), 4321 + seed, rounds, component)  # fmt: skip
    return s, [f"model-{i}" for i in s.competitor_ids]


def listings():
    metadata = {
        "model-1": CompetitorInfo("model-1", display_name="One", organization="Org", license="MIT", open_weights=True),
        "model-2": CompetitorInfo("model-2", status="deprecated", open_weights=False),
    }
    s, models = standings(1)
    bt = BoardStandings("text", s, models, "bt", "bootstrap", None, -1234.5)
    yield "bt", present(bt, metadata, RowFilters.everything(), ListingConfig(preliminary_votes=300))
    anchored = BoardStandings("text", s, models, "bt", "sandwich", ("model-3", 1100), -99.0)
    yield "anchored", present(anchored, {}, RowFilters(), ListingConfig(), category="coding", gap_ranks=(2, 5))
    elo = BoardStandings("text", s, models, "elo", "bootstrap")
    shown = present(elo, metadata, RowFilters(statuses=frozenset({"active"})), ListingConfig(listed_min_votes=500))
    then, then_models = standings(2, m=5)
    previous = present(BoardStandings("text", then, then_models), {}, RowFilters.everything(), ListingConfig())
    week = SnapshotInfo(1, "text", "week-1", 1, 3000, 1_700_000_000, 2900, False)  # an int time: read as float
    yield "compared", replace(compare(shown, previous, week), as_of=week)
    coefficients = (Coefficient("tokens", 0.31, 0.2, 0.4), Coefficient("bold", -0.01, -0.1, 0.08))
    styled = BoardStandings("text", s, models, "bt", "sandwich", None, -10.0, True, coefficients, 777)
    plain, plain_models = standings(3)
    uncontrolled = BoardStandings("text", plain, plain_models, "bt", "none")
    yield "style", with_style_deltas(present(styled, {}, RowFilters.everything(), ListingConfig()), uncontrolled)
    yield "empty", present(bt, {}, RowFilters(min_votes=10**9), ListingConfig())


@pytest.mark.parametrize(("name", "shown"), list(listings()), ids=lambda v: v if isinstance(v, str) else "")
def test_a_listing_publishes_the_same_directly_and_through_the_wire(name, shown):
    direct = PublishedLeaderboard.from_listing(shown)
    received = wire.leaderboard_from_pb(convert.leaderboard_to_pb(shown))
    assert direct == received
    # Equal values can still print differently (1 == 1.0): the bytes of every text format must match.
    for fmt in ("json", "csv", "table"):
        assert render.render(direct, fmt) == render.render(received, fmt), fmt
    assert json.dumps(export.feed(direct, as_of=None)["rows"]) == json.dumps(render.as_dict(received)["rows"])
    if direct.rows:
        assert tuple(render.row_dict(direct.rows[0])) == ROW_FIELDS


def test_exports_accept_a_received_message_as_it_is():
    shown = dict(listings())["compared"]
    message = convert.leaderboard_to_pb(shown)
    direct = PublishedLeaderboard.from_listing(shown)
    assert render.published(message) == direct and render.published(direct) is direct
    assert export.text(message, "table") == export.text(direct, "table")
