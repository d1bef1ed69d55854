"""The leaderboard page (server/http/page) in a real browser: Debian's headless Chromium driven by
Playwright, against a real server on loopback (gRPC for the votes, HTTP for the page and its API).

What a visitor sees is checked against the JSON API: the rows and their order for the whole board, a
category and style control; the search filter; the snapshot comparison; a live update over Server-Sent
Events after new votes; a fitted tie model and CIs clustered by voter; the audit, on request; an error
shown as a message; and that the page asks no host but the server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from server.domain.competitors import CompetitorUpdate
from server.domain.votes import VoteBatch
from tests.conftest import make_batch, style_votes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BOARD = "text"
MODELS = [f"model-{i:02d}" for i in range(12)]
STYLE_FEATURES = ["tokens", "headers", "lists", "bold"]
SNAPSHOT = "week-1"
VOTERS = 40
COMPETITORS = [
    CompetitorUpdate(MODELS[0], display_name="Aurora Large", organization="Northwind", license="Proprietary",
                     open_weights=False, links={"website": "https://example.org/aurora"}),
    CompetitorUpdate(MODELS[1], display_name="Basalt 70B", organization="Quarry Labs", license="Apache-2.0",
                     open_weights=True, links={"paper": "https://example.org/basalt.pdf"}),
    CompetitorUpdate(MODELS[2], display_name="Cirrus Mini", organization="Northwind", license="Proprietary",
                     open_weights=False),
    CompetitorUpdate(MODELS[3], organization="Delta Collective", license="MIT", open_weights=True),
]  # fmt: skip
LIVE_TIMEOUT_MS = 15_000

# The data-model of each row the visitor can see, top to bottom.
VISIBLE_ROWS = "() => [...document.querySelectorAll('table#leaderboard tbody tr')].filter(tr => !tr.hidden)" \
    ".map(tr => tr.dataset.model)"  # fmt: skip


def seed_arena(client, n_style: int = 4000, n_plain: int = 1500) -> None:
    """Board ``text``: 12 models; style votes (a third tagged ``coding``) and plain votes (with voter ids, so
    the board gives CIs clustered by voter); metadata for four competitors; a manual snapshot ``week-1``."""
    a, b, outcome, values, _ = style_votes(n_style, len(MODELS), seed=7, length_effect=1.0, tie_rate=0.05)
    coding = np.arange(n_style) % 3 == 0
    client.submit(
        VoteBatch(
            board=BOARD,
            vote_id=[f"s{i}" for i in range(n_style)],
            names=MODELS,
            model_a=a.astype(np.int64),
            model_b=b.astype(np.int64),
            outcome=outcome.astype(np.int64),
            timestamp=np.full(n_style, np.nan),
            tag_count=coding.astype(np.int64),
            tags=["coding"] * int(coding.sum()),
            style_names=STYLE_FEATURES,
            style=values,
        )
    )
    rng = np.random.default_rng(8)
    strength = np.linspace(1.0, -1.0, len(MODELS))
    pa = rng.integers(0, len(MODELS), n_plain)
    pb = (pa + rng.integers(1, len(MODELS), n_plain)) % len(MODELS)
    wins = rng.random(n_plain) < 1.0 / (1.0 + np.exp(strength[pb] - strength[pa]))
    plain = make_batch([MODELS[i] for i in pa], [MODELS[i] for i in pb], np.where(wins, 1, 2).tolist(),
                       vote_ids=[f"p{i}" for i in range(n_plain)], board=BOARD)  # fmt: skip
    plain.voter_id = [f"voter-{i % VOTERS:02d}" for i in range(n_plain)]
    client.submit(plain)
    client.upsert_competitors(COMPETITORS)
    client.create_snapshot(BOARD, SNAPSHOT)


def launch_chromium(playwright):
    """Debian's Chromium (Playwright must not download one); absent, the test fails: CI installs it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (the page's browser test needs it)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """A server with the seeded board (the default kernel warm-up: the page's views fit BT)."""
    from server.client.ratings_client import RatingsClient
    from server.http.options import HttpOptions
    from server.rpc import app
    from server.service.core import ServiceConfig

    running = app.start(tmp_path_factory.mktemp("data"), "127.0.0.1", 0, ServiceConfig(),
                        http=HttpOptions(port=0, site_title="Arena <test>"))  # fmt: skip
    try:
        with RatingsClient(f"127.0.0.1:{running.port}") as client:
            seed_arena(client)
        yield running
    finally:
        running.stop(grace=1.0)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urllib.parse.urlsplit(request.url).hostname or ""))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert set(hosts) <= {"127.0.0.1"}, f"the page asked other hosts: {sorted(set(hosts))}"
    assert not errors, f"the page's script failed: {errors}"


