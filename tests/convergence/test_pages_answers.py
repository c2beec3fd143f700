"""Answering on the section pages: each type (valid and invalid), the conflict of two members (page and JSON),
evidence upload, refusal, removal and download, platforms, constant query count."""

import json

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from convergence.models import Answer, AnswerEvidence, EvidenceFile
from convergence.services import answer_save, evidence_add
from tests.convergence.conftest import criterion
from tests.dossier.documents_samples import pdf_bytes, upload


def section(product, questionnaire="urbanisation", code="identification", platform=""):
    url = reverse("convergence_section", args=[product.public_id, questionnaire, code])
    return f"{url}?plateforme={platform}" if platform else url


def stored(product, code, platform=""):
    return Answer.objects.get(product=product, criterion__criterion_id=code, platform=platform)


@pytest.fixture
def signed_in(client, editor):
    client.force_login(editor)
    return client


def test_the_section_page_lists_its_criteria_with_their_expected_level(signed_in, product):
    page = signed_in.get(section(product)).content.decode()
    for code in ("URB-01", "URB-02", "URB-03"):
        assert f'id="critere-{code}"' in page
    assert "URB-04" not in page  # another section
    assert "Obligatoire" in page and "Optionnel" in page
    assert "Non (ou « Non applicable »)" in page  # URB-03 admits « non applicable »
    assert 'value="na"' in page
    assert page.count('name="revision" value="0"') == 3
    assert "convergence/autosave.js" in page
    # Next section link, and the progress bars of the questionnaire and the product.
    assert section(product, code="hebergement") in page
    assert 'id="questionnaire-progress"' in page and 'id="product-progress"' in page


def test_other_sections_show_choices_numbers_texts_and_evidence(signed_in, product):
    page = signed_in.get(section(product, code="hebergement")).content.decode()
    assert "« Hébergeur certifié HDS »" in page or "Hébergeur certifié HDS" in page
    assert "au moins 50 %" in page
    assert 'inputmode="decimal"' in page
    assert "<textarea" in page
    assert "Ajouter un fichier de preuve" in page  # URB-06: evidence facultative
    page = signed_in.get(section(product, "echanges", "jetons")).content.decode()
    assert "modèle" in page  # the template banner of a « modele » questionnaire


def test_unknown_sections_and_questionnaires_not_required_are_404(signed_in, organisation, editor, referential):
    from tests.convergence.conftest import declare

    product = declare(editor, organisation, procedure="sans_echange")
    assert signed_in.get(section(product, "echanges", "jetons")).status_code == 404
    assert signed_in.get(section(product, "urbanisation", "inconnue")).status_code == 404


