"""The citizen's space pages in a browser: activation end to end, opposition, settings and closure, audited by
axe-core on a desktop screen and at 320 px."""

import re

import pytest

from tests.browser.helpers import DESKTOP, MOBILE, sign_in
from tests.comptes.space_helpers import CODE, WRONG_CODE, notified_citizen
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Une-phrase-de-passe-solide-2026"


def _fill_identity(page, citizen, code):
    page.get_by_label(re.compile(r"^Matricule INS")).fill(citizen.ins)
    page.get_by_label(re.compile(r"^Code de votre courrier")).fill(code)


def test_activation_end_to_end(new_page, live_server, audit):
    citizen = notified_citizen()
    page = new_page(DESKTOP)
    page.goto("/")
    page.get_by_role("main").get_by_role("link", name="Activer mon espace").click()
    page.wait_for_url("**/activer/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Activer mon espace"
    audit(page, "activer-etape1-bureau")

    _fill_identity(page, citizen, WRONG_CODE)
    with page.expect_navigation():
        page.get_by_role("button", name="Continuer").click()
    assert "ne correspondent pas à un courrier en cours de validité" in page.get_by_role("alert").inner_text()
    audit(page, "activer-erreur-bureau")

    _fill_identity(page, citizen, CODE.lower())
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url("**/activer/identifiants/")
    assert page.get_by_label(re.compile(r"^Adresse électronique")).input_value() == "camille.durand@exemple.fr"
    audit(page, "activer-etape2-bureau")

    page.get_by_label(re.compile(r"^Mot de passe")).fill("court")
    page.get_by_label(re.compile(r"^Confirmation du mot de passe")).fill("court")
    with page.expect_navigation():
        page.get_by_role("main").get_by_role("button", name="Activer mon espace").click()
    password = page.get_by_label(re.compile(r"^Mot de passe"))
    assert password.get_attribute("aria-invalid") == "true"
    audit(page, "activer-etape2-erreur-bureau")

    page.get_by_label(re.compile(r"^Mot de passe")).fill(NEW_PASSWORD)
    page.get_by_label(re.compile(r"^Confirmation du mot de passe")).fill(NEW_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Activer mon espace").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Bonjour Camille"
    assert "Votre espace est activé" in page.get_by_role("main").inner_text()
    audit(page, "activer-termine-bureau")

    citizen.refresh_from_db()
    assert citizen.status == "activated" and citizen.user.email == "camille.durand@exemple.fr"


def test_activation_pages_at_320_px(new_page, audit):
    citizen = notified_citizen()
    page = new_page(MOBILE)
    page.goto("/activer/")
    audit(page, "activer-etape1-320")
    _fill_identity(page, citizen, CODE)
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url("**/activer/identifiants/")
    audit(page, "activer-etape2-320")


@pytest.mark.parametrize("viewport", ["bureau", "320"])
def test_opposition_page_and_confirmation(new_page, audit, viewport):
    citizen = notified_citizen()
    page = new_page(DESKTOP if viewport == "bureau" else MOBILE)
    page.goto("/compte/login/")
    page.get_by_role("main").get_by_role("link", name="M’opposer à la création de mon espace").click()
    page.wait_for_url("**/opposition/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "M’opposer à la création de mon espace"
    audit(page, f"opposition-{viewport}")

    with page.expect_navigation():
        page.get_by_role("button", name="Confirmer mon opposition").click()
    assert page.locator(".fr-alert--error").count() == 1
    audit(page, f"opposition-erreur-{viewport}")

    _fill_identity(page, citizen, CODE)
    page.get_by_role("button", name="Confirmer mon opposition").click()
    page.wait_for_url("**/opposition/confirmee/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Opposition enregistrée"
    audit(page, f"opposition-confirmee-{viewport}")


@pytest.mark.parametrize("viewport", ["bureau", "320"])
def test_settings_and_closure(new_page, citizen, audit, viewport):
    page = new_page(DESKTOP if viewport == "bureau" else MOBILE)
    sign_in(page, citizen.user.email)
    page.goto("/parametres/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Paramètres"
    audit(page, f"parametres-{viewport}")
    page.get_by_role("link", name="Fermer mon espace").click()
    page.wait_for_url("**/parametres/fermer-mon-espace/")
    audit(page, f"fermer-mon-espace-{viewport}")

    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Fermer définitivement mon espace").click()
    assert page.get_by_text("Cochez la case pour confirmer").is_visible()
    audit(page, f"fermer-mon-espace-erreur-{viewport}")

    page.get_by_text(re.compile(r"^Je comprends que mon espace sera fermé")).click()
    page.get_by_label(re.compile(r"^Mot de passe")).fill(PASSWORD)
    page.get_by_role("button", name="Fermer définitivement mon espace").click()
    page.wait_for_url("**/espace-ferme/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Espace fermé"
    audit(page, f"espace-ferme-{viewport}")
