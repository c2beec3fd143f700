"""Templates of the offline questionnaires: the generated workbook, and the filled workbook read back."""

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from convergence.models import Answer, Platform, Procedure
from convergence.referential import referential_load
from convergence.services import answer_save
from convergence.templates_xlsx import FIRST_ROW, TEMPLATE_MAX_BYTES, TEMPLATE_MAX_UNCOMPRESSED_BYTES
from mes.acces.models import JournalEntry
from tests.convergence.conftest import criterion, declare

pytestmark = pytest.mark.urls("tests.convergence.test_exports_urlconf")

SHIPPED = Path(settings.BASE_DIR) / "convergence" / "referentiels" / "2026.1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def shipped_product(db, editor, organisation):
    referential_load(SHIPPED)
    return declare(editor, organisation, procedure=Procedure.AVEC_ECHANGE)


def urls(product, questionnaire="rgpd"):
    kwargs = {"product_id": product.public_id, "questionnaire": questionnaire}
    return reverse("convergence_template_download", kwargs=kwargs), reverse(
        "convergence_template_upload", kwargs=kwargs
    )


def download(client, product, questionnaire="rgpd", query=""):
    response = client.get(urls(product, questionnaire)[0] + query)
    assert response.status_code == 200
    return response


def rows_by_id(sheet):
    return {sheet.cell(row=row, column=1).value: row for row in range(FIRST_ROW, sheet.max_row + 1)}


def as_upload(workbook, name="rgpd.xlsx"):
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=XLSX)


def filled(client, product, answers, questionnaire="rgpd", query=""):
    workbook = load_workbook(io.BytesIO(download(client, product, questionnaire, query).content))
    sheet = workbook.worksheets[0]
    rows = rows_by_id(sheet)
    for criterion_id, (answer, comment) in answers.items():
        sheet.cell(row=rows[criterion_id], column=7, value=answer)
        sheet.cell(row=rows[criterion_id], column=8, value=comment)
    return workbook


def test_template_has_the_header_one_row_per_criterion_and_drop_down_lists(client, shipped_product, editor):
    client.force_login(editor)
    response = download(client, shipped_product)
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"convergence-{shipped_product.reference}-rgpd.xlsx" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    workbook = load_workbook(io.BytesIO(response.content))
    assert len(workbook.worksheets) == 1
    sheet = workbook.worksheets[0]
    assert sheet["B3"].value == shipped_product.reference
    assert sheet["B4"].value == "2026.1"
    assert sheet["B5"].value == "rgpd"
    assert sheet["B6"].value == "Toutes les plateformes"
    rows = rows_by_id(sheet)
    assert len(rows) == 25
    first = rows["RGPD-01"]
    assert [sheet.cell(row=first, column=column).value for column in (2, 5)] == [
        "Gouvernance de la protection des données",
        "Obligatoire",
    ]
    assert sheet.cell(row=first, column=6).value == "Oui, avec une preuve jointe"
    assert sheet.cell(row=rows["RGPD-14"], column=6).value == "au plus 30 jours"
    # Protected, except the answer and comment cells.
    assert sheet.protection.sheet
    assert sheet.cell(row=first, column=3).protection.locked
    assert not sheet.cell(row=first, column=7).protection.locked
    assert not sheet.cell(row=first, column=8).protection.locked
    # The drop-down lists: Oui / Non / Non applicable, and the labels of a choice criterion.
    lists = {}
    for validation in sheet.data_validations.dataValidation:
        if validation.type == "list":
            column = validation.formula1.split("$")[1]
            labels = [cell.value for (cell,) in sheet[f"{column}1:{column}12"] if cell.value]
            for cell_range in validation.sqref.ranges:
                lists[cell_range.coord] = labels
    assert lists[f"G{first}"] == ["Oui", "Non", "Non applicable"]
    assert "Consentement explicite de la personne (article 9.2.a)" in lists[f"G{rows['RGPD-06']}"]
    assert sheet.column_dimensions[column].hidden