def api(server, path: str, **params) -> dict:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    url = f"http://127.0.0.1:{server.http_port}{path}" + (f"?{query}" if query else "")
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def models_of(feed: dict) -> list[str]:
    return [row["model"] for row in feed["rows"]]


def wait_for_rows(page, expected: list[str], timeout: float = 10_000) -> None:
    page.wait_for_function(f"expected => JSON.stringify(({VISIBLE_ROWS})()) === JSON.stringify(expected)",
                           arg=expected, timeout=timeout)  # fmt: skip


def test_the_page_shows_the_api_views_and_follows_new_votes(arena, page, tmp_path):
    from server.client.ratings_client import RatingsClient

    started = time.monotonic()
    leaderboard = f"/v1/boards/{BOARD}/leaderboard"
    overall = api(arena, leaderboard)
    assert len(overall["rows"]) == len(MODELS)

    page.goto(f"http://127.0.0.1:{arena.http_port}/")
    assert page.title() == "Arena <test>"
    wait_for_rows(page, models_of(overall))
    assert page.locator("#board-tabs [role=tab][aria-selected=true]").inner_text() == BOARD
    assert page.locator("#leaderboard th[aria-sort=ascending]").get_attribute("data-key") == "rank"
    assert page.locator("#leaderboard caption").inner_text().startswith(BOARD)
    assert f"{overall['total_votes']:,} votes" in page.locator("#last-updated").inner_text()
    page.wait_for_selector("#live[data-state=on]")

    # metadata: the display name, linked from links.website or the first link; the first row's figures
    aurora = page.locator(f'tbody tr[data-model="{MODELS[0]}"] td.model a')
    assert aurora.inner_text() == "Aurora Large" and aurora.get_attribute("href") == "https://example.org/aurora"
    basalt = page.locator(f'tbody tr[data-model="{MODELS[1]}"]')
    assert basalt.locator("td.model a").get_attribute("href") == "https://example.org/basalt.pdf"
    assert basalt.locator("td.organization").inner_text() == "Quarry Labs"
    assert basalt.locator("td.open-weights").inner_text() == "✓"
    assert page.locator(f'tbody tr[data-model="{MODELS[4]}"] td.model a').count() == 0
    top = overall["rows"][0]
    first = page.locator("tbody tr").first
    assert first.locator("td.rating").inner_text() == f"{top['rating']:.0f}"
    up, down = top["rating_upper"] - top["rating"], top["rating"] - top["rating_lower"]
    assert first.locator("td.ci").inner_text() == f"+{up:.0f}/−{down:.0f}"

    # the CI chart has every row, in rank order; the heatmap the top 10
    assert page.locator("#ci-chart circle.ci-dot").count() == len(MODELS)
    chart_order = page.eval_on_selector_all("#ci-chart g.ci-row", "gs => gs.map(g => g.dataset.model)")
    assert chart_order == models_of(overall)
    page.wait_for_selector("#heatmap g.cell")
    assert page.locator("#heatmap g.cell").count() == 100
    matrix = api(arena, f"/v1/boards/{BOARD}/matrix", top_k=10)
    cell = page.locator(f'#heatmap g.cell[data-row="{matrix["models"][0]}"][data-col="{matrix["models"][1]}"]')
    assert cell.locator("text").text_content() == f"{matrix['predicted_win_probability'][1]:.2f}"

    # sorting by votes (numeric, descending first), then back to rank
    page.click('#leaderboard th[data-key="votes"] button')
    by_votes = sorted(overall["rows"], key=lambda r: (-r["votes"], r["rank"]))
    wait_for_rows(page, [r["model"] for r in by_votes])
    assert page.locator('#leaderboard th[data-key="votes"]').get_attribute("aria-sort") == "descending"
    page.click('#leaderboard th[data-key="rank"] button')
    wait_for_rows(page, models_of(overall))

    # a category
    coding = api(arena, leaderboard, category="coding")
    page.click('.category-tab[data-category="coding"]')
    wait_for_rows(page, models_of(coding))
    assert "category=coding" in page.url
    assert page.locator('.category-tab[data-category="coding"]').get_attribute("aria-selected") == "true"
    assert f"{coding['total_votes']:,} votes" in page.locator("#last-updated").inner_text()
    preliminary = [row["model"] for row in coding["rows"] if row["preliminary"]]
    assert preliminary  # a third of the votes: below the board's threshold for some models
    badged = page.eval_on_selector_all("tbody tr:has(.preliminary-badge)", "trs => trs.map(tr => tr.dataset.model)")
    assert badged == preliminary
    assert "votes" in page.locator(".preliminary-badge").first.get_attribute("title")
    # the coding votes carry no voter ids (the plain, voter-tagged ones are untagged): no clustered CIs offered
    coding_info = next(b for b in api(arena, "/v1/boards")["boards"] if b["name"] == BOARD)["categories"][0]
    assert coding_info["name"] == "coding" and coding_info["clusters"] == []
    assert page.locator("#cluster-control").is_hidden()

    # the search box (display name and organization, any case)
    page.fill("#search", "NORTHWIND")
    wait_for_rows(page, [m for m in models_of(coding) if m in (MODELS[0], MODELS[2])])
    page.fill("#search", "model-1")
    wait_for_rows(page, [m for m in models_of(coding) if m.startswith("model-1")])
    page.fill("#search", "")
    wait_for_rows(page, models_of(coding))

    # style control, on the whole board
    page.click('.category-tab[data-category=""]')
    wait_for_rows(page, models_of(overall))
    assert page.locator("#style-toggle").is_visible()
    styled = api(arena, leaderboard, style_control="true")
    assert models_of(styled) != models_of(overall)  # length matters in these votes: the check means something
    page.check("#style-toggle")
    wait_for_rows(page, models_of(styled))
    assert "style=1" in page.url
    assert "style control on" in page.locator("#leaderboard caption").inner_text()

    # against the snapshot: every delta 0 until new votes arrive
    page.select_option("#compare", SNAPSHOT)
    page.wait_for_function("() => document.querySelector('#leaderboard caption').textContent.includes('week-1')")
    assert set(page.locator("tbody td.rank-delta").all_inner_texts()) == {"="}
    view = {"style_control": "true", "compare_to": SNAPSHOT}
    assert models_of(api(arena, leaderboard, **view)) == models_of(styled)
    page.wait_for_selector("#live[data-state=on]")

    # live: the last model wins every vote it is given and climbs; the open stream brings the new order
    last = styled["rows"][-1]["model"]
    others = [m for m in MODELS if m != last]
    n = 600
    style = np.tile(np.full(2 * len(STYLE_FEATURES), 300.0), (n, 1))
    batch = VoteBatch(
        board=BOARD, vote_id=[f"live{i}" for i in range(n)], names=[last, *others],
        model_a=np.zeros(n, dtype=np.int64), model_b=np.arange(n, dtype=np.int64) % len(others) + 1,
        outcome=np.ones(n, dtype=np.int64), timestamp=np.full(n, np.nan), style_names=STYLE_FEATURES, style=style,
    )  # fmt: skip
    with RatingsClient(f"127.0.0.1:{arena.port}") as client:
        ack = client.submit(batch)
    after = api(arena, leaderboard, min_seq=ack.last_seq, **view)
    assert models_of(after).index(last) < len(MODELS) - 1
    wait_for_rows(page, models_of(after), timeout=LIVE_TIMEOUT_MS)
    climbed = page.locator(f'tbody tr[data-model="{last}"] td.rank-delta').inner_text()
    row = next(r for r in after["rows"] if r["model"] == last)
    assert climbed == f"▲{row['rank_delta']}"
    assert f"{after['total_votes']:,} votes" in page.locator("#last-updated").inner_text()
    assert page.locator("#ci-chart circle.ci-dot").count() == len(MODELS)

    # the linked view opens as it was left
    linked = page.url
    page.goto("about:blank")
    page.goto(linked)
    wait_for_rows(page, models_of(after))
    assert page.locator("#style-toggle").is_checked() and page.input_value("#compare") == SNAPSHOT

    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
    if os.environ.get("ARENA_PAGE_SCREENSHOT"):
        shutil.copy(tmp_path / "leaderboard.png", os.environ["ARENA_PAGE_SCREENSHOT"])
    assert time.monotonic() - started < 45


