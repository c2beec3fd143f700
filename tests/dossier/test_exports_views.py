"""Pages of the export: who reaches them, the request, the progress, the status JSON, the download, expiry."""

import json
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from dossier.models import DossierExport
from dossier.services.exports import export_build, export_claim
from mes.acces.models import JournalEntry
from mes.comptes.models import Citizen
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
from tests.dossier.exports_data import make_document, make_measure, remove_citizen_files

LIST = reverse("export_list")
OTHER_ROLES = ["professional", "editor", "commission", "admin"]


@pytest.fixture(autouse=True)
def _clean_storage(db):
    yield
    remove_citizen_files(Citizen.objects.values_list("public_id", flat=True))


def _ready_export(citizen) -> DossierExport:
    export = DossierExport.objects.create(citizen=citizen, requested_by=citizen.user)
    export_claim(export_id=export.pk)
    return export_build(export_id=export.pk)


def _object_routes(export) -> list[tuple[str, str]]:
    return [
        ("get", reverse("export_detail", args=[export.public_id])),
        ("get", reverse("export_status", args=[export.public_id])),
        ("get", reverse("export_download", args=[export.public_id])),
        ("post", reverse("export_delete", args=[export.public_id])),
    ]


# --- Who reaches the pages ------------------------------------------------------------------------------------------


def test_visitors_are_asked_to_sign_in_on_every_route(client, citizen):
    export = _ready_export(citizen)
    for method, url in [("get", LIST), ("post", LIST), *_object_routes(export)]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
    assert DossierExport.objects.count() == 1


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_refused_on_every_route(client, persona_users, citizen, role):
    export = _ready_export(citizen)
    client.force_login(persona_users[role])
    for method, url in [("get", LIST), ("post", LIST), *_object_routes(export)]:
        assert getattr(client, method)(url).status_code == 403, (role, url)
    assert DossierExport.objects.count() == 1
    assert default_storage.exists(export.file.name)


def test_another_citizen_reaches_none_of_an_export(client, citizen, other_citizen):
    export = _ready_export(citizen)
    client.force_login(other_citizen.user)
    for method, url in _object_routes(export):
        assert getattr(client, method)(url).status_code == 404, url
    export.refresh_from_db()
    assert export.status == DossierExport.Status.DONE
    assert default_storage.exists(export.file.name)
    assert not JournalEntry.objects.filter(action="dossier.export.telecharge").exists()
    # Their own list does not show it either.
    assert str(export.public_id) not in client.get(LIST).content.decode()


# --- The list and the request ---------------------------------------------------------------------------------------


def test_the_list_explains_the_export_and_offers_to_prepare_one(client, citizen):
    make_document(citizen, hidden=True)
    make_measure(citizen)
    client.force_login(citizen.user)
    response = client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Exporter mon dossier" in page
    assert "FHIR" in page
    assert "1 document, avec son contenu" in page
    assert "y compris 1 document masqué aux professionnels" in page
    assert "1 mesure de santé" in page
    assert "Préparer l’export" in page
    assert "Aucun export n’a encore été demandé." in page


