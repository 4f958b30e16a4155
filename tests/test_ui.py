"""The Dagster UI of the demo, driven in headless Chromium: what a user sees after ``revops demo``.

Proves that the webserver serves the project's definitions (every asset group appears in the
global lineage), that a materialization launched from the UI is picked up by the daemon and ends
in Success on the Runs page, and that the asset page then shows the run's metadata. It also
writes the screenshots the README uses: docs/img/lineage.png (every group in the global lineage),
docs/img/run_success.png (the Runs page) and docs/img/asset_directives.png (the materialized asset).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from dagster_server import PROJECT_DIR, DagsterServer, running_dagster

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(900)]

# The README's screenshots are refreshed only on request (REVOPS_UPDATE_SCREENSHOTS=1), so an
# ordinary test run leaves the work tree clean; otherwise they go to a temp dir and are still checked.
IMG_DIR = PROJECT_DIR / "docs" / "img" if os.environ.get("REVOPS_UPDATE_SCREENSHOTS") == "1" else Path(
    tempfile.mkdtemp(prefix="revops-ui-"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}
MAX_PNG_BYTES = 400_000
UI_TIMEOUT_MS = 60_000  # first render compiles the asset graph; slow on a loaded 2-core box
RUN_TIMEOUT_MS = 240_000  # queue pickup by the daemon + a run process + a step process


@pytest.fixture
def dagster(require_chromium, demo_home: Path, tmp_path: Path):
    with running_dagster(demo_home, tmp_path) as server:
        yield server


@pytest.fixture
def page(dagster: DagsterServer, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, base_url=dagster.url)
        context.add_init_script("window.localStorage.setItem('communityNux', '1')")  # no first-visit modal
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        try:
            yield page
        finally:
            page.screenshot(path=str(tmp_path / "last_page.png"))  # left for diagnosis; tmp_path is kept by pytest
            browser.close()


def project_groups(home: Path) -> set[str]:
    """The asset groups as the project defines them (not a hard-coded list)."""
    from revops_assets.assets import all_assets
    from revops_assets.settings import load_settings

    settings = load_settings({"REVOPS_HOME": str(home), "REVOPS_ENV": "demo"})
    return {spec.group_name for asset in all_assets(settings) for spec in asset.specs}


def save_screenshot(page, name: str) -> Path:
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    path = IMG_DIR / name
    page.screenshot(path=str(path))
    assert path.stat().st_size < MAX_PNG_BYTES, f"{path} is {path.stat().st_size} bytes (limit {MAX_PNG_BYTES})"
    return path


def nav_link(page, label: str):
    """A link of the main navigation by its label (its accessible name also carries the icon's)."""
    return page.locator("a").filter(has_text=re.compile(rf"^\s*{label}\s*$")).first


def test_lineage_shows_every_group_and_ui_materialization_succeeds(dagster: DagsterServer, page, demo_home: Path):
    from playwright.sync_api import expect

    groups = project_groups(demo_home)
    assert {"directives", "operator", "piper", "scout", "coach", "queen", "analytics"} <= groups, groups
    served = dagster.graphql("{ assetNodes { groupName } }")["assetNodes"]
    assert {n["groupName"] for n in served} == groups, "the webserver serves other groups than the project defines"

    # Lineage: from the home page through the navigation to the global asset graph.
    page.goto("/")
    nav_link(page, "Lineage").click()
    expect(page).to_have_url(re.compile(r"/asset-groups"))
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    graph = page.locator("svg foreignObject")
    for group in sorted(groups):
        # Each group is a node of the graph itself (the sidebar tree alone would not prove the graph rendered).
        expect(graph.locator(f'[data-tooltip="{group}"]'), f"group {group!r} missing from the lineage graph") \
            .to_be_visible()
    page.mouse.move(1100, 860)  # park the pointer on empty canvas: no hover highlight in the picture
    save_screenshot(page, "lineage.png")

    # Materialize the unpartitioned `directives` asset from its page.
    page.goto("/assets/directives")
    expect(page.get_by_text("Never materialized").first, "directives should start unmaterialized").to_be_visible()
    page.locator("button").filter(has_text=re.compile(r"^\s*Materialize\s*$")).click()
    toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}"))
    expect(toast, "no 'Launched run' toast after clicking Materialize").to_be_visible()
    run_prefix = re.search(r"Launched run ([0-9a-f]{8})", toast.inner_text()).group(1)
    launched = time.monotonic()

    # The Runs page shows that run, targeting `directives`, ending in Success (the page polls by itself).
    nav_link(page, "Runs").click()
    expect(page).to_have_url(re.compile(r"/runs"))
    # A row of the (virtualized, div-based) runs table: the one linking to our run.
    row = page.locator("div[data-key]").filter(has=page.locator(f'a[href^="/runs/{run_prefix}"]'))
    expect(row, f"run {run_prefix} not listed on the Runs page").to_be_visible()
    expect(row).to_contain_text("directives")
    final = row.get_by_text(re.compile(r"^(Success|Failure|Canceled)$"))  # wait for any end state, fail fast
    try:
        expect(final).to_be_visible(timeout=RUN_TIMEOUT_MS)
    except AssertionError as exc:
        raise AssertionError(f"run {run_prefix} did not finish: {row.inner_text()!r}\n{dagster.log_tail()}") from exc
    assert final.inner_text() == "Success", f"run {run_prefix} ended {final.inner_text()}\n{dagster.log_tail()}"
    print(f"run {run_prefix}: Success on the Runs page {time.monotonic() - launched:.0f}s after launch")
    save_screenshot(page, "run_success.png")

    # The server agrees, and the asset page now shows the materialization's own metadata.
    runs = dagster.graphql("{ runsOrError { ... on Runs { results { runId status assetSelection { path } } } } }")
    ours = [r for r in runs["runsOrError"]["results"] if r["runId"].startswith(run_prefix)]
    assert len(ours) == 1 and ours[0]["status"] == "SUCCESS", ours
    assert ours[0]["assetSelection"] == [{"path": ["directives"]}], ours
    page.goto("/assets/directives")
    expect(page.get_by_text("directive_version")).to_be_visible()
    expect(page.get_by_text("Never materialized")).to_have_count(0)
    save_screenshot(page, "asset_directives.png")
