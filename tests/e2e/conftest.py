"""Browser fixtures: the app on a real port, a headless Chromium, one page per
test, and helpers for accessibility checks (axe-core) and screenshots."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
IN_CI = os.environ.get("CI") == "true"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _missing(what: str) -> None:
    """Fail in CI, skip elsewhere, when a browser-test prerequisite is absent."""
    if IN_CI:
        pytest.fail(f"CI=true but {what}")
    pytest.skip(what)


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """Serve the test app on a free local port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (the Debian package) for the whole session."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if not AXE.exists():
        _missing(f"{AXE.relative_to(ROOT)} is missing (run npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page for each test.

    bypass_csp lets axe-core be injected despite the app's strict CSP."""
    context = browser.new_context(
        bypass_csp=True, viewport={"width": 1200, "height": 900}, locale="es-PA"
    )
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


_AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
}"""


def check_a11y(page: Any, name: str) -> None:
    """Run axe-core (WCAG 2.0/2.1 A and AA) on the page; fail on any violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(_AXE_RUN, AXE_TAGS)
    if violations:
        lines = [f"axe found {len(violations)} violation(s) on {name} ({page.url}):"]
        for v in violations:
            targets = ", ".join(v["targets"][:3])
            more = len(v["targets"]) - 3
            if more > 0:
                targets += f" (+{more} more)"
            lines.append(f"  - {v['id']} [{v['impact']}] {v['help']}: {targets}")
        pytest.fail("\n".join(lines), pytrace=False)


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
