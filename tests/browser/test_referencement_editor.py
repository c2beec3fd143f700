"""The editors' référencement portal in Chromium: a visitor runs the eligibility diagnosis (errors first, then the
outcome); the editor signs in with TOTP, creates the dossier of a ready Convergence product, fills its sections
through the pages (procedure and purpose, requested exchanges with OID and redirect URI, catalogue sheet, logo), and
submits it; the dossier page then shows the state and the first step of its timeline. axe-core audits the diagnosis,
the new dossier page, two sections (one with errors), the images page and the dossier page, the last one and the
portal's home at 320 px too."""

import re

import pytest

from mes.comptes.models import Membership
from referencement.models import Dossier, State
from tests.browser.helpers import MOBILE, sign_in
from tests.referencement.conftest import VALID_REFERENTIAL, make_ready_product, png_bytes

pytestmark = pytest.mark.browser

DOSSIER_URL = re.compile(r".*/editeurs/referencement/[0-9a-f-]{36}/$")


def test_eligibility_then_a_dossier_created_filled_and_submitted(page, persona_users, audit, tmp_path):
    from convergence.referential import referential_load

    # The diagnosis, without an account.
    page.goto("/editeurs/eligibilite/")
    page.get_by_role("button", name="Voir le résultat").click()
    alert = page.locator(".fr-alert--error")
    assert "Indiquez si votre service s’adresse aux usagers." in alert.inner_text()
    page.locator('label[for="id_usagers_0"]').click()
    page.locator('label[for="id_secteur_0"]').click()
    page.locator('label[for="id_echange_0"]').click()
    page.locator('label[for="id_finalite_2"]').click()  # Soins
    page.locator('label[for="id_oid_0"]').click()
    page.get_by_role("button", name="Voir le résultat").click()
    assert "Éligible — procédure avec échange de données" in page.locator("#resultat").inner_text()
    audit(page, "referencement-eligibilite-bureau")

    # A ready product of the editor's organisation.
    editor = persona_users["editor"]
    referential_load(VALID_REFERENTIAL)
    product = make_ready_product(editor, Membership.objects.get(user=editor).organisation)
    sign_in(page, editor.email, totp=True)

    page.goto("/editeurs/")
    page.get_by_role("link", name="Créer un dossier de référencement").first.click()
    audit(page, "referencement-nouveau-bureau")
    page.locator(f'label[for="{_radio_id(page, "product", str(product.public_id))}"]').click()
    page.locator('label[for="id_procedure_1"]').click()  # with data exchange
    page.get_by_role("button", name="Créer le dossier").click()
    page.wait_for_url(DOSSIER_URL)
    dossier = Dossier.objects.get(product=product)
    assert dossier.reference in page.locator("main").inner_text()

    # Procedure and purpose.
    page.get_by_role("link", name="Compléter le dossier").click()
    page.get_by_label(re.compile(r"^Finalité du service")).select_option("soins")
    page.get_by_label(re.compile(r"^Description de la finalité")).fill(
        "Suivi de l’hypertension entre deux consultations."
    )
    page.get_by_role("button", name="Enregistrer").click()

    # Requested exchanges: a justification is required for each one ticked.
    page.wait_for_url("**/modifier/echanges/")
    page.locator('label[for="id_exchange_mesures_ecriture"]').click()
    page.get_by_label("Justification : Mesures de santé — écriture").fill(
        "Les mesures du tensiomètre vont dans l’espace."
    )
    page.get_by_label(re.compile(r"^OID de l’organisation")).fill("1.2.250.1.999.7")
    page.get_by_label(re.compile(r"^URI de redirection")).fill("https://suivi-tension.example.fr/oauth/retour")
    audit(page, "referencement-echanges-bureau")
    page.get_by_role("button", name="Enregistrer").click()

    # The catalogue sheet: an error first (no support contact), then the sheet saved.
    page.wait_for_url("**/modifier/fiche/")
    page.get_by_label(re.compile(r"^Description courte")).fill("Suivez votre tension artérielle.")
    page.get_by_label(re.compile(r"^Description longue")).fill("Suivi Tension enregistre vos mesures.")
    page.get_by_label(re.compile(r"^Catégorie")).select_option("pathologies")
    page.get_by_label(re.compile(r"^Type de service")).select_option("web")
    page.get_by_label(re.compile(r"^Site web")).fill("https://suivi-tension.example.fr")
    page.get_by_label(re.compile(r"^Modèle économique")).select_option("gratuit")
    page.get_by_role("button", name="Enregistrer").click()
    assert "Indiquez au moins un moyen de contacter le support" in page.locator(".fr-alert--error").inner_text()
    audit(page, "referencement-fiche-erreurs-bureau")
    page.get_by_label(re.compile(r"^Adresse électronique du support")).fill("support@suivi-tension.example.fr")
    page.get_by_role("button", name="Enregistrer").click()

    # The logo.
    page.wait_for_url("**/images/")
    logo = tmp_path / "logo.png"
    logo.write_bytes(png_bytes(128, 128))
    page.locator("#id_logo").set_input_files(str(logo))
    page.get_by_role("button", name="Enregistrer le logo").click()
    page.get_by_text("Le logo est enregistré.").wait_for()
    audit(page, "referencement-images-bureau")

    # Submission.
    page.get_by_role("link", name="Vérifier et déposer le dossier").click()
    assert "Le dossier est complet" in page.locator("main").inner_text()
    page.get_by_role("button", name="Déposer le dossier").click()
    page.wait_for_url(DOSSIER_URL)
    main = page.locator("main").inner_text()
    assert "Déposé — recevabilité en cours" in main
    assert "Dossier déposé" in main
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED
    assert dossier.extract_checksum and dossier.extract_checksum in main
    audit(page, "referencement-dossier-bureau")
    page.set_viewport_size(MOBILE)
    page.reload()
    audit(page, "referencement-dossier-320")
    page.goto("/editeurs/")
    assert dossier.reference in page.locator("main").inner_text()
    audit(page, "referencement-accueil-320")


def _radio_id(page, name: str, value: str) -> str:
    return page.locator(f'input[name="{name}"][value="{value}"]').get_attribute("id")
