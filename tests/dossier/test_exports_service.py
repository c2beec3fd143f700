"""The export of the whole dossier: request, task, the Bundle written, failures, purge."""

import base64
import hashlib
import json
import tempfile
import tracemalloc
from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from kombu.exceptions import OperationalError as BrokerUnavailable

from dossier.fhir.documents import DMP_CONFIDENTIALITY_SYSTEM, SHA256_EXTENSION
from dossier.models import AuthorKind, DossierExport
from dossier.models.documents import DocumentFormat
from dossier.services import exports as service
from dossier.services.exports import (
    ExportError,
    export_build,
    export_claim,
    export_delete,
    export_purge_expired,
    export_request,
)
from dossier.tasks import dossier_export_build, dossier_export_purge_expired
from mes.acces.models import JournalEntry
from mes.acces.policy import CitizenAccess
from mes.comptes.models import Citizen
from tests.dossier.exports_data import (
    PNG_BYTES,
    make_document,
    make_immunization,
    make_measure,
    make_profile_entries,
    measures_bulk,
    read_bundle,
    remove_citizen_files,
    storage_names_under,
)


@pytest.fixture(autouse=True)
def _clean_storage(db):
    yield
    remove_citizen_files(Citizen.objects.values_list("public_id", flat=True))


def _request_and_run(access, capture) -> DossierExport:
    with capture(execute=True):
        export = export_request(access=access)
    export.refresh_from_db()
    return export


def _running(citizen, **fields) -> DossierExport:
    return DossierExport.objects.create(citizen=citizen, status=DossierExport.Status.RUNNING, **fields)


# --- Request and task ---------------------------------------------------------------------------------------------


def test_request_queues_the_task_after_commit_and_the_export_becomes_ready(
    access, django_capture_on_commit_callbacks, settings
):
    make_measure(access.citizen)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        export = export_request(access=access)
        assert DossierExport.objects.get(pk=export.pk).status == DossierExport.Status.PENDING
    assert len(callbacks) == 1  # nothing runs before the commit
    callbacks[0]()
    export.refresh_from_db()

    assert export.status == DossierExport.Status.DONE
    assert export.progress == 100
    assert export.phase == DossierExport.Phase.FINISHED
    assert export.requested_by == access.actor
    assert export.file.name.startswith(f"dossier/{access.citizen.public_id}/exports/")
    assert default_storage.size(export.file.name) == export.size_bytes
    assert export.expires_at - export.finished_at == timedelta(days=settings.DOSSIER_EXPORT_RETENTION_DAYS)
    journal = list(JournalEntry.objects.filter(citizen=access.citizen).order_by("seq"))
    assert [(row.action, row.actor_id, row.actor_label) for row in journal] == [
        ("dossier.export.demande", access.actor.pk, ""),
        ("dossier.export.pret", None, "Mon espace santé"),
    ]
    assert journal[1].object_id == str(export.public_id)


def test_a_second_request_while_one_is_in_preparation_is_refused(access, other_access):
    DossierExport.objects.create(citizen=access.citizen)
    with pytest.raises(ExportError, match="déjà en préparation"):
        export_request(access=access)
    assert DossierExport.objects.filter(citizen=access.citizen).count() == 1
    # Another space is not concerned.
    export_request(access=other_access)
    assert DossierExport.objects.filter(citizen=other_access.citizen).count() == 1


def test_the_database_itself_allows_one_export_in_preparation_per_space(citizen):
    _running(citizen)
    with pytest.raises(IntegrityError), transaction.atomic():
        DossierExport.objects.create(citizen=citizen)
    # Finished ones do not count.
    DossierExport.objects.filter(citizen=citizen).update(status=DossierExport.Status.FAILED)
    DossierExport.objects.create(citizen=citizen)


def test_a_new_request_is_accepted_once_the_previous_export_is_ready(access, django_capture_on_commit_callbacks):
    first = _request_and_run(access, django_capture_on_commit_callbacks)
    second = _request_and_run(access, django_capture_on_commit_callbacks)
    assert first.status == second.status == DossierExport.Status.DONE
    assert first.file.name != second.file.name


