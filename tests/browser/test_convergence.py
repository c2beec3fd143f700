"""Convergence in Chromium: an editor signs in with TOTP, declares a product, answers a section (autosaved, the status
said in a live region, the progress moving, the answer still there after a reload), uploads an evidence file; the
products' list, the product page and a section page are audited by axe-core, the section page at 320 px too."""

import re

import pytest

from convergence.models import Answer, EvidenceFile, Product
from convergence.referential import referential_load
from tests.browser.helpers import MOBILE, sign_in
from tests.convergence.conftest import VALID
from tests.dossier.documents_samples import pdf_bytes

pytestmark = pytest.mark.browser

PRODUCT_URL = re.compile(r".*/editeurs/convergence/[0-9a-f-]{36}/$")


def test_an_editor_declares_a_product_and_answers_with_autosave(page, persona_users, audit, tmp_path):
    referential_load(VALID)
    editor = persona_users["editor"]
    sign_in(page, editor.email, totp=True)

    page.goto("/editeurs/")
    page.get_by_role("link", name="Convergence", exact=True).first.click()
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
