"""Export of the whole dossier as one FHIR R4 Bundle, prepared by a Celery task (docs/export-dossier.md).

1. ``export_request`` (the citizen, or a parent for a child) creates the export « en attente »; the database allows
   one export in preparation per space (partial unique constraint ``export_one_running``). The task is queued once
   the transaction commits.
2. The task claims the export (pending → running, guarded) and calls ``export_build``, which writes the Bundle into
   an anonymous temporary file, one entry at a time: nothing holds the whole Bundle, nor a whole document, in
   memory; the rows are read with server-side cursors, in the order of the lists' indexes (newest first).
   Progress (percent and phase) reaches the row every ``progress_every`` resources, or every few seconds while a
   large document streams; each save also proves the worker alive.
3. The file is saved to the storage under a server-generated name, then the row becomes « prêt » with its expiry
   date, in one transaction with the journal row. Any failure marks the export failed with a French message,
   deletes what reached the storage, and the temporary file disappears with its handle.
4. ``export_purge_expired`` (periodic) deletes the files of expired exports, keeps their rows as « expiré », and
   fails the exports whose worker vanished (no progress for ``STALE_AFTER``).
"""

import base64
import hashlib
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError as BrokerUnavailable

from dossier.fhir.bundle import BASE64_BLOCK, BundleWriter, bundle_reference, urn_uuid
from dossier.fhir.documents import binary_id, binary_resource, document_reference_resource
from dossier.fhir.patient import patient_resource
from dossier.fhir.profile_entries import profile_entry_resource
from dossier.models import Document, DossierExport, Immunization, Measure, ProfileEntry
from mes.acces.journal import register_action
from mes.acces.policy import CitizenAccess
from mes.acces.services import journal_append

logger = logging.getLogger(__name__)

EXPORT_REQUESTED = "dossier.export.demande"
EXPORT_READY = "dossier.export.pret"
EXPORT_FAILED = "dossier.export.echec"
EXPORT_DOWNLOADED = "dossier.export.telecharge"
EXPORT_DELETED = "dossier.export.supprime"
register_action(EXPORT_REQUESTED, gettext_lazy("Demande d’un export du dossier médical"))
register_action(EXPORT_READY, gettext_lazy("Export du dossier médical prêt à télécharger"))
register_action(EXPORT_FAILED, gettext_lazy("Échec de la préparation d’un export du dossier médical"))
register_action(EXPORT_DOWNLOADED, gettext_lazy("Téléchargement de l’export du dossier médical"))
register_action(EXPORT_DELETED, gettext_lazy("Suppression d’un export du dossier médical"))

SYSTEM_LABEL = "Mon espace santé"
ONE_RUNNING_CONSTRAINT = "export_one_running"

# Progress reaches the row after this many resources, or after this many seconds while a long document streams.
PROGRESS_EVERY = 250
PROGRESS_SECONDS = 5.0
# Rows fetched per round trip of the server-side cursors (documents are wider rows: fewer at a time).
ROWS_PER_FETCH = 500
DOCUMENTS_PER_FETCH = 100
# A document weighs one unit per this many bytes in the percentage, besides its one unit as a resource.
BYTES_PER_UNIT = 64 * 1024
# Writing the Bundle takes the percentage up to here; saving the file to the storage does the rest.
BUILD_SHARE = 95
# An export whose row has not moved for this long lost its worker: the next request or the purge fails it.
# Well above PROGRESS_SECONDS and above the time one save of the finished file to the storage may take.
STALE_AFTER = timedelta(minutes=30)