def test_preparing_an_export_leads_to_its_page_ready_to_download(client, citizen, django_capture_on_commit_callbacks):
    make_measure(citizen)
    client.force_login(citizen.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(LIST)
    export = DossierExport.objects.get(citizen=citizen)
    assert response.status_code == 302
    assert response["Location"] == reverse("export_detail", args=[export.public_id])
    page = client.get(response["Location"]).content.decode()
    assert "Votre export est prêt" in page
    assert reverse("export_download", args=[export.public_id]) in page
    listing = client.get(LIST).content.decode()
    assert "Prêt" in listing
    assert reverse("export_download", args=[export.public_id]) in listing


def test_a_second_request_while_one_runs_is_refused_with_a_message(client, citizen):
    running = DossierExport.objects.create(citizen=citizen, status=DossierExport.Status.RUNNING, progress=40)
    client.force_login(citizen.user)
    response = client.post(LIST, follow=True)
    page = response.content.decode()
    assert "Un export de ce dossier est déjà en préparation." in page
    assert DossierExport.objects.filter(citizen=citizen).count() == 1
    # While it runs, the page points to its progress instead of offering a new one.
    assert reverse("export_detail", args=[running.public_id]) in page
    assert "Préparer l’export" not in page


# --- Progress -------------------------------------------------------------------------------------------------------


def test_the_progress_page_works_without_javascript_and_loads_the_poller(client, citizen):
    export = DossierExport.objects.create(
        citizen=citizen, status=DossierExport.Status.RUNNING, progress=42, phase=DossierExport.Phase.DOCUMENTS
    )
    client.force_login(citizen.user)
    page = client.get(reverse("export_detail", args=[export.public_id])).content.decode()
    assert 'value="42"' in page
    assert "Documents" in page
    assert "Actualiser l’avancement" in page  # without JavaScript, a link refreshes the page
    assert "dossier/exports.js" in page
    assert "http-equiv" not in page


def test_the_status_route_answers_json_not_cached(client, citizen):
    export = DossierExport.objects.create(
        citizen=citizen, status=DossierExport.Status.RUNNING, progress=42, phase=DossierExport.Phase.MEASURES
    )
    client.force_login(citizen.user)
    response = client.get(reverse("export_status", args=[export.public_id]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "status": "running",
        "status_label": "En préparation",
        "phase": "Mesures de santé",
        "percent": 42,
        "running": True,
        "ready": False,
        "expired": False,
        "failed": False,
        "error": "",
    }


def test_a_failed_export_shows_its_message_and_offers_a_new_one(client, citizen):
    export = DossierExport.objects.create(
        citizen=citizen,
        status=DossierExport.Status.FAILED,
        error_message="Le fichier du document « X » est introuvable",
    )
    client.force_login(citizen.user)
    page = client.get(reverse("export_detail", args=[export.public_id])).content.decode()
    assert "L’export n’a pas pu être préparé" in page
    assert "Le fichier du document « X » est introuvable" in page
    assert "Préparer un nouvel export" in page
    assert client.get(reverse("export_download", args=[export.public_id])).status_code == 302


# --- Download -------------------------------------------------------------------------------------------------------


def test_the_download_streams_the_bundle_with_safe_headers(client, citizen):
    make_document(citizen)
    export = _ready_export(citizen)
    client.force_login(citizen.user)
    response = client.get(reverse("export_download", args=[export.public_id]))
    assert response.status_code == 200
    assert response.streaming
    day = timezone.localdate(export.finished_at).isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="dossier-mon-espace-sante-{day}.json"'
    assert response["Content-Type"] == "application/fhir+json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    body = b"".join(response.streaming_content)
    assert len(body) == export.size_bytes
    Bundle.model_validate(json.loads(body))
    row = JournalEntry.objects.get(action="dossier.export.telecharge")
    assert (row.actor, row.citizen, row.object_id) == (citizen.user, citizen, str(export.public_id))


def test_an_export_still_in_preparation_is_not_downloadable_yet(client, citizen):
    export = DossierExport.objects.create(citizen=citizen)
    client.force_login(citizen.user)
    response = client.get(reverse("export_download", args=[export.public_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("export_detail", args=[export.public_id])


@pytest.mark.parametrize("purged", [False, True], ids=["past-expiry", "purged"])
def test_an_expired_export_answers_410_gone(client, citizen, purged):
    export = _ready_export(citizen)
    DossierExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    if purged:
        DossierExport.objects.filter(pk=export.pk).update(status=DossierExport.Status.EXPIRED, file="")
    client.force_login(citizen.user)
    response = client.get(reverse("export_download", args=[export.public_id]))
    assert response.status_code == 410
    page = response.content.decode()
    assert "Cet export a expiré" in page
    assert "7 jours" in page
    assert not JournalEntry.objects.filter(action="dossier.export.telecharge").exists()
    detail = client.get(reverse("export_detail", args=[export.public_id])).content.decode()
    assert "Cet export a expiré" in detail
    assert "Préparer un nouvel export" in detail


# --- Deletion -------------------------------------------------------------------------------------------------------


def test_the_citizen_deletes_an_export(client, citizen, django_capture_on_commit_callbacks):
    export = _ready_export(citizen)
    client.force_login(citizen.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("export_delete", args=[export.public_id]), follow=True)
    assert "L’export a été supprimé." in response.content.decode()
    assert not DossierExport.objects.filter(pk=export.pk).exists()
    assert not default_storage.exists(export.file.name)


def test_an_export_in_preparation_cannot_be_deleted_from_the_page(client, citizen):
    export = DossierExport.objects.create(citizen=citizen, status=DossierExport.Status.RUNNING)
    client.force_login(citizen.user)
    response = client.post(reverse("export_delete", args=[export.public_id]), follow=True)
    assert "ne peut pas être supprimé maintenant" in response.content.decode()
    assert DossierExport.objects.filter(pk=export.pk).exists()


# --- A parent for a child -------------------------------------------------------------------------------------------


def _act_for(client, citizen) -> None:
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(citizen.public_id)
    session.save()


def test_a_parent_exports_the_child_dossier_then_loses_it_when_back_in_their_own_space(
    client, citizen, child, django_capture_on_commit_callbacks
):
    client.force_login(citizen.user)
    _act_for(client, child)
    page = client.get(LIST).content.decode()
    assert "vous agissez en tant que représentant légal" in page
    assert "Exporter le dossier de Léa" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(LIST)
    export = DossierExport.objects.get()
    assert export.citizen == child
    assert export.requested_by == citizen.user
    response = client.get(reverse("export_download", args=[export.public_id]))
    patient = json.loads(b"".join(response.streaming_content))["entry"][0]["resource"]
    assert patient["identifier"][0]["value"] == child.ins

    # Back in their own space, the child's export is out of reach.
    session = client.session
    session.pop(ACTIVE_PROFILE_SESSION_KEY)
    session.save()
    for method, url in _object_routes(export):
        assert getattr(client, method)(url).status_code == 404, url
    assert DossierExport.objects.filter(pk=export.pk).exists()


def test_an_export_whose_file_vanished_answers_410_not_an_error(client, citizen):
    export = _ready_export(citizen)
    default_storage.delete(export.file.name)
    client.force_login(citizen.user)
    response = client.get(reverse("export_download", args=[export.public_id]))
    assert response.status_code == 410
    assert not JournalEntry.objects.filter(action="dossier.export.telecharge").exists()
