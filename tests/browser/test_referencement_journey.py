"""The whole référencement of a service in Chromium, each actor through their own pages:

the editor creates the dossier of a ready Convergence product, fills it and submits it; an administrator declares
it complete and refers it to the commission; a member declares a conflict of interest (and may then not vote);
another member votes and adopts a favourable opinion; the administrator grants the référencement; the editor reads
and signs the convention; the service is published, and a citizen finds it in the catalogue. axe-core audits each
actor's main page.
"""

import re
import time

import pytest

from catalogue.models import Service, ServiceStatus
from mes.comptes.models import Membership
from referencement.models import Dossier, State
from tests.browser.helpers import sign_in
from tests.factories import CommissionMemberFactory
from tests.referencement.conftest import VALID_REFERENTIAL, make_ready_product, png_bytes

pytestmark = pytest.mark.browser

SERVICE_NAME = "Info Santé Ado"


# The TOTP window in which each account last signed in: a code is accepted once, so an account signing in again
# within the same 30 s window waits for the next code.
_LAST_WINDOW: dict[str, int] = {}


def _switch(page, email: str, *, totp: bool = True) -> None:
    page.context.clear_cookies()
    if totp and _LAST_WINDOW.get(email) == int(time.time()) // 30:
        time.sleep(30 - time.time() % 30 + 0.1)
    sign_in(page, email, totp=totp)
    _LAST_WINDOW[email] = int(time.time()) // 30


