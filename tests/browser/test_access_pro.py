"""A professional opens a patient's space with an access code, reads a document and adds one, on a desktop and on
a 375 px phone."""

import re
from datetime import date, timedelta

import pytest

from dossier.models import Document
from dossier.models.documents import AuthorKind
from dossier.services.documents import document_add
from mes.acces.models import AccessDelegation, JournalEntry, Scope
from mes.acces.policy import citizen_access
from mes.acces.services.delegations import delegation_create
from mes.comptes.codes import code_display
from mes.comptes.models import Notification
from tests.browser.helpers import horizontal_overflow, sign_in
from tests.dossier.documents_samples import pdf_bytes, upload
from tests.factories import ProfessionalFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"
PATIENT_URL = re.compile(r".*/pro/patients/[0-9a-f-]{36}/$")
DETAIL_URL = re.compile(r".*/pro/patients/[0-9a-f-]{36}/dossier/documents/[0-9a-f-]{36}/$")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def check(page, audit, name: str) -> None:
    audit(page, name)
    if page.viewport_size["width"] <= PHONE["width"]:
        assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement à {PHONE['width']} px"


def wait_for_pdf_viewer(page) -> None:
    for _attempt in range(100):
        urls = [frame.url for frame in page.frames]
        assert not any(url.startswith("chrome-error:") for url in urls), urls
        if any(url.endswith("/contenu/") for url in urls) and any(url.startswith(PDF_VIEWER) for url in urls):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"Visionneuse PDF absente : {urls}")