def ci_texts(feed: dict) -> list[str]:
    return [f"+{r['rating_upper'] - r['rating']:.0f}/−{r['rating'] - r['rating_lower']:.0f}" for r in feed["rows"]]


def shown_ci_texts(page) -> list[str]:
    return page.eval_on_selector_all("tbody tr:not([hidden]) td.ci", "tds => tds.map(td => td.textContent)")


def test_tie_models_clustered_cis_and_the_audit(arena, page):
    """The tie-model and CI-resampling selects (each resets what the API cannot combine with it), the fitted
    tie parameter, and the operators' audit, fetched only on request: all as the JSON API gives them."""
    leaderboard = f"/v1/boards/{BOARD}/leaderboard"
    assert "voter" in next(b for b in api(arena, "/v1/boards")["boards"] if b["name"] == BOARD)["clusters"]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    caption = page.locator("#leaderboard caption")

    page.goto(f"http://127.0.0.1:{arena.http_port}/#board={BOARD}&compare=none&style=1")
    page.wait_for_function("() => document.querySelector('#leaderboard caption').textContent.includes('style')")
    assert page.locator("#cluster-control").is_visible() and page.locator("#tie-model-note").is_hidden()
    assert page.input_value("#ties") == "half" and page.input_value("#cluster") == "none"

    # Davidson: style control goes off; the tie parameter with its interval and the AIC under the table
    davidson = api(arena, leaderboard, ties="davidson")
    assert davidson["tie_model"] == "davidson" and davidson["tie_parameter"] > 0
    page.select_option("#ties", "davidson")
    note = page.locator("#tie-model-note")
    note.wait_for(state="visible")
    wait_for_rows(page, models_of(davidson))
    text = note.inner_text()
    for value in ("tie_parameter", "tie_parameter_lower", "tie_parameter_upper"):
        assert f"{davidson[value]:.3f}" in text
    assert f"AIC {davidson['aic']:.1f}" in text
    assert "Davidson ties" in caption.inner_text() and "style control" not in caption.inner_text()
    assert not page.locator("#style-toggle").is_checked()
    assert "ties=davidson" in page.url and "style=1" not in page.url
    page.wait_for_selector("#heatmap g.cell")
    page.wait_for_selector("#live[data-state=on]")
    assert any("/matrix?" in url and "ties=davidson" in url for url in requests)
    assert any("/leaderboard/events?" in url and "ties=davidson" in url for url in requests)

    # by voter: the tie model goes back to half; the CIs resample whole voters
    by_voter = api(arena, leaderboard, cluster="voter")
    assert by_voter["cluster"] == "voter" and ci_texts(by_voter) != ci_texts(api(arena, leaderboard))
    page.select_option("#cluster", "voter")
    page.wait_for_function("() => document.querySelector('#leaderboard caption').textContent"
                           ".includes('CIs resample whole voters')")  # fmt: skip
    wait_for_rows(page, models_of(by_voter))
    assert shown_ci_texts(page) == ci_texts(by_voter)
    assert page.input_value("#ties") == "half" and note.is_hidden()
    assert "cluster=voter" in page.url and "ties=" not in page.url
    # ... and style control resets the cluster
    page.check("#style-toggle")
    page.wait_for_function("() => document.querySelector('#leaderboard caption').textContent.includes('style')")
    assert page.input_value("#cluster") == "none" and "cluster=" not in page.url

    # the audit: only on request
    assert not any("/audit" in url for url in requests)
    audit = api(arena, f"/v1/boards/{BOARD}/audit")
    page.click("#run-audit")
    page.locator("#audit .audit-position").wait_for()
    bias = audit["position_bias"]
    assert page.locator("#audit .audit-rate").inner_text() == f"{bias['win_rate_a'] * 100:.1f}%"
    position = page.locator("#audit .audit-position").inner_text()
    assert f"{bias['lower'] * 100:.1f}%" in position and f"{bias['upper'] * 100:.1f}%" in position
    assert ("flagged" in position) == bias["flagged"]
    cycles = audit["intransitivity"]["cycles"]
    assert page.locator("#audit .audit-cycle-count").inner_text() == str(cycles)
    assert page.locator("#audit .audit-triads li").count() == min(5, len(audit["intransitivity"]["top"]))
    voters = page.locator("#audit .audit-voters").inner_text()
    assert voters.startswith(f"Flagged voters: {audit['voters']['flagged']} of {audit['voters']['voters']}")
    for flagged in audit["voters"]["flagged_voters"][:5]:
        assert flagged["voter_id"] in voters
    top_tie = max(audit["ties"], key=lambda t: t["tie_rate"])
    assert f"{top_tie['tie_rate'] * 100:.1f}%" in page.locator("#audit .audit-ties").inner_text()