IN_PROGRESS_MESSAGE = gettext_lazy(
    "Un export de ce dossier est déjà en préparation. Attendez qu’il soit prêt avant d’en demander un autre."
)
STILL_RUNNING_MESSAGE = gettext_lazy(
    "Cet export est en cours de préparation : il ne peut pas être supprimé maintenant."
)
FAILED_MESSAGE = gettext_lazy(
    "La préparation de l’export a échoué. Vous pouvez demander un nouvel export ; si le problème persiste, "
    "contactez l’assistance de Mon espace santé."
)
TOO_LONG_MESSAGE = gettext_lazy(
    "La préparation de l’export a dépassé la durée maximale. Vous pouvez demander un nouvel export ; si le "
    "problème persiste, contactez l’assistance de Mon espace santé."
)
INTERRUPTED_MESSAGE = gettext_lazy(
    "La préparation de l’export a été interrompue. Vous pouvez demander un nouvel export."
)
QUEUE_DOWN_MESSAGE = gettext_lazy(
    "Le service qui prépare les exports est momentanément indisponible. Réessayez dans quelques minutes."
)
MISSING_FILE_MESSAGE = gettext_lazy(
    "Le fichier du document « %(title)s » est introuvable : l’export a été interrompu. "
    "Contactez l’assistance de Mon espace santé."
)
ALTERED_FILE_MESSAGE = gettext_lazy(
    "Le fichier du document « %(title)s » ne correspond plus à celui qui a été déposé : l’export a été interrompu "
    "pour ne pas transmettre un document altéré. Contactez l’assistance de Mon espace santé."
)
TITLE_IN_MESSAGE = 80  # characters of a document title quoted in a message (the column holds 300)


class ExportError(Exception):
    """A refusal or a failure, with the French message shown to the citizen."""


class _ExportWithdrawn(Exception):
    """The row is no longer running (failed as stale, or the space's content was deleted): stop quietly."""


def _require_citizen_side(access: CitizenAccess) -> None:
    # The export holds everything, hidden documents included: only the person or their legal representative.
    if not access.may_write or not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne, ou son représentant légal, peut exporter ce dossier."))


@transaction.atomic
def export_request(*, access: CitizenAccess) -> DossierExport:
    """Ask for a new export of the space ``access`` acts in; refused (``ExportError``) while one is in preparation."""
    _require_citizen_side(access)
    now = timezone.now()
    _fail_stale(now=now, citizen_id=access.citizen.pk)
    try:
        with transaction.atomic():
            export = DossierExport.objects.create(citizen=access.citizen, requested_by=access.actor)
    except IntegrityError as error:
        if _violates(error, ONE_RUNNING_CONSTRAINT):
            raise ExportError(str(IN_PROGRESS_MESSAGE)) from None
        raise
    journal_append(actor=access.actor, action=EXPORT_REQUESTED, citizen=access.citizen, obj=export)
    transaction.on_commit(partial(_enqueue, export.pk))
    return export


def _violates(error: IntegrityError, constraint: str) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == constraint


def _enqueue(export_id: int) -> None:
    # Imported here: the task module imports this one.
    from dossier.tasks import dossier_export_build

    try:
        dossier_export_build.delay(export_id)
    except BrokerUnavailable:
        logger.exception("Export %s: the task could not be queued", export_id)
        now = timezone.now()
        DossierExport.objects.filter(pk=export_id, status=DossierExport.Status.PENDING).update(
            status=DossierExport.Status.FAILED, error_message=str(QUEUE_DOWN_MESSAGE), finished_at=now, updated_at=now
        )


def export_claim(*, export_id: int, now: datetime | None = None) -> bool:
    """Take the export for one run: pending → running, or a running export whose worker vanished. Only one of
    several deliveries of the same task wins; the others find nothing to claim."""
    now = now or timezone.now()
    claimable = Q(status=DossierExport.Status.PENDING) | Q(
        status=DossierExport.Status.RUNNING, updated_at__lt=now - STALE_AFTER
    )
    claimed = (
        DossierExport.objects.filter(claimable, pk=export_id).update(
            status=DossierExport.Status.RUNNING, phase=DossierExport.Phase.PATIENT, progress=0, updated_at=now
        )
        == 1
    )
    return claimed