def test_a_professional_uses_a_code_reads_and_adds_a_document(page, live_server, citizen, audit):
    professional = ProfessionalFactory(practice_place="Cabinet médical des Lilas, Lyon")
    access = citizen_access(citizen.user, citizen)
    document_add(
        access=access,
        upload=upload(pdf_bytes("Bilan sanguin")),
        title="Bilan sanguin de janvier",
        type_code="11502-2",
        act_date=date(2025, 1, 8),
    )
    _delegation, code = delegation_create(
        access=access, scopes=[Scope.DOCUMENTS, Scope.MEASURES], duration=timedelta(hours=4)
    )

    sign_in(page, professional.user.email)
    page.goto("/pro/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Espace professionnel"
    assert page.get_by_text("Aucun espace santé ne vous est ouvert pour le moment.").is_visible()
    check(page, audit, "pro-accueil-bureau")

    # A wrong code is refused, in French, next to the field.
    page.get_by_label(re.compile(r"^Code d’accès")).fill("ZZZZZ-ZZZZZ")
    page.get_by_role("button", name="Ouvrir l’espace santé").click()
    page.wait_for_url("**/pro/code/")
    assert page.get_by_text("Ce code n’est pas valide").is_visible()
    check(page, audit, "pro-code-refuse-bureau")

    # The right one, typed in lower case with its dash.
    page.get_by_label(re.compile(r"^Code d’accès")).fill(code_display(code).lower())
    page.get_by_role("button", name="Ouvrir l’espace santé").click()
    page.wait_for_url(PATIENT_URL)
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Camille DURAND"
    assert page.get_by_text(re.compile(r"^Code d’accès jusqu’au ")).is_visible()
    assert page.get_by_role("link", name="Profil médical").count() == 0
    check(page, audit, "pro-patient-bureau")
    assert AccessDelegation.objects.get().professional == professional.user
    assert Notification.objects.filter(user=citizen.user).count() == 1

    page.get_by_role("link", name="Documents", exact=True).click()
    page.wait_for_url("**/dossier/documents/")
    check(page, audit, "pro-documents-bureau")
    page.get_by_role("link", name="Bilan sanguin de janvier").click()
    page.wait_for_url(DETAIL_URL)
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Bilan sanguin de janvier"
    wait_for_pdf_viewer(page)
    check(page, audit, "pro-document-bureau")
    assert JournalEntry.objects.filter(action="acces.pro.document_consulte", actor=professional.user).count() == 1
    assert JournalEntry.objects.filter(action="acces.pro.document_affiche", actor=professional.user).count() >= 1

    page.get_by_role("link", name="Retour aux documents").click()
    page.wait_for_url("**/dossier/documents/")
    page.get_by_role("link", name="Ajouter un document").click()
    page.wait_for_url("**/dossier/documents/ajouter/")
    check(page, audit, "pro-ajout-bureau")
    page.get_by_label(re.compile(r"^Fichier")).set_input_files(
        {"name": "compte-rendu.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes("Consultation")}
    )
    page.get_by_label(re.compile(r"^Titre du document")).fill("Compte rendu de consultation du 3 février")
    page.get_by_label(re.compile(r"^Type de document")).select_option(label="Compte rendu de consultation")
    page.get_by_label(re.compile(r"^Date de l’acte")).fill("2025-02-03")
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter le document").click()
    page.wait_for_url(DETAIL_URL)
    assert page.get_by_text("a été ajouté au dossier de Camille DURAND").is_visible()
    check(page, audit, "pro-document-ajoute-bureau")
    added = Document.objects.get(title="Compte rendu de consultation du 3 février")
    assert added.author_kind == AuthorKind.PROFESSIONAL
    assert added.source_label == "Cabinet médical des Lilas, Lyon"

    # The same pages on a phone.
    page.set_viewport_size(PHONE)
    page.goto("/pro/")
    assert page.locator("#patients").get_by_text("Camille DURAND").is_visible()
    check(page, audit, "pro-accueil-375")
    page.locator("#patients").get_by_role("link", name="Camille DURAND").click()
    page.wait_for_url(PATIENT_URL)
    check(page, audit, "pro-patient-375")
    page.get_by_role("link", name="Documents", exact=True).click()
    page.wait_for_url("**/dossier/documents/")
    check(page, audit, "pro-documents-375")
    page.get_by_role("link", name="Bilan sanguin de janvier").click()
    page.wait_for_url(DETAIL_URL)
    check(page, audit, "pro-document-375")
    page.goto(page.url.split("/dossier/")[0] + "/dossier/documents/ajouter/")
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter le document").click()
    assert page.get_by_text("Choisissez le fichier du document.").is_visible()
    check(page, audit, "pro-ajout-erreurs-375")
    page.goto(page.url.split("/dossier/")[0] + "/dossier/mesures/")
    check(page, audit, "pro-mesures-375")


def test_an_emergency_access_in_the_browser(page, live_server, citizen, audit):
    urgentist = ProfessionalFactory(emergency_role=True, user__first_name="Nadia", user__last_name="Samu")
    sign_in(page, urgentist.user.email)
    page.goto("/pro/")
    page.get_by_role("link", name="Accès en urgence").click()
    page.wait_for_url("**/pro/urgence/")
    check(page, audit, "pro-urgence-bureau")
    page.get_by_label(re.compile(r"^Matricule INS")).fill(citizen.ins)
    page.get_by_label(re.compile(r"^Date de naissance")).fill("1990-01-01")
    page.get_by_label(re.compile(r"^Motif")).fill("Patiente inconsciente, prise en charge SMUR")
    page.get_by_role("button", name="Ouvrir l’espace en urgence").click()
    page.wait_for_url("**/pro/urgence/")
    assert page.get_by_text("Aucun espace santé ne correspond à ce matricule INS").is_visible()
    check(page, audit, "pro-urgence-erreur-bureau")
    page.set_viewport_size(PHONE)
    page.get_by_label(re.compile(r"^Date de naissance")).fill(citizen.birth_date.isoformat())
    page.get_by_role("button", name="Ouvrir l’espace en urgence").click()
    page.wait_for_url(PATIENT_URL)
    assert page.get_by_text(re.compile(r"^Accès en urgence jusqu’au ")).is_visible()
    check(page, audit, "pro-urgence-patient-375")
    assert "SMUR" in Notification.objects.get(user=citizen.user).body
