"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server, audited by axe-core.

One browser and one browser context for all of them (the DSFR's assets are fetched once); cookies and storage are
cleared before each test, so no session crosses from one test to the next. Screenshots go to test-artifacts/browser/.
"""

import os
import re
from pathlib import Path

import pytest

from tests.browser.helpers import (
    ARTIFACTS_DIR,
    AXE_PATH,
    DESKTOP,
    MOBILE,
    format_violations,
    horizontal_overflow,
    reading_order_problems,
    run_axe,
)

# Playwright's sync API runs an event loop in this thread: Django's ORM would refuse to run here otherwise.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so that a failed test leaves a screenshot behind."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_PATH.exists():
        pytest.skip(f"axe-core absent ({AXE_PATH}) : lancez « npm ci --prefix tests/browser ».")
    return AXE_PATH.read_text(encoding="utf-8")


# Package scope: Playwright (its event loop and greenlets) stops as soon as the browser tests are done. Kept
# for the whole session, it left a database connection of a later test open, and PostgreSQL then refused to
# drop the test database.
@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM_PATH.exists():
        pytest.skip(f"Chromium absent ({CHROMIUM_PATH}) : installez le paquet Debian « chromium ».")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def browser_context(browser, django_db_setup, live_server):
    """One context for all the browser tests, so that the DSFR's styles, scripts and fonts are fetched once.

    Asking for the test database before the live server makes the server stop, and close its connections,
    before the database is dropped."""
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(5_000)
    yield context
    context.close()


@pytest.fixture
def new_page(request, browser_context, axe_source):
    """``new_page(MOBILE)``: a page whose relative URLs go to the live server. Cookies and storage are cleared
    before each test, so no session crosses from one test to the next."""
    browser_context.clear_cookies()
    pages = []

    def make(viewport=DESKTOP):
        page = browser_context.new_page()
        page.set_viewport_size(viewport)
        # Console errors include whatever the Content-Security-Policy refused to load or run.
        page.console_errors = []
        page.on("console", lambda message: _record_console_error(page, message))
        page.on("pageerror", lambda error: page.console_errors.append(f"exception : {error}"))
        pages.append(page)
        return page

    yield make
    report = getattr(request.node, "report_call", None)
    for number, page in enumerate(pages):
        if report is not None and report.failed:
            ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "-", request.node.name)
            page.screenshot(path=ARTIFACTS_DIR / f"echec-{name}-{number}.png", full_page=True)
        if page.url.startswith("http"):
            page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
        page.close()


@pytest.fixture
def page(new_page):
    return new_page()


def _record_console_error(page, message) -> None:
    if message.type != "error":
        return
    # The document of a 403 or 404 page is itself reported as a resource that failed to load.
    if message.text.startswith("Failed to load resource") and message.location.get("url") == page.url:
        return
    page.console_errors.append(f"{message.text} ({message.location.get('url')})")


@pytest.fixture
def audit(axe_source):
    """``audit(page, "name")``: screenshot the page into test-artifacts/browser/, then check that the console
    is clean, that the DSFR's styles apply, that cards read in order, that nothing scrolls sideways on a
    narrow screen, and that axe-core finds no violation."""

    def check(page, name: str, *, full_page: bool = True) -> None:
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS_DIR / f"{name}.png", full_page=full_page)
        assert not page.console_errors, f"Erreurs dans la console sur {page.url} :\n" + "\n".join(page.console_errors)
        if page.locator(".fr-header").count():
            font = page.evaluate("getComputedStyle(document.body).fontFamily")
            assert "Marianne" in font, f"Styles du DSFR absents sur {page.url} (police : {font})"
        problems = reading_order_problems(page)
        assert not problems, f"Ordre de lecture différent de l’ordre affiché sur {page.url} :\n" + "\n".join(problems)
        if page.viewport_size["width"] <= MOBILE["width"]:
            overflow = horizontal_overflow(page)
            assert overflow <= 0, f"{page.url} défile horizontalement de {overflow} px à {MOBILE['width']} px de large"
        violations = run_axe(page, axe_source)
        assert not violations, f"axe-core sur {page.url} :\n{format_violations(violations)}"

    return check