def export_build(*, export_id: int, progress_every: int = PROGRESS_EVERY) -> DossierExport | None:
    """Write the Bundle of a running export and make it downloadable; on failure mark it failed.

    Does nothing to an export that is not running (claim it first with ``export_claim``); ``None`` when the export
    no longer exists (the space's content was deleted meanwhile).
    """
    export = DossierExport.objects.select_related("citizen").filter(pk=export_id).first()
    if export is None or export.status != DossierExport.Status.RUNNING:
        return export
    stored_name = ""
    try:
        with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as scratch:
            progress = _Progress(export, every=progress_every)
            size = _write_bundle(export, scratch, progress)
            progress.enter(DossierExport.Phase.SAVING, percent=BUILD_SHARE)
            scratch.seek(0)
            content = File(scratch, name="dossier.json")
            content.size = size
            stored_name = export.file.storage.save(export.file.field.generate_filename(export, "dossier.json"), content)
        _finish(export, stored_name=stored_name, size=size)
    except _ExportWithdrawn:
        logger.info("Export %s withdrawn while it was being prepared", export.public_id)
        _delete_file(stored_name)
    except ExportError as error:
        logger.error("Export %s failed: %s", export.public_id, error)
        _delete_file(stored_name)
        _fail(export, str(error))
    except SoftTimeLimitExceeded:
        logger.error("Export %s stopped at the task's time limit", export.public_id)
        _delete_file(stored_name)
        _fail(export, str(TOO_LONG_MESSAGE))
    except Exception:
        logger.exception("Export %s failed", export.public_id)
        _delete_file(stored_name)
        _fail(export, str(FAILED_MESSAGE))
    return DossierExport.objects.filter(pk=export.pk).first()


@dataclass
class _Plan:
    measures: int
    documents: int
    document_bytes: int
    immunizations: int
    profile_entries: int

    @property
    def units(self) -> float:
        resources = 1 + self.measures + self.documents + self.immunizations + self.profile_entries
        return resources + self.document_bytes / BYTES_PER_UNIT


def _plan(citizen_id: int) -> _Plan:
    documents = Document.objects.filter(citizen_id=citizen_id).aggregate(count=Count("id"), size=Sum("size_bytes"))
    return _Plan(
        measures=Measure.objects.filter(citizen_id=citizen_id).count(),
        documents=documents["count"],
        document_bytes=documents["size"] or 0,
        immunizations=Immunization.objects.filter(citizen_id=citizen_id).count(),
        profile_entries=ProfileEntry.objects.filter(citizen_id=citizen_id).count(),
    )


class _Progress:
    """The percentage of the work done, saved to the row now and then (never once per row)."""

    def __init__(self, export: DossierExport, *, every: int) -> None:
        self.export = export
        self.every = max(1, every)
        self.total = 1.0
        self.done = 0.0
        self.resources_since_save = 0
        self.phase = DossierExport.Phase.PATIENT
        self.saved_percent = 0
        self.saved_at = time.monotonic()

    def percent(self) -> int:
        return min(BUILD_SHARE, int(BUILD_SHARE * self.done / self.total))

    def advance(self, units: float, *, resources: int = 0) -> None:
        self.done += units
        self.resources_since_save += resources
        due = self.resources_since_save >= self.every or time.monotonic() - self.saved_at >= PROGRESS_SECONDS
        if due:
            self.save()

    def enter(self, phase: str, *, percent: int | None = None) -> None:
        self.phase = phase
        self.save(percent=percent)

    def save(self, *, percent: int | None = None) -> None:
        value = self.percent() if percent is None else percent
        now = timezone.now()
        updated = DossierExport.objects.filter(pk=self.export.pk, status=DossierExport.Status.RUNNING).update(
            progress=value, phase=self.phase, updated_at=now
        )
        if not updated:
            raise _ExportWithdrawn
        self.saved_percent = value
        self.saved_at = time.monotonic()
        self.resources_since_save = 0


class _Digests:
    def __init__(self) -> None:
        self.sha1 = hashlib.sha1(usedforsecurity=False)  # FHIR R4's Attachment.hash, not a security control
        self.sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.sha1.update(chunk)
        self.sha256.update(chunk)
        self.size += len(chunk)