@pytest.mark.parametrize(
    ("questionnaire", "sec", "code", "value", "expected"),
    [
        ("urbanisation", "identification", "URB-01", "oui", "oui"),
        ("urbanisation", "identification", "URB-03", "na", "na"),
        ("urbanisation", "hebergement", "URB-04", "hds_certifie", "hds_certifie"),
        ("urbanisation", "hebergement", "URB-05", "12,5", 12.5),
        ("urbanisation", "hebergement", "URB-06", "Export complet.", "Export complet."),
    ],
)
def test_answering_each_type_without_javascript(signed_in, product, questionnaire, sec, code, value, expected):
    url = section(product, questionnaire, sec)
    response = signed_in.post(url, {"criterion": code, "revision": "0", "value": value, "comment": "Vu en recette"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#critere-{code}")
    answer = stored(product, code)
    assert (answer.value, answer.comment, answer.revision) == (expected, "Vu en recette", 1)
    page = signed_in.get(response["Location"]).content.decode()
    assert f"Réponse au critère {code} enregistrée." in page
    assert 'name="revision" value="1"' in page


@pytest.mark.parametrize(
    ("sec", "code", "value", "message"),
    [
        ("identification", "URB-01", "peut-etre", "Répondez Oui, Non ou Non applicable."),
        ("hebergement", "URB-04", "cloud", "Choisissez l’une des réponses proposées."),
        ("hebergement", "URB-05", "beaucoup", "La réponse doit être un nombre, par exemple 75 ou 12,5."),
        ("hebergement", "URB-05", "150", "La réponse doit être au plus 100 %."),
        ("hebergement", "URB-06", "x" * 5001, "La réponse ne doit pas dépasser 5000 caractères."),
    ],
)
def test_invalid_answers_are_refused_in_french(signed_in, product, sec, code, value, message):
    response = signed_in.post(section(product, code=sec), {"criterion": code, "revision": "0", "value": value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Answer.objects.filter(product=product).exists()


def test_a_criterion_of_another_section_or_a_bad_revision_is_refused(signed_in, product):
    assert signed_in.post(section(product), {"criterion": "URB-04", "revision": "0", "value": "x"}).status_code == 404
    response = signed_in.post(section(product), {"criterion": "URB-01", "revision": "abc", "value": "oui"})
    assert response.status_code == 400
    assert "rechargez-la" in response.content.decode()


def test_the_second_writer_gets_the_conflict_page_and_the_first_answer_is_kept(product, editor, colleague):
    first, second = Client(), Client()
    first.force_login(editor)
    second.force_login(colleague)
    url = section(product)
    # Both read the page at revision 0; the first saves « oui », then the second tries « non ».
    assert first.post(url, {"criterion": "URB-01", "revision": "0", "value": "oui"}).status_code == 302
    response = second.post(url, {"criterion": "URB-01", "revision": "0", "value": "non", "comment": "À revoir"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Cette réponse a été modifiée par Alice" in page or "Cette réponse a été modifiée par" in page
    assert editor.display_name in page
    assert "pendant que vous la modifiiez : voici la réponse actuelle" in page
    assert "Réponse actuelle :" in page and "Votre saisie :" in page
    assert "Appliquer ma réponse à la place" in page
    assert stored(product, "URB-01").value == "oui"
    # Re-applying knowingly, on the current revision, goes through.
    response = second.post(url, {"criterion": "URB-01", "revision": "1", "value": "non", "comment": "À revoir"})
    assert response.status_code == 302
    assert (stored(product, "URB-01").value, stored(product, "URB-01").updated_by) == ("non", colleague)


def test_autosave_json_saves_and_reports_progress(signed_in, product):
    url = reverse("convergence_answer", args=[product.public_id, "URB-05"])
    response = signed_in.post(url, {"revision": "0", "value": "75", "comment": ""})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "saved" and data["revision"] == 1
    assert data["message"].startswith("Enregistré à ")
    assert data["questionnaire_progress"] == {"answered": 1, "total": 6, "percent": 17}
    assert data["product_progress"]["answered"] == 1
    response = signed_in.post(url, {"revision": "1", "value": "deux cents"})
    assert response.status_code == 400
    assert response.json()["message"] == "La réponse doit être un nombre, par exemple 75 ou 12,5."


def test_autosave_conflict_is_409_in_french_and_keeps_the_first_answer(product, editor, colleague):
    first, second = Client(), Client()
    first.force_login(editor)
    second.force_login(colleague)
    url = reverse("convergence_answer", args=[product.public_id, "URB-01"])
    assert first.post(url, {"revision": "0", "value": "oui"}).status_code == 200
    response = second.post(url, {"revision": "0", "value": "non"})
    assert response.status_code == 409
    data = json.loads(response.content)
    assert data["status"] == "conflict"
    assert "voici la réponse actuelle" in data["message"] and editor.display_name in data["message"]
    assert data["current"] == {"value": "oui", "label": "Oui", "comment": "", "revision": 1}
    assert stored(product, "URB-01").value == "oui"


def test_autosave_checks_csrf(product, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    url = reverse("convergence_answer", args=[product.public_id, "URB-01"])
    assert client.post(url, {"revision": "0", "value": "oui"}).status_code == 403
    assert not Answer.objects.exists()


def test_autosave_of_an_unknown_criterion_is_404(signed_in, product):
    assert signed_in.post(reverse("convergence_answer", args=[product.public_id, "ZZZ-99"]), {}).status_code == 404


# --- Platforms ------------------------------------------------------------------------------------------------


def test_per_platform_answers_go_to_the_chosen_platform(signed_in, product_per_platform):
    product = product_per_platform
    page = signed_in.get(section(product)).content.decode()
    assert "Réponses pour la plateforme" in page and section(product, platform="ios") in page
    url = section(product, platform="ios")
    assert signed_in.post(url, {"criterion": "URB-01", "revision": "0", "value": "oui"}).status_code == 302
    assert stored(product, "URB-01", "ios").value == "oui"
    assert not Answer.objects.filter(product=product, platform="android").exists()
    assert signed_in.get(section(product, platform="web")).status_code == 404
    json_url = reverse("convergence_answer", args=[product.public_id, "URB-01"])
    response = signed_in.post(json_url, {"revision": "0", "value": "non", "plateforme": "android"})
    assert response.status_code == 200
    assert stored(product, "URB-01", "android").value == "non"


# --- Evidence -------------------------------------------------------------------------------------------------


def upload_url(product, platform=""):
    url = reverse("convergence_evidence_upload", args=[product.public_id, "ethique", "transparence"])
    return f"{url}?plateforme={platform}" if platform else url


def test_uploading_downloading_and_removing_evidence(signed_in, product, colleague, django_capture_on_commit_callbacks):
    response = signed_in.post(
        upload_url(product), {"criterion": "ETH-02", "ETH-02-file": upload(pdf_bytes(), name="charte éthique.pdf")}
    )
    assert response.status_code == 302
    evidence = EvidenceFile.objects.get()
    assert AnswerEvidence.objects.get().answer == stored(product, "ETH-02")
    page = signed_in.get(response["Location"]).content.decode()
    assert "Le fichier « charte éthique.pdf » est ajouté au critère ETH-02." in page
    download = reverse("convergence_evidence_download", args=[product.public_id, evidence.public_id])
    assert download in page
    # A colleague downloads it: an attachment, never sniffed nor run.
    other = Client()
    other.force_login(colleague)
    response = other.get(download)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == pdf_bytes()
    # Removal.
    name = evidence.file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            section(product, "ethique", "transparence"),
            {"action": "retirer", "criterion": "ETH-02", "evidence": str(evidence.public_id)},
        )
    assert response.status_code == 302
    assert not EvidenceFile.objects.exists()
    assert not default_storage.exists(name)


def test_a_refused_file_is_explained_in_french(signed_in, product):
    response = signed_in.post(
        upload_url(product),
        {"criterion": "ETH-02", "ETH-02-file": upload(b"<html><script>alert(1)</script></html>", name="preuve.pdf")},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "fr-error-text" in page
    assert not EvidenceFile.objects.exists()
    response = signed_in.post(upload_url(product), {"criterion": "ETH-02"})
    assert response.status_code == 400
    assert "Choisissez un fichier à déposer." in response.content.decode()


def test_a_too_large_file_is_refused(signed_in, product, settings):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 1024
    response = signed_in.post(
        upload_url(product), {"criterion": "ETH-02", "ETH-02-file": upload(pdf_bytes() + b"%" * 200_000)}
    )
    assert response.status_code == 413
    assert not EvidenceFile.objects.exists()


def test_upload_to_a_criterion_without_evidence_is_404(signed_in, product):
    url = reverse("convergence_evidence_upload", args=[product.public_id, "urbanisation", "identification"])
    assert signed_in.post(url, {"criterion": "URB-01", "URB-01-file": upload(pdf_bytes())}).status_code == 404


def test_evidence_of_another_product_is_404(signed_in, editor, product, product_per_platform):
    evidence = evidence_add(
        actor=editor, product=product, criterion=criterion("ETH-02"), upload=upload(pdf_bytes())
    ).evidence
    url = reverse("convergence_evidence_download", args=[product_per_platform.public_id, evidence.public_id])
    assert signed_in.get(url).status_code == 404


def test_the_page_shows_the_gap_disappearing_once_evidence_is_attached(signed_in, editor, product):
    answer_save(
        actor=editor, product=product, criterion=criterion("ETH-01"), value="oui", expected_revision=0, platform=""
    )
    url = section(product, "ethique", "transparence")
    page = signed_in.get(url).content.decode()
    assert 'data-gap="ETH-01">Non satisfait' in page
    signed_in.post(upload_url(product), {"criterion": "ETH-01", "ETH-01-file": upload(pdf_bytes())})
    assert 'data-gap="ETH-01">Satisfait' in signed_in.get(url).content.decode()


def test_the_section_page_reads_in_a_constant_number_of_queries(signed_in, editor, product):
    url = section(product, "ethique", "transparence")
    answer_save(actor=editor, product=product, criterion=criterion("ETH-03"), value="oui", expected_revision=0)
    signed_in.get(url)
    with CaptureQueriesContext(connection) as few:
        assert signed_in.get(url).status_code == 200
    answer_save(actor=editor, product=product, criterion=criterion("ETH-01"), value="oui", expected_revision=0)
    for code in ("ETH-01", "ETH-02", "ETH-02"):
        evidence_add(actor=editor, product=product, criterion=criterion(code), upload=upload(pdf_bytes()))
    with CaptureQueriesContext(connection) as full:
        assert signed_in.get(url).status_code == 200
    assert len(full) == len(few)