def test_an_error_answer_is_shown(arena, page):
    def refuse(route):
        body = {"error": {"code": "UNAVAILABLE", "message": "the board is being restored"}}
        route.fulfill(status=503, content_type="application/json", body=json.dumps(body))

    page.route(re.compile(r"/v1/boards/[^/]+/leaderboard(/events)?(\?|$)"), refuse)  # the stream too
    page.goto(f"http://127.0.0.1:{arena.http_port}/#board={BOARD}")
    message = page.locator("#message")
    message.wait_for(state="visible")
    assert message.inner_text() == "UNAVAILABLE: the board is being restored"
    assert page.locator("tbody tr").count() == 0


def test_a_server_without_votes(tmp_path, browser):
    from server.http.options import HttpOptions
    from server.rpc import app
    from server.service.core import ServiceConfig

    running = app.start(tmp_path / "data", "127.0.0.1", 0, ServiceConfig(), http=HttpOptions(port=0),
                        warm_up=lambda service: None)  # fmt: skip  # nothing is fitted
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{running.http_port}/")
        page.locator("#message").wait_for(state="visible")
        assert "No boards yet" in page.locator("#message").inner_text()
        assert page.locator("tbody tr").count() == 0
        page.close()
    finally:
        running.stop(grace=1.0)


def test_deltas_default_to_the_newest_scheduled_snapshot(tmp_path, browser):
    """Scheduled snapshots (here every second) are what the Δ columns compare with unless the visitor picks
    another; a manual snapshot taken later is offered but not chosen. (... so the schedule has new votes.)"""
    from server.client.ratings_client import RatingsClient
    from server.http.options import HttpOptions
    from server.rpc import app
    from server.service.core import ServiceConfig

    running = app.start(tmp_path / "data", "127.0.0.1", 0, ServiceConfig(snapshot_every_seconds=1.0),
                        http=HttpOptions(port=0))  # fmt: skip
    try:
        with RatingsClient(f"127.0.0.1:{running.port}") as client:
            seed_arena(client, n_style=300, n_plain=300)  # ends with a manual snapshot of every vote: ...
            client.submit(make_batch(MODELS[:2], MODELS[1:3], [1, 2], vote_ids=["x0", "x1"], board=BOARD))
            deadline = time.monotonic() + 30
            while not [s for s in client.snapshots(BOARD) if s.scheduled] and time.monotonic() < deadline:
                time.sleep(0.2)
            client.create_snapshot(BOARD, "manual-1")
            listed = api(running, f"/v1/boards/{BOARD}/snapshots")["snapshots"]
        newest_scheduled = [s["name"] for s in listed if s["scheduled"]][-1]
        assert listed[-1]["name"] == "manual-1"
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{running.http_port}/#board={BOARD}")
        page.wait_for_function("() => document.querySelectorAll('tbody tr').length > 0")
        assert page.locator("#compare").input_value() == newest_scheduled
        assert "manual-1" in page.locator("#compare").inner_text()
        page.close()
    finally:
        running.stop(grace=1.0)