def _write_bundle(export: DossierExport, stream, progress: _Progress) -> int:
    citizen = export.citizen
    plan = _plan(citizen.pk)
    progress.total = plan.units
    patient_ref = urn_uuid(citizen.public_id)
    patient_display = f"{citizen.display_first_name} {citizen.birth_name}"
    today = timezone.localdate()
    with BundleWriter(stream, bundle_id=export.public_id, timestamp=timezone.now()) as writer:
        writer.add(patient_resource(citizen), full_url=patient_ref)
        progress.advance(1, resources=1)

        progress.enter(DossierExport.Phase.MEASURES)
        measures = (
            Measure.objects.filter(citizen_id=citizen.pk)
            .order_by("kind", "-effective_at", "-id")
            .only("public_id", "resource")
        )
        for measure in measures.iterator(chunk_size=ROWS_PER_FETCH):
            resource = _rebased(
                measure.resource, resource_id=measure.public_id, patient_ref=patient_ref, field="subject"
            )
            writer.add(resource, full_url=urn_uuid(measure.public_id))
            progress.advance(1, resources=1)

        progress.enter(DossierExport.Phase.DOCUMENTS)
        documents = (
            Document.objects.filter(citizen_id=citizen.pk).select_related("author_user").order_by("-act_date", "-id")
        )
        for document in documents.iterator(chunk_size=DOCUMENTS_PER_FETCH):
            _write_document(
                writer,
                document,
                progress=progress,
                patient_ref=patient_ref,
                patient_display=patient_display,
                citizen_user_id=citizen.user_id,
            )

        progress.enter(DossierExport.Phase.IMMUNIZATIONS)
        immunizations = (
            Immunization.objects.filter(citizen_id=citizen.pk)
            .order_by("-occurrence_date", "-id")
            .only("public_id", "resource")
        )
        for immunization in immunizations.iterator(chunk_size=ROWS_PER_FETCH):
            resource = _rebased(
                immunization.resource, resource_id=immunization.public_id, patient_ref=patient_ref, field="patient"
            )
            writer.add(resource, full_url=urn_uuid(immunization.public_id))
            progress.advance(1, resources=1)

        progress.enter(DossierExport.Phase.PROFILE)
        entries = ProfileEntry.objects.filter(citizen_id=citizen.pk).order_by("section", "-start_date", "-id")
        for entry in entries.iterator(chunk_size=ROWS_PER_FETCH):
            resource = profile_entry_resource(entry, patient_ref=patient_ref, today=today)
            writer.add(resource, full_url=urn_uuid(entry.public_id))
            progress.advance(1, resources=1)
    return writer.bytes_written


# Elements of the stored resources that point to other resources of the dossier (a BMI to its weight and height).
_LINKS = ("derivedFrom", "hasMember", "partOf")


def _rebased(resource: dict, *, resource_id, patient_ref: str, field: str) -> dict:
    """A stored resource as an entry of the Bundle: its id is the row's public id, it points to the Patient entry
    (the stored reference names the person for the API that served it, not for this file), and its links to other
    resources of the dossier point to their entries."""
    entry = dict(resource)
    entry["id"] = str(resource_id)
    entry[field] = {"reference": patient_ref}
    for link in _LINKS:
        if isinstance(entry.get(link), list):
            entry[link] = [
                {**item, "reference": bundle_reference(item["reference"])}
                if isinstance(item, dict) and isinstance(item.get("reference"), str)
                else item
                for item in entry[link]
            ]
    return entry


def _write_document(
    writer: BundleWriter,
    document: Document,
    *,
    progress: _Progress,
    patient_ref: str,
    patient_display: str,
    citizen_user_id: int | None,
) -> None:
    document_url = urn_uuid(document.public_id)
    binary_url = urn_uuid(binary_id(document))
    digests = _Digests()
    writer.add_binary(
        binary_resource(document, document_reference_url=document_url),
        full_url=binary_url,
        chunks=_document_chunks(document, digests, progress),
    )
    if digests.size != document.size_bytes or digests.sha256.hexdigest() != document.sha256:
        logger.error("Document %s: stored content differs from its recorded size or SHA-256", document.public_id)
        raise ExportError(str(ALTERED_FILE_MESSAGE) % {"title": document.title[:TITLE_IN_MESSAGE]})
    writer.add(
        document_reference_resource(
            document,
            patient_ref=patient_ref,
            patient_display=patient_display,
            citizen_user_id=citizen_user_id,
            binary_url=binary_url,
            sha1_base64=base64.b64encode(digests.sha1.digest()).decode("ascii"),
        ),
        full_url=document_url,
    )
    progress.advance(1, resources=1)


def _document_chunks(document: Document, digests: _Digests, progress: _Progress) -> Iterator[bytes]:
    """The stored file, read from the storage in blocks of a multiple of 3 bytes (base64 without padding)."""
    try:
        handle = document.file.storage.open(document.file.name, "rb")
    except FileNotFoundError:
        logger.error("Document %s: file %s missing from the storage", document.public_id, document.file.name)
        raise ExportError(str(MISSING_FILE_MESSAGE) % {"title": document.title[:TITLE_IN_MESSAGE]}) from None
    with handle:
        while chunk := handle.read(BASE64_BLOCK):
            digests.update(chunk)
            yield chunk
            progress.advance(len(chunk) / BYTES_PER_UNIT)


