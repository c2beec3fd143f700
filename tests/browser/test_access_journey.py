"""Both sides of a temporary access in one journey, each in its own browser session: the citizen gives a code for
the documents only; the professional enters it, reads the documents and is refused the measures; the citizen sees
the use in « Historique des accès » and in the notifications and ends the access; the professional's very next
request is refused. On a desktop screen and at 375 px, audited by axe-core at every step."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from dossier.services.documents import document_add
from mes.acces.models import AccessDelegation, JournalEntry, Scope
from mes.acces.policy import citizen_access
from mes.comptes.codes import code_hash
from mes.comptes.models import Notification
from tests.browser.conftest import _record_console_error as record_console_error
from tests.browser.helpers import DESKTOP, horizontal_overflow, sign_in
from tests.dossier.documents_samples import pdf_bytes, upload
from tests.dossier.measures_support import record
from tests.factories import ProfessionalFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
PATIENT_URL = re.compile(r".*/pro/patients/[0-9a-f-]{36}/$")
NO_ACCESS = "Cet espace santé ne vous est pas accessible"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def professional_page(browser, live_server):
    """``professional_page(viewport)``: a page in a browser context of its own, so that the professional's session
    lives beside the citizen's (the ``new_page`` pages share one context, hence one session cookie). Console errors
    are recorded by the conftest's own recorder, for ``audit``."""
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(5_000)

    def make(viewport):
        page = context.new_page()
        page.set_viewport_size(viewport)
        page.console_errors = []
        page.on("console", lambda message: record_console_error(page, message))
        page.on("pageerror", lambda error: page.console_errors.append(f"exception : {error}"))
        return page

    yield make
    context.close()


def _check(page, audit, name):
    audit(page, name)
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_a_temporary_access_from_the_code_to_its_end(new_page, professional_page, citizen, audit, viewport, suffix):
    access = citizen_access(citizen.user, citizen)
    document_add(
        access=access,
        upload=upload(pdf_bytes("Bilan sanguin")),
        title="Bilan sanguin de janvier",
        type_code="11502-2",
        act_date=date(2025, 1, 8),
    )
    record(access, "poids", "72.5")
    doctor = ProfessionalFactory(
        user__first_name="Sophie", user__last_name="Lefebvre", practice_place="Maison de santé des Pentes, Lyon"
    )

    # The citizen creates a code for the documents only, for one hour, and reads it.
    citizen_page = new_page(viewport)
    sign_in(citizen_page, citizen.user.email)
    citizen_page.goto("/acces/")
    citizen_page.get_by_role("link", name="Créer un code d’accès").click()
    assert citizen_page.get_by_role("heading", level=1).inner_text().strip() == "Donner un accès temporaire"
    citizen_page.locator("label", has_text=re.compile(r"^Documents$")).click()  # the DSFR draws the box in its label
    citizen_page.get_by_label("Pendant combien de temps ?").select_option(label="1 heure")
    _check(citizen_page, audit, f"parcours-code-formulaire-{suffix}")
    with citizen_page.expect_navigation():
        citizen_page.get_by_role("button", name="Créer le code d’accès").click()
    code = citizen_page.locator("#code-acces").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code)
    callout = citizen_page.locator(".fr-callout").inner_text()
    assert "documents" in callout and "mesures" not in callout
    delegation = AccessDelegation.objects.get(citizen=citizen)
    assert delegation.code_hash == code_hash(code)
    assert list(delegation.scopes) == [Scope.DOCUMENTS]
    assert abs(delegation.expires_at - (timezone.now() + timedelta(hours=1))) < timedelta(minutes=1)
    _check(citizen_page, audit, f"parcours-code-cree-{suffix}")

    # The professional, signed in, enters the code and opens the documents.
    pro_page = professional_page(viewport)
    sign_in(pro_page, doctor.user.email)
    pro_page.goto("/pro/code/")
    pro_page.get_by_label(re.compile(r"^Code d’accès")).fill(code)
    _check(pro_page, audit, f"parcours-pro-code-{suffix}")
    pro_page.get_by_role("button", name="Ouvrir l’espace santé").click()
    pro_page.wait_for_url(PATIENT_URL)
    patient_url = pro_page.url
    assert pro_page.get_by_role("heading", level=1).inner_text().strip() == "Camille DURAND"
    assert pro_page.get_by_text(re.compile(r"^Code d’accès jusqu’au ")).is_visible()
    main = pro_page.get_by_role("main")
    assert main.get_by_role("link", name="Documents", exact=True).is_visible()
    assert main.get_by_role("link", name="Mesures de santé").count() == 0
    _check(pro_page, audit, f"parcours-pro-patient-{suffix}")
    main.get_by_role("link", name="Documents", exact=True).click()
    pro_page.wait_for_url("**/dossier/documents/")
    pro_page.get_by_role("link", name="Bilan sanguin de janvier").click()
    pro_page.wait_for_url("**/dossier/documents/*/")
    assert pro_page.get_by_role("heading", level=1).inner_text().strip() == "Bilan sanguin de janvier"
    _check(pro_page, audit, f"parcours-pro-document-{suffix}")

    # The code opens the documents only: the measures answer the « no access » page, and the refusal is journaled.
    response = pro_page.goto(patient_url + "dossier/mesures/")
    assert response.status == 404
    assert pro_page.get_by_role("heading", level=1).inner_text().strip() == NO_ACCESS
    assert "72,5" not in pro_page.get_by_role("main").inner_text()
    assert JournalEntry.objects.filter(action="acces.refuse", actor=doctor.user, citizen=citizen).count() == 1
    _check(pro_page, audit, f"parcours-pro-mesures-refusees-{suffix}")

    # The citizen sees the use in the history and in the notifications (exactly one).
    citizen_page.goto("/historique/")
    history = citizen_page.locator("#historique").inner_text()
    assert "Utilisation d’un code d’accès temporaire" in history
    assert "Dr Sophie Lefebvre (Médecin)" in history
    assert "Périmètre : documents" in history
    _check(citizen_page, audit, f"parcours-historique-{suffix}")
    assert Notification.objects.filter(user=citizen.user).count() == 1
    citizen_page.goto("/notifications/")
    assert "Un professionnel a utilisé votre code d’accès" in citizen_page.get_by_role("main").inner_text()
    _check(citizen_page, audit, f"parcours-notifications-{suffix}")

    # The citizen ends the access at once.
    citizen_page.goto("/acces/")
    current = citizen_page.locator("#acces-temporaires").locator("xpath=..")
    assert "Utilisé par Dr Sophie Lefebvre" in current.inner_text()
    with citizen_page.expect_navigation():
        current.get_by_role("button", name=re.compile(r"^Arrêter cet accès")).click()
    assert "est arrêté" in citizen_page.get_by_role("status").first.inner_text()
    assert "Aucun accès temporaire en cours." in current.inner_text()
    delegation.refresh_from_db()
    assert delegation.ended_at is not None
    _check(citizen_page, audit, f"parcours-acces-arrete-{suffix}")

    # The professional's very next request to the patient's page is refused.
    response = pro_page.goto(patient_url)
    assert response.status == 404
    assert pro_page.get_by_role("heading", level=1).inner_text().strip() == NO_ACCESS
    assert "Bilan sanguin" not in pro_page.get_by_role("main").inner_text()
    assert JournalEntry.objects.filter(action="acces.refuse", actor=doctor.user, citizen=citizen).count() == 2
    _check(pro_page, audit, f"parcours-pro-refuse-{suffix}")
    pro_page.goto("/pro/")
    assert "Aucun espace santé ne vous est ouvert pour le moment." in pro_page.get_by_role("main").inner_text()