def test_editor_commission_administrator_and_editor_again_publish_a_service_the_citizen_then_finds(
    page, persona_users, settings, audit, tmp_path
):
    from convergence.models import Procedure
    from convergence.referential import referential_load

    settings.REFERENCEMENT_COMMISSION_QUORUM = 1
    editor = persona_users["editor"]
    administrator = persona_users["admin"]
    member = persona_users["commission"]
    conflicted = CommissionMemberFactory(user__first_name="Inès").user
    referential_load(VALID_REFERENTIAL)
    organisation = Membership.objects.get(user=editor).organisation
    product = make_ready_product(editor, organisation, procedure=Procedure.SANS_ECHANGE, name=SERVICE_NAME)

    # --- The editor: a dossier for the ready product, filled and submitted through the pages.
    _switch(page, editor.email)
    page.goto("/editeurs/referencement/nouveau/")
    radio = page.locator(f'input[name="product"][value="{product.public_id}"]').get_attribute("id")
    page.locator(f'label[for="{radio}"]').click()
    page.locator('label[for="id_procedure_0"]').click()  # simple: catalogue only
    page.get_by_role("button", name="Créer le dossier").click()
    page.wait_for_url(re.compile(r".*/editeurs/referencement/[0-9a-f-]{36}/$"))
    dossier = Dossier.objects.get(product=product)
    base = f"/editeurs/referencement/{dossier.public_id}/"

    page.goto(base + "modifier/procedure/")
    page.get_by_label(re.compile(r"^Finalité du service")).select_option("prevention")
    page.get_by_label(re.compile(r"^Description de la finalité")).fill(
        "Informer les adolescents sur leur santé et les orienter vers les professionnels."
    )
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/modifier/fiche/")
    page.get_by_label(re.compile(r"^Nom du service")).fill(SERVICE_NAME)
    page.get_by_label(re.compile(r"^Description courte")).fill("L’information santé des 12-18 ans, vérifiée.")
    page.get_by_label(re.compile(r"^Description longue")).fill(
        "Info Santé Ado répond aux questions des adolescents sur leur santé.\n\nLes contenus sont relus par des "
        "médecins."
    )
    page.get_by_label(re.compile(r"^Catégorie")).select_option("prevention")
    page.get_by_label(re.compile(r"^Type de service")).select_option("web")
    page.get_by_label(re.compile(r"^Site web")).fill("https://info-sante-ado.example.fr")
    page.get_by_label(re.compile(r"^Modèle économique")).select_option("gratuit")
    page.get_by_label(re.compile(r"^Adresse électronique du support")).fill("aide@info-sante-ado.example.fr")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/images/")
    logo = tmp_path / "logo.png"
    logo.write_bytes(png_bytes(128, 128, (0, 120, 80)))
    page.locator("#id_logo").set_input_files(str(logo))
    page.get_by_role("button", name="Enregistrer le logo").click()
    page.get_by_text("Le logo est enregistré.").wait_for()
    page.get_by_role("link", name="Vérifier et déposer le dossier").click()
    page.get_by_role("button", name="Déposer le dossier").click()
    page.wait_for_url("**" + base)
    assert "Déposé — recevabilité en cours" in page.locator("main").inner_text()
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED

    # --- The administrator: complete, then referred to the commission.
    _switch(page, administrator.email)
    page.goto("/commission/?etat=soumis")
    page.get_by_role("link", name=re.compile(dossier.reference)).first.click()
    page.wait_for_url(f"**/commission/dossiers/{dossier.public_id}/")
    audit(page, "referencement-parcours-instruction")
    page.get_by_role("button", name="Déclarer le dossier complet").click()
    page.get_by_role("button", name="Transmettre à la commission").click()
    page.wait_for_load_state()
    dossier.refresh_from_db()
    assert dossier.state == State.COMMISSION

    # --- A member with a conflict of interest: declared, and then no vote is possible.
    _switch(page, conflicted.email)
    page.goto(f"/commission/dossiers/{dossier.public_id}/")
    page.get_by_label(re.compile(r"^Nature du lien d’intérêts")).fill("J’ai conseillé cet éditeur en 2025.")
    page.get_by_role("button", name="Déclarer un conflit d’intérêts").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Voter").count() == 0

    # --- Another member: a vote and the opinion.
    _switch(page, member.email)
    page.goto(f"/commission/dossiers/{dossier.public_id}/")
    audit(page, "referencement-parcours-commission")
    page.get_by_label(re.compile(r"^Votre commentaire")).fill("Contenus relus par des médecins : à vérifier.")
    page.get_by_role("button", name=re.compile("commentaire", re.IGNORECASE)).last.click()
    page.wait_for_load_state()
    page.locator('input[name="choice"][value="favorable"]').check(force=True)
    page.get_by_role("button", name="Voter").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Rédiger et adopter l’avis").click()
    page.locator('input[name="result"][value="favorable"]').check(force=True)
    page.get_by_label(re.compile(r"^Motifs de l’avis")).fill("Service utile, conforme à la doctrine.")
    page.get_by_role("button", name="Adopter l’avis").click()
    page.wait_for_load_state()
    dossier.refresh_from_db()
    assert dossier.state == State.OPINION

    # --- The administrator decides for the minister.
    _switch(page, administrator.email)
    page.goto(f"/commission/dossiers/{dossier.public_id}/")
    page.get_by_role("link", name="Prendre la décision").click()
    page.locator('input[name="result"][value="accorde"]').check(force=True)
    page.get_by_label(re.compile(r"^Motifs de la décision")).fill("Avis favorable de la commission.")
    page.get_by_role("button", name="Enregistrer la décision").click()
    page.wait_for_load_state()
    dossier.refresh_from_db()
    assert dossier.state == State.CONVENTION

    # --- The editor reads and signs the convention: the service is published.
    _switch(page, editor.email)
    page.goto(base)
    assert "Référencement accordé" in page.locator("main").inner_text()
    page.goto(base + "convention/")
    audit(page, "referencement-parcours-convention")
    page.get_by_label(re.compile(r"^Vos prénom et nom")).fill("Claire Bernard")
    page.get_by_label(re.compile(r"^Votre qualité")).fill("Présidente")
    page.locator('input[type="checkbox"]').first.check(force=True)
    page.get_by_role("button", name="Signer la convention").click()
    page.wait_for_load_state()
    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED
    assert dossier.convention.signer_name == "Claire Bernard"
    assert dossier.convention.signed_sha256 == dossier.convention.sha256
    service = Service.objects.get(pk=dossier.service_id)
    assert service.status == ServiceStatus.PUBLISHED

    # --- The citizen finds it in the catalogue.
    _switch(page, persona_users["citizen"].email, totp=False)
    page.goto("/catalogue/")
    page.get_by_role("link", name=re.compile(SERVICE_NAME)).first.click()
    main = page.locator("main").inner_text()
    assert "L’information santé des 12-18 ans, vérifiée." in main
    audit(page, "referencement-parcours-catalogue")
