"""A professional opens a patient's space with an access code, reads a document and adds one, on a desktop and on
a 375 px phone; every page of the professionals' side, on a desktop, at 375 px and at 320 px, fits the screen and is
axe-clean."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from dossier.models import Document
from dossier.models.documents import AuthorKind
from dossier.services.documents import document_add
from mes.acces.models import AccessDelegation, CareTeamMember, JournalEntry, Scope
from mes.acces.policy import citizen_access
from mes.acces.services.delegations import delegation_create
from mes.comptes.codes import code_display
from mes.comptes.models import Notification
from tests.browser.helpers import DESKTOP, MOBILE, horizontal_overflow, sign_in
from tests.dossier.documents_samples import cda_bytes, pdf_bytes, upload
from tests.dossier.measures_support import record
from tests.dossier.profile_helpers import make_app_immunization, make_entry, make_immunization
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
        problems = layout_problems(page)
        assert not problems, f"{page.url} à {page.viewport_size['width']} px :\n" + "\n".join(problems)


# On a phone: tables (which scroll inside their own box), charts and fields stay within the screen, and text fields
# and lists take the whole width of the column.
_LAYOUT_JS = """() => {
    const problems = [];
    const width = document.documentElement.clientWidth;
    for (const box of document.querySelectorAll(".fr-table__container, .mes-measure-chart, .fr-input, .fr-select")) {
        const rect = box.getBoundingClientRect();
        if (!rect.width) continue;
        const name = box.id || box.className;
        if (rect.right > width + 0.5) problems.push(`${name} dépasse de l’écran de ${rect.right - width} px`);
        if (box.matches(".fr-input, .fr-select") && rect.width < width - 64) {
            problems.push(`${name} n’occupe pas la largeur de l’écran (${rect.width} px sur ${width} px)`);
        }
    }
    return problems;
}"""


def layout_problems(page) -> list[str]:
    return page.evaluate(_LAYOUT_JS)


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


# Every page of the professionals' side, with content that stresses a narrow screen: long titles and names without
# spaces, a CDA document, a blood pressure with many values (wide tables), long profile entries and vaccinations.
LONG_WORD = "Hémoglobineglyquéeetbilanlipidiquecompletaveccommentaires"


def _rich_dossier(citizen) -> dict:
    access = citizen_access(citizen.user, citizen)
    pdf = document_add(
        access=access,
        upload=upload(pdf_bytes("Bilan"), name=f"{LONG_WORD}-{LONG_WORD}.pdf"),
        title=f"Bilan sanguin {LONG_WORD}",
        type_code="11502-2",
        act_date=date(2025, 1, 8),
    )
    cda = document_add(
        access=access,
        upload=upload(cda_bytes(narrative=f"Pas de lésion méniscale. {LONG_WORD}"), "cr.xml", "text/xml"),
        title="Compte rendu d’IRM du genou",
        type_code="18748-4",
        act_date=date(2025, 1, 3),
    )
    now = timezone.now()
    for days in range(0, 60, 3):
        record(access, "tension", "125", now - timedelta(days=days, hours=1), value_secondary="80")
    record(access, "glycemie", "1.02", now - timedelta(days=2), unit="g/L", glucose_moment="a-jeun")
    make_entry(citizen, label=f"Allergie {LONG_WORD}", note=f"Urticaire géante en 2012. {LONG_WORD}")
    make_entry(citizen, section="traitements", label="Ventoline", start_date=date(2010, 1, 1))
    make_immunization(access, performer=f"Centre de vaccination {LONG_WORD}", lot_number="AB1234-LONG-LOT-NUMBER")
    make_app_immunization(access)
    return {"pdf": pdf, "cda": cda}


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375"), (MOBILE, "320")])
def test_every_professional_page_fits_the_screen(new_page, live_server, citizen, audit, viewport, suffix):
    doctor = ProfessionalFactory(
        emergency_role=True,
        user__first_name="Marie-Christine",
        user__last_name="Delacroix-Montalembert",
        practice_place=f"Service d’accueil des urgences, {LONG_WORD}",
    )
    CareTeamMember.objects.create(citizen=citizen, professional=doctor.user, is_treating_doctor=True)
    documents = _rich_dossier(citizen)
    page = new_page(viewport)
    sign_in(page, doctor.user.email)

    page.goto("/pro/")
    assert page.locator("#patients").get_by_text("Camille DURAND").is_visible()
    check(page, audit, f"pro-toutes-accueil-{suffix}")
    page.goto("/pro/code/")
    page.get_by_label(re.compile(r"^Code d’accès")).fill("ZZZZZ-ZZZZZ")
    page.get_by_role("button", name="Ouvrir l’espace santé").click()
    assert page.get_by_text("Ce code n’est pas valide").is_visible()
    check(page, audit, f"pro-toutes-code-{suffix}")
    page.goto("/pro/urgence/")
    page.get_by_role("button", name="Ouvrir l’espace en urgence").click()
    page.wait_for_url("**/pro/urgence/")
    assert page.get_by_text("L’espace n’a pas été ouvert").is_visible()
    check(page, audit, f"pro-toutes-urgence-{suffix}")

    patient = f"/pro/patients/{citizen.public_id}/"
    pages = {
        "patient": (patient, "Camille DURAND"),
        "documents": (patient + "dossier/documents/", "Documents"),
        "document": (patient + f"dossier/documents/{documents['pdf'].public_id}/", f"Bilan sanguin {LONG_WORD}"),
        "document-cda": (patient + f"dossier/documents/{documents['cda'].public_id}/", "Compte rendu d’IRM du genou"),
        "ajout": (patient + "dossier/documents/ajouter/", "Ajouter un document"),
        "mesures": (patient + "dossier/mesures/", "Mesures de santé"),
        "tension": (patient + "dossier/mesures/tension/?periode=tout", "Tension artérielle"),
        "glycemie": (patient + "dossier/mesures/glycemie/", "Glycémie"),
        "profil": (patient + "dossier/profil/", "Profil médical"),
        "vaccinations": (patient + "dossier/vaccinations/", "Vaccinations"),
    }
    for name, (path, heading) in pages.items():
        page.goto(path)
        assert page.get_by_role("heading", level=1).inner_text().strip() == heading, path
        if name == "tension":
            page.get_by_text("Afficher les données du graphique sous forme de tableau").click()
        check(page, audit, f"pro-toutes-{name}-{suffix}")
    # The upload form with its errors.
    page.goto(pages["ajout"][0])
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter le document").click()
    assert page.get_by_text("Choisissez le fichier du document.").is_visible()
    check(page, audit, f"pro-toutes-ajout-erreurs-{suffix}")