def test_an_export_whose_worker_vanished_no_longer_blocks_the_space(access):
    stale = _running(access.citizen)
    DossierExport.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - service.STALE_AFTER - timedelta(1))
    export_request(access=access)
    stale.refresh_from_db()
    assert stale.status == DossierExport.Status.FAILED
    assert "interrompue" in stale.error_message


def test_only_the_person_or_their_representative_may_export(citizen, professional):
    outsider = CitizenAccess(actor=professional.user, citizen=citizen, kind="care_team", sees_hidden_documents=False)
    with pytest.raises(PermissionDenied):
        export_request(access=outsider)
    assert not DossierExport.objects.exists()


def test_the_task_claims_the_export_once(access, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        export = export_request(access=access)
    assert dossier_export_build.delay(export.pk).get() == DossierExport.Status.DONE
    # A second delivery of the same message finds nothing to claim and changes nothing.
    stored = DossierExport.objects.get(pk=export.pk)
    assert dossier_export_build.delay(export.pk).get() == "skipped"
    assert DossierExport.objects.get(pk=export.pk).file.name == stored.file.name
    assert JournalEntry.objects.filter(action="dossier.export.pret").count() == 1


def test_a_redelivered_task_takes_over_an_export_whose_worker_died(citizen):
    export = _running(citizen)
    assert not export_claim(export_id=export.pk)  # still alive as far as anyone knows
    later = timezone.now() + service.STALE_AFTER + timedelta(seconds=1)
    assert export_claim(export_id=export.pk, now=later)


def test_build_ignores_an_export_that_was_not_claimed(citizen):
    export = DossierExport.objects.create(citizen=citizen)
    assert export_build(export_id=export.pk).status == DossierExport.Status.PENDING
    assert not storage_names_under(citizen, "exports")


def test_a_broker_that_cannot_be_reached_fails_the_export_with_a_message(access, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(dossier_export_build, "delay", side_effect=BrokerUnavailable("down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        export = export_request(access=access)
    export.refresh_from_db()
    assert export.status == DossierExport.Status.FAILED
    assert "momentanément indisponible" in export.error_message
    export_request(access=access)  # the space is not blocked


# --- The Bundle -------------------------------------------------------------------------------------------------------


def test_the_bundle_holds_the_whole_dossier_and_validates_as_fhir_r4(access, django_capture_on_commit_callbacks):
    citizen = access.citizen
    measures = [make_measure(citizen, value=70 + n) for n in range(3)]
    shown = make_document(citizen, title="Compte rendu opératoire")
    hidden = make_document(
        citizen,
        PNG_BYTES,
        title="Radiographie du genou",
        hidden=True,
        file_format=DocumentFormat.PNG,
        content_type="image/png",
        author_kind=AuthorKind.CITIZEN,
        author_label="Vous",
        author_user=citizen.user,
        type_code="18748-4",
    )
    immunizations = [make_immunization(citizen), make_immunization(citizen, label="Vaccin grippe")]
    entries = make_profile_entries(citizen)

    export = _request_and_run(access, django_capture_on_commit_callbacks)
    assert export.status == DossierExport.Status.DONE
    data = read_bundle(export)

    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    assert bundle.timestamp is not None
    for entry in data["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"

    by_type: dict[str, list[dict]] = {}
    for entry in data["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    assert {kind: len(resources) for kind, resources in by_type.items()} == {
        "Patient": 1,
        "Observation": 3,
        "Binary": 2,
        "DocumentReference": 2,
        "Immunization": 2,
        "Condition": 2,
        "MedicationStatement": 1,
        "FamilyMemberHistory": 1,
        "AllergyIntolerance": 1,
    }
    patient = by_type["Patient"][0]
    patient_url = f"urn:uuid:{citizen.public_id}"
    assert patient["identifier"][0]["system"] == "urn:oid:1.2.250.1.213.1.4.8"
    assert patient["identifier"][0]["value"] == citizen.ins
    assert data["entry"][0]["fullUrl"] == patient_url

    assert {o["id"] for o in by_type["Observation"]} == {str(m.public_id) for m in measures}
    assert all(o["subject"] == {"reference": patient_url} for o in by_type["Observation"])
    assert {i["id"] for i in by_type["Immunization"]} == {str(i.public_id) for i in immunizations}
    assert all(i["patient"] == {"reference": patient_url} for i in by_type["Immunization"])
    profile_ids = {
        r["id"]
        for kind in ("Condition", "MedicationStatement", "FamilyMemberHistory", "AllergyIntolerance")
        for r in by_type[kind]
    }
    assert profile_ids == {str(entry.public_id) for entry in entries.values()}

    binaries = {f"urn:uuid:{b['id']}": b for b in by_type["Binary"]}
    references = {r["id"]: r for r in by_type["DocumentReference"]}
    for document, content in ((shown, None), (hidden, PNG_BYTES)):
        reference = references[str(document.public_id)]
        attachment = reference["content"][0]["attachment"]
        binary = binaries[attachment["url"]]
        exported = base64.b64decode(binary["data"], validate=True)
        assert hashlib.sha256(exported).hexdigest() == document.sha256
        if content is not None:
            assert exported == content
        assert attachment["hash"] == base64.b64encode(hashlib.sha1(exported, usedforsecurity=False).digest()).decode()
        assert attachment["size"] == document.size_bytes == len(exported)
        assert attachment["extension"] == [{"url": SHA256_EXTENSION, "valueString": document.sha256}]
        assert binary["contentType"] == attachment["contentType"] == document.content_type
        assert binary["securityContext"] == {"reference": f"urn:uuid:{document.public_id}"}
        assert reference["subject"] == {"reference": patient_url}
        assert reference["description"] == document.title
    masked = [
        coding["code"]
        for label in references[str(hidden.public_id)]["securityLabel"]
        for coding in label["coding"]
        if coding["system"] == DMP_CONFIDENTIALITY_SYSTEM
    ]
    assert masked == ["MASQUE_PS"]
    assert all(
        coding["system"] != DMP_CONFIDENTIALITY_SYSTEM
        for label in references[str(shown.public_id)]["securityLabel"]
        for coding in label["coding"]
    )
    # The citizen added the X-ray: its author is the Patient entry.
    assert references[str(hidden.public_id)]["author"][0]["reference"] == patient_url

    # Every reference inside the Bundle points to one of its entries.
    full_urls = {entry["fullUrl"] for entry in data["entry"]}
    text = json.dumps(data)
    for url in {part.split('"')[0] for part in text.split('"reference": "')[1:]}:
        assert url in full_urls


def test_an_empty_dossier_exports_the_patient_alone(access, django_capture_on_commit_callbacks):
    export = _request_and_run(access, django_capture_on_commit_callbacks)
    data = read_bundle(export)
    Bundle.model_validate(data)
    assert [entry["resource"]["resourceType"] for entry in data["entry"]] == ["Patient"]


def test_a_parent_exports_the_child_dossier_not_their_own(child_access, django_capture_on_commit_callbacks):
    parent = child_access.actor
    make_measure(parent.citizen)
    make_measure(child_access.citizen, value=25)
    export = _request_and_run(child_access, django_capture_on_commit_callbacks)
    assert export.citizen == child_access.citizen
    assert export.requested_by == parent
    data = read_bundle(export)
    patient = data["entry"][0]["resource"]
    assert patient["identifier"][0]["value"] == child_access.citizen.ins
    assert patient["name"][0]["given"] == ["Léa", "Anne"]
    observations = [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert [o["valueQuantity"]["value"] for o in observations] == [25]
    request_row = JournalEntry.objects.get(action="dossier.export.demande")
    assert (request_row.actor, request_row.citizen) == (parent, child_access.citizen)


# --- Progress, memory -----------------------------------------------------------------------------------------------


def test_progress_reaches_the_row_every_n_resources_not_every_row(citizen):
    measures_bulk(citizen, 120)
    export = _running(citizen)
    with CaptureQueriesContext(connection) as queries:
        export_build(export_id=export.pk, progress_every=25)
    progress_updates = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "dossier_dossierexport"')
    ]
    # 121 resources: about one save per 25, one per phase (6) and the final one — far fewer than one per row.
    assert 8 <= len(progress_updates) <= 16
    assert DossierExport.objects.get(pk=export.pk).status == DossierExport.Status.DONE


def test_memory_stays_flat_whatever_the_size_of_the_dossier(citizen):
    """A 12 MB document and 3,000 measures: the Bundle (over 17 MB) never sits in memory, nor the document."""
    measures_bulk(citizen, 3000)
    big = hashlib.sha256(b"seed").digest() * (12 * 1024 * 1024 // 32)
    make_document(citizen, big, title="Scanner thoracique")
    export = _running(citizen)
    tracemalloc.start()
    try:
        export_build(export_id=export.pk)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    export.refresh_from_db()
    assert export.status == DossierExport.Status.DONE
    assert export.size_bytes > 17 * 1024 * 1024
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MB"


# --- Failures -------------------------------------------------------------------------------------------------------


class _TrackedTemporaryFile:
    """Records the scratch files the export opens, to check that each one is closed (hence deleted)."""

    def __init__(self):
        self.files = []
        self._real = tempfile.TemporaryFile

    def __call__(self, *args, **kwargs):
        handle = self._real(*args, **kwargs)
        self.files.append(handle)
        return handle


def test_a_document_missing_from_the_storage_fails_the_export_cleanly(access, django_capture_on_commit_callbacks):
    document = make_document(access.citizen, title="Ordonnance perdue")
    default_storage.delete(document.file.name)
    tracked = _TrackedTemporaryFile()
    with mock.patch("dossier.services.exports.tempfile.TemporaryFile", tracked):
        export = _request_and_run(access, django_capture_on_commit_callbacks)
    assert export.status == DossierExport.Status.FAILED
    assert "« Ordonnance perdue » est introuvable" in export.error_message
    assert export.file.name == ""
    assert storage_names_under(access.citizen, "exports") == []
    assert tracked.files and all(handle.closed for handle in tracked.files)
    assert JournalEntry.objects.filter(action="dossier.export.echec", citizen=access.citizen).count() == 1
    assert not JournalEntry.objects.filter(action="dossier.export.pret").exists()


def test_an_altered_document_is_not_exported(access, django_capture_on_commit_callbacks):
    document = make_document(access.citizen, title="Bilan sanguin")
    with default_storage.open(document.file.name, "wb") as handle:
        handle.write(b"%PDF-1.4 something else entirely")
    export = _request_and_run(access, django_capture_on_commit_callbacks)
    assert export.status == DossierExport.Status.FAILED
    assert "« Bilan sanguin » ne correspond plus" in export.error_message
    assert storage_names_under(access.citizen, "exports") == []


def test_a_failure_after_the_file_reached_the_storage_leaves_no_orphan(access, django_capture_on_commit_callbacks):
    make_measure(access.citizen)
    with mock.patch("dossier.services.exports.journal_append", wraps=service.journal_append) as journal:
        journal.side_effect = [mock.DEFAULT, RuntimeError("journal indisponible"), mock.DEFAULT]
        export = _request_and_run(access, django_capture_on_commit_callbacks)
    assert export.status == DossierExport.Status.FAILED
    assert "a échoué" in export.error_message
    assert storage_names_under(access.citizen, "exports") == []


def test_an_export_withdrawn_while_running_stops_without_a_file(citizen):
    measures_bulk(citizen, 30)
    export = _running(citizen)
    real_save = service._Progress.save

    def withdraw_then_save(progress, **kwargs):
        DossierExport.objects.filter(pk=export.pk).update(status=DossierExport.Status.FAILED)
        return real_save(progress, **kwargs)

    with mock.patch.object(service._Progress, "save", withdraw_then_save):
        export_build(export_id=export.pk, progress_every=10)
    assert DossierExport.objects.get(pk=export.pk).status == DossierExport.Status.FAILED
    assert storage_names_under(citizen, "exports") == []


def test_the_time_limit_fails_the_export_with_a_message(citizen):
    from celery.exceptions import SoftTimeLimitExceeded

    export = _running(citizen)
    with mock.patch("dossier.services.exports.patient_resource", side_effect=SoftTimeLimitExceeded()):
        export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == DossierExport.Status.FAILED
    assert "durée maximale" in export.error_message


# --- Purge and deletion ---------------------------------------------------------------------------------------------


def test_purge_deletes_expired_files_and_keeps_their_rows(access, django_capture_on_commit_callbacks):
    expired = _request_and_run(access, django_capture_on_commit_callbacks)
    fresh = _request_and_run(access, django_capture_on_commit_callbacks)
    DossierExport.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    stale = _running(access.citizen)
    DossierExport.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        result = dossier_export_purge_expired.delay().get()
    assert result == {"expired": 1}
    expired_row = DossierExport.objects.get(pk=expired.pk)
    assert (expired_row.status, expired_row.file.name) == (DossierExport.Status.EXPIRED, "")
    assert not default_storage.exists(expired.file.name)
    assert default_storage.exists(fresh.file.name)
    assert DossierExport.objects.get(pk=fresh.pk).status == DossierExport.Status.DONE
    assert DossierExport.objects.get(pk=stale.pk).status == DossierExport.Status.FAILED
    # Idempotent.
    assert export_purge_expired() == 0


def test_the_citizen_deletes_an_export_and_its_file(access, django_capture_on_commit_callbacks):
    export = _request_and_run(access, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        export_delete(access=access, export=export)
    assert not DossierExport.objects.filter(pk=export.pk).exists()
    assert not default_storage.exists(export.file.name)
    assert JournalEntry.objects.filter(action="dossier.export.supprime", object_id=str(export.public_id)).exists()


def test_an_export_in_preparation_cannot_be_deleted(access):
    export = _running(access.citizen)
    with pytest.raises(ExportError, match="en cours de préparation"):
        export_delete(access=access, export=export)
    assert DossierExport.objects.filter(pk=export.pk).exists()


def test_a_task_for_an_export_that_no_longer_exists_does_nothing(citizen):
    export = DossierExport.objects.create(citizen=citizen)
    DossierExport.objects.filter(pk=export.pk).delete()
    assert dossier_export_build.delay(export.pk).get() == "skipped"
    assert export_build(export_id=export.pk) is None


def test_a_computed_measure_points_to_the_entries_it_derives_from(access, django_capture_on_commit_callbacks):
    weight = make_measure(access.citizen, value=70)
    height = make_measure(access.citizen, value=170)
    bmi = make_measure(access.citizen, value=24.2)
    bmi.resource["derivedFrom"] = [
        {"reference": f"Observation/{weight.public_id}"},
        {"reference": f"Observation/{height.public_id}", "display": "Taille"},
    ]
    bmi.save(update_fields=["resource"])
    data = read_bundle(_request_and_run(access, django_capture_on_commit_callbacks))
    Bundle.model_validate(data)
    exported = next(e["resource"] for e in data["entry"] if e["resource"]["id"] == str(bmi.public_id))
    assert exported["derivedFrom"] == [
        {"reference": f"urn:uuid:{weight.public_id}"},
        {"reference": f"urn:uuid:{height.public_id}", "display": "Taille"},
    ]
    full_urls = {entry["fullUrl"] for entry in data["entry"]}
    assert {link["reference"] for link in exported["derivedFrom"]} <= full_urls
