"""« Mes services connectés » in a browser: the catalogue shows the connected services as « Synchronisé », a service's
page leads to their management, the citizen disconnects one after confirmation — on a desktop screen and at 375 px,
audited by axe-core at every step; then the empty page."""

import re

import pytest

from catalogue.models import exchange_scopes
from mes.acces.models import Pairing
from tests.api.conftest import make_application, pair
from tests.browser.helpers import DESKTOP, horizontal_overflow, sign_in
from tests.catalogue.helpers import make_service

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def connected(transactional_db, citizen):
    """Camille has connected two services of the catalogue; a third one is listed but not connected."""
    pairings = []
    for slug, name, editor, exchanges in (
        ("tensiocarnet", "TensioCarnet", "Cardio Partage", ["mesures-lecture", "mesures-ecriture"]),
        ("rendez-vous-horizon", "Rendez-vous Horizon", "Horizon Médical SAS", ["agenda-ecriture"]),
    ):
        application = make_application(name=name, approved_scopes=exchange_scopes(exchanges))
        habilitation = application.habilitation
        habilitation.editor_name = editor
        habilitation.save(update_fields=["editor_name"])
        make_service(slug=slug, name=name, editor_name=editor, data_exchanges=exchanges, habilitation=habilitation)
        pairings.append(pair(citizen, application))
    make_service(slug="sante-reperes", name="Santé Repères", editor_name="Repères Santé (association)")
    return pairings


def _check(page, audit, name: str) -> None:
    # Load the lazily loaded logos now (the full-page screenshot shows them), then check that every image loaded.
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })")
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    broken = page.evaluate("() => [...document.images].filter(img => !img.naturalWidth).map(img => img.src)")
    assert not broken, f"Images non chargées : {broken}"
    audit(page, name)
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


def _badges(page) -> list[str]:
    cards = page.locator(".cat-card").filter(has=page.locator(".fr-badge", has_text="Synchronisé"))
    return sorted(card.locator(".fr-card__title").inner_text().strip() for card in cards.all())


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_connected_services_journey(new_page, citizen, connected, audit, viewport, suffix):
    tension = connected[0]
    page = new_page(viewport)
    sign_in(page, citizen.user.email)

    # The catalogue marks the two connected services.
    page.goto("/catalogue/")
    assert _badges(page) == ["Rendez-vous Horizon", "TensioCarnet"]
    _check(page, audit, f"services-connectes-catalogue-{suffix}")

    # A connected service's page says since when, and leads to its management.
    page.get_by_role("link", name="TensioCarnet").click()
    main = page.get_by_role("main")
    assert main.locator(".cat-hero .fr-badge", has_text="Synchronisé").count() == 1
    assert "Connecté à votre espace depuis le" in main.inner_text()
    _check(page, audit, f"services-connectes-fiche-{suffix}")
    page.get_by_role("link", name="Gérer ce service dans « Mes services connectés »").click()
    page.wait_for_url(re.compile(r"/acces/services/#service-"))
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Mes services connectés"
    text = page.get_by_role("main").inner_text()
    assert "TensioCarnet" in text and "Rendez-vous Horizon" in text
    assert "Lire vos mesures de santé (poids, tension, glycémie, pas…)" in text
    assert "Jamais" in text
    _check(page, audit, f"services-connectes-liste-{suffix}")

    # Disconnect TensioCarnet, after confirmation.
    page.get_by_role("link", name="Déconnecter TensioCarnet").click()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Déconnecter « TensioCarnet » ?"
    assert "Ce que vous lui retirez" in page.get_by_role("main").inner_text()
    _check(page, audit, f"services-connectes-confirmation-{suffix}")
    with page.expect_navigation():
        page.get_by_role("button", name="Déconnecter ce service").click()
    assert "Le service « TensioCarnet » n’a plus accès à votre espace." in page.get_by_role("status").first.inner_text()
    disconnected = page.locator("#services-deconnectes").locator("xpath=..")
    assert "TensioCarnet" in disconnected.inner_text() and "(par vous)" in disconnected.inner_text()
    connected_now = page.locator("#services-connectes").locator("xpath=..")
    assert "TensioCarnet" not in connected_now.inner_text()
    _check(page, audit, f"services-connectes-apres-{suffix}")
    tension.refresh_from_db()
    assert tension.revoked_at is not None

    page.goto("/catalogue/")
    assert _badges(page) == ["Rendez-vous Horizon"]


def test_the_empty_page_explains_how_to_connect_a_service(new_page, citizen, transactional_db, audit):
    assert not Pairing.objects.exists()
    page = new_page(PHONE)
    sign_in(page, citizen.user.email)
    page.goto("/acces/")
    page.get_by_role("link", name="Mes services connectés").click()
    page.wait_for_url("**/acces/services/")
    assert "Aucun service n’est connecté à votre espace." in page.get_by_role("main").inner_text()
    _check(page, audit, "services-connectes-vide-375")
    page.get_by_role("link", name="Parcourir le catalogue de services").click()
    page.wait_for_url("**/catalogue/")
