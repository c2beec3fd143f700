"""The profil médical in a browser, on a desktop screen and at 375 px: add an allergy, correct it, add a
vaccination, download the synthesis, delete the allergy; every screen audited by axe-core."""

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from dossier.models import Immunization, ProfileEntry
from tests.browser.helpers import DESKTOP, MOBILE, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


def _no_sideways_scroll(page) -> None:
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


def _journey(page, citizen, audit, suffix: str) -> None:
    sign_in(page, citizen.user.email)
    page.goto("/dossier/profil/")
    main = page.get_by_role("main")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Profil médical"
    assert main.get_by_role("heading", name="Allergies", level=2).is_visible()
    _no_sideways_scroll(page)
    audit(page, f"profil-vide-{suffix}")

    # Add an allergy; a first try without a label shows the errors.
    main.get_by_role("link", name="Ajouter — Allergies").click()
    page.wait_for_url("**/dossier/profil/allergies/ajouter/")
    with page.expect_navigation():
        main.get_by_role("button", name="Enregistrer").click()
    assert "Indiquez un libellé." in main.inner_text()
    assert page.get_by_label(re.compile(r"^Libellé")).get_attribute("aria-invalid") == "true"
    _no_sideways_scroll(page)
    audit(page, f"profil-ajout-erreur-{suffix}")
    page.get_by_label(re.compile(r"^Libellé")).fill("Pénicilline")
    page.get_by_label(re.compile(r"^Depuis le")).fill("2012-04-01")
    page.get_by_label(re.compile(r"^Note")).fill("Urticaire géant en 2012.")
    main.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/dossier/profil/")
    assert "« Pénicilline » a été ajouté à la rubrique « Allergies »." in main.inner_text()
    assert "Depuis le 1er avril 2012" in main.inner_text()
    audit(page, f"profil-allergie-{suffix}")

    # Correct it.
    main.get_by_role("link", name="Modifier « Pénicilline »").click()
    page.wait_for_url("**/modifier/")
    assert page.get_by_label(re.compile(r"^Libellé")).input_value() == "Pénicilline"
    audit(page, f"profil-modification-{suffix}")
    page.get_by_label(re.compile(r"^Libellé")).fill("Pénicilline et amoxicilline")
    main.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/dossier/profil/")
    assert main.get_by_role("heading", name="Pénicilline et amoxicilline", level=3).is_visible()

    # Add a vaccination.
    main.get_by_role("link", name=re.compile(r"^Vaccinations \(0\)")).first.click()
    page.wait_for_url("**/dossier/profil/vaccinations/")
    assert "Aucune vaccination renseignée." in main.inner_text()
    main.get_by_role("link", name="Ajouter une vaccination").click()
    page.wait_for_url("**/vaccinations/ajouter/")
    page.get_by_label(re.compile(r"^Vaccin")).select_option("J07BD52")
    page.get_by_label(re.compile(r"^Date de la vaccination")).fill("1981-06-02")
    page.get_by_label(re.compile(r"^Numéro de la dose")).fill("1")
    page.get_by_label(re.compile(r"^Numéro de lot")).fill("RX-12")
    page.get_by_label(re.compile(r"^Administré par")).fill("Centre de PMI de Lyon 3e")
    _no_sideways_scroll(page)
    audit(page, f"vaccination-ajout-{suffix}")
    main.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/dossier/profil/vaccinations/")
    table = main.get_by_role("table")
    assert "Rougeole, oreillons, rubéole (ROR)" in table.inner_text() and "RX-12" in table.inner_text()
    _no_sideways_scroll(page)
    audit(page, f"vaccinations-{suffix}")

    # Download the synthesis.
    with page.expect_download() as download_info:
        main.get_by_role("link", name="Télécharger la synthèse du profil (PDF)").click()
    download = download_info.value
    assert re.fullmatch(r"synthese-profil-medical-\d{4}-\d{2}-\d{2}\.pdf", download.suggested_filename)
    pdf = Path(download.path()).read_bytes()
    text = " ".join(pdf_page.extract_text() for pdf_page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Pénicilline et amoxicilline" in text and "Rougeole, oreillons, rubéole (ROR)" in text
    response = page.request.get("/dossier/profil/synthese.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith('attachment; filename="synthese-profil-medical-')

    # Delete the allergy, after confirming.
    page.goto("/dossier/profil/")
    main.get_by_role("link", name="Supprimer « Pénicilline et amoxicilline »").click()
    page.wait_for_url("**/supprimer/")
    assert "Supprimer « Pénicilline et amoxicilline » ?" in main.inner_text()
    _no_sideways_scroll(page)
    audit(page, f"profil-suppression-{suffix}")
    main.get_by_role("button", name="Supprimer définitivement").click()
    page.wait_for_url("**/dossier/profil/")
    assert "a été supprimé de la rubrique « Allergies »" in main.inner_text()
    assert "Pénicilline et amoxicilline" not in main.inner_text().split("a été supprimé")[1]

    assert not ProfileEntry.objects.filter(citizen=citizen).exists()
    assert Immunization.objects.filter(citizen=citizen, vaccine_code="J07BD52", lot_number="RX-12").count() == 1


def test_profile_journey_on_a_desktop_screen(new_page, citizen, audit):
    _journey(new_page(DESKTOP), citizen, audit, "bureau")


def test_profile_journey_on_a_phone(new_page, citizen, audit):
    _journey(new_page(PHONE), citizen, audit, "375")


def test_profile_pages_at_320_px(new_page, citizen, audit):
    """The narrowest screen the DSFR supports: nothing scrolls sideways, not even the vaccinations table's page."""
    ProfileEntry.objects.create(
        citizen=citizen,
        section="traitements",
        label="Lévothyrox 75 µg, un comprimé le matin à jeun",
        note="Depuis 2019",
    )
    page = new_page(MOBILE)
    sign_in(page, citizen.user.email)
    page.goto("/dossier/profil/")
    audit(page, "profil-320")
    page.goto("/dossier/profil/vaccinations/ajouter/")
    audit(page, "vaccination-ajout-320")