def test_filled_template_round_trip_saves_the_answers(client, shipped_product, editor):
    client.force_login(editor)
    workbook = filled(
        client,
        shipped_product,
        {
            "RGPD-01": ("Oui", "Registre tenu par le DPO"),
            "RGPD-04": ("Société Exemple, 1 rue de la Paix, 75002 Paris", None),
            "RGPD-05": ("Non applicable", None),
            "RGPD-06": ("Consentement explicite de la personne (article 9.2.a)", None),
            "RGPD-14": (30, None),
        },
    )
    response = client.post(urls(shipped_product)[1], {"fichier": as_upload(workbook)})
    assert response.status_code == 302
    answers = {
        answer.criterion.criterion_id: answer
        for answer in Answer.objects.filter(product=shipped_product).select_related("criterion")
    }
    assert answers["RGPD-01"].value == "oui"
    assert answers["RGPD-01"].comment == "Registre tenu par le DPO"
    assert answers["RGPD-01"].updated_by == editor
    assert answers["RGPD-04"].value == "Société Exemple, 1 rue de la Paix, 75002 Paris"
    assert answers["RGPD-05"].value == "na"
    assert answers["RGPD-06"].value == "consentement_explicite"
    assert answers["RGPD-14"].value == 30
    assert len(answers) == 5
    assert JournalEntry.objects.filter(action="convergence.modele.depose").count() == 1
    page = client.get(response["Location"])
    assert "5 réponse(s) enregistrée(s)" in page.content.decode()
    # The template downloaded again carries the answers, and uploading it unchanged changes nothing.
    again = load_workbook(io.BytesIO(download(client, shipped_product).content))
    sheet = again.worksheets[0]
    assert sheet.cell(row=rows_by_id(sheet)["RGPD-06"], column=7).value.startswith("Consentement explicite")
    client.post(urls(shipped_product)[1], {"fichier": as_upload(again)})
    assert Answer.objects.get(product=shipped_product, criterion=criterion("RGPD-01")).revision == 1


def test_upload_overwrites_a_colleagues_answer_explicitly(client, shipped_product, editor, colleague):
    answer_save(
        actor=colleague,
        product=shipped_product,
        criterion=criterion("RGPD-02"),
        value="non",
        expected_revision=0,
    )
    client.force_login(editor)
    workbook = filled(client, shipped_product, {"RGPD-02": ("Oui", None)})
    assert client.post(urls(shipped_product)[1], {"fichier": as_upload(workbook)}).status_code == 302
    answer = Answer.objects.get(product=shipped_product, criterion=criterion("RGPD-02"))
    assert (answer.value, answer.revision, answer.updated_by) == ("oui", 2, editor)


def test_invalid_rows_are_reported_with_their_number_and_nothing_is_saved(client, shipped_product, editor):
    client.force_login(editor)
    workbook = filled(
        client,
        shipped_product,
        {"RGPD-01": ("Oui", None), "RGPD-02": ("Peut-être", None), "RGPD-14": ("beaucoup", None)},
    )
    rows = rows_by_id(workbook.worksheets[0])
    response = client.post(urls(shipped_product)[1], {"fichier": as_upload(workbook)})
    assert response.status_code == 400
    content = response.content.decode()
    assert f"Ligne {rows['RGPD-02']} (RGPD-02)" in content
    assert "Répondez Oui, Non ou Non applicable." in content
    assert f"Ligne {rows['RGPD-14']} (RGPD-14)" in content
    assert "Aucune réponse du classeur n’a été enregistrée" in content
    assert not Answer.objects.filter(product=shipped_product).exists()


def test_a_number_out_of_bounds_is_refused(client, shipped_product, editor):
    client.force_login(editor)
    workbook = filled(client, shipped_product, {"RGPD-14": (-3, None)})
    response = client.post(urls(shipped_product)[1], {"fichier": as_upload(workbook)})
    assert response.status_code == 400
    assert "La réponse doit être au moins 0 jours." in response.content.decode()