@transaction.atomic
def _finish(export: DossierExport, *, stored_name: str, size: int) -> None:
    now = timezone.now()
    expires_at = now + timedelta(days=settings.DOSSIER_EXPORT_RETENTION_DAYS)
    updated = DossierExport.objects.filter(pk=export.pk, status=DossierExport.Status.RUNNING).update(
        status=DossierExport.Status.DONE,
        phase=DossierExport.Phase.FINISHED,
        progress=100,
        file=stored_name,
        size_bytes=size,
        error_message="",
        finished_at=now,
        expires_at=expires_at,
        updated_at=now,
    )
    if not updated:
        raise _ExportWithdrawn
    journal_append(
        actor=None,
        actor_label=SYSTEM_LABEL,
        action=EXPORT_READY,
        citizen=export.citizen,
        obj=export,
        details={"taille_octets": size, "expire_le": expires_at.isoformat()},
    )


@transaction.atomic
def _fail(export: DossierExport, message: str) -> None:
    now = timezone.now()
    updated = DossierExport.objects.filter(pk=export.pk, status=DossierExport.Status.RUNNING).update(
        status=DossierExport.Status.FAILED, error_message=message[:300], finished_at=now, updated_at=now
    )
    if updated:
        journal_append(actor=None, actor_label=SYSTEM_LABEL, action=EXPORT_FAILED, citizen=export.citizen, obj=export)


def _delete_file(name: str) -> None:
    if name:
        default_storage.delete(name)


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _fail_stale(*, now: datetime, citizen_id: int | None = None) -> int:
    stale = DossierExport.objects.filter(status__in=DossierExport.IN_PROGRESS, updated_at__lt=now - STALE_AFTER)
    if citizen_id is not None:
        stale = stale.filter(citizen_id=citizen_id)
    return stale.update(
        status=DossierExport.Status.FAILED, error_message=str(INTERRUPTED_MESSAGE), finished_at=now, updated_at=now
    )


def export_purge_expired(*, now: datetime | None = None, chunk_size: int = 500) -> int:
    """Delete the files of the exports past their expiry date (their rows stay, « expiré »); fail the exports whose
    worker vanished. Idempotent; returns the number of exports expired. Chunks lock their rows with SKIP LOCKED, so
    two runs never fight over the same rows."""
    now = now or timezone.now()
    _fail_stale(now=now)
    expired = 0
    while True:
        with transaction.atomic():
            rows = list(
                DossierExport.objects.select_for_update(skip_locked=True)
                .filter(status=DossierExport.Status.DONE, expires_at__lte=now)
                .order_by("expires_at", "id")
                .values_list("pk", "file")[:chunk_size]
            )
            if not rows:
                break
            DossierExport.objects.filter(pk__in=[pk for pk, _name in rows]).update(
                status=DossierExport.Status.EXPIRED, file="", updated_at=now
            )
            # The files go once the rows say so for good: a rollback keeps both.
            transaction.on_commit(partial(_delete_files, [name for _pk, name in rows if name]))
        expired += len(rows)
    return expired


@transaction.atomic
def export_download_record(*, access: CitizenAccess, export: DossierExport) -> None:
    """Journal the download of an export (the whole dossier leaves the service: the citizen sees who took it)."""
    _require_citizen_side(access)
    journal_append(actor=access.actor, action=EXPORT_DOWNLOADED, citizen=access.citizen, obj=export)


@transaction.atomic
def export_delete(*, access: CitizenAccess, export: DossierExport) -> None:
    """Delete an export and its file before its expiry; refused while it is in preparation."""
    _require_citizen_side(access)
    locked = DossierExport.objects.select_for_update().get(pk=export.pk, citizen=access.citizen)
    if locked.in_progress:
        raise ExportError(str(STILL_RUNNING_MESSAGE))
    name = locked.file.name if locked.file else ""
    journal_append(actor=access.actor, action=EXPORT_DELETED, citizen=access.citizen, obj=locked)
    locked.delete()
    if name:
        transaction.on_commit(partial(_delete_file, name))
