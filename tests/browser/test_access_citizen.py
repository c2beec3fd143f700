"""« Accès à mon espace » in a browser: add a doctor to the care team, create a temporary code and read it, end the
access, refuse emergency access — on a desktop screen and at 375 px, audited by axe-core at every step."""

import re

import pytest

from mes.acces.models import AccessDelegation, CareTeamMember
from mes.comptes.codes import code_hash
from tests.browser.helpers import DESKTOP, horizontal_overflow, sign_in
from tests.factories import ProfessionalFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


def _check(page, audit, name):
    audit(page, name)
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


def _status(page) -> str:
    return page.get_by_role("status").first.inner_text()


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_access_settings_journey(new_page, citizen, audit, viewport, suffix):
    doctor = ProfessionalFactory(
        user__first_name="Sophie", user__last_name="Lefebvre", practice_place="Maison de santé des Pentes, Lyon"
    )
    page = new_page(viewport)
    sign_in(page, citizen.user.email)
    page.goto("/acces/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Accès à mon espace"
    _check(page, audit, f"acces-vide-{suffix}")

    # An unknown RPPS number is refused with a clear message, then the doctor is added as médecin traitant.
    page.get_by_label(re.compile(r"^Numéro RPPS du professionnel")).fill("10000000000")
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter à mon équipe de soins").click()
    assert "Aucun professionnel de santé ne correspond" in page.get_by_role("main").inner_text()
    _check(page, audit, f"acces-equipe-erreur-{suffix}")
    page.get_by_label(re.compile(r"^Numéro RPPS du professionnel")).fill(doctor.rpps)
    page.locator("label", has_text="C’est mon médecin traitant").click()  # the DSFR draws the box in its label
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter à mon équipe de soins").click()
    assert "désormais déclaré comme médecin traitant" in _status(page)
    team = page.locator("#equipe-de-soins").locator("xpath=..")
    assert "Dr Sophie Lefebvre (Médecin)" in team.inner_text()
    assert team.locator(".fr-badge").text_content().strip() == "Médecin traitant"  # drawn in capitals
    assert CareTeamMember.objects.get(citizen=citizen).is_treating_doctor
    _check(page, audit, f"acces-equipe-{suffix}")

    # A temporary code for documents and measures, for 4 hours: shown once, large.
    page.get_by_role("link", name="Créer un code d’accès").click()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Donner un accès temporaire"
    with page.expect_navigation():
        page.get_by_role("button", name="Créer le code d’accès").click()
    assert "Choisissez au moins une partie de votre espace à partager." in page.get_by_role("main").inner_text()
    _check(page, audit, f"acces-code-erreur-{suffix}")
    page.locator("label", has_text=re.compile(r"^Documents$")).click()
    page.locator("label", has_text=re.compile(r"^Mesures de santé$")).click()
    page.get_by_label("Pendant combien de temps ?").select_option(label="4 heures")
    with page.expect_navigation():
        page.get_by_role("button", name="Créer le code d’accès").click()
    code = page.locator("#code-acces").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code)
    assert "documents, mesures de santé" in page.get_by_role("main").inner_text()
    delegation = AccessDelegation.objects.get(citizen=citizen)
    assert delegation.code_hash == code_hash(code)
    _check(page, audit, f"acces-code-{suffix}")

    # The code is never shown again; the access is listed, then ended.
    page.get_by_role("link", name="Voir mes accès temporaires").click()
    assert code not in page.content()
    current = page.locator("#acces-temporaires").locator("xpath=..")
    assert "Code pas encore utilisé" in current.inner_text()
    with page.expect_navigation():
        current.get_by_role("button", name=re.compile(r"^Arrêter cet accès")).click()
    assert "est arrêté" in _status(page)
    assert "Aucun accès temporaire en cours." in page.locator("#acces-temporaires").locator("xpath=..").inner_text()
    delegation.refresh_from_db()
    assert delegation.ended_at is not None
    _check(page, audit, f"acces-code-arrete-{suffix}")

    # Refuse emergency access.
    page.locator("label", has_text="Refuser l’accès en urgence").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer mon choix").click()
    assert "Vous refusez l’accès en urgence" in _status(page)
    assert page.locator("#etat-urgence").text_content().strip() == "Accès en urgence refusé"
    citizen.refresh_from_db()
    assert citizen.emergency_access_refused
    _check(page, audit, f"acces-urgence-refusee-{suffix}")