def test_template_of_another_product_is_refused(client, shipped_product, editor, organisation):
    other = declare(editor, organisation, name="Autre service", procedure=Procedure.AVEC_ECHANGE)
    client.force_login(editor)
    workbook = filled(client, other, {"RGPD-01": ("Oui", None)})
    response = client.post(urls(shipped_product)[1], {"fichier": as_upload(workbook)})
    assert response.status_code == 400
    assert f"pas pour {shipped_product.reference}" in response.content.decode()
    assert not Answer.objects.exists()


def test_template_of_another_questionnaire_is_refused(client, shipped_product, editor):
    client.force_login(editor)
    workbook = filled(client, shipped_product, {"ECH-01": ("Oui", None)}, questionnaire="echanges")
    response = client.post(urls(shipped_product, "rgpd")[1], {"fichier": as_upload(workbook)})
    assert response.status_code == 400
    assert "questionnaire « echanges »" in response.content.decode()
    assert not Answer.objects.exists()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.4 not a workbook", "n’est pas un classeur .xlsx"),
        (_zip({"cache.txt": b"contenu"}), "n’est pas un classeur .xlsx"),
        (_zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<broken"}), "n’est pas un classeur .xlsx"),
        (
            _zip(
                {
                    "[Content_Types].xml": b"<x/>",
                    "xl/workbook.xml": b"<x/>",
                    "xl/bomb.xml": b"0" * (TEMPLATE_MAX_UNCOMPRESSED_BYTES + 1),
                }
            ),
            "anormalement volumineux",
        ),
        (b"", "Le fichier est vide."),
    ],
    ids=["pdf", "zip", "damaged", "zip-bomb", "empty"],
)
def test_files_that_are_not_a_sound_workbook_are_refused(client, shipped_product, editor, content, message):
    client.force_login(editor)
    response = client.post(
        urls(shipped_product)[1], {"fichier": SimpleUploadedFile("modele.xlsx", content, content_type=XLSX)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Answer.objects.exists()


def test_too_large_file_is_refused(client, shipped_product, editor):
    client.force_login(editor)
    content = b"PK\x03\x04" + b"0" * TEMPLATE_MAX_BYTES
    response = client.post(
        urls(shipped_product)[1], {"fichier": SimpleUploadedFile("modele.xlsx", content, content_type=XLSX)}
    )
    assert response.status_code == 413
    assert "taille maximale" in response.content.decode()


def test_per_platform_product_downloads_and_uploads_each_platform(client, referential, editor, organisation):
    product = declare(editor, organisation, answers_per_platform=True)
    client.force_login(editor)
    page = client.get(urls(product, "echanges")[1])
    assert page.status_code == 200
    assert "?plateforme=ios" in page.content.decode()
    workbook = filled(client, product, {"ECH-01": ("Oui", None)}, questionnaire="echanges", query="?plateforme=ios")
    assert workbook.worksheets[0]["B6"].value == "iOS"
    assert client.post(urls(product, "echanges")[1], {"fichier": as_upload(workbook)}).status_code == 302
    answer = Answer.objects.get(product=product)
    assert (answer.platform, answer.value) == (Platform.IOS, "oui")


def test_online_or_unrequired_questionnaires_have_no_template(client, referential, editor, organisation):
    online = declare(editor, organisation)
    without_exchange = declare(editor, organisation, procedure=Procedure.SANS_ECHANGE)
    client.force_login(editor)
    assert client.get(urls(online, "urbanisation")[0]).status_code == 404
    assert client.get(urls(without_exchange, "echanges")[0]).status_code == 404
    assert client.get(urls(online, "echanges")[0]).status_code == 200


def test_templates_are_for_the_products_editors_only(client, persona_users, shipped_product, outsider):
    for url in urls(shipped_product):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        for role in ("citizen", "professional", "commission", "admin"):
            client.force_login(persona_users[role])
            assert client.get(url).status_code == 403, role
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        client.logout()
    client.force_login(outsider)
    workbook_bytes = b"PK\x03\x04"
    response = client.post(
        urls(shipped_product)[1], {"fichier": SimpleUploadedFile("m.xlsx", workbook_bytes, content_type=XLSX)}
    )
    assert response.status_code == 404
