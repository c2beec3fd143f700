"""Convergence in Chromium: an editor signs in with TOTP, declares a product, answers a section (autosaved, the status
said in a live region, the progress moving, the answer still there after a reload), uploads an evidence file; the
products' list, the product page and a section page are audited by axe-core, the section page at 320 px too.

Then the conflict of two members of the same organisation: a colleague saves an answer while the editor's page still
holds the revision it was read at; the editor's autosave gets the 409, the form then shows the colleague's answer,
comment and revision, the status says so, and the editor can knowingly apply their own answer instead."""

import re

import pytest

from convergence.models import Answer, EvidenceFile, Platform, Procedure, Product, ProductType
from convergence.referential import referential_load
from convergence.services import answer_save, product_declare
from mes.comptes.models import Membership
from tests.browser.helpers import MOBILE, sign_in
from tests.convergence.conftest import VALID, criterion
from tests.dossier.documents_samples import pdf_bytes
from tests.factories import MembershipFactory

pytestmark = pytest.mark.browser

PRODUCT_URL = re.compile(r".*/editeurs/convergence/[0-9a-f-]{36}/$")


def test_an_editor_declares_a_product_and_answers_with_autosave(page, persona_users, audit, tmp_path):
    referential_load(VALID)
    editor = persona_users["editor"]
    sign_in(page, editor.email, totp=True)

    page.goto("/editeurs/")
    page.get_by_role("link", name=re.compile(r"Convergence$")).first.click()
    page.wait_for_url("**/editeurs/convergence/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Convergence : vos produits"
    audit(page, "convergence-produits-bureau")

    page.get_by_role("link", name="Déclarer un produit").click()
    page.get_by_label(re.compile(r"^Nom du service")).fill("Suivi Tension")
    page.get_by_label(re.compile(r"^Version")).fill("3.2")
    page.get_by_label(re.compile(r"^Type de produit")).select_option("application_mobile")
    page.locator('label[for="id_platforms_1"]').click()  # Android
    page.locator('label[for="id_procedure_0"]').click()  # Sans échange de données
    page.get_by_role("button", name="Déclarer le produit").click()
    page.wait_for_url(PRODUCT_URL)
    product = Product.objects.get(name="Suivi Tension")
    assert product.reference in page.locator("main").inner_text()
    audit(page, "convergence-produit-bureau")

    page.get_by_role("link", name="Répondre : Urbanisation").click()
    page.wait_for_url("**/urbanisation/identification/")
    before = page.locator("#questionnaire-progress").evaluate("bar => bar.value")
    page.locator('label[for="critere-URB-01-oui"]').click()
    status = page.locator("#critere-URB-01 [data-status]")
    status.filter(has_text=re.compile(r"^Enregistré à \d\d:\d\d")).wait_for()
    page.wait_for_function(f"document.getElementById('questionnaire-progress').value > {before}")
    assert Answer.objects.get(product=product, criterion__criterion_id="URB-01").value == "oui"
    page.locator("#critere-URB-03-commentaire").fill("Pas de compte partagé.")
    page.locator('label[for="critere-URB-03-non"]').click()
    page.locator("#critere-URB-03 [data-status]").filter(has_text="Enregistré à").wait_for()
    audit(page, "convergence-section-bureau")

    page.reload()
    assert page.locator("#critere-URB-01-oui").is_checked()
    assert page.locator("#critere-URB-03-commentaire").input_value() == "Pas de compte partagé."

    page.get_by_role("link", name=re.compile(r"^Section suivante")).click()
    page.get_by_role("link", name=re.compile(r"^Section suivante")).click()
    page.wait_for_url("**/ethique/transparence/")
    evidence = tmp_path / "charte.pdf"
    evidence.write_bytes(pdf_bytes())
    page.locator("#id_ETH-02-file").set_input_files(str(evidence))
    page.get_by_role("button", name="Déposer le fichier : ETH-02").click()
    page.get_by_text("Le fichier « charte.pdf » est ajouté au critère ETH-02.").wait_for()
    assert page.locator("#critere-ETH-02").get_by_role("link", name="charte.pdf").count() == 1
    assert EvidenceFile.objects.filter(product=product).count() == 1

    page.set_viewport_size(MOBILE)
    page.reload()
    audit(page, "convergence-section-320")


def test_an_autosave_conflict_shows_the_other_members_answer_and_lets_the_editor_apply_theirs(
    page, persona_users, audit
):
    referential_load(VALID)
    editor = persona_users["editor"]
    organisation = editor.memberships.get().organisation
    colleague = MembershipFactory(
        organisation=organisation,
        level=Membership.Level.MEMBER,
        user__first_name="Basile",
        user__last_name="Durand",
    ).user
    product = product_declare(
        actor=editor,
        organisation=organisation,
        name="Suivi Glycémie",
        version="2.0",
        product_type=ProductType.MOBILE_APP,
        platforms=[Platform.ANDROID],
        procedure=Procedure.SANS_ECHANGE,
    )
    sign_in(page, editor.email, totp=True)
    page.goto(f"/editeurs/convergence/{product.public_id}/urbanisation/identification/")
    form = page.locator("#critere-URB-01 form.convergence-answer")
    assert form.locator("[data-revision]").input_value() == "0"

    # The colleague answers first, from their own session; the editor's page still holds revision 0.
    answer_save(
        actor=colleague,
        product=product,
        criterion=criterion("URB-01"),
        value="non",
        comment="Comptes familiaux en cours de refonte.",
        expected_revision=0,
    )
    page.locator('label[for="critere-URB-01-oui"]').click()
    status = page.locator("#critere-URB-01 [data-status]")
    status.filter(has_text="sa version est affichée").wait_for()
    assert status.get_attribute("data-state") == "conflict"
    text = status.inner_text()
    assert re.match(
        r"^Conflit : Basile Durand a modifié cette réponse le \d\d/\d\d/\d{4} à \d\d:\d\d pendant votre saisie : "
        r"sa version est affichée\. Votre saisie \(« Oui »\) n’a pas été enregistrée\.",
        text,
    ), text
    # The form now holds the colleague's answer, comment and revision; nothing of the editor's was written.
    assert page.locator("#critere-URB-01-non").is_checked()
    assert not page.locator("#critere-URB-01-oui").is_checked()
    assert page.locator("#critere-URB-01-commentaire").input_value() == "Comptes familiaux en cours de refonte."
    assert form.locator("[data-revision]").input_value() == "1"
    stored = Answer.objects.get(product=product, criterion__criterion_id="URB-01")
    assert (stored.value, stored.revision, stored.updated_by) == ("non", 1, colleague)
    # Chromium reports the 409 itself in the console: that one is expected, nothing else is.
    assert [error.split(" (http")[0] for error in page.console_errors] == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"
    ]
    page.console_errors.clear()
    audit(page, "convergence-section-conflit")

    # Knowingly: the editor's answer goes back into the form and is saved over revision 1.
    status.get_by_role("button", name="Appliquer ma réponse à la place").click()
    status.filter(has_text=re.compile(r"^Enregistré à \d\d:\d\d")).wait_for()
    assert page.locator("#critere-URB-01-oui").is_checked()
    assert page.locator("#critere-URB-01-commentaire").input_value() == ""
    assert form.locator("[data-revision]").input_value() == "2"
    stored.refresh_from_db()
    assert (stored.value, stored.comment, stored.revision, stored.updated_by) == ("oui", "", 2, editor)
