"""The catalogue of services in a browser: search, filter by category, open a service, read more, move through the
screenshots by keyboard — on a desktop and at 375 px, audited by axe-core; then the same page without JavaScript."""

import re

import pytest

from catalogue.demo import demo_services_create
from tests.browser.helpers import ARTIFACTS_DIR, DESKTOP, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def catalogue(transactional_db, _media):
    return demo_services_create()


def _check(page, audit, name: str) -> None:
    # Load the lazily loaded logos now (the full-page screenshot shows them), then check that every image loaded.
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })")
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    broken = page.evaluate("() => [...document.images].filter(img => !img.naturalWidth).map(img => img.src)")
    assert not broken, f"Images non chargées : {broken}"
    audit(page, name)
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


def _status(page) -> str:
    return page.locator("[data-carousel-status]").inner_text().strip()


def _visible_slides(page) -> list[str]:
    return [
        slide.get_attribute("aria-label") for slide in page.locator("[data-carousel-slide]").all() if slide.is_visible()
    ]


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_catalogue_journey(new_page, citizen, catalogue, audit, viewport, suffix):
    page = new_page(viewport)
    sign_in(page, citizen.user.email)
    page.goto("/catalogue/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Le catalogue de services"
    assert "Des services référencés par l’État" in page.get_by_role("main").inner_text()
    assert page.locator(".cat-card").count() == 12  # first page of 14
    _check(page, audit, f"catalogue-liste-{suffix}")
    page.get_by_role("link", name="Page suivante").click()
    assert page.locator(".cat-card").count() == 2
    _check(page, audit, f"catalogue-liste-page2-{suffix}")

    # Search, accents and plural omitted.
    page.goto("/catalogue/")
    page.get_by_label(re.compile(r"^Rechercher un service")).fill("depistages")
    with page.expect_navigation():
        page.get_by_role("button", name="Rechercher", exact=True).click()
    heading = page.locator("#results-title")
    assert heading.inner_text().strip() == "1 service trouvé pour « depistages »"
    assert page.locator(".cat-card").count() == 1
    assert page.get_by_role("link", name="VacciRappel").is_visible()
    _check(page, audit, f"catalogue-recherche-{suffix}")

    # The category filter keeps the search; then a category alone.
    page.goto("/catalogue/")
    page.get_by_role("link", name="Suivi pré / post-hospitalier (2)").click()
    assert page.locator(".cat-card").count() == 2
    current = page.locator(".cat-filter [aria-current='true']")
    assert current.inner_text().strip() == "Suivi pré / post-hospitalier (2)"
    _check(page, audit, f"catalogue-categorie-{suffix}")

    # A service's page, reached from the search.
    page.goto("/catalogue/?q=glycemie")
    page.get_by_role("link", name="GlycoSuivi").click()
    page.wait_for_url("**/catalogue/glycosuivi/")
    main = page.get_by_role("main")
    assert "Dispositif médical marqué CE, classe IIb" in main.inner_text()
    assert "Lire vos mesures de santé (poids, tension, glycémie…)" in main.inner_text()
    assert page.get_by_role("link", name="Télécharger dans l’App Store").is_visible()
    assert page.get_by_role("link", name="Télécharger sur Google Play").is_visible()
    assert page.locator("#suggestions-title ~ ul .cat-card").count() == 3

    # « Afficher plus » by keyboard.
    more = page.locator(".cat-more")
    hidden_text = "le bilan trimestriel est déposé dans votre dossier médical"
    assert not page.get_by_text(hidden_text, exact=False).is_visible()
    page.locator(".cat-more > summary").focus()
    page.keyboard.press("Enter")
    assert more.get_attribute("open") is not None
    assert page.get_by_text(hidden_text, exact=False).is_visible()
    assert page.locator(".cat-more > summary").inner_text().strip() == "Afficher moins"

    # The screenshots carousel by keyboard: one at a time, a live status, looping buttons that keep the focus.
    assert _status(page) == "Capture 1 sur 3"
    assert _visible_slides(page) == ["1 sur 3"]
    track = page.locator("[data-carousel-track]")
    assert track.get_attribute("aria-label") == "Captures d’écran de GlycoSuivi"
    assert track.get_attribute("tabindex") is None
    next_button = page.get_by_role("button", name="Capture suivante")
    next_button.focus()
    page.keyboard.press("Enter")
    assert _status(page) == "Capture 2 sur 3"
    assert _visible_slides(page) == ["2 sur 3"]
    page.keyboard.press("Space")
    assert _status(page) == "Capture 3 sur 3"
    page.keyboard.press("Enter")
    assert _status(page) == "Capture 1 sur 3"
    assert page.evaluate("document.activeElement.textContent.trim()") == "Capture suivante"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Capture précédente"
    page.keyboard.press("Enter")
    assert _status(page) == "Capture 3 sur 3"
    page.keyboard.press("ArrowLeft")
    assert _status(page) == "Capture 2 sur 3"
    assert page.locator("[data-carousel-status]").get_attribute("aria-live") == "polite"
    _check(page, audit, f"catalogue-detail-{suffix}")

    # A suggestion opens another service.
    page.locator("#suggestions-title ~ ul .cat-card a").first.click()
    page.wait_for_url(re.compile(r".*/catalogue/[a-z0-9-]+/$"))
    assert page.get_by_role("heading", level=1).inner_text().strip() != "GlycoSuivi"

    # An information site: a button to the website, no store.
    page.goto("/catalogue/sante-reperes/")
    assert page.get_by_role("link", name="Consulter le site").is_visible()
    assert page.get_by_role("link", name=re.compile("App Store|Google Play")).count() == 0
    _check(page, audit, f"catalogue-site-information-{suffix}")

    page.goto("/catalogue/service-inconnu/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Service introuvable"
    _check(page, audit, f"catalogue-introuvable-{suffix}")


def test_without_javascript_the_screenshots_scroll_and_read_more_opens(browser, live_server, citizen, catalogue):
    """axe-core needs JavaScript: the page's structure is the one audited above, only the carousel differs."""
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris", java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.set_viewport_size(PHONE)
        sign_in(page, citizen.user.email)
        page.goto("/catalogue/glycosuivi/")
        assert page.locator("[data-carousel-controls]").is_hidden()
        assert _visible_slides(page) == ["1 sur 3", "2 sur 3", "3 sur 3"]
        track = page.locator("[data-carousel-track]")
        assert track.evaluate("element => element.scrollWidth > element.clientWidth")
        assert track.get_attribute("tabindex") == "0"
        track.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('[data-carousel-track]').scrollLeft > 0")
        page.locator(".cat-more > summary").click()
        assert page.locator(".cat-more").get_attribute("open") is not None
        assert horizontal_overflow(page) <= 0
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS_DIR / "catalogue-detail-sans-js-375.png", full_page=True)
    finally:
        context.close()


def test_the_admin_shows_the_logo_and_screenshots_of_an_entry(page, administrator, catalogue):
    sign_in(page, administrator.email, totp=True)
    page.goto("/admin/catalogue/service/?q=GlycoSuivi")
    page.get_by_role("link", name="GlycoSuivi").click()
    logo = page.get_by_role("img", name="Logo de GlycoSuivi")
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
    assert logo.bounding_box()["height"] == 72
    previews = page.locator(".field-preview img")
    assert previews.count() == 3
    assert all(preview.evaluate("img => img.naturalWidth > 0") for preview in previews.all())
    assert not page.console_errors, page.console_errors
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS_DIR / "catalogue-admin.png", full_page=True)
