"""A screenshot of the leaderboard page for the README (docs/leaderboard.png).

    python benchmarks/screenshot_page.py [--out docs/leaderboard.png] [--width 1280] [--hash '#board=text']

Starts a server on loopback with tests/test_page.py's arena (board ``text``: 12 models, a ``coding``
category, style features, competitor metadata, a snapshot), adds votes after the snapshot so the
Δ columns move, opens the page in Debian's headless Chromium (``apt-get install chromium``; Playwright
never downloads a browser here) and saves a full-page screenshot.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from server.client.ratings_client import RatingsClient  # noqa: E402
from server.http.options import HttpOptions  # noqa: E402
from server.rpc import app  # noqa: E402
from server.service.core import ServiceConfig  # noqa: E402
from tests.conftest import make_batch  # noqa: E402
from tests.test_page import BOARD, CHROMIUM, CHROMIUM_ARGS, MODELS, SNAPSHOT, seed_arena  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(ROOT) / "docs" / "leaderboard.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--hash", default=f"#board={BOARD}&compare={SNAPSHOT}")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data:
        running = app.start(data, "127.0.0.1", 0, ServiceConfig(), http=HttpOptions(port=0, site_title="Arena"))
        try:
            with RatingsClient(f"127.0.0.1:{running.port}") as client:
                seed_arena(client)
                # after the snapshot: two models gain, one loses, so the Δ columns show movement
                winners, losers = [MODELS[9], MODELS[6]], [MODELS[1], MODELS[3]]
                n = 240
                ack = client.submit(
                    make_batch([winners[i % 2] for i in range(n)], [losers[i % 2] for i in range(n)], [1] * n,
                               vote_ids=[f"after{i}" for i in range(n)], board=BOARD)
                )  # fmt: skip
                client.leaderboard(BOARD, min_seq=ack.last_seq)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": args.width, "height": 900})
                page.goto(f"http://127.0.0.1:{running.http_port}/{args.hash}")
                page.wait_for_selector("table#leaderboard tbody tr")
                page.wait_for_selector("#heatmap g.cell")
                page.wait_for_selector("#live[data-state=on]")
                time.sleep(0.5)  # the live dot's pulse and fonts settle
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out), full_page=True)
                browser.close()
        finally:
            running.stop(grace=1.0)
    sys.stdout.write(f"{args.out}\n")


if __name__ == "__main__":
    main()
