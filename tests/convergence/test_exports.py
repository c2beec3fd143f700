"""The product's extract: JSON with its checksum, PDF, CSV safe from formulas, headers and authorization."""

import csv
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from convergence.exports import export_checksum_verify, export_csv, export_data
from convergence.models import Platform
from convergence.services import answer_save, evidence_add
from tests.convergence.conftest import criterion
from tests.dossier.documents_samples import pdf_bytes, upload

pytestmark = pytest.mark.urls("tests.convergence.test_exports_urlconf")

ROUTES = ["convergence_export_json", "convergence_export_pdf", "convergence_export_csv"]


def save(actor, product, code, value, platform="", comment=""):
    return answer_save(
        actor=actor,
        product=product,
        criterion=criterion(code),
        platform=platform,
        value=value,
        comment=comment,
        expected_revision=0,
    )


@pytest.fixture
def answered(product, editor):
    """URB-01 met, URB-03 unmet (mandatory), URB-06 with a formula-like text, ETH-01 met with its evidence."""
    save(editor, product, "URB-01", "oui", comment="Compte personnel obligatoire")
    save(editor, product, "URB-03", "oui")
    save(editor, product, "URB-06", '=HYPERLINK("http://exemple.invalid","clic")')
    answer = save(editor, product, "ETH-01", "oui")
    evidence_add(actor=editor, product=product, answer=answer, upload=upload(pdf_bytes(), name="politique.pdf"))
    return product


def _rows(data):
    return {(block["platform"], row["id"]): row for block in data["questionnaires"] for row in block["criteria"]}


def test_json_extract_holds_the_product_the_scores_and_the_answers(answered):
    data = export_data(answered)
    assert data["product"]["reference"] == answered.reference
    assert data["product"]["organisation"]["name"] == answered.organisation.name
    assert data["product"]["platforms"] == ["android", "ios"]
    assert data["product"]["procedure"] == "avec_echange"
    assert data["referential"]["version"] == "2026.1"
    assert data["generated_at"].endswith("Z")
    # Only the online questionnaires: « echanges » is answered with a template.
    assert [block["code"] for block in data["questionnaires"]] == ["urbanisation", "ethique"]
    rows = _rows(data)
    assert rows[(None, "URB-01")]["met"] is True
    assert rows[(None, "URB-01")]["answer"] == "oui"
    assert rows[(None, "URB-01")]["answer_label"] == "Oui"
    assert rows[(None, "URB-01")]["comment"] == "Compte personnel obligatoire"
    assert rows[(None, "URB-03")]["met"] is False
    assert rows[(None, "URB-03")]["expected"] == "non"
    evidence = rows[(None, "ETH-01")]["evidence"]
    assert [item["name"] for item in evidence] == ["politique.pdf"]
    assert len(evidence[0]["sha256"]) == 64
    assert rows[(None, "ETH-01")]["met"] is True
    urbanisation = data["questionnaires"][0]
    assert "URB-03" in [gap["id"] for gap in urbanisation["gaps"]]
    assert urbanisation["score"]["mandatory"] == 4
    assert urbanisation["score"]["mandatory_met"] == 1
    assert urbanisation["score"]["share"] == "25.0"
    assert data["readiness"]["ready"] is False


def test_checksum_verifies_and_any_change_breaks_it(answered):
    data = json.loads(json.dumps(export_data(answered)))
    assert export_checksum_verify(data)
    tampered = json.loads(json.dumps(data))
    tampered["questionnaires"][0]["criteria"][2]["answer"] = "non"
    assert not export_checksum_verify(tampered)
    tampered = json.loads(json.dumps(data))
    tampered["readiness"]["ready"] = True
    assert not export_checksum_verify(tampered)
    assert not export_checksum_verify({k: v for k, v in data.items() if k != "checksum"})
    assert not export_checksum_verify([data])


def test_per_platform_extract_has_one_block_per_platform(product_per_platform, editor):
    save(editor, product_per_platform, "URB-01", "oui", platform=Platform.ANDROID)
    data = export_data(product_per_platform)
    assert [(block["code"], block["platform"]) for block in data["questionnaires"]] == [
        ("urbanisation", "android"),
        ("urbanisation", "ios"),
        ("ethique", "android"),
        ("ethique", "ios"),
    ]
    rows = _rows(data)
    assert rows[("android", "URB-01")]["answer"] == "oui"
    assert rows[("ios", "URB-01")]["answer"] is None


def test_csv_neutralises_formulas_and_reads_in_a_french_spreadsheet(answered):
    text = export_csv(export_data(answered))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Référence", "Référentiel", "Questionnaire"]
    by_id = {row[5]: row for row in rows[1:]}
    assert by_id["URB-06"][9] == '\'=HYPERLINK("http://exemple.invalid","clic")'
    assert by_id["URB-01"][12] == "Oui"
    assert by_id["URB-03"][12] == "Non"
    assert by_id["URB-03"][13] == "réponse attendue : Non"
    assert "politique.pdf" in by_id["ETH-01"][11]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_downloads_are_attachments_named_after_the_reference(client, answered, editor):
    client.force_login(editor)
    expected = {
        "convergence_export_json": ("application/json", ".json"),
        "convergence_export_pdf": ("application/pdf", ".pdf"),
        "convergence_export_csv": ("text/csv", ".csv"),
    }
    for name, (content_type, extension) in expected.items():
        response = client.get(reverse(name, kwargs={"product_id": answered.public_id}))
        assert response.status_code == 200, name
        assert response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"].startswith("attachment;")
        assert f"convergence-{answered.reference}{extension}" in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]


def test_downloaded_json_verifies(client, answered, editor):
    client.force_login(editor)
    response = client.get(reverse("convergence_export_json", kwargs={"product_id": answered.public_id}))
    data = json.loads(response.content)
    assert export_checksum_verify(data)
    assert data["product"]["reference"] == answered.reference


def test_pdf_names_the_product_and_prints_the_checksum_on_every_page(client, answered, editor, monkeypatch):
    # Both extracts of the same instant: the checksum covers the generation date (to the second).
    instant = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: instant)
    client.force_login(editor)
    response = client.get(reverse("convergence_export_pdf", kwargs={"product_id": answered.public_id}))
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert answered.reference in text
    assert "2026.1" in text
    assert "URB-03" in text
    assert "Pas encore prêt à déposer" in text
    json_response = client.get(reverse("convergence_export_json", kwargs={"product_id": answered.public_id}))
    checksum = json.loads(json_response.content)["checksum"]
    for page in reader.pages:
        assert checksum in page.extract_text()


@pytest.mark.parametrize("name", ROUTES)
def test_exports_are_for_the_products_editors_only(client, persona_users, answered, outsider, name):
    url = reverse(name, kwargs={"product_id": answered.public_id})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    for role in ("citizen", "professional", "commission", "admin"):
        client.force_login(persona_users[role])
        assert client.get(url).status_code == 403, role
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(persona_users["editor"])
    assert client.get(url).status_code == 200
